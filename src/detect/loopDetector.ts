/**
 * Switching-loop detection per bridge port from independent signals (loop-storm.md §1.5),
 * gathered into one `loop` alarm:
 * - own frames: frames arriving with the bridge's own MAC as source. Only a loop brings them
 *   back (MikroTik loop-protect, Cisco keepalive, the Linux bridge's "own address as source
 *   address" warning, §1.1, §2.7): deterministic, so one tick with any is a loop, at once.
 * - MAC flapping: a MAC moving between ports more than flapMoves times within flapWindowMs
 *   (Cisco MACFLAP_NOTIF, HPE MAC_FLAPPING, FreeBSD if_bridge, §1.2), fed from FDB moves
 *   (RTM_NEWNEIGH, AF_BRIDGE, §2.7). Roaming Wi-Fi clients and duplicated MACs flap too
 *   (FreeBSD D39375 lists them), so this one says "suspected".
 * - broadcast growth: pps multiplying by growthFactor each second for growthSeconds. A storm
 *   of any cause grows like that, so it never raises the alarm; it is listed as evidence.
 * A port leaves the loop after quietMs with neither own frames nor flaps. Blocking the port and
 * its hold-down are the protection's business, not this detector's.
 *
 * Pure and allocation-free on the tick and move paths: typed arrays sized at construction, MACs
 * as two 24-bit halves (mac.ts). Strings and objects only in reports (loopAlarm.ts).
 */
import { GrowthTracker } from './growth.ts';
import { resolveLoopOptions, type LoopOptions } from './loopOptions.ts';
import { MacFlapTable } from './macFlapTable.ts';
import { RecentMacs } from './recentMacs.ts';

/** Input row of a port: own-source frames per second (> 0: some came back), broadcast + multicast pps. */
export const LOOP_OWN_FRAMES = 0;
export const LOOP_FLOOD_PPS = 1;
export const LOOP_FIELDS = 2;

/** Bits of signals(). */
export const SIGNAL_OWN_FRAMES = 1;
export const SIGNAL_MAC_FLAP = 2;
export const SIGNAL_BCAST_GROWTH = 4;

/** Alarm values: the strongest evidence on any port. */
export const LOOP_NONE = 0;
export const LOOP_SUSPECTED = 1;
export const LOOP_CERTAIN = 2;

/** Flapping MACs remembered per port for the report. */
const RECENT_MACS = 5;
/** Longest sample span believed: the config's slowest tick. */
const MAX_SPAN_MS = 60_000;

export class LoopDetector {
  readonly options: Readonly<LoopOptions>;
  readonly portCount: number;
  /** Input, row-major: input[port * LOOP_FIELDS + LOOP_*]; tick() consumes it (back to NaN). */
  readonly input: Float64Array;
  private readonly names: string[];
  private readonly table: MacFlapTable;
  private readonly growth: GrowthTracker;
  private readonly lastOwnAt: Float64Array;
  private readonly ownRate: Float64Array;
  private readonly lastFlapAt: Float64Array;
  private readonly recent: RecentMacs;
  private readonly bits: Uint8Array;
  /** [0] time of the last tick, [1] the alarm value. Typed: reading them boxes nothing. */
  private readonly numbers = new Float64Array(2).fill(NaN);
  private changes = 0;

  constructor(ports: readonly string[], options: Partial<LoopOptions> = {}) {
    const o = (this.options = resolveLoopOptions(options));
    const n = (this.portCount = ports.length);
    this.names = [...ports];
    this.input = new Float64Array(n * LOOP_FIELDS).fill(NaN);
    this.table = new MacFlapTable(o.maxMacs, o.flapMoves, o.flapWindowMs);
    this.growth = new GrowthTracker(n, o.growthFactor, o.growthSeconds, o.growthFloorPps);
    this.lastOwnAt = new Float64Array(n).fill(-Infinity);
    this.ownRate = new Float64Array(n).fill(NaN);
    this.lastFlapAt = new Float64Array(n).fill(-Infinity);
    this.recent = new RecentMacs(n, RECENT_MACS);
    this.bits = new Uint8Array(n);
  }

  /** Writes one port's input for the next tick; NaN = unknown (never taken as evidence). */
  setSample(port: number, ownFramesPerS: number, floodPps: number): void {
    this.input[port * LOOP_FIELDS + LOOP_OWN_FRAMES] = ownFramesPerS;
    this.input[port * LOOP_FIELDS + LOOP_FLOOD_PPS] = floodPps;
  }

