import { describe, expect, it } from 'vitest';
import { loopAlarmInput, loopAlarmSpec, loopReport } from '../../../src/detect/loopAlarm.ts';
import { LoopDetector, SIGNAL_BCAST_GROWTH } from '../../../src/detect/loopDetector.ts';
import { resolveLoopOptions, type LoopOptions } from '../../../src/detect/loopOptions.ts';
import { formatMac, parseMac } from '../../../src/detect/mac.ts';
import { withEngine } from './harness.ts';

const LAN1 = 0;
const LAN2 = 1;
const LAN3 = 2;
const MAC = parseMac('02:00:00:00:00:01');

function setup(options: Partial<LoopOptions> = {}) {
  const detector = new LoopDetector(['lan1', 'lan2', 'lan3'], options);
  const run = withEngine(detector, loopAlarmSpec(), loopAlarmInput(detector));
  /** One tick: no own frames and 10 pps of broadcast everywhere, unless `set` says otherwise. */
  const tick = (set: (d: LoopDetector) => void = () => {}) =>
    run.step(() => {
      for (let port = 0; port < 3; port++) detector.setSample(port, 0, 10);
      set(detector);
    });
  /** `count` moves of `mac` between lan1 and lan3, `gapMs` apart, from `startMs` (just after the last tick). */
  const flap = (count: number, gapMs: number, mac = MAC, startMs = run.now() + 1) => {
    for (let i = 0; i < count; i++) {
      const from = i % 2 === 0 ? LAN1 : LAN3;
      detector.move(mac.oui, mac.nic, from, from === LAN1 ? LAN3 : LAN1, startMs + i * gapMs);
    }
  };
  return { detector, tick, flap, ...run };
}

describe('LoopDetector: own frames', () => {
  it('raises a critical loop on lan2 on the tick its own frames come back', () => {
    const s = setup();
    for (let i = 0; i < 5; i++) s.tick();
    s.tick((d) => d.setSample(LAN2, 2, 10));
    expect(s.summary()).toEqual(['6000 raised critical']);
    expect(s.events[0]!.state.reason).toBe('switching loop on lan2 (own frames returning)');
    expect(s.events[0]!.state.attributes).toEqual({
      ports: [{ port: 'lan2', signals: ['own_frames'], ownFramesPerS: 2, flappingMacs: [], growth: null }],
    });
  });

  it('takes NaN (the source cannot tell) as no evidence', () => {
    const s = setup();
    for (let i = 0; i < 5; i++) s.tick((d) => d.setSample(LAN2, NaN, NaN));
    expect(s.events).toEqual([]);
    expect(s.detector.value).toBe(0);
  });
});

describe('LoopDetector: MAC flapping', () => {
  it('6 moves between lan1 and lan3 within 10 s: a suspected loop naming both ports', () => {
    const s = setup();
    s.tick();
    s.flap(6, 1500); // over 7.5 s
    s.tick();
    expect(s.summary()).toEqual(['2000 raised warning']);
    expect(s.events[0]!.state.reason).toBe('switching loop suspected on lan1, lan3 (MAC flapping)');
    expect(s.events[0]!.state.attributes).toEqual({
      ports: [
        { port: 'lan1', signals: ['mac_flap'], ownFramesPerS: 0, flappingMacs: ['02:00:00:00:00:01'], growth: null },
        { port: 'lan3', signals: ['mac_flap'], ownFramesPerS: 0, flappingMacs: ['02:00:00:00:00:01'], growth: null },
      ],
    });
  });

  it('4 or 5 moves within 10 s, or 6 spread over more than 10 s, are not flapping', () => {
    for (const [count, gap] of [
      [4, 1000],
      [5, 1000],
      [6, 2001],
    ] as const) {
      const s = setup();
      s.tick();
      s.flap(count, gap);
      for (let i = 0; i < 15; i++) s.tick();
      expect(s.events).toEqual([]);
      expect(s.detector.signals(LAN1) | s.detector.signals(LAN3)).toBe(0);
    }
  });

  it('lists up to 5 flapping MACs per port, newest first', () => {
    const s = setup();
    s.tick();
    for (let m = 1; m <= 7; m++) s.flap(6, 10, { oui: MAC.oui, nic: m }, s.now() + m * 100); // :07 flaps last
    s.tick();
    const lan1 = loopReport(s.detector)[0]!;
    expect(lan1.flappingMacs).toEqual([
      '02:00:00:00:00:07',
      '02:00:00:00:00:06',
      '02:00:00:00:00:05',
      '02:00:00:00:00:04',
      '02:00:00:00:00:03',
    ]);
  });

  it('escalates when own frames come back during flapping and de-escalates 10 s after they stop', () => {
    const s = setup();
    s.tick();
    s.flap(6, 100);
    s.tick(); // 2 s: suspected
    s.tick((d) => d.setSample(LAN1, 1, 10)); // 3 s: certain
    for (let t = 4; t <= 13; t++) {
      s.flap(2, 100); // keeps flapping
      s.tick();
    }
    expect(s.summary()).toEqual(['2000 raised warning', '3000 escalated critical', '13000 deescalated warning']);
  });
});

