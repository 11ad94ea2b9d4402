/**
 * Exponential growth of a port's broadcast + multicast rate: the snowball of a loop ("ARP
 * somewhat, mDNS and ICMPv6 explosively", DESIGN.md story 2). Supporting evidence only.
 *
 * Samples are gathered into periods of about one second (whole ticks: one at the default 1 Hz,
 * ten at 10 Hz, a single longer one at slow ticks), and each period's mean is compared with the
 * previous one's as growth per second, (mean / previous)^(1000 / period ms). Periods are tick
 * spans rather than clock seconds, so tick jitter around a second boundary cannot leave a
 * second empty and break a run. Fixed memory: a few numbers per port in typed arrays.
 */

/** A period closes once it spans this much; 100 ms short of a second absorbs tick jitter. */
const PERIOD_MS = 900;
const SLACK_MS = 100;

export class GrowthTracker {
  private readonly sum: Float64Array;
  private readonly span: Float64Array;
  private readonly previous: Float64Array;
  private readonly runMs: Float64Array;
  private readonly runStart: Float64Array;
  private readonly lastAt: Float64Array;
  private readonly factors: Float64Array;

  constructor(
    readonly ports: number,
    private readonly factor: number,
    private readonly seconds: number,
    private readonly floorPps: number,
  ) {
    this.sum = new Float64Array(ports);
    this.span = new Float64Array(ports);
    this.previous = new Float64Array(ports).fill(NaN);
    this.runMs = new Float64Array(ports);
    this.runStart = new Float64Array(ports);
    this.lastAt = new Float64Array(ports).fill(-Infinity);
    this.factors = new Float64Array(ports).fill(NaN);
  }

  /** One sample: `pps` over the `spanMs` before `monoMs`; NaN breaks the run. */
  add(port: number, pps: number, monoMs: number, spanMs: number): void {
    if (!(pps >= 0)) {
      this.reset(port, false);
      return;
    }
    if (spanMs <= 0) return;
    this.sum[port] = this.sum[port]! + pps * spanMs;
    this.span[port] = this.span[port]! + spanMs;
    const span = this.span[port]!;
    if (span < PERIOD_MS) return;
    const mean = this.sum[port]! / span;
    this.sum[port] = 0;
    this.span[port] = 0;
    const previous = this.previous[port]!;
    this.previous[port] = mean;
    if (previous > 0 && mean > this.floorPps && Math.pow(mean / previous, 1000 / span) >= this.factor) {
      if (this.runMs[port] === 0) this.runStart[port] = previous;
      this.runMs[port] = this.runMs[port]! + span;
      if (this.runMs[port]! >= this.seconds * 1000 - SLACK_MS) {
        this.lastAt[port] = monoMs;
        this.factors[port] = Math.pow(mean / this.runStart[port]!, 1000 / this.runMs[port]!);
      }
    } else {
      this.runMs[port] = 0;
    }
  }

  /** Monotonic ms the port last completed (or extended) a growth run; -Infinity if never. */
  lastGrowthAt(port: number): number {
    return this.lastAt[port]!;
  }

  /** Growth per second over that run (≥ factor), NaN if none. */
  growthFactor(port: number): number {
    return this.factors[port]!;
  }

  /** Breaks the run; `forget` also drops the last growth seen (a new device in the slot). */
  reset(port: number, forget = true): void {
    this.sum[port] = 0;
    this.span[port] = 0;
    this.previous[port] = NaN;
    this.runMs[port] = 0;
    if (forget) {
      this.lastAt[port] = -Infinity;
      this.factors[port] = NaN;
    }
  }
}