  /**
   * One FDB move: the MAC (oui, nic halves, as the HAL's FdbMoveListener gives them) learned on
   * port `to` after port `from`, at `monoMs`. Ports are this detector's indexes; -1 for a port it
   * does not track (the move still counts).
   */
  move(oui: number, nic: number, from: number, to: number, monoMs: number): void {
    if (from === to) return;
    const entry = this.table.record(oui, nic, from, to, monoMs);
    if (entry < 0) return;
    const moves = this.table.moveCount(entry);
    for (let k = 0; k < moves; k++) {
      this.flapped(this.table.moveFrom(entry, k), oui, nic, monoMs);
      this.flapped(this.table.moveTo(entry, k), oui, nic, monoMs);
    }
  }

  /** Judges every port on the input written and the moves fed since the last tick. */
  tick(monoMs: number): void {
    const quiet = this.options.quietMs;
    const last = this.numbers[0]!;
    const span = last === last ? Math.min(Math.max(monoMs - last, 0), MAX_SPAN_MS) : 0;
    this.numbers[0] = monoMs;
    let level = LOOP_NONE;
    for (let port = 0; port < this.portCount; port++) {
      const row = port * LOOP_FIELDS;
      const own = this.input[row + LOOP_OWN_FRAMES]!;
      this.growth.add(port, this.input[row + LOOP_FLOOD_PPS]!, monoMs, span);
      this.input[row + LOOP_OWN_FRAMES] = NaN;
      this.input[row + LOOP_FLOOD_PPS] = NaN;
      if (own > 0) {
        this.lastOwnAt[port] = monoMs;
        this.ownRate[port] = own;
      }
      const bits =
        (monoMs - this.lastOwnAt[port]! < quiet ? SIGNAL_OWN_FRAMES : 0) |
        (monoMs - this.lastFlapAt[port]! < quiet ? SIGNAL_MAC_FLAP : 0) |
        (monoMs - this.growth.lastGrowthAt(port) < quiet ? SIGNAL_BCAST_GROWTH : 0);
      if (bits !== this.bits[port]) {
        this.bits[port] = bits;
        this.changes++;
      }
      const portLevel = bits & SIGNAL_OWN_FRAMES ? LOOP_CERTAIN : bits & SIGNAL_MAC_FLAP ? LOOP_SUSPECTED : LOOP_NONE;
      if (portLevel > level) level = portLevel;
    }
    this.numbers[1] = level;
  }

  /** For the alarm engine: LOOP_CERTAIN (own frames), LOOP_SUSPECTED (flaps only) or LOOP_NONE. */
  get value(): number {
    return this.numbers[1]!;
  }

  /** Counts changes of any port's signals: a changed revision means a report would differ. */
  get revision(): number {
    return this.changes;
  }

  /** Time of the last tick (NaN before the first). */
  get now(): number {
    return this.numbers[0]!;
  }

  get trackedMacs(): number {
    return this.table.size;
  }

  get macCapacity(): number {
    return this.table.capacity;
  }

  portName(port: number): string {
    return this.names[port]!;
  }

  /** SIGNAL_* bits active on the port as of the last tick. */
  signals(port: number): number {
    return this.bits[port]!;
  }

  /** Own frames per second of the latest tick that had any; NaN if never. */
  ownFramesPerS(port: number): number {
    return this.ownRate[port]!;
  }

  /** Growth per second of the port's latest broadcast growth run; NaN if none. */
  growthFactor(port: number): number {
    return this.growth.growthFactor(port);
  }

  /** Up to 5 MACs seen flapping on the port within quietMs of the last tick, newest first. Allocates. */
  flappingMacs(port: number): string[] {
    return this.recent.list(port, this.now - this.options.quietMs);
  }

  /** Forgets a port (another device in its slot, or gone); optionally renames it. */
  resetPort(port: number, name?: string): void {
    if (name !== undefined) this.names[port] = name;
    this.growth.reset(port);
    this.lastOwnAt[port] = -Infinity;
    this.ownRate[port] = NaN;
    this.lastFlapAt[port] = -Infinity;
    this.recent.clear(port);
  }

  /** Notes a MAC flapping on `port`: refreshes the signal and the port's recent-MAC list. */
  private flapped(port: number, oui: number, nic: number, monoMs: number): void {
    if (!(port >= 0 && port < this.portCount)) return;
    this.lastFlapAt[port] = monoMs;
    this.recent.note(port, oui, nic, monoMs);
  }
}
