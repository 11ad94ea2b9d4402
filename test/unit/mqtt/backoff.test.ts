import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/mqtt/backoff.ts';

describe('Backoff', () => {
  it('doubles from the initial step up to the cap, jittered within the upper half of each step', () => {
    const low = new Backoff({ initialMs: 1000, maxMs: 60_000, random: () => 0 });
    const high = new Backoff({ initialMs: 1000, maxMs: 60_000, random: () => 0.999999 });
    const lows = Array.from({ length: 9 }, () => low.next());
    const highs = Array.from({ length: 9 }, () => high.next());
    expect(lows).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(highs).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('starts over after reset and never overflows after many failures', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 60_000, random: () => 0.999999 });
    for (let i = 0; i < 2000; i++) b.next();
    expect(b.next()).toBe(60_000);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(1000);
  });
});
