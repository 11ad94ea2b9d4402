import { describe, expect, it } from 'vitest';
import { RingClock, SeriesBlock } from '../../../src/sampler/ring.ts';

describe('RingClock and SeriesBlock', () => {
  it('keeps the newest `capacity` ticks and finds them by age', () => {
    const clock = new RingClock(3);
    const block = new SeriesBlock(2, 3);
    for (let tick = 1; tick <= 5; tick++) {
      const at = clock.advance(tick * 1000);
      block.set(0, at, tick);
      block.set(1, at, -tick);
    }
    expect(clock.filled).toBe(3);
    expect([0, 1, 2].map((age) => block.get(0, clock.indexAt(age)))).toEqual([5, 4, 3]);
    expect(block.get(1, clock.indexAt(0))).toBe(-5);
    expect(clock.times[clock.indexAt(2)]).toBe(3000);
    expect(clock.indexAt(3)).toBe(-1);
    expect(block.get(0, clock.indexAt(3))).toBeNaN();
  });

  it('starts empty (NaN) and clears back to NaN', () => {
    const block = new SeriesBlock(1, 4);
    expect(block.get(0, 2)).toBeNaN();
    block.set(0, 2, 9);
    block.clear();
    expect(block.get(0, 2)).toBeNaN();
  });
});
