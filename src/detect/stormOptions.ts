/**
 * Storm detector settings. Sources are in /work/shared/notes/loop-storm.md (§ numbers below);
 * where a number is a design choice and not a vendor's default, it says so.
 */
import { checkNumber } from './text.ts';

export interface StormOptions {
  /**
   * Absolute rule: one tick's broadcast+multicast pps above this raises the port. Cisco
   * storm-control compares the count of each 1-second interval with a rising level (§1.3); at
   * the default 1 s sample tick one tick is that interval. Infinity turns the rule off.
   */
  absoluteRaisePps: number;
  /**
   * Clear level of the absolute rule and of the baseline floor, as a fraction of the raise
   * level. D-Link falls at 80 % of rising (§1.3); home broadcast is bursty (netdata #1866, §3),
   * so we keep a wider gap to stop a storm that hovers near the level from flapping the alarm.
   */
  clearFraction: number;
  /** Baseline rule: the short average must be above this many times the long average… */
  baselineRaiseFactor: number;
  /** …and above this many pps, so a quiet port (baseline ≈ 0) does not raise on a few frames. */
  baselineFloorPps: number;
  /** Baseline rule clears below max(this × baseline, clearFraction × floor). */
  baselineClearFactor: number;
  /** A port clears after every rule has stayed below its clear level this long (ms). */
  clearHoldMs: number;
  /** Short average window (ms): netdata's storm alarm judges a 10 s average (§3). */
  shortWindowMs: number;
  /** Time constant (ms) of the long average (the baseline). */
  longWindowMs: number;
  /** Traffic (ms) the baseline must have learned before the baseline rule applies. */
  warmupMs: number;
}

export const STORM_DEFAULTS: Readonly<StormOptions> = Object.freeze({
  // Board default for a home LAN. netdata also treats anything under 1000 pps as "no storm
  // yet": its baseline is floored at 1000 pps (health.d/net.conf, §3).
  absoluteRaisePps: 1000,
  clearFraction: 0.5,
  // netdata's header comment: "raise an alarm if the later is 10x or 20x the first" (§3); its
  // shipped levels are 50×/60× against a 1000 pps floor, which would miss a 300 pps mDNS storm.
  baselineRaiseFactor: 20,
  // Design choice: under the ~350 pps mDNS storm of cloned Home Assistant instances
  // (home-assistant/core#148918, §2.10), so that one is caught; far above home chatter (~10 pps).
  baselineFloorPps: 200,
  baselineClearFactor: 5,
  // D-Link DGS-6600 storm-control time-interval and IP Infusion OcNOS both judge 5 s (§1.3).
  clearHoldMs: 5_000,
  shortWindowMs: 10_000,
  // netdata compares with 1 minute (§3). We use 5 minutes [design choice]: a loop that
  // snowballs over a minute would drag a 1-minute baseline up with it (§1.5 [inference]).
  longWindowMs: 300_000,
  warmupMs: 300_000,
});

/** Defaults overlaid with `overrides`, checked; throws RangeError on a setting that cannot work. */
export function resolveStormOptions(overrides: Partial<StormOptions> = {}): Readonly<StormOptions> {
  const o: StormOptions = { ...STORM_DEFAULTS, ...overrides };
  const who = 'storm detector';
  if (!(o.absoluteRaisePps > 0)) throw new RangeError(`${who}: absoluteRaisePps must be > 0 (got ${o.absoluteRaisePps})`);
  checkNumber(who, 'clearFraction', o.clearFraction, 0, true);
  if (!(o.clearFraction < 1)) throw new RangeError(`${who}: clearFraction must be < 1 (got ${o.clearFraction})`);
  checkNumber(who, 'baselineClearFactor', o.baselineClearFactor, 0, true);
  checkNumber(who, 'baselineRaiseFactor', o.baselineRaiseFactor, o.baselineClearFactor, true);
  checkNumber(who, 'baselineFloorPps', o.baselineFloorPps, 0, true);
  checkNumber(who, 'clearHoldMs', o.clearHoldMs, 0, false);
  checkNumber(who, 'shortWindowMs', o.shortWindowMs, 0, true);
  checkNumber(who, 'longWindowMs', o.longWindowMs, 0, true);
  checkNumber(who, 'warmupMs', o.warmupMs, 0, false);
  return Object.freeze(o);
}
