import type { Logger } from 'pino';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { AlarmEngine, type AlarmLogger } from '../../../src/alarms/engine.ts';
import type { AlarmEvent, AlarmInput, Severity, ThresholdAlarmSpec } from '../../../src/alarms/types.ts';

const EPOCH = 1_700_000_000_000;

const SPEC: ThresholdAlarmSpec = {
  name: 'nat_table',
  title: 'NAT table almost full',
  warning: { raise: 90, clear: 85 },
  critical: { raise: 95, clear: 90 },
  holdMs: 0,
  raiseAfterMs: 0,
};

/** An input whose value the test sets, counting how often the change-only parts are built. */
class ScriptedInput implements AlarmInput {
  current = NaN;
  reasons = 0;
  attributeBuilds = 0;

  value(): number {
    return this.current;
  }

  reason(severity: Severity | null, value: number): string {
    this.reasons++;
    return `${severity ?? 'clear'} at ${value}`;
  }

  attributes(): Record<string, unknown> {
    this.attributeBuilds++;
    return { build: this.attributeBuilds };
  }
}

function setup() {
  const warnings: { obj: object; msg: string }[] = [];
  const engine = new AlarmEngine({ warn: (obj, msg) => warnings.push({ obj, msg }) });
  const input = new ScriptedInput();
  engine.add(SPEC, input);
  let mono = 0;
  /** One tick per value, 1 s apart. */
  const tick = (...values: number[]) => {
    for (const value of values) {
      input.current = value;
      mono += 1000;
      engine.evaluate(mono, EPOCH + mono);
    }
  };
  return { engine, input, tick, warnings };
}

const summary = (e: AlarmEvent) => `${e.at - EPOCH} ${e.name} ${e.kind} ${e.from}→${e.to}`;