describe('LoopDetector: broadcast growth', () => {
  it('never raises alone, and is listed as evidence once another signal fires', () => {
    const s = setup();
    s.tick(); // 1 s: first tick, no span yet
    for (const pps of [60, 120, 240]) s.tick((d) => d.setSample(LAN1, 0, pps)); // two doublings
    expect(s.detector.signals(LAN1) & SIGNAL_BCAST_GROWTH).toBe(0);
    s.tick((d) => d.setSample(LAN1, 0, 480)); // 5 s: third doubling
    expect(s.detector.signals(LAN1) & SIGNAL_BCAST_GROWTH).toBe(SIGNAL_BCAST_GROWTH);
    s.tick((d) => d.setSample(LAN1, 0, 960));
    expect(s.events).toEqual([]);
    expect(s.detector.value).toBe(0);
    expect(loopReport(s.detector)).toEqual([]);
    s.tick((d) => {
      d.setSample(LAN1, 0, 1920);
      d.setSample(LAN2, 3, 10);
    });
    expect(s.summary()).toEqual(['7000 raised critical']);
    expect(s.events[0]!.state.reason).toBe('switching loop on lan2 (own frames returning)');
    expect(s.events[0]!.state.attributes).toEqual({
      ports: [
        { port: 'lan2', signals: ['own_frames'], ownFramesPerS: 3, flappingMacs: [], growth: null },
        { port: 'lan1', signals: ['bcast_growth'], ownFramesPerS: 0, flappingMacs: [], growth: 2 },
      ],
    });
  });

  it('measures growth per second, whatever the tick period', () => {
    const grow = (periodMs: number, perTick: number) => {
      const detector = new LoopDetector(['lan1']);
      let pps = 60;
      for (let t = periodMs; t <= 8000; t += periodMs, pps *= perTick) {
        detector.setSample(0, 0, pps);
        detector.tick(t);
      }
      return detector.signals(0) === SIGNAL_BCAST_GROWTH ? Math.round(detector.growthFactor(0) * 100) / 100 : null;
    };
    expect(grow(2000, 2)).toBeNull(); // doubling every 2 s is 1.41× per second
    expect(grow(2000, 4)).toBe(2);
    expect(grow(500, 1.3)).toBeNull(); // 1.69× per second
    expect(grow(500, 1.5)).toBe(2.25);
  });

  it('does not count growth below the floor', () => {
    const s = setup();
    s.tick();
    for (const pps of [6, 12, 24, 48, 96]) s.tick((d) => d.setSample(LAN1, 0, pps));
    expect(s.detector.signals(LAN1)).toBe(0);
  });
});

describe('LoopDetector: clearing', () => {
  it('clears 10 s after the last own frames and the last flap', () => {
    const s = setup();
    s.tick();
    s.tick((d) => d.setSample(LAN2, 1, 10)); // 2 s
    s.tick();
    s.flap(6, 100); // just after 3 s
    for (let i = 0; i < 20; i++) s.tick();
    // Own frames last at 2 s → critical until 12 s; flaps last at 3.501 s → cleared at 14 s.
    // The flap joining the own frames at 4 s re-describes the standing alarm.
    expect(s.summary()).toEqual(['2000 raised critical', '4000 updated critical', '12000 deescalated warning', '14000 cleared null']);
    const ports = (s.events[1]!.state.attributes as { ports: { port: string; signals: string[] }[] }).ports;
    expect(ports.map((p) => `${p.port}: ${p.signals.join('+')}`)).toEqual(['lan2: own_frames', 'lan1: mac_flap', 'lan3: mac_flap']);
    expect(s.events[3]!.state.reason).toBe('no own frames and no MAC flapping for 10 s');
    expect(s.events[3]!.state.attributes).toEqual({ ports: [] });
  });
});

describe('LoopDetector: bounded memory', () => {
  it('tracks at most maxMacs MACs through 100,000 distinct ones and still finds a flapping MAC', () => {
    const s = setup();
    s.tick();
    const oui = parseMac('02:10:00:00:00:00').oui;
    for (let i = 0; i < 100_000; i++) s.detector.move(oui, i, LAN1, LAN2, s.now() + i / 100);
    expect(s.detector.macCapacity).toBe(1024);
    expect(s.detector.trackedMacs).toBe(1024);
    s.tick();
    expect(s.events).toEqual([]);
    s.flap(6, 100);
    s.tick();
    expect(s.summary()).toEqual(['3000 raised warning']);
  });

  it('rounds the table down to whole sets of 8 and rejects a table too big to hold', () => {
    expect(new LoopDetector(['lan1'], { maxMacs: 100 }).macCapacity).toBe(96);
    expect(new LoopDetector(['lan1'], { maxMacs: 3 }).macCapacity).toBe(3);
    expect(() => resolveLoopOptions({ maxMacs: 1_000_000 })).toThrow(/maxMacs × \(flapMoves \+ 1\)/);
  });
});

describe('MAC halves', () => {
  it('splits into 24-bit halves and formats them back', () => {
    expect(parseMac('ff:fe:fd:00:01:02')).toEqual({ oui: 0xfffefd, nic: 0x000102 });
    expect(formatMac(0x02ab00, 0xcd0ef1)).toBe('02:ab:00:cd:0e:f1');
    const { oui, nic } = parseMac('02:AB:00:cd:0e:F1');
    expect(formatMac(oui, nic)).toBe('02:ab:00:cd:0e:f1');
    expect(() => parseMac('02:00:00:00:00')).toThrow(RangeError);
  });
});
