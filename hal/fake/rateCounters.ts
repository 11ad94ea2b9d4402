/**
 * What every fake counter source shares: cumulative counters that grow by per-second rates
 * over the time the injected clock says has passed since the last advance.
 */

export interface RateCounterState {
  counters: Float64Array;
  /** Per-second increments, one per counter field. */
  rates: Float64Array;
}

export class CounterAdvancer {
  private last: number;

  constructor(private readonly clock: () => number) {
    this.last = clock();
  }

  /**
   * Moves every counter of every state forward by its rate over the elapsed clock time. Not
   * rounded to whole frames: with a jittery timer, 20 pps over a 130 ms tick would round to 3
   * frames and read as 23 pps, a rate error the kernel's own counters never make over time.
   */
  advance(states: Iterable<RateCounterState>): void {
    const now = this.clock();
    const seconds = (now - this.last) / 1000;
    this.last = now;
    if (seconds <= 0) return;
    for (const state of states) {
      for (let field = 0; field < state.counters.length; field++) {
        state.counters[field] = state.counters[field]! + state.rates[field]! * seconds;
      }
    }
  }
}
