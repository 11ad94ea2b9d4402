/**
 * The alarm contract shared by the engine, the detectors that feed it and the sinks (MQTT,
 * status, log, Prometheus) that report it. Sinks never compute: they get one AlarmEvent per
 * change and can read every alarm's current AlarmState at any time.
 */

export type Severity = 'warning' | 'critical';

/** One severity's levels. Raise when the value goes above `raise`, clear when below `clear`. */
export interface AlarmLevel {
  raise: number;
  /** Below `raise`: the gap is the hysteresis that keeps an alarm from flapping. */
  clear: number;
}

export interface ThresholdAlarmSpec {
  /** Stable id used in topics and unique ids: [a-z0-9_]. "nat_table". */
  name: string;
  /** For people: "NAT table almost full". */
  title: string;
  warning: AlarmLevel | null;
  critical: AlarmLevel | null;
  /**
   * Least time (ms) an alarm stays at a severity before it may drop to a lower one or clear.
   * Escalation is never delayed: a critical condition is reported at once.
   */
  holdMs: number;
  /** The value must stay above a raise level this long (ms) before raising; 0 = at once. */
  raiseAfterMs: number;
}

/** Where a detector's value comes from. Called every tick: must not allocate. */
export interface AlarmInput {
  /** Current value in the unit of the levels; NaN = unknown, which changes nothing. */
  value(): number;
  /** Why, for people, e.g. "conntrack table 96.1 % full (15,744 of 16,384)". Built on change only. */
  reason(severity: Severity | null, value: number): string;
  /** Extra facts for the sinks (count, max, top hosts…). Built on change only. */
  attributes(): Record<string, unknown>;
  /**
   * Optional: a number that changes whenever reason() or attributes() would say something new
   * while the severity stays (another port joins a storm, a port gets blocked). Called every
   * tick, so it must not allocate. An active alarm whose revision moved is re-described and
   * sent to the sinks as an 'updated' event.
   */
  revision?(): number;
}

/** An alarm as it is now. `since`, `lastRaisedAt` and `lastClearedAt` are epoch ms. */
export interface AlarmState {
  name: string;
  title: string;
  active: boolean;
  severity: Severity | null;
  /** When the current severity (or the cleared state) began; null before the first change. */
  since: number | null;
  /** Latest value seen (NaN when unknown). */
  value: number;
  /** Highest value while active, or of the last active period once cleared; NaN if never active. */
  peak: number;
  reason: string;
  attributes: Record<string, unknown>;
  /** Times raised (inactive → active) since the agent started. */
  raisedCount: number;
  lastRaisedAt: number | null;
  lastClearedAt: number | null;
}

/**
 * One change of an alarm: raised, escalated, de-escalated or cleared; or 'updated': still at the
 * same severity, but its reason or attributes changed (see AlarmInput.revision).
 */
export interface AlarmEvent {
  name: string;
  /** Epoch ms of the change. */
  at: number;
  kind: 'raised' | 'escalated' | 'deescalated' | 'updated' | 'cleared';
  from: Severity | null;
  to: Severity | null;
  /** The state after the change (a copy: sinks may keep it). */
  state: AlarmState;
}

export type AlarmSink = (event: AlarmEvent) => void;
