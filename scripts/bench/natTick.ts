/**
 * The agent's NAT part of the tick for the bench rows: NatWatch fed after every sample (growth,
 * time-to-full, refusals, upstream usage from the host table) and the nat_full / nat_upstream
 * alarms evaluated with the others. The upstream budget is set (2,000, the pi-bridge profile's)
 * so the upstream path runs too.
 */
import type { Hal } from '../../hal/index.ts';
import type { AlarmEngine } from '../../src/alarms/engine.ts';
import { DEFAULT_CONFIG } from '../../src/config/schema.ts';
import { addNatPressureAlarms } from '../../src/natwatch/natAlarms.ts';
import { NatWatch } from '../../src/natwatch/natWatch.ts';
import type { Sampler } from '../../src/sampler/sampler.ts';

const BENCH_UPSTREAM_BUDGET = 2000;

/** Call before the alarms' own onSample listener: NatWatch's inputs must be fresh when they run. */
export function addNatWatch(hal: Hal, sampler: Sampler, alarms: AlarmEngine, log: { info(m: string): void; warn(m: string): void }): NatWatch {
  const natWatch = new NatWatch({ hal, sampler, log, upstreamBudget: BENCH_UPSTREAM_BUDGET, basis: 'router' });
  addNatPressureAlarms(alarms, natWatch, DEFAULT_CONFIG.alarms, BENCH_UPSTREAM_BUDGET);
  sampler.onSample(natWatch.onSample);
  natWatch.start();
  return natWatch;
}
