/**
 * NAT table pressure beyond the entry count (issue 5): how fast the table grows, when it will
 * be full at that rate, and whether the kernel is already refusing entries.
 *
 * - Growth: the least-squares slope of the entry count over the last `windowMs` (60 s by
 *   default), in entries per second. A slope through every sample of the window, not the
 *   difference of two samples, so one burst of short-lived DNS lookups does not read as a trend.
 * - Time to full: (limit − count) / slope while the slope is above `minSlope`; Infinity when
 *   the table is not growing. The same for the upstream budget (a second series).
 * - Refusals: drop + early_drop + insert_failed per second, summed over the last `failureWindowMs`
 *   (10 s). A table can refuse entries before the count reaches the limit (hash chains too long,
 *   early_drop under load), which is why this is its own alarm and not the usage level.
 *
 * Pure and allocation-free per tick: ring buffers in typed arrays sized at construction.
 */

export interface NatPressureOptions {
  /** Growth window, ms. */
  windowMs: number;
  /** Most samples kept for the growth window (the sampler's ticks in windowMs). */
  maxSamples: number;
  /** Slopes below this (entries/s) are "not growing": no forecast. */
  minSlope: number;
  /** Refusals are summed over this window, ms. */
  failureWindowMs: number;
}

export const NAT_PRESSURE_DEFAULTS: Readonly<NatPressureOptions> = Object.freeze({
  windowMs: 60_000,
  maxSamples: 600,
  // Half an entry per second: slower than that a home table needs over an hour to fill even
  // 2,000 entries, which is no forecast worth a sensor.
  minSlope: 0.5,
  failureWindowMs: 10_000,
});

/** One growing series (the table, or the upstream usage): times and values in a ring. */
class GrowthRing {
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  private head = 0;
  private size = 0;

  constructor(capacity: number) {
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  add(monoMs: number, value: number, windowMs: number): void {
    if (!(value >= 0)) return;
    const capacity = this.times.length;
    this.times[this.head] = monoMs;
    this.values[this.head] = value;
    this.head = this.head + 1 === capacity ? 0 : this.head + 1;
    if (this.size < capacity) this.size++;
    // Drop samples older than the window from the tail.
    while (this.size > 1) {
      const tail = (this.head - this.size + capacity) % capacity;
      if (monoMs - this.times[tail]! <= windowMs) break;
      this.size--;
    }
  }

  /** Least-squares slope in value per second; NaN with fewer than 3 samples or no time span. */
  slopePerSecond(): number {
    const n = this.size;
    if (n < 3) return NaN;
    const capacity = this.times.length;
    const first = (this.head - n + capacity) % capacity;
    const t0 = this.times[first]!;
    let st = 0;
    let sv = 0;
    for (let k = 0; k < n; k++) {
      const i = (first + k) % capacity;
      st += this.times[i]! - t0;
      sv += this.values[i]!;
    }
    const mt = st / n;
    const mv = sv / n;
    let cov = 0;
    let varT = 0;
    for (let k = 0; k < n; k++) {
      const i = (first + k) % capacity;
      const dt = this.times[i]! - t0 - mt;
      cov += dt * (this.values[i]! - mv);
      varT += dt * dt;
    }
    return varT > 0 ? (cov / varT) * 1000 : NaN;
  }

  clear(): void {
    this.size = 0;
  }
}

/** Refusals per tick, summed over a time window. */
class WindowSum {
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  private head = 0;
  private size = 0;
  /** [0] the running sum. Typed, so reading it boxes nothing. */
  readonly sum = new Float64Array(1);

  constructor(capacity: number) {
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  add(monoMs: number, value: number, windowMs: number): void {
    const capacity = this.times.length;
    if (this.size === capacity) this.dropTail();
    this.times[this.head] = monoMs;
    this.values[this.head] = value;
    this.head = this.head + 1 === capacity ? 0 : this.head + 1;
    this.size++;
    this.sum[0] += value;
    while (this.size > 0 && monoMs - this.times[(this.head - this.size + capacity) % capacity]! >= windowMs) this.dropTail();
  }

  private dropTail(): void {
    const capacity = this.times.length;
    const tail = (this.head - this.size + capacity) % capacity;
    this.sum[0] -= this.values[tail]!;
    this.size--;
    // Float sums of whole counts drift by ulps; an empty window is exactly zero.
    if (this.size === 0) this.sum[0] = 0;
  }
}

/** Slots of NatPressure.input. */
export const IN_MONO_MS = 0;
export const IN_COUNT = 1;
export const IN_MAX = 2;
/** drop + early_drop + insert_failed per second over IN_SECONDS; NaN unknown. */
export const IN_REFUSED_PER_S = 3;
export const IN_SECONDS = 4;
/** NaN when no upstream budget is set. */
export const IN_UPSTREAM_USED = 5;
export const IN_UPSTREAM_BUDGET = 6;

export class NatPressure {
  readonly options: Readonly<NatPressureOptions>;
  /** The next tick's inputs (IN_*). */
  readonly input = new Float64Array(7).fill(NaN);
  private readonly table: GrowthRing;
  private readonly upstream: GrowthRing;
  private readonly failures: WindowSum;
  /**
   * [0] last tick time, [1] count, [2] max, [3] upstream used, [4] upstream budget,
   * [5] table slope, [6] upstream slope. Typed: the getters box nothing.
   */
  private readonly numbers = new Float64Array(7).fill(NaN);

