import { describe, expect, it } from 'vitest';
import { ThresholdAlarm } from '../../../src/alarms/thresholdAlarm.ts';
import type { ThresholdAlarmSpec } from '../../../src/alarms/types.ts';

const EPOCH = 1_700_000_000_000;

function spec(overrides: Partial<ThresholdAlarmSpec> = {}): ThresholdAlarmSpec {
  return {
    name: 'test_alarm',
    title: 'Test alarm',
    warning: { raise: 90, clear: 85 },
    critical: { raise: 95, clear: 90 },
    holdMs: 0,
    raiseAfterMs: 0,
    ...overrides,
  };
}

/**
 * Feeds [monoMs, value] steps (epoch = EPOCH + mono) and lists every change as
 * "<mono> <kind> <severity after>", so a test asserts the whole sequence, not just the end.
 */
function feed(alarm: ThresholdAlarm, steps: readonly (readonly [number, number])[]): string[] {
  const changes: string[] = [];
  for (const [mono, value] of steps) {
    const change = alarm.update(value, mono, EPOCH + mono);
    if (change !== null) changes.push(`${mono} ${change} ${alarm.severity}`);
  }
  return changes;
}

/** One value per second from t = 0. */
function everySecond(values: readonly number[], start = 0): [number, number][] {
  return values.map((value, i) => [start + i * 1000, value]);
}

describe('ThresholdAlarm hysteresis', () => {
  it('raises once for a value oscillating around the raise level', () => {
    const alarm = new ThresholdAlarm(spec());
    expect(feed(alarm, everySecond([89.9, 90.1, 89.5, 90.2, 89.0, 90.3, 88.1, 90.05, 86]))).toEqual(['1000 raised warning']);
    expect(alarm.raisedCount).toBe(1);
  });

  it('treats a value equal to a level as changing nothing', () => {
    const alarm = new ThresholdAlarm(spec());
    expect(feed(alarm, everySecond([90, 90, 90]))).toEqual([]);
    expect(feed(alarm, everySecond([91, 85, 85, 95, 95, 90, 84.99], 10_000))).toEqual([
      '10000 raised warning',
      '16000 cleared null',
    ]);
  });

  it('clears once for a value oscillating around the clear level, and needs the raise level again', () => {
    const alarm = new ThresholdAlarm(spec());
    const changes = feed(alarm, everySecond([91, 85.1, 84.9, 85.2, 84.8, 85.3, 89.9, 84, 89.99, 90.5]));
    expect(changes).toEqual(['0 raised warning', '2000 cleared null', '9000 raised warning']);
  });
});

describe('ThresholdAlarm hold time', () => {
  const held = () => new ThresholdAlarm(spec({ holdMs: 60_000 }));

  it('delays a drop during the hold until the first update after it ends', () => {
    const alarm = held();
    const changes = feed(alarm, [[0, 91], [10_000, 80], [30_000, 80], [59_999, 80], [60_000, 80], [61_000, 80]]);
    expect(changes).toEqual(['0 raised warning', '60000 cleared null']);
    expect(alarm.lastClearedAt).toBe(EPOCH + 60_000);
  });

  it('drops at the first update after the hold even when updates are sparse', () => {
    const alarm = held();
    expect(feed(alarm, [[0, 91], [10_000, 80], [75_000, 80]])).toEqual(['0 raised warning', '75000 cleared null']);
  });

  it('cancels the drop when the value rises above the clear level again during the hold', () => {
    const alarm = held();
    const changes = feed(alarm, [[0, 91], [10_000, 80], [59_000, 91], [60_000, 91], [90_000, 87]]);
    expect(changes).toEqual(['0 raised warning']);
    expect(alarm.severity).toBe('warning');
  });

  it('judges the value at the end of the hold, not a low value seen during it', () => {
    const alarm = held();
    const changes = feed(alarm, [[0, 91], [10_000, 80], [50_000, 88], [60_000, 88], [70_000, 84]]);
    expect(changes).toEqual(['0 raised warning', '70000 cleared null']);
  });

  it('restarts the hold at every change of severity', () => {
    const alarm = held();
    const changes = feed(alarm, [
      [0, 91],
      [30_000, 96], // escalation: immediate despite the hold; critical hold runs from 30 s
      [40_000, 80],
      [89_000, 80],
      [90_000, 88], // critical held 60 s: 88 is below 90 but at/above 85 → warning; warning hold from 90 s
      [100_000, 80],
      [149_000, 80],
      [150_000, 80],
    ]);
    expect(changes).toEqual(['0 raised warning', '30000 escalated critical', '90000 deescalated warning', '150000 cleared null']);
  });

  it('does not delay raising again right after a clear', () => {
    const alarm = held();
    expect(feed(alarm, [[0, 91], [60_000, 80], [61_000, 92]])).toEqual([
      '0 raised warning',
      '60000 cleared null',
      '61000 raised warning',
    ]);
  });
});

