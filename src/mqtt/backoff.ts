/**
 * Reconnect delays: capped exponential with "full jitter" (a random delay between half and all
 * of the step), so a houseful of agents does not hammer a broker that just came back in step.
 */

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Returns [0, 1); injectable so tests are exact. */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.random = options.random ?? Math.random;
  }

  /** The delay before the next attempt; each call doubles the step up to the cap. */
  next(): number {
    const step = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(step / 2 + (step / 2) * this.random());
  }

  /** After a connection that held: start again from the shortest delay. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
