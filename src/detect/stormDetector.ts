/**
 * Broadcast/multicast storm detection per bridge port. Pure: rates and times come in, state and
 * one number per tick go out; no I/O, timers or clock reads. The tick path writes only typed
 * arrays (sized at construction), so it allocates nothing; reports are built on request.
 *
 * Two rules raise a port (loop-storm.md §1.5 lists both as what switches and netdata use):
 * - absolute: the tick's pps above `absoluteRaisePps` (Cisco storm-control rising level, §1.3);
 * - baseline: the 10 s average above `baselineRaiseFactor` × the port's 5 min baseline and above
 *   `baselineFloorPps` (netdata's packet-storm alarm, §3). Off until the baseline has learned
 *   `warmupMs` of traffic, since a baseline of a few seconds would call any burst a jump.
 * A port clears once every rule has stayed below its clear level for `clearHoldMs`.
 *
 * Why a port-level state machine (stormLatch.ts) rather than one ThresholdAlarm per port: the
 * baseline must stop learning the moment a port is in storm, which only state kept in the
 * detector can tell on the tick path; the clear waits for a quiet run ("below for N s"), where
 * ThresholdAlarm's holdMs is a least time at a severity counted from the raise; and the engine
 * holds one alarm per name, so the ports and their protocols have to be gathered here anyway.
 * The engine's ThresholdAlarm still runs on top, fed by `value` (see levelScore and
 * stormAlarm.ts), and mirrors this state exactly.
 */
import { levelScore } from './levelScore.ts';
import { RateBaselines } from './rateBaselines.ts';
import { StormLatch } from './stormLatch.ts';
import {
  STORM_ARP,
  STORM_DHCP,
  STORM_FIELDS,
  STORM_MDNS,
  STORM_ND,
  STORM_OTHER,
  STORM_SSDP,
  STORM_TOTAL,
} from './stormInput.ts';
import { resolveStormOptions, type StormOptions } from './stormOptions.ts';

/** Longest sample span believed: the config's slowest tick. A longer gap is not one sample. */
const MAX_SPAN_MS = 60_000;

export class StormDetector {
  readonly options: Readonly<StormOptions>;
  readonly portCount: number;
  /**
   * Input, row-major: rates[port * STORM_FIELDS + STORM_*]. Fill it (or call setRates) before
   * each tick(); tick() consumes it, leaving NaN, so a port not written is unknown, not stale.
   */
  readonly rates: Float64Array;
  private readonly names: string[];
  private readonly latest: Float64Array;
  private readonly baselines: RateBaselines;
  private readonly latch: StormLatch;
  private readonly scores: Float64Array;
  /**
   * [0] time of the last tick, [1] the alarm value, [2] the span of the tick being judged.
   * Typed: reading them boxes nothing, where passing a fractional time or span as an argument
   * to judge() (too big to inline) made a 16-byte heap number per port per tick (measured with
   * the sampling heap profiler, Node 20 without pointer compression).
   */
  private readonly numbers = new Float64Array(3).fill(NaN);

  constructor(ports: readonly string[], options: Partial<StormOptions> = {}) {
    this.options = resolveStormOptions(options);
    this.portCount = ports.length;
    this.names = [...ports];
    const n = ports.length;
    this.rates = new Float64Array(n * STORM_FIELDS).fill(NaN);
    this.latest = new Float64Array(n * STORM_FIELDS).fill(NaN);
    this.baselines = new RateBaselines(n, this.options.shortWindowMs, this.options.longWindowMs);
    this.latch = new StormLatch(n, this.options.clearHoldMs);
    this.scores = new Float64Array(n).fill(NaN);
  }

  /** Writes one port's input row; `other` NaN = derive it as total minus the named protocols. */
  setRates(port: number, total: number, arp: number, nd: number, mdns: number, ssdp: number, dhcp: number, other = NaN): void {
    const row = port * STORM_FIELDS;
    const rates = this.rates;
    rates[row + STORM_TOTAL] = total;
    rates[row + STORM_ARP] = arp;
    rates[row + STORM_ND] = nd;
    rates[row + STORM_MDNS] = mdns;
    rates[row + STORM_SSDP] = ssdp;
    rates[row + STORM_DHCP] = dhcp;
    rates[row + STORM_OTHER] = other;
  }