describe('ThresholdAlarm raiseAfterMs', () => {
  const delayed = (raiseAfterMs = 5000) => new ThresholdAlarm(spec({ raiseAfterMs }));

  it('raises only after the value stayed above the raise level that long', () => {
    const alarm = delayed();
    expect(feed(alarm, everySecond([91, 91, 91, 91, 91, 91, 91]))).toEqual(['5000 raised warning']);
  });

  it('restarts the wait when the value dips to or below the raise level', () => {
    const alarm = delayed();
    const changes = feed(alarm, everySecond([91, 91, 91, 91, 89, 91, 91, 91, 91, 90, 91, 91, 91, 91, 91, 91]));
    expect(changes).toEqual(['15000 raised warning']);
  });

  it('applies to escalation as well, with its own run above the critical level', () => {
    const alarm = delayed();
    const changes = feed(alarm, everySecond([92, 92, 92, 96, 96, 96, 96, 96, 96]));
    expect(changes).toEqual(['5000 raised warning', '8000 escalated critical']);
  });

  it('raises straight to critical when that run is long enough first', () => {
    const alarm = delayed();
    expect(feed(alarm, everySecond([96, 96, 96, 96, 96, 96]))).toEqual(['5000 raised critical']);
  });

  it('uses the monotonic time, not the epoch time', () => {
    const alarm = delayed();
    expect(alarm.update(91, 0, EPOCH)).toBeNull();
    // The wall clock jumped a day ahead (NTP at boot); only 1 s of monotonic time passed.
    expect(alarm.update(91, 1000, EPOCH + 86_400_000)).toBeNull();
    expect(alarm.update(91, 5000, EPOCH + 86_404_000)).toBe('raised');
  });
});

describe('ThresholdAlarm severities', () => {
  it('escalates warning → critical at once, even during the hold', () => {
    const alarm = new ThresholdAlarm(spec({ holdMs: 60_000 }));
    expect(feed(alarm, [[0, 91], [1000, 95.5]])).toEqual(['0 raised warning', '1000 escalated critical']);
  });

  it('jumps from clear straight to critical with one raised event', () => {
    const alarm = new ThresholdAlarm(spec());
    expect(alarm.update(97, 0, EPOCH)).toBe('raised');
    expect(alarm.severity).toBe('critical');
    expect(alarm.update(98, 1000, EPOCH + 1000)).toBeNull();
  });

  it('de-escalates critical → warning below critical.clear, then clears below warning.clear', () => {
    const alarm = new ThresholdAlarm(spec());
    const changes = feed(alarm, everySecond([97, 92, 90, 89.9, 92, 94.9, 85, 84.9]));
    expect(changes).toEqual(['0 raised critical', '3000 deescalated warning', '7000 cleared null']);
  });

  it('clears straight from critical when the value is below warning.clear too', () => {
    const alarm = new ThresholdAlarm(spec());
    expect(feed(alarm, everySecond([97, 80]))).toEqual(['0 raised critical', '1000 cleared null']);
  });

  it('works with a critical level only', () => {
    const alarm = new ThresholdAlarm(spec({ warning: null }));
    expect(feed(alarm, everySecond([94, 95.1, 91, 90, 89.9, 93]))).toEqual(['1000 raised critical', '4000 cleared null']);
  });

  it('works with a warning level only', () => {
    const alarm = new ThresholdAlarm(spec({ critical: null }));
    expect(feed(alarm, everySecond([99, 100, 84]))).toEqual(['0 raised warning', '2000 cleared null']);
  });
});

describe('ThresholdAlarm unknown values (NaN)', () => {
  it('keeps the current state and changes nothing', () => {
    const alarm = new ThresholdAlarm(spec());
    expect(feed(alarm, everySecond([97, NaN, NaN, 97]))).toEqual(['0 raised critical']);
    expect(alarm.severity).toBe('critical');
  });

  it('records NaN as the latest value without touching the peak', () => {
    const alarm = new ThresholdAlarm(spec());
    feed(alarm, everySecond([97, NaN]));
    expect(alarm.value).toBeNaN();
    expect(alarm.peak).toBe(97);
  });

  it('lets the hold run on: a drop seen after unknown values happens at once', () => {
    const alarm = new ThresholdAlarm(spec({ holdMs: 60_000 }));
    const changes = feed(alarm, [[0, 91], [10_000, 80], [20_000, NaN], [70_000, NaN], [80_000, 80]]);
    expect(changes).toEqual(['0 raised warning', '80000 cleared null']);
  });

  it('restarts the raiseAfter wait', () => {
    const alarm = new ThresholdAlarm(spec({ raiseAfterMs: 3000 }));
    const changes = feed(alarm, everySecond([91, 91, NaN, 91, 91, 91, 91]));
    expect(changes).toEqual(['6000 raised warning']);
  });

  it('does not raise from an inactive state', () => {
    const alarm = new ThresholdAlarm(spec());
    expect(feed(alarm, everySecond([NaN, NaN]))).toEqual([]);
    expect(alarm.since).toBeNull();
  });
});

