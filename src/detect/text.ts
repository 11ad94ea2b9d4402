/** Number formatting for reasons and attributes: built on a change only, never per tick. */

/** 15744 → "15,744", the same on every box: toLocaleString depends on the locale and on ICU. */
export function grouped(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Throws unless `value` is a finite number ≥ `min` (or > `min` when `strict`). */
export function checkNumber(owner: string, key: string, value: number, min: number, strict: boolean): void {
  const ok = Number.isFinite(value) && (strict ? value > min : value >= min);
  if (!ok) throw new RangeError(`${owner}: ${key} must be a finite number ${strict ? '>' : '≥'} ${min} (got ${value})`);
}
