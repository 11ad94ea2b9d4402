import { describe, expect, it } from 'vitest';
import { AlarmEngine } from '../../../src/alarms/engine.ts';
import { natFullInput, natFullSpec, natUpstreamInput, natUpstreamSpec, type UpstreamUsage } from '../../../src/alarms/natPressureAlarms.ts';
import type { AlarmEvent } from '../../../src/alarms/types.ts';
import { NatPressure } from '../../../src/detect/natPressure.ts';

const EPOCH = 1_700_000_000_000;
const FULL = { enabled: true, warnRefused: 1, critRefused: 50, holdMs: 0 };
const UPSTREAM = { enabled: true, warnPct: 80, warnClearPct: 75, critPct: 95, critClearPct: 90, holdMs: 0 };

function engineWith(add: (engine: AlarmEngine) => void) {
  const engine = new AlarmEngine({ warn: () => {} });
  add(engine);
  const events: AlarmEvent[] = [];
  engine.onEvent((e) => events.push(e));
  return { engine, events };
}

describe('nat_full', () => {
  it('raises on the first refused connection, escalates at 50 in 10 s, clears when none is left in the window', () => {
    const pressure = new NatPressure();
    const { engine, events } = engineWith((e) => e.add(natFullSpec(FULL)!, natFullInput(pressure)));
    let t = 0;
    const tick = (refusedPerS: number) => {
      t += 1000;
      pressure.update(t, 5000, 65_536, refusedPerS, 1, NaN, NaN);
      engine.evaluate(t, EPOCH + t);
    };
    tick(0);
    expect(events).toEqual([]);
    tick(1);
    expect(events.map((e) => `${e.kind} ${e.to}`)).toEqual(['raised warning']);
    expect(events[0]!.state.reason).toBe('the kernel refused 1 new connections in 10 s (conntrack drop, early_drop, insert_failed)');
    tick(60);
    expect(events.at(-1)!.to).toBe('critical');
    for (let i = 0; i < 10; i++) tick(0);
    expect(events.at(-1)).toMatchObject({ kind: 'cleared' });
    expect(events.at(-1)!.state.reason).toBe('no new connections refused for 10 s');
  });

  it('is not registered when turned off', () => {
    expect(natFullSpec({ ...FULL, enabled: false })).toBeNull();
  });
});

describe('nat_upstream', () => {
  it('raises near the declared budget, names the top host and the forecast', () => {
    const pressure = new NatPressure();
    let used = 1000;
    const usage: UpstreamUsage = {
      budget: 2000,
      basis: 'router',
      used: () => used,
      topHosts: (n) => [{ ip: '10.77.0.2', mac: '02:00:00:00:00:02', name: 'gaming-pc', entries: 3000 }].slice(0, n),
      revision: () => 0,
    };
    const { engine, events } = engineWith((e) => e.add(natUpstreamSpec(UPSTREAM, usage.budget)!, natUpstreamInput(usage, pressure)));
    let t = 0;
    for (; used <= 1700; used += 50) {
      t += 1000;
      pressure.update(t, 4000, 65_536, 0, 1, used, 2000);
      engine.evaluate(t, EPOCH + t);
    }
    expect(events.map((e) => `${e.kind} ${e.to}`)).toEqual(['raised warning']);
    const state = events[0]!.state;
    expect(state.reason).toMatch(/^upstream NAT table ~8\d % full \(1,[67]\d\d of the 2,000 sessions declared for the upstream device\); most from gaming-pc \(3,000\); full in /);
    expect(state.attributes).toMatchObject({ budget: 2000, basis: 'router', top_hosts: [{ ip: '10.77.0.2', name: 'gaming-pc', entries: 3000 }] });
  });

  it('re-sends its attributes when another host takes the lead while it stands, not when only the count moves', () => {
    const pressure = new NatPressure();
    let leader = { ip: '10.77.0.3', mac: null, name: null, entries: 1000 };
    let used = 1990;
    const usage: UpstreamUsage = {
      budget: 2000,
      basis: 'router',
      used: () => used,
      topHosts: (n) => [leader].slice(0, n),
      revision: () => (leader.ip === '10.77.0.3' ? 1 : 2),
    };
    const { engine, events } = engineWith((e) => e.add(natUpstreamSpec(UPSTREAM, usage.budget)!, natUpstreamInput(usage, pressure)));
    let t = 0;
    const tick = () => {
      t += 1000;
      pressure.update(t, 4000, 65_536, 0, 1, used, 2000);
      engine.evaluate(t, EPOCH + t);
    };
    tick();
    used = 2100;
    tick();
    expect(events.map((e) => `${e.kind} ${e.to}`)).toEqual(['raised critical']);
    leader = { ip: '10.77.0.2', mac: null, name: null, entries: 3000 };
    used = 4200;
    tick();
    used = 4300;
    tick();
    tick();
    expect(events.map((e) => `${e.kind} ${e.to}`)).toEqual(['raised critical', 'updated critical']);
    expect(events.at(-1)!.state.attributes).toMatchObject({ used: 4200, top_hosts: [{ ip: '10.77.0.2', entries: 3000 }] });
    expect(events.at(-1)!.state.reason).toContain('most from 10.77.0.2 (3,000)');
  });

  it('is not registered without a budget', () => {
    expect(natUpstreamSpec(UPSTREAM, null)).toBeNull();
  });
});
