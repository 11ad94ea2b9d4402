/**
 * Per-port short and long averages of one rate, in fixed memory (typed arrays sized at start).
 *
 * Short average: a ring of 10 time buckets covering `shortWindowMs` (1 s each by default, the
 * Cisco storm-control interval, loop-storm.md §1.3), each holding Σ rate·span and Σ span. It is
 * an exact window mean, as netdata's 10 s average is (§3), weighted by time so it means the same
 * at every sample tick the config allows (100 ms to 60 s). Why not an EWMA here too: it shows
 * only 63 % of a step after one time constant, and with the baseline moving meanwhile a step
 * from 5 to 300 pps (60×) never gets above 20× the baseline (worked out for τ = 10 s / 300 s).
 *
 * Long average (the baseline): an exponentially weighted mean with time constant
 * `longWindowMs`, O(1) per port, fed with the buckets *leaving* the short window. So the
 * baseline never contains the 10 s it is compared with: netdata's 1 min average includes its
 * own 10 s, so a jump partly becomes its own baseline [inference from §3's calc line]. A bucket
 * teaches the baseline only if the port was not in storm while it was filled nor when it
 * leaves the window: a storm never becomes "normal", however long it lasts.
 * The mean is bias-corrected (sum of weights kept), so it is right from the first bucket on
 * rather than pulled towards its initial zero.
 */

const BUCKETS = 10;

export class RateBaselines {
  private readonly bucketMs: number;
  /** Bucket number (floor(time / bucketMs)) each slot holds; -Infinity = empty. */
  private readonly ids: Float64Array;
  private readonly sums: Float64Array;
  private readonly spans: Float64Array;
  /** 1 when a sample of the bucket was taken while the port was in storm. */
  private readonly tainted: Uint8Array;
  private readonly shortAvg: Float64Array;
  private readonly longSum: Float64Array;
  private readonly longWeight: Float64Array;
  private readonly learned: Float64Array;

  constructor(
    readonly ports: number,
    shortWindowMs: number,
    private readonly longWindowMs: number,
  ) {
    this.bucketMs = shortWindowMs / BUCKETS;
    this.ids = new Float64Array(ports * BUCKETS).fill(-Infinity);
    this.sums = new Float64Array(ports * BUCKETS);
    this.spans = new Float64Array(ports * BUCKETS);
    this.tainted = new Uint8Array(ports * BUCKETS);
    this.shortAvg = new Float64Array(ports).fill(NaN);
    this.longSum = new Float64Array(ports);
    this.longWeight = new Float64Array(ports);
    this.learned = new Float64Array(ports);
  }

  /**
   * Adds one sample: `rate` measured over the `spanMs` before `monoMs`. `learn` false (the port
   * is in storm) keeps a bucket that leaves the window now out of the baseline.
   */
  add(port: number, rate: number, monoMs: number, spanMs: number, learn: boolean): void {
    const id = Math.floor(monoMs / this.bucketMs);
    const base = port * BUCKETS;
    const slot = base + (((id % BUCKETS) + BUCKETS) % BUCKETS);
    if (this.ids[slot] !== id) {
      this.retire(port, slot, learn);
      this.ids[slot] = id;
      this.sums[slot] = 0;
      this.spans[slot] = 0;
      this.tainted[slot] = 0;
    }
    this.sums[slot] += rate * spanMs;
    this.spans[slot] += spanMs;
    let sum = 0;
    let span = 0;
    for (let i = base; i < base + BUCKETS; i++) {
      if (this.ids[i]! > id - BUCKETS) {
        sum += this.sums[i]!;
        span += this.spans[i]!;
      }
    }
    this.shortAvg[port] = span > 0 ? sum / span : NaN;
  }

  /** Marks the bucket holding `monoMs` as storm traffic: it will never teach the baseline. */
  taint(port: number, monoMs: number): void {
    const id = Math.floor(monoMs / this.bucketMs);
    const slot = port * BUCKETS + (((id % BUCKETS) + BUCKETS) % BUCKETS);
    if (this.ids[slot] === id) this.tainted[slot] = 1;
  }

  /** Time-weighted mean over the short window as of the port's latest sample; NaN if none. */
  short(port: number): number {
    return this.shortAvg[port]!;
  }

  /** The baseline; NaN until the port has learned anything. */
  long(port: number): number {
    const weight = this.longWeight[port]!;
    return weight > 0 ? this.longSum[port]! / weight : NaN;
  }

  /** Traffic time (ms) the baseline has learned from. */
  learnedMs(port: number): number {
    return this.learned[port]!;
  }

  /** Forgets everything about a port (a new device in its slot). */
  reset(port: number): void {
    const base = port * BUCKETS;
    this.ids.fill(-Infinity, base, base + BUCKETS);
    this.sums.fill(0, base, base + BUCKETS);
    this.spans.fill(0, base, base + BUCKETS);
    this.tainted.fill(0, base, base + BUCKETS);
    this.shortAvg[port] = NaN;
    this.longSum[port] = 0;
    this.longWeight[port] = 0;
    this.learned[port] = 0;
  }

  private retire(port: number, slot: number, learn: boolean): void {
    const span = this.spans[slot]!;
    if (!learn || span <= 0 || this.tainted[slot] === 1) return;
    // Weighted by the time the bucket covers: right for any tick period, and a gap in the
    // samples leaves the baseline as it was instead of decaying it towards nothing.
    const a = 1 - Math.exp(-span / this.longWindowMs);
    this.longSum[port] = this.longSum[port]! * (1 - a) + a * (this.sums[slot]! / span);
    this.longWeight[port] = this.longWeight[port]! * (1 - a) + a;
    this.learned[port] = this.learned[port]! + span;
  }
}