  constructor(options: Partial<NatPressureOptions> = {}) {
    const o = (this.options = Object.freeze({ ...NAT_PRESSURE_DEFAULTS, ...options }));
    if (!(o.windowMs > 0) || !(o.failureWindowMs > 0) || !(o.maxSamples >= 3) || !(o.minSlope >= 0)) {
      throw new RangeError('nat pressure: windowMs, failureWindowMs > 0, maxSamples ≥ 3 and minSlope ≥ 0 required');
    }
    this.table = new GrowthRing(o.maxSamples);
    this.upstream = new GrowthRing(o.maxSamples);
    this.failures = new WindowSum(o.maxSamples);
  }

  /**
   * One tick, from `input` (IN_* slots, written by the caller just before): the agent's tick
   * path, where seven fractional numbers passed as arguments would each be a heap number.
   */
  tick(): void {
    const o = this.options;
    const n = this.numbers;
    const input = this.input;
    const monoMs = input[IN_MONO_MS]!;
    const refusedPerS = input[IN_REFUSED_PER_S]!;
    const seconds = input[IN_SECONDS]!;
    n[0] = monoMs;
    n[1] = input[IN_COUNT]!;
    n[2] = input[IN_MAX]!;
    n[3] = input[IN_UPSTREAM_USED]!;
    n[4] = input[IN_UPSTREAM_BUDGET]!;
    this.table.add(monoMs, n[1]!, o.windowMs);
    this.upstream.add(monoMs, n[3]!, o.windowMs);
    // A rate times the interval it covered: the refusals of this tick, as a count.
    this.failures.add(monoMs, refusedPerS >= 0 && seconds > 0 ? refusedPerS * seconds : 0, o.failureWindowMs);
    n[5] = this.table.slopePerSecond();
    n[6] = this.upstream.slopePerSecond();
  }

  /**
   * One tick with its inputs as arguments (tests, tools). `refusedPerS`: drop + early_drop +
   * insert_failed per second over `seconds` (NaN unknown); upstream NaN when no budget is set.
   */
  update(monoMs: number, count: number, max: number, refusedPerS: number, seconds: number, upstreamUsed: number, upstreamBudget: number): void {
    const input = this.input;
    input[IN_MONO_MS] = monoMs;
    input[IN_COUNT] = count;
    input[IN_MAX] = max;
    input[IN_REFUSED_PER_S] = refusedPerS;
    input[IN_SECONDS] = seconds;
    input[IN_UPSTREAM_USED] = upstreamUsed;
    input[IN_UPSTREAM_BUDGET] = upstreamBudget;
    this.tick();
  }

  /** Entries per second, least squares over the window; NaN while unknown. */
  get growthPerS(): number {
    return this.numbers[5]!;
  }

  get upstreamGrowthPerS(): number {
    return this.numbers[6]!;
  }

  /** Seconds until nf_conntrack_max at the current growth; Infinity when not growing; NaN unknown. */
  get secondsToFull(): number {
    return forecast(this.numbers[1]!, this.numbers[2]!, this.numbers[5]!, this.options.minSlope);
  }

  /** Seconds until the upstream budget at the current growth of the upstream usage. */
  get secondsToUpstreamFull(): number {
    return forecast(this.numbers[3]!, this.numbers[4]!, this.numbers[6]!, this.options.minSlope);
  }

  /** Entries refused (drop + early_drop + insert_failed) within the failure window. */
  get refusedInWindow(): number {
    return Math.round(this.failures.sum[0]!);
  }

  /** Forgets the growth history (the table was flushed or the budget changed). */
  resetGrowth(): void {
    this.table.clear();
    this.upstream.clear();
  }
}

function forecast(used: number, limit: number, slope: number, minSlope: number): number {
  if (!(used >= 0) || !(limit > 0) || slope !== slope) return NaN;
  if (used >= limit) return 0;
  if (!(slope > minSlope)) return Infinity;
  return (limit - used) / slope;
}

/** "~4 min", "~2 h", "less than a minute": a forecast for people. */
export function describeTimeToFull(seconds: number): string | null {
  if (!(seconds >= 0) || seconds === Infinity) return null;
  if (seconds < 60) return 'less than a minute';
  if (seconds < 3600) return `~${Math.round(seconds / 60)} min`;
  if (seconds < 86_400) return `~${Math.round(seconds / 3600)} h`;
  return `~${Math.round(seconds / 86_400)} d`;
}
