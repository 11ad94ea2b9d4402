/**
 * The two NAT alarms beyond the usage level (issue 5):
 * - `nat_full`: the kernel is refusing new entries (drop, early_drop, insert_failed) even if the
 *   count looks fine: hash chains too long, or a burst filling the table between two samples.
 *   What people see is "the internet is down" for new connections while old ones keep working.
 * - `nat_upstream`: the device upstream (the ISP's modem/router, whose own NAT table is often
 *   ~2,000 sessions) is near the budget the user declared. We cannot see its table; we count
 *   what we send it (entries leaving through our SNAT, or the flows we forward as a bridge).
 */
import type { NatPressure } from '../detect/natPressure.ts';
import { describeTimeToFull } from '../detect/natPressure.ts';
import { grouped } from '../detect/text.ts';
import type { AlarmInput, Severity, ThresholdAlarmSpec } from './types.ts';


export interface NatFullLevels {
  enabled: boolean;
  /** Refusals within 10 s that raise the warning… */
  warnRefused: number;
  /** …and the critical. */
  critRefused: number;
  /** Least time at a severity before it may drop or clear, ms. */
  holdMs: number;
}

export function natFullSpec(levels: NatFullLevels): ThresholdAlarmSpec | null {
  if (!levels.enabled) return null;
  return {
    name: 'nat_full',
    title: 'NAT table refusing connections',
    // The value is a whole count: "≥ n" is "> n − 0.5". Clears once no refusal is in the window.
    warning: { raise: levels.warnRefused - 0.5, clear: 0.5 },
    critical: { raise: levels.critRefused - 0.5, clear: levels.warnRefused - 0.5 },
    holdMs: levels.holdMs,
    raiseAfterMs: 0,
  };
}

class NatFullInput implements AlarmInput {
  constructor(private readonly pressure: NatPressure) {}

  /** Every tick: a typed-array read (a whole number), allocation-free. */
  value(): number {
    return this.pressure.refusedInWindow;
  }

  reason(severity: Severity | null, value: number): string {
    const window = this.pressure.options.failureWindowMs / 1000;
    if (severity === null) return `no new connections refused for ${window} s`;
    return `the kernel refused ${grouped(value)} new connections in ${window} s (conntrack drop, early_drop, insert_failed)`;
  }

  attributes(): Record<string, unknown> {
    return { refused_10s: this.pressure.refusedInWindow };
  }
}

export function natFullInput(pressure: NatPressure): AlarmInput {
  return new NatFullInput(pressure);
}

export interface NatUpstreamLevels {
  enabled: boolean;
  warnPct: number;
  warnClearPct: number;
  critPct: number;
  critClearPct: number;
  holdMs: number;
}

export function natUpstreamSpec(levels: NatUpstreamLevels, budget: number | null): ThresholdAlarmSpec | null {
  if (!levels.enabled || budget === null) return null;
  return {
    name: 'nat_upstream',
    title: 'Upstream NAT table almost full',
    warning: { raise: levels.warnPct, clear: levels.warnClearPct },
    critical: { raise: levels.critPct, clear: levels.critClearPct },
    holdMs: levels.holdMs,
    raiseAfterMs: 0,
  };
}

/** One LAN host in the ranking, as the sinks show it. */
export interface RankedHost {
  ip: string;
  mac: string | null;
  name: string | null;
  entries: number;
}

/** Where the upstream usage comes from (the conntrack host table, kept by the agent). */
export interface UpstreamUsage {
  readonly budget: number;
  /** Entries counted against the budget now; NaN unknown. Every tick: must not allocate. */
  used(): number;
  /** The hosts holding most of it, most first. On change only. */
  topHosts(n: number): RankedHost[];
  /**
   * Moves when the hosts holding most change (another host takes the lead), so a standing alarm
   * names who fills the table now, not who did when it was raised. Every tick while the alarm
   * stands: must not allocate.
   */
  revision(): number;
  /** "router" (entries through our SNAT) or "bridge" (flows we forward). */
  readonly basis: 'router' | 'bridge';
}

class NatUpstreamInput implements AlarmInput {
  constructor(
    private readonly usage: UpstreamUsage,
    private readonly pressure: NatPressure,
  ) {}

  /** Every tick: percent of the budget. */
  value(): number {
    const used = this.usage.used();
    return used >= 0 ? (used / this.usage.budget) * 100 : NaN;
  }

  revision(): number {
    return this.usage.revision();
  }

  reason(severity: Severity | null, value: number): string {
    const used = this.usage.used();
    const of = `${grouped(used)} of the ${grouped(this.usage.budget)} sessions declared for the upstream device`;
    if (severity === null) return `upstream NAT usage back to ${value.toFixed(0)} % (${of})`;
    const top = this.usage.topHosts(1)[0];
    const who = top === undefined ? '' : `; most from ${top.name ?? top.ip} (${grouped(top.entries)})`;
    const when = describeTimeToFull(this.pressure.secondsToUpstreamFull);
    return `upstream NAT table ~${value.toFixed(0)} % full (${of})${who}${when === null ? '' : `; full in ${when} at the current rate`}`;
  }

  attributes(): Record<string, unknown> {
    const used = this.usage.used();
    return {
      budget: this.usage.budget,
      used: used >= 0 ? used : null,
      basis: this.usage.basis,
      top_hosts: this.usage.topHosts(5),
    };
  }
}

export function natUpstreamInput(usage: UpstreamUsage, pressure: NatPressure): AlarmInput {
  return new NatUpstreamInput(usage, pressure);
}
