/**
 * Runs every alarm on each sampler tick and hands each change, once, to every sink.
 *
 * Reasons and attributes are built only when an alarm changes: building strings per tick is
 * what the hot path must not do. So between changes `states()` shows the value and peak of the
 * latest tick but the reason and attributes of the latest change.
 */
import { ThresholdAlarm, type EpochTime } from './thresholdAlarm.ts';
import type { AlarmEvent, AlarmInput, AlarmSink, AlarmState, Severity, ThresholdAlarmSpec } from './types.ts';

/** What the engine needs from a logger; a pino Logger fits. */
export interface AlarmLogger {
  warn(obj: object, msg: string): void;
}

interface Entry {
  readonly alarm: ThresholdAlarm;
  readonly input: AlarmInput;
  reason: string;
  attributes: Record<string, unknown>;
  /** The input's revision when reason and attributes were last built. */
  revision: number;
  /** Monotonic ms of the last event of any kind, for MIN_UPDATE_INTERVAL_MS. */
  describedAt: number;
}

/**
 * 'updated' events go to MQTT as retained messages: at most one per alarm per second after any event, so a
 * detector whose report changes every tick (a storm spreading port by port) cannot flood the
 * broker. A change held back is sent on the next tick after the interval.
 */
const MIN_UPDATE_INTERVAL_MS = 1000;

function stateOf(entry: Entry, attributes: Record<string, unknown>): AlarmState {
  const alarm = entry.alarm;
  return {
    name: alarm.name,
    title: alarm.spec.title,
    active: alarm.active,
    severity: alarm.severity,
    since: alarm.since,
    value: alarm.value,
    peak: alarm.peak,
    reason: entry.reason,
    attributes,
    raisedCount: alarm.raisedCount,
    lastRaisedAt: alarm.lastRaisedAt,
    lastClearedAt: alarm.lastClearedAt,
  };
}

export class AlarmEngine {
  private readonly entries: Entry[] = [];
  private readonly byName = new Map<string, Entry>();
  /** Replaced, never mutated, so a sink that subscribes or leaves during delivery is safe. */
  private sinks: readonly AlarmSink[] = [];

  constructor(private readonly log: AlarmLogger) {}

  /** Adds an alarm; names are topic and unique ids, so a second one with the same name throws. */
  add(spec: ThresholdAlarmSpec, input: AlarmInput): void {
    if (this.byName.has(spec.name)) throw new Error(`alarm ${spec.name} is already registered`);
    const entry: Entry = { alarm: new ThresholdAlarm(spec), input, reason: '', attributes: {}, revision: 0, describedAt: -Infinity };
    this.entries.push(entry);
    this.byName.set(spec.name, entry);
  }

  /** Subscribes a sink to every future change; returns a function that unsubscribes it. */
  onEvent(sink: AlarmSink): () => void {
    this.sinks = [...this.sinks, sink];
    return () => {
      const index = this.sinks.indexOf(sink);
      if (index >= 0) this.sinks = [...this.sinks.slice(0, index), ...this.sinks.slice(index + 1)];
    };
  }

  /**
   * Called on every sampler tick. Allocates nothing unless an alarm changes. Inputs must not
   * throw from value(): it runs on the tick path, where a try per alarm would only hide a bug.
   * `epochMs` defaults to Date.now, read only when an alarm changes (see ThresholdAlarm.update).
   */
  evaluate(monoMs: number, epochMs: EpochTime = Date.now): void {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const from = entry.alarm.severity;
      const change = entry.alarm.update(entry.input.value(), monoMs, epochMs);
      if (change !== null) {
        entry.describedAt = monoMs;
        this.changed(entry, change, from, entry.alarm.since ?? Date.now());
      } else if (
        entry.alarm.active &&
        entry.input.revision !== undefined &&
        entry.input.revision() !== entry.revision &&
        monoMs - entry.describedAt >= MIN_UPDATE_INTERVAL_MS
      ) {
        entry.describedAt = monoMs;
        this.changed(entry, 'updated', from, typeof epochMs === 'number' ? epochMs : epochMs());
      }
    }
  }

  /** Copies of every alarm's state, in the order they were added. */
  states(): AlarmState[] {
    return this.entries.map((entry) => stateOf(entry, { ...entry.attributes }));
  }

  /** A copy of one alarm's state, or null when no alarm has that name. */
  state(name: string): AlarmState | null {
    const entry = this.byName.get(name);
    return entry ? stateOf(entry, { ...entry.attributes }) : null;
  }

  private changed(entry: Entry, kind: AlarmEvent['kind'], from: Severity | null, epochMs: number): void {
    this.describe(entry);
    const alarm = entry.alarm;
    // One event object goes to every sink; frozen so one sink cannot alter what the next sees.
    const state = Object.freeze(stateOf(entry, Object.freeze({ ...entry.attributes })));
    const event: AlarmEvent = Object.freeze({ name: alarm.name, at: epochMs, kind, from, to: alarm.severity, state });
    const sinks = this.sinks;
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i]!(event);
      } catch (err) {
        this.log.warn({ err, alarm: alarm.name, kind }, 'alarm sink failed; the other sinks still got the event');
      }
    }
  }

  /**
   * The state has already changed, so an input that fails to describe it must not cost the
   * event: the sinks get a plain reason instead and the failure is logged.
   */
  private describe(entry: Entry): void {
    const alarm = entry.alarm;
    // Read before describing: a revision that moves during describe() is caught next tick.
    entry.revision = entry.input.revision?.() ?? 0;
    try {
      entry.reason = entry.input.reason(alarm.severity, alarm.value);
      entry.attributes = entry.input.attributes();
    } catch (err) {
      entry.reason = `${alarm.spec.title}: ${alarm.value}`;
      entry.attributes = {};
      this.log.warn({ err, alarm: alarm.name }, 'alarm input could not describe the change');
    }
  }
}