describe('AlarmEngine', () => {
  it('reads the wall clock only when an alarm changes (Date.now() allocates on the tick path)', () => {
    const { engine, input } = setup();
    let reads = 0;
    const clock = () => EPOCH + 1000 * ++reads;
    const events: AlarmEvent[] = [];
    engine.onEvent((e) => events.push(e));
    for (const value of [10, 20, 30, 96, 97, 98, 99, 10, 11, 12]) {
      input.current = value;
      engine.evaluate(0, clock);
    }
    expect(reads).toBe(2);
    expect(events.map((e) => [e.kind, e.at - EPOCH])).toEqual([['raised', 1000], ['cleared', 2000]]);
    expect(engine.state('nat_table')).toMatchObject({ lastRaisedAt: EPOCH + 1000, lastClearedAt: EPOCH + 2000 });
  });

  it('delivers each change as exactly one event to every sink', () => {
    const { engine, tick } = setup();
    const a: AlarmEvent[] = [];
    const b: AlarmEvent[] = [];
    engine.onEvent((e) => a.push(e));
    engine.onEvent((e) => b.push(e));
    tick(50, 91, 92, 96, 97, 89, 86, 84, 80);
    expect(a.map(summary)).toEqual([
      '2000 nat_table raised null→warning',
      '4000 nat_table escalated warning→critical',
      '6000 nat_table deescalated critical→warning',
      '8000 nat_table cleared warning→null',
    ]);
    expect(b).toEqual(a);
    // The same event object, not a copy per sink.
    expect(b[0]).toBe(a[0]);
  });

  it('carries a copy of the state after the change, with the reason and attributes built then', () => {
    const { engine, tick } = setup();
    const events: AlarmEvent[] = [];
    engine.onEvent((e) => events.push(e));
    tick(91, 96);
    expect(events[0]!.state).toEqual({
      name: 'nat_table',
      title: 'NAT table almost full',
      active: true,
      severity: 'warning',
      since: EPOCH + 1000,
      value: 91,
      peak: 91,
      reason: 'warning at 91',
      attributes: { build: 1 },
      raisedCount: 1,
      lastRaisedAt: EPOCH + 1000,
      lastClearedAt: null,
    });
    // Later changes do not alter an event a sink kept.
    expect(events[1]!.state.severity).toBe('critical');
    expect(events[0]!.state.severity).toBe('warning');
    expect(Object.isFrozen(events[0])).toBe(true);
    expect(Object.isFrozen(events[0]!.state)).toBe(true);
    expect(Object.isFrozen(events[0]!.state.attributes)).toBe(true);
  });

  it('builds reasons and attributes only on change', () => {
    const { input, tick } = setup();
    tick(50, 50, 91);
    for (let i = 0; i < 1000; i++) tick(92);
    tick(80);
    expect([input.reasons, input.attributeBuilds]).toEqual([2, 2]);
  });

  it('keeps delivering to the other sinks and evaluating when a sink throws', () => {
    const { engine, tick, warnings } = setup();
    const before: string[] = [];
    const after: string[] = [];
    engine.onEvent((e) => before.push(e.kind));
    engine.onEvent(() => {
      throw new Error('broker gone');
    });
    engine.onEvent((e) => after.push(e.kind));
    tick(91, 80, 97);
    expect(before).toEqual(['raised', 'cleared', 'raised']);
    expect(after).toEqual(['raised', 'cleared', 'raised']);
    expect(warnings.map((w) => w.msg)).toEqual(Array(3).fill('alarm sink failed; the other sinks still got the event'));
    expect(warnings[0]!.obj).toMatchObject({ alarm: 'nat_table', kind: 'raised', err: new Error('broker gone') });
    expect(engine.state('nat_table')!.severity).toBe('critical');
  });

  it('still delivers the event when the input cannot describe the change', () => {
    const warnings: string[] = [];
    const engine = new AlarmEngine({ warn: (_obj, msg) => warnings.push(msg) });
    const input: AlarmInput = {
      value: () => 93,
      reason: () => {
        throw new Error('no data');
      },
      attributes: () => ({}),
    };
    engine.add(SPEC, input);
    const events: AlarmEvent[] = [];
    engine.onEvent((e) => events.push(e));
    engine.evaluate(0, EPOCH);
    expect(events.map((e) => [e.kind, e.state.reason, e.state.attributes])).toEqual([['raised', 'NAT table almost full: 93', {}]]);
    expect(warnings).toEqual(['alarm input could not describe the change']);
  });

  it('stops delivering to a sink that unsubscribed', () => {
    const { engine, tick } = setup();
    const kept: string[] = [];
    const left: string[] = [];
    engine.onEvent((e) => kept.push(e.kind));
    const leave = engine.onEvent((e) => left.push(e.kind));
    tick(91);
    leave();
    tick(80);
    expect([kept, left]).toEqual([['raised', 'cleared'], ['raised']]);
  });

  it('reports every alarm state as copies, with the latest value', () => {
    const { engine, tick } = setup();
    const other = new ScriptedInput();
    engine.add({ ...SPEC, name: 'other', title: 'Other' }, other);
    tick(91, 93);
    const states = engine.states();
    expect(states.map((s) => [s.name, s.severity, s.value, s.peak, s.reason])).toEqual([
      ['nat_table', 'warning', 93, 93, 'warning at 91'],
      ['other', null, NaN, NaN, ''],
    ]);
    states[0]!.severity = null;
    (states[0]!.attributes as { build: number }).build = 99;
    expect(engine.state('nat_table')).toMatchObject({ severity: 'warning', attributes: { build: 1 } });
    expect(engine.state('missing')).toBeNull();
  });

  it("re-describes an active alarm whose input revision moved, as one 'updated' event per second at most", () => {
    const engine = new AlarmEngine({ warn: () => {} });
    const input = new ScriptedInput();
    let revision = 0;
    const revised: AlarmInput = {
      value: () => input.value(),
      reason: (severity, value) => input.reason(severity, value),
      attributes: () => input.attributes(),
      revision: () => revision,
    };
    engine.add(SPEC, revised);
    const events: AlarmEvent[] = [];
    engine.onEvent((e) => events.push(e));
    let mono = 0;
    const at = (value: number, stepMs = 1000) => {
      input.current = value;
      mono += stepMs;
      engine.evaluate(mono, EPOCH + mono);
    };
    // A revision change while clear is nobody's business: nothing to describe.
    revision = 1;
    at(50);
    expect(events).toHaveLength(0);
    at(91);
    expect(events.map((e) => e.kind)).toEqual(['raised']);
    at(91);
    expect(events).toHaveLength(1); // same revision as when raised
    revision = 2;
    at(91, 1000);
    expect(events.map((e) => e.kind)).toEqual(['raised', 'updated']);
    revision = 3;
    at(91, 300); // 300 ms after the last update: held back
    expect(events).toHaveLength(2);
    at(91, 800); // 1.1 s after it
    expect(events.map((e) => `${e.kind} ${e.from}→${e.to}`)).toEqual([
      'raised null→warning',
      'updated warning→warning',
      'updated warning→warning',
    ]);
    expect(events[2]!.state.attributes).toEqual({ build: 3 });
    expect(events[2]!.at).toBe(EPOCH + mono);
    revision = 4;
    at(80); // cleared on this tick: one 'cleared', no 'updated'
    expect(events.map((e) => e.kind)).toEqual(['raised', 'updated', 'updated', 'cleared']);
  });

  it('refuses a second alarm with the same name', () => {
    const { engine } = setup();
    expect(() => engine.add(SPEC, new ScriptedInput())).toThrow('alarm nat_table is already registered');
  });

  it('takes a pino logger', () => {
    expectTypeOf<Logger>().toExtend<AlarmLogger>();
  });
});
