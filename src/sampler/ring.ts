/**
 * Fixed-size history in typed arrays, allocated once at start.
 *
 * All series share one clock: every tick writes one value into every series (NaN when
 * unknown), so one head index and one timestamp array serve them all, and reading "the
 * value at tick i" of any series is one multiply-add.
 */
export class RingClock {
  /** Monotonic milliseconds (performance.now()) of each stored tick. */
  readonly times: Float64Array;
  /** Index the next tick will be written at. */
  head = 0;
  /** Number of ticks stored, up to capacity. */
  filled = 0;

  constructor(readonly capacity: number) {
    this.times = new Float64Array(capacity);
  }

  /** Claims the slot for a new tick and returns its index. */
  advance(time: number): number {
    const index = this.head;
    this.times[index] = time;
    this.head = index + 1 === this.capacity ? 0 : index + 1;
    if (this.filled < this.capacity) this.filled++;
    return index;
  }

  /** Index of the tick `age` ticks before the newest (0 = newest), or -1. */
  indexAt(age: number): number {
    if (age < 0 || age >= this.filled) return -1;
    let index = this.head - 1 - age;
    if (index < 0) index += this.capacity;
    return index;
  }
}

/**
 * Several series of one subject (an interface, the conntrack table) for a RingClock.
 * float32 is plenty for rates (7 significant digits) and halves the memory.
 */
export class SeriesBlock {
  readonly data: Float32Array;

  constructor(
    readonly seriesCount: number,
    readonly capacity: number,
  ) {
    this.data = new Float32Array(seriesCount * capacity).fill(NaN);
  }

  set(series: number, index: number, value: number): void {
    this.data[series * this.capacity + index] = value;
  }

  get(series: number, index: number): number {
    return index < 0 ? NaN : this.data[series * this.capacity + index]!;
  }

  clear(): void {
    this.data.fill(NaN);
  }
}
