import { describe, expect, it } from 'vitest';
import { FakeHal } from '../../../hal/fake/fakeHal.ts';
import { AlarmEngine } from '../../../src/alarms/engine.ts';
import { natTableInput, natTableSpec } from '../../../src/alarms/natTable.ts';
import type { AlarmEvent } from '../../../src/alarms/types.ts';
import { DEFAULT_CONFIG } from '../../../src/config.ts';
import type { NatTableAlarmLevels } from '../../../src/config/types.ts';
import { Sampler } from '../../../src/sampler/sampler.ts';

const EPOCH = 1_700_000_000_000;

/** A real Sampler over the FakeHal, ticked by hand, with the alarm evaluated after each tick as agent.ts will. */
function setup(levels: NatTableAlarmLevels = { ...DEFAULT_CONFIG.alarms.natTable, holdMs: 0 }) {
  let now = 0;
  const clock = () => now;
  const hal = new FakeHal(clock);
  const log = { warn: () => {}, info: () => {} };
  const sampler = new Sampler(hal, { intervalMs: 1000, log, now: clock });
  const engine = new AlarmEngine({ warn: () => {} });
  const spec = natTableSpec(levels);
  if (!spec) throw new Error('nat_table disabled');
  const input = natTableInput(sampler);
  engine.add(spec, input);
  const events: AlarmEvent[] = [];
  engine.onEvent((e) => events.push(e));
  sampler.onSample(() => engine.evaluate(now, EPOCH + now));
  const table = hal.conntrack.sample;
  const step = (count: number, max = table.max) => {
    table.count = count;
    table.max = max;
    now += 1000;
    sampler.tick();
  };
  return { hal, sampler, engine, input, events, step, table };
}

describe('natTableSpec', () => {
  it('uses the default (netdata) levels and hold from the config', () => {
    expect(natTableSpec(DEFAULT_CONFIG.alarms.natTable)).toEqual({
      name: 'nat_table',
      title: 'NAT table almost full',
      warning: { raise: 90, clear: 85 },
      critical: { raise: 95, clear: 90 },
      holdMs: 60_000,
      raiseAfterMs: 0,
    });
  });

  it('is null when the alarm is disabled', () => {
    expect(natTableSpec({ ...DEFAULT_CONFIG.alarms.natTable, enabled: false })).toBeNull();
  });
});

describe('natTableInput', () => {
  it('reads usage from the newest tick of the conntrack history', () => {
    const { input, step } = setup();
    expect(input.value()).toBeNaN(); // no tick yet
    step(1800, 2000);
    expect(input.value()).toBe(90);
    step(15_744, 16_384);
    expect(input.value()).toBeCloseTo(96.09375, 5);
  });

  it('is unknown when nf_conntrack_max is 0', () => {
    const { input, step } = setup();
    step(10, 0);
    expect(input.value()).toBeNaN();
  });

  it('is unknown after a failed read although ConntrackHistory.latest still holds the last good one', () => {
    const { hal, sampler, input, step } = setup();
    step(15_744, 16_384);
    hal.conntrack.failNext = new Error('EPERM');
    step(15_744, 16_384);
    expect(sampler.conntrack.latest.count).toBe(15_744);
    expect(input.value()).toBeNaN();
  });

  it('describes the table for people and sinks', () => {
    const { input, step, table } = setup();
    step(15_000, 16_384);
    table.drop = 25;
    step(15_744, 16_384);
    expect(input.reason('critical', input.value())).toBe('conntrack table 96.1 % full (15,744 of 16,384 entries)');
    expect(input.reason(null, input.value())).toBe('conntrack table back to 96.1 % (15,744 of 16,384 entries)');
    expect(input.reason(null, NaN)).toBe('conntrack table usage unknown');
    expect(input.attributes()).toEqual({ count: 15_744, max: 16_384, pct: 96.1, dropPerS: 25 });
  });

  it('leaves the drop rate out when there is none yet', () => {
    const { input, step } = setup();
    step(1_234_567, 2_000_000);
    expect(input.attributes()).toEqual({ count: 1_234_567, max: 2_000_000, pct: 61.7 });
    expect(input.reason('warning', input.value())).toBe('conntrack table 61.7 % full (1,234,567 of 2,000,000 entries)');
  });
});

describe('nat_table alarm over a real sampler', () => {
  it('raises, escalates, de-escalates and clears with reasons from the table', () => {
    const { events, step } = setup();
    step(1000, 16_384);
    step(14_900, 16_384); // 90.9 %
    step(15_744, 16_384); // 96.1 %
    step(15_000, 16_384); // 91.6 %: still critical (clears below 90)
    step(14_700, 16_384); // 89.7 %
    step(13_140, 16_384); // 80.2 %
    expect(events.map((e) => [e.at - EPOCH, e.kind, e.to, e.state.reason])).toEqual([
      [2000, 'raised', 'warning', 'conntrack table 90.9 % full (14,900 of 16,384 entries)'],
      [3000, 'escalated', 'critical', 'conntrack table 96.1 % full (15,744 of 16,384 entries)'],
      [5000, 'deescalated', 'warning', 'conntrack table 89.7 % full (14,700 of 16,384 entries)'],
      [6000, 'cleared', null, 'conntrack table back to 80.2 % (13,140 of 16,384 entries)'],
    ]);
    expect(events[3]!.state.peak).toBeCloseTo(96.09375, 5);
  });

  it('holds an active alarm through failed reads and clears after the default hold', () => {
    const { hal, engine, events, step } = setup(DEFAULT_CONFIG.alarms.natTable);
    step(15_744, 16_384);
    hal.conntrack.failNext = new Error('EPERM');
    step(15_744, 16_384);
    expect(engine.state('nat_table')).toMatchObject({ severity: 'critical', value: NaN });
    for (let i = 0; i < 58; i++) step(8000, 16_384); // ticks 3 to 60 s: within the 60 s hold
    expect(events.map((e) => e.kind)).toEqual(['raised']);
    step(8000, 16_384); // 61 s: the hold from 1 s is over
    expect(events.map((e) => [e.at - EPOCH, e.kind])).toEqual([[1000, 'raised'], [61_000, 'cleared']]);
  });
});
