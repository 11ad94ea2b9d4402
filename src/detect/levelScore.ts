/**
 * A value against one rule's levels, in percent of the way to raising: above `raise` it is
 * 100 × value / raise (percent of the raise level, > 100); from `clear` to `raise` it runs
 * linearly from 50 to 100; below `clear` it is under 50. So "> 100" means the rule raises and
 * "< 50" means it is below its clear level, for any configured levels, and the max over rules
 * and ports can drive a ThresholdAlarm with raise 100 / clear 50. Needs 0 ≤ clear < raise.
 */
export function levelScore(value: number, clear: number, raise: number): number {
  if (value > raise) return (100 * value) / raise;
  if (value >= clear) return 50 + (50 * (value - clear)) / (raise - clear);
  return (50 * value) / clear;
}
