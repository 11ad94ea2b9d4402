import { describe, expect, it } from 'vitest';
import { describeTimeToFull, NatPressure } from '../../../src/detect/natPressure.ts';

/** One tick per second: count, max, refusals per second; no upstream budget unless given. */
function feed(p: NatPressure, start: number, counts: number[], max = 10_000, refused = 0, upstream?: { used: number[]; budget: number }) {
  counts.forEach((count, i) => {
    p.update(start + i * 1000, count, max, refused, 1, upstream ? upstream.used[i]! : NaN, upstream ? upstream.budget : NaN);
  });
}

describe('NatPressure', () => {
  it('forecasts the time to full from the least-squares growth over the last minute', () => {
    const p = new NatPressure();
    // 100 entries per second from 4,000 towards 10,000.
    feed(p, 0, Array.from({ length: 30 }, (_, i) => 4000 + 100 * i));
    expect(p.growthPerS).toBeCloseTo(100, 6);
    // 6,900 now, 3,100 left at 100/s.
    expect(p.secondsToFull).toBeCloseTo(31, 6);
    expect(describeTimeToFull(p.secondsToFull)).toBe('less than a minute');
  });

  it('is not fooled by a burst: the slope goes through every sample of the window', () => {
    const p = new NatPressure();
    const counts = Array.from({ length: 60 }, () => 2000);
    counts[30] = 2600; // a burst of DNS lookups, gone the next second
    feed(p, 0, counts);
    expect(Math.abs(p.growthPerS)).toBeLessThan(1);
    expect(p.secondsToFull).toBe(Infinity);
    expect(describeTimeToFull(p.secondsToFull)).toBeNull();
  });

  it('forgets samples older than the window', () => {
    const p = new NatPressure({ windowMs: 10_000 });
    feed(p, 0, Array.from({ length: 30 }, (_, i) => 1000 + 50 * i)); // growing…
    feed(p, 30_000, Array.from({ length: 15 }, () => 2500)); // …then flat for 15 s
    expect(p.growthPerS).toBeCloseTo(0, 6);
  });

  it('says 0 s once at the limit, NaN while unknown', () => {
    const p = new NatPressure();
    expect(p.secondsToFull).toBeNaN();
    feed(p, 0, [9000, 9500, 10_000]);
    expect(p.secondsToFull).toBe(0);
  });

  it('forecasts the upstream budget from its own series', () => {
    const p = new NatPressure();
    const used = Array.from({ length: 20 }, (_, i) => 1000 + 20 * i);
    feed(p, 0, Array.from({ length: 20 }, () => 3000), 65_536, 0, { used, budget: 2000 });
    expect(p.upstreamGrowthPerS).toBeCloseTo(20, 6);
    expect(p.secondsToUpstreamFull).toBeCloseTo((2000 - 1380) / 20, 6);
    expect(p.secondsToFull).toBe(Infinity);
  });

  it('sums refusals over the failure window and lets them age out', () => {
    const p = new NatPressure({ failureWindowMs: 10_000 });
    feed(p, 0, [5000, 5000, 5000], 10_000, 3); // 3 refused per second for 3 s
    expect(p.refusedInWindow).toBe(9);
    feed(p, 3000, Array.from({ length: 8 }, () => 5000), 10_000, 0);
    expect(p.refusedInWindow).toBe(6); // at 10 s, the first second's 3 are out of the window
    feed(p, 12_000, [5000, 5000], 10_000, 0);
    expect(p.refusedInWindow).toBe(0);
  });

  it('words forecasts for people', () => {
    expect(describeTimeToFull(30)).toBe('less than a minute');
    expect(describeTimeToFull(240)).toBe('~4 min');
    expect(describeTimeToFull(2 * 3600)).toBe('~2 h');
    expect(describeTimeToFull(3 * 86_400)).toBe('~3 d');
  });
});
