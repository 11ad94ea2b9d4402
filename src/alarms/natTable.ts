/**
 * The nat_table alarm: conntrack table usage in percent of nf_conntrack_max. When the table is
 * full the kernel drops new connections, which people see as "the internet is down".
 *
 * Default levels are netdata's conntrack alarm (alarm netfilter_conntrack_full on chart
 * netfilter.conntrack_sockets, health.d/netfilter.conf): warning above 90 %, held while above
 * 85 %; critical above 95 %, held while above 90 %. netdata also delays downward notifications
 * ("delay: down 5m"); holdMs plays that role here.
 */
import type { NatTableAlarmLevels } from '../config/types.ts';
import { CT_COUNT, CT_DROP_PS, CT_MAX, CT_PCT, type ConntrackHistory } from '../sampler/conntrackHistory.ts';
import type { RingClock } from '../sampler/ring.ts';
import { grouped } from '../detect/text.ts';
import type { AlarmInput, Severity, ThresholdAlarmSpec } from './types.ts';

/**
 * NaN from a constant binding, for the per-tick read. Reading through SeriesBlock.get
 * (`index < 0 ? NaN : data[i]`, the global NaN) made V8 box every value the engine evaluated:
 * one heap number per tick under --trace-gc on Node 20. The same read with this constant: none.
 */
const UNKNOWN = Number.NaN;

/** Where the usage comes from; a Sampler is one. */
export interface NatTableSource {
  readonly clock: RingClock;
  readonly conntrack: ConntrackHistory;
}

export function natTableSpec(levels: NatTableAlarmLevels): ThresholdAlarmSpec | null {
  if (!levels.enabled) return null;
  return {
    name: 'nat_table',
    title: 'NAT table almost full',
    warning: { raise: levels.warnPct, clear: levels.warnClearPct },
    critical: { raise: levels.critPct, clear: levels.critClearPct },
    holdMs: levels.holdMs,
    // Usage moves slowly and the levels have hysteresis: no need to wait before raising.
    raiseAfterMs: 0,
  };
}


function oneDecimal(n: number): number {
  return Math.round(n * 10) / 10;
}

/**
 * Reads the newest tick of the history, not ConntrackHistory.latest: `latest` keeps the last
 * successful read, so a failing conntrack source would leave the alarm judging stale numbers,
 * while the history row of a failed tick is NaN, which the alarm treats as unknown.
 */
class NatTableInput implements AlarmInput {
  constructor(private readonly source: NatTableSource) {}

  /** Every tick: must not allocate (see UNKNOWN). */
  value(): number {
    const index = this.source.clock.indexAt(0);
    const history = this.source.conntrack.history;
    return index < 0 ? UNKNOWN : history.data[CT_PCT * history.capacity + index]!;
  }

  reason(severity: Severity | null, value: number): string {
    if (Number.isNaN(value)) return 'conntrack table usage unknown';
    const count = this.at(CT_COUNT);
    const max = this.at(CT_MAX);
    const entries = Number.isFinite(count) && Number.isFinite(max) ? ` (${grouped(count)} of ${grouped(max)} entries)` : '';
    const pct = value.toFixed(1);
    return severity === null ? `conntrack table back to ${pct} %${entries}` : `conntrack table ${pct} % full${entries}`;
  }

  attributes(): Record<string, unknown> {
    const count = this.at(CT_COUNT);
    const max = this.at(CT_MAX);
    const pct = this.at(CT_PCT);
    const dropPerS = this.at(CT_DROP_PS);
    const attributes: Record<string, unknown> = {
      count: Number.isFinite(count) ? count : null,
      max: Number.isFinite(max) ? max : null,
      pct: Number.isFinite(pct) ? oneDecimal(pct) : null,
    };
    // No drop rate on the first tick or after a failed read: leave it out rather than report 0.
    if (Number.isFinite(dropPerS)) attributes.dropPerS = oneDecimal(dropPerS);
    return attributes;
  }

  private at(series: number): number {
    const { clock, conntrack } = this.source;
    return conntrack.history.get(series, clock.indexAt(0));
  }
}

export function natTableInput(source: NatTableSource): AlarmInput {
  return new NatTableInput(source);
}