describe('ThresholdAlarm bookkeeping', () => {
  it('starts empty', () => {
    const alarm = new ThresholdAlarm(spec());
    expect({
      active: alarm.active,
      severity: alarm.severity,
      since: alarm.since,
      value: alarm.value,
      peak: alarm.peak,
      raisedCount: alarm.raisedCount,
      lastRaisedAt: alarm.lastRaisedAt,
      lastClearedAt: alarm.lastClearedAt,
    }).toEqual({
      active: false,
      severity: null,
      since: null,
      value: NaN,
      peak: NaN,
      raisedCount: 0,
      lastRaisedAt: null,
      lastClearedAt: null,
    });
  });

  it('tracks peak, since, raisedCount, lastRaisedAt and lastClearedAt across two active periods', () => {
    const alarm = new ThresholdAlarm(spec({ raiseAfterMs: 2000 }));
    const at = (mono: number, value: number) => alarm.update(value, mono, EPOCH + mono);
    const now = () => ({
      severity: alarm.severity,
      since: alarm.since,
      value: alarm.value,
      peak: alarm.peak,
      raisedCount: alarm.raisedCount,
      lastRaisedAt: alarm.lastRaisedAt,
      lastClearedAt: alarm.lastClearedAt,
    });

    at(0, 91);
    at(2000, 92);
    expect(now()).toMatchObject({ severity: 'warning', since: EPOCH + 2000, peak: 92, raisedCount: 1, lastRaisedAt: EPOCH + 2000 });
    at(3000, 94);
    at(4000, 93);
    expect(alarm.peak).toBe(94);
    expect(alarm.since).toBe(EPOCH + 2000);
    at(5000, 97);
    at(6000, 97.5);
    at(7000, 97.5); // critical after its own 2 s run
    expect(now()).toMatchObject({ severity: 'critical', since: EPOCH + 7000, peak: 97.5, lastRaisedAt: EPOCH + 2000 });
    at(8000, 80);
    expect(now()).toMatchObject({ severity: null, since: EPOCH + 8000, peak: 97.5, value: 80, lastClearedAt: EPOCH + 8000 });

    // Above the raise level but still waiting: not active, so the peak of the last period stays.
    at(9000, 99);
    expect([alarm.active, alarm.peak]).toEqual([false, 97.5]);
    at(10_000, 88);
    at(11_000, 91);
    at(13_000, 91);
    expect(now()).toEqual({
      severity: 'warning',
      since: EPOCH + 13_000,
      value: 91,
      peak: 91,
      raisedCount: 2,
      lastRaisedAt: EPOCH + 13_000,
      lastClearedAt: EPOCH + 8000,
    });
  });
});

describe('ThresholdAlarm spec', () => {
  it('rejects specs that cannot work', () => {
    const make = (overrides: Partial<ThresholdAlarmSpec>) => () => new ThresholdAlarm(spec(overrides));
    expect(make({ warning: { raise: 85, clear: 90 } })).toThrow('alarm test_alarm: warning clear (90) is above its raise (85)');
    expect(make({ warning: null, critical: null })).toThrow('alarm test_alarm: no warning or critical level');
    expect(make({ critical: { raise: 80, clear: 75 } })).toThrow('alarm test_alarm: critical raise (80) is below warning raise (90)');
    expect(make({ name: 'NAT table' })).toThrow('alarm name "NAT table" must be [a-z0-9_]+');
    expect(make({ holdMs: -1 })).toThrow('alarm test_alarm: holdMs must be a finite number ≥ 0 (got -1)');
    expect(make({ raiseAfterMs: NaN })).toThrow('alarm test_alarm: raiseAfterMs must be a finite number ≥ 0 (got NaN)');
    expect(make({ warning: { raise: NaN, clear: 85 } })).toThrow('alarm test_alarm: warning levels must be finite numbers');
  });

  it('keeps its own copy of the levels', () => {
    const levels = spec();
    const alarm = new ThresholdAlarm(levels);
    levels.warning!.raise = 50;
    expect(alarm.update(60, 0, EPOCH)).toBeNull();
  });
});
