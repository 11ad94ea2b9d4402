import { describe, expect, it } from 'vitest';
import { counterDelta } from '../../../src/sampler/counterDelta.ts';

describe('counterDelta', () => {
  it('is the plain difference while the counter grows', () => {
    expect(counterDelta(1000, 1500)).toBe(500);
    expect(counterDelta(7, 7)).toBe(0);
  });

  it('stays exact above 2^32 (64-bit counters read as two halves)', () => {
    expect(counterDelta(2 ** 40, 2 ** 40 + 12345)).toBe(12345);
  });

  it('takes a 32-bit wrap as the increase across 2^32', () => {
    expect(counterDelta(4294967290, 10)).toBe(16);
  });

  it('takes a wrap of a per-CPU sum above 2^32 (one CPU wrapped)', () => {
    expect(counterDelta(5_000_000_000, 5_000_000_000 - 4294967296 + 100)).toBe(100);
  });

  it('calls a big fall a reset and gives no number rather than a spike', () => {
    expect(counterDelta(3_000_000, 12)).toBeNaN();
    expect(counterDelta(2 ** 40, 500)).toBeNaN();
  });
});