  /** Judges every port on the rates written since the last tick. `monoMs`: performance.now(). */
  tick(monoMs: number): void {
    const last = this.numbers[0]!;
    // The first tick has no known span: it is judged but weighs nothing in the averages.
    this.numbers[2] = last === last ? Math.min(Math.max(monoMs - last, 0), MAX_SPAN_MS) : 0;
    this.numbers[0] = monoMs;
    let worst = NaN;
    for (let port = 0; port < this.portCount; port++) {
      this.judge(port);
      const score = this.scores[port]!;
      if (score !== score) continue;
      // Whole numbers, rounded away from the levels: a port in storm is ≥ 101 on its raise
      // tick and ≥ 50 after; one not in storm is ≤ 100 and < 50 on its clear tick. Whole
      // numbers are Smis: a fraction returned through the engine's value() call costs a 16-byte
      // HeapNumber per tick whenever V8 does not inline that call (measured, Node 20).
      const value = this.latch.inStorm(port) ? Math.ceil(score) : Math.floor(score);
      if (value > worst || worst !== worst) worst = value;
    }
    this.numbers[1] = worst;
  }

  /**
   * For the alarm engine: the worst port's score (levelScore, percent of the way to its raise
   * level), a whole number, at least 50 while the port is in storm, so a ThresholdAlarm with
   * raise 100 / clear 50 / no hold follows this detector tick for tick. NaN before the first
   * tick or while no port is known.
   */
  get value(): number {
    return this.numbers[1]!;
  }

  /** Counts ports entering or leaving storm: a changed revision means a report would differ. */
  get revision(): number {
    return this.latch.changes;
  }

  portName(port: number): string {
    return this.names[port]!;
  }

  inStorm(port: number): boolean {
    return this.latch.inStorm(port);
  }

  /** RULE_* bits of the rules that raised the port's current storm; 0 when not in storm. */
  raisedBy(port: number): number {
    return this.latch.raisedBy(port);
  }

  /** The port's latest score (levelScore over both rules, ≥ 50 while in storm). */
  score(port: number): number {
    return this.scores[port]!;
  }

  /** Latest known input of a port (STORM_* field), NaN before any. */
  latestRate(port: number, field: number): number {
    return this.latest[port * STORM_FIELDS + field]!;
  }

  shortAverage(port: number): number {
    return this.baselines.short(port);
  }

  /** Long average (pps) the baseline rule compares with; NaN until anything is learned. */
  baseline(port: number): number {
    return this.baselines.long(port);
  }

  /** True once the baseline has learned warmupMs of traffic and the baseline rule applies. */
  warmedUp(port: number): boolean {
    return this.baselines.learnedMs(port) >= this.options.warmupMs && this.baselines.long(port) >= 0;
  }

  /** Forgets a port (another device in its slot, or gone); optionally renames it. */
  resetPort(port: number, name?: string): void {
    if (name !== undefined) this.names[port] = name;
    this.latch.reset(port);
    this.baselines.reset(port);
    this.scores[port] = NaN;
    this.latest.fill(NaN, port * STORM_FIELDS, (port + 1) * STORM_FIELDS);
  }

  /** One port at the time and span in `numbers` (see there for why not arguments). */
  private judge(port: number): void {
    const monoMs = this.numbers[0]!;
    const span = this.numbers[2]!;
    const o = this.options;
    const row = port * STORM_FIELDS;
    const rates = this.rates;
    const total = rates[row + STORM_TOTAL]!;
    if (!(total >= 0)) {
      // Unknown: the state and score stay, but an unknown tick cannot prove a quiet run. (A
      // storm can overload the very box that counts it; clearing on no data would be wrong.)
      this.latch.unknown(port);
      rates.fill(NaN, row, row + STORM_FIELDS);
      return;
    }
    for (let i = row; i < row + STORM_FIELDS; i++) {
      this.latest[i] = rates[i]!;
      rates[i] = NaN;
    }
    this.baselines.add(port, total, monoMs, span, !this.latch.inStorm(port));
    const absolute = levelScore(total, o.absoluteRaisePps * o.clearFraction, o.absoluteRaisePps);
    let relative = 0;
    const short = this.baselines.short(port);
    const base = this.baselines.long(port);
    if (this.baselines.learnedMs(port) >= o.warmupMs && base >= 0 && short >= 0) {
      const raise = Math.max(o.baselineRaiseFactor * base, o.baselineFloorPps);
      const clear = Math.max(o.baselineClearFactor * base, o.clearFraction * o.baselineFloorPps);
      relative = levelScore(short, clear, raise);
    }
    this.latch.update(port, absolute, relative, monoMs);
    const score = absolute > relative ? absolute : relative;
    if (this.latch.inStorm(port)) {
      // The bucket holding this sample is storm traffic, even if the storm began this tick.
      this.baselines.taint(port, monoMs);
      this.scores[port] = score > 50 ? score : 50;
    } else {
      this.scores[port] = score;
    }
  }
}
