/**
 * The increase of a cumulative kernel counter between two reads.
 *
 * A counter that went backwards either wrapped or was reset:
 * - 32-bit wrap: conntrack's per-CPU statistics are u32, and drivers on 32-bit ARM keep
 *   `unsigned long` counters that wrap at 2^32 even behind rtnl_link_stats64. When adding
 *   2^32 gives a plausible increase (at most 2^31 in one interval), we take it.
 * - reset: the interface was re-created (USB NIC re-plugged), the driver reloaded or
 *   the module re-inserted. The increase since the reset is unknowable (the counter may
 *   have restarted at any time within the interval), so the answer is NaN: one missing
 *   sample is honest, a made-up spike is not.
 */
const TWO_POW_32 = 4294967296;
const MAX_PLAUSIBLE_WRAP_DELTA = 2147483648;

export function counterDelta(previous: number, current: number): number {
  if (current >= previous) return current - previous;
  const wrapped = current + TWO_POW_32 - previous;
  if (wrapped >= 0 && wrapped <= MAX_PLAUSIBLE_WRAP_DELTA) return wrapped;
  return NaN;
}
