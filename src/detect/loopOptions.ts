/**
 * Loop detector settings. Sources are in /work/shared/notes/loop-storm.md (§ numbers below);
 * where a number is a design choice and not a vendor's default, it says so.
 */
import { checkNumber } from './text.ts';

export interface LoopOptions {
  /** A MAC that moves between ports more than this many times… */
  flapMoves: number;
  /** …within this window (ms) is flapping: a suspected loop on the ports it moves between. */
  flapWindowMs: number;
  /** Most MACs tracked at once; the least recently moved one makes room. */
  maxMacs: number;
  /** A port leaves the loop after this long (ms) without own frames and without flaps. */
  quietMs: number;
  /** Broadcast growth: pps multiplied by at least this much per second… */
  growthFactor: number;
  /** …for this many consecutive seconds… */
  growthSeconds: number;
  /** …each second above this many pps. Supporting evidence only: it never raises alone. */
  growthFloorPps: number;
}

export const LOOP_DEFAULTS: Readonly<LoopOptions> = Object.freeze({
  // Cisco MACFLAP_NOTIF and HPE MAC_FLAPPING report moves; Extreme: "a high MAC move rate can
  // indicate the existence of a loop" (§1.2). Their rates are not given there, and HPE's
  // window is 1 min; 5 moves in 10 s is our choice [design choice]: a host roaming between two
  // access points moves a few times a minute at most, a loop moves every MAC many times a second.
  flapMoves: 5,
  flapWindowMs: 10_000,
  // HPE Comware keeps at most 20 MAC-move records per card per interval (§1.2): a bounded
  // table is what switches do too. 1024 covers a home LAN many times over.
  maxMacs: 1024,
  // Twice the 5 s probe interval of MikroTik loop-protect, Aruba AOS-CX, Microchip and Netgear
  // (§1.1): one probe that has not come back yet does not clear a loop. Also the 10 s of
  // Cisco keepalive, D-Link LBD and legale/netloop-detect's wait (§1.1, §2.9).
  quietMs: 10_000,
  // Doubling each second for 3 s: the snowball of §0 story 2 [design choice].
  growthFactor: 2,
  growthSeconds: 3,
  // Half the storm detector's baseline floor (200 pps) [design choice]: evidence should show
  // before a storm is called.
  growthFloorPps: 100,
});

/** Defaults overlaid with `overrides`, checked; throws RangeError on a setting that cannot work. */
export function resolveLoopOptions(overrides: Partial<LoopOptions> = {}): Readonly<LoopOptions> {
  const o: LoopOptions = { ...LOOP_DEFAULTS, ...overrides };
  const who = 'loop detector';
  if (!Number.isInteger(o.flapMoves) || o.flapMoves < 1 || o.flapMoves > 1000) {
    throw new RangeError(`${who}: flapMoves must be a whole number from 1 to 1000 (got ${o.flapMoves})`);
  }
  if (!Number.isInteger(o.maxMacs) || o.maxMacs < 1 || o.maxMacs > 1_000_000) {
    throw new RangeError(`${who}: maxMacs must be a whole number from 1 to 1000000 (got ${o.maxMacs})`);
  }
  // Every MAC keeps flapMoves + 1 moves of 16 bytes: bound the table (16 MB at this limit).
  if (o.maxMacs * (o.flapMoves + 1) > 1 << 20) {
    throw new RangeError(`${who}: maxMacs × (flapMoves + 1) must be at most ${1 << 20} (got ${o.maxMacs * (o.flapMoves + 1)})`);
  }
  checkNumber(who, 'flapWindowMs', o.flapWindowMs, 0, true);
  checkNumber(who, 'quietMs', o.quietMs, 0, true);
  checkNumber(who, 'growthFactor', o.growthFactor, 1, true);
  checkNumber(who, 'growthSeconds', o.growthSeconds, 0, true);
  checkNumber(who, 'growthFloorPps', o.growthFloorPps, 0, false);
  return Object.freeze(o);
}
