/**
 * Loop-protection settings (config `loop.protect`, `loop.holdDownS`, …). Sources are in
 * /work/shared/notes/loop-storm.md §1.1; numbers that are design choices say so.
 */
import { checkNumber } from '../detect/text.ts';

export interface LoopProtectionOptions {
  /** Off by default: cutting a port off is the user's call (config `loop.protect: true`). */
  enabled: boolean;
  /** A blocked port stays blocked this long (ms) before it is re-tested. */
  holdDownMs: number;
  /** After a block, wait this long (ms) before blocking another port for the same loop. */
  settleMs: number;
  /**
   * At a hold-down's end, own frames on the blocked port within this window (ms) mean the
   * loop is still cabled: the hold-down is extended instead of the port being unblocked.
   */
  quietMs: number;
}

export const LOOP_PROTECTION_DEFAULTS: Readonly<LoopProtectionOptions> = Object.freeze({
  enabled: false,
  // MikroTik loop-protect-disable-time 5m and Cisco's errdisable-recovery interval 300 s
  // (§1.1, §1.3); Microchip/ME1200 use 180 s, D-Link 60 s.
  holdDownMs: 300_000,
  // [design choice] Our probe leaves the bridge every second; 3 s gives frames still circling
  // when the first port was cut off time to die out, so a second port is blocked only when
  // the loop really goes on without the first.
  settleMs: 3_000,
  // The loop detector's quietMs (src/detect/loopOptions.ts): twice the vendors' 5 s probe
  // interval, so one probe not yet back does not count as "the loop is gone".
  quietMs: 10_000,
});

/** Defaults overlaid with `overrides`, checked; throws RangeError on a setting that cannot work. */
export function resolveLoopProtectionOptions(overrides: Partial<LoopProtectionOptions> = {}): Readonly<LoopProtectionOptions> {
  const o: LoopProtectionOptions = { ...LOOP_PROTECTION_DEFAULTS, ...overrides };
  const who = 'loop protection';
  if (typeof o.enabled !== 'boolean') throw new RangeError(`${who}: enabled must be true or false (got ${String(o.enabled)})`);
  checkNumber(who, 'holdDownMs', o.holdDownMs, 0, true);
  checkNumber(who, 'settleMs', o.settleMs, 0, false);
  checkNumber(who, 'quietMs', o.quietMs, 0, true);
  return Object.freeze(o);
}
