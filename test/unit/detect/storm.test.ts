import { describe, expect, it } from 'vitest';
import { levelScore } from '../../../src/detect/levelScore.ts';
import { stormAlarmInput, stormAlarmSpec, stormReport } from '../../../src/detect/stormAlarm.ts';
import { StormDetector } from '../../../src/detect/stormDetector.ts';
import { resolveStormOptions, STORM_DEFAULTS, type StormOptions } from '../../../src/detect/stormOptions.ts';
import { noise, withEngine } from './harness.ts';

interface Mix {
  arp?: number;
  nd?: number;
  mdns?: number;
  ssdp?: number;
  dhcp?: number;
  other?: number;
}

function setup(options: Partial<StormOptions> = {}, ports = ['lan1', 'lan2', 'lan3']) {
  const detector = new StormDetector(ports, options);
  const run = withEngine(detector, stormAlarmSpec(), stormAlarmInput(detector));
  /** Writes one port's protocol mix; the total is their sum, as the sampler derives "other". */
  const put = (port: number, mix: Mix) => {
    const { arp = 0, nd = 0, mdns = 0, ssdp = 0, dhcp = 0, other = 0 } = mix;
    detector.setRates(port, arp + nd + mdns + ssdp + dhcp + other, arp, nd, mdns, ssdp, dhcp, other);
  };
  /** `count` ticks with the same mix on `port` (other ports silent). */
  const steady = (count: number, port: number, mix: Mix) => {
    for (let i = 0; i < count; i++) run.step(() => put(port, mix));
  };
  return { detector, put, steady, ...run };
}

/** A quiet home port: 5 pps in all (ARP 1, mDNS 3 ± 1 in a fixed cycle, SSDP 1). */
function quietHome(i: number): Mix {
  return { arp: 1, mdns: 3 + [0, 1, 0, -1][i % 4]!, ssdp: 1 };
}

/** Past the warm-up: 330 s of quiet traffic (the baseline learns buckets 10 s after they fill). */
function warmUp(s: ReturnType<typeof setup>, port = 0): void {
  for (let i = 0; i < 330; i++) s.step(() => s.put(port, quietHome(i)));
  expect(s.detector.warmedUp(port)).toBe(true);
}

describe('levelScore', () => {
  it('is percent of the raise level above it and maps clear..raise onto 50..100', () => {
    expect([1500, 1000, 750, 500, 250, 0].map((v) => levelScore(v, 500, 1000))).toEqual([150, 100, 75, 50, 25, 0]);
  });
});

describe('StormDetector: absolute level', () => {
  it('raises on the tick that exceeds 1000 pps, even during warm-up, and names the dominant protocol', () => {
    const s = setup();
    s.steady(10, 1, { arp: 2, mdns: 3 });
    s.steady(1, 1, { arp: 900, mdns: 100 }); // exactly 1000: "exceeds" is strict
    expect(s.events).toEqual([]);
    s.steady(1, 1, { arp: 1100, mdns: 100 });
    expect(s.summary()).toEqual(['12000 raised warning']);
    expect(s.events[0]!.state.reason).toBe('broadcast storm on lan2: 1,200 pps (92 % ARP)');
    expect(s.events[0]!.state.attributes).toEqual({
      ports: [{ port: 'lan2', pps: 1200, dominant: 'arp', sharePct: 92, baselinePps: null, rules: ['absolute'] }],
    });
    expect(s.events[0]!.state.value).toBe(120); // percent of the raise level
  });

  it('lists every port in storm, worst first', () => {
    const s = setup();
    s.step(() => {
      s.put(0, { ssdp: 400, other: 800 });
      s.put(1, { arp: 3 });
      s.put(2, { nd: 1500 });
    });
    expect(stormReport(s.detector).map((p) => [p.port, p.pps, p.dominant, p.sharePct])).toEqual([
      ['lan3', 1500, 'nd', 100],
      ['lan1', 1200, 'other', 67],
    ]);
  });
});

describe('StormDetector: jump against the baseline', () => {
  it('does not apply the baseline rule during warm-up', () => {
    const s = setup();
    for (let i = 0; i < 100; i++) s.step(() => s.put(0, quietHome(i)));
    s.steady(60, 0, { mdns: 300 });
    expect(s.events).toEqual([]);
    expect(s.detector.warmedUp(0)).toBe(false);
    expect(s.detector.value).toBe(30); // 300 pps against the absolute levels only: 50 × 300 / 500
  });

  it('raises once the 10 s average passes 20× the baseline and the 200 pps floor', () => {
    const s = setup();
    warmUp(s);
    s.steady(6, 0, { mdns: 300 }); // 10 s average after 6 ticks: (6 × 300 + 4 × 5) / 10 = 182
    expect(s.events).toEqual([]);
    s.steady(1, 0, { mdns: 300 }); // after 7: 211.5 > max(20 × 5, 200)
    expect(s.summary()).toEqual(['337000 raised warning']);
    expect(s.detector.value).toBe(106); // ⌈100 × 211.5 / 200⌉
  });

  it('an mDNS burst of ~300 pps over ~5 pps raises by the baseline rule, not the 1000 pps level', () => {
    const s = setup();
    warmUp(s);
    let i = 0;
    while (s.events.length === 0 && i < 30) s.step(() => s.put(0, { arp: 1, mdns: 300, ssdp: 1 + (i++ % 2) }));
    expect(STORM_DEFAULTS.absoluteRaisePps).toBe(1000);
    expect(s.summary()).toEqual(['337000 raised warning']);
    expect(s.events[0]!.state.attributes).toEqual({
      ports: [{ port: 'lan1', pps: 302, dominant: 'mdns', sharePct: 99, baselinePps: 5, rules: ['baseline'] }],
    });
    expect(s.events[0]!.state.reason).toBe('broadcast storm on lan1: 302 pps (99 % mDNS)');
  });

  it('a slow ramp stays normal: the baseline follows it', () => {
    const s = setup();
    warmUp(s);
    let peak = 0;
    for (let i = 1; i <= 1800; i++) {
      s.steady(1, 0, { arp: 5 + (895 * i) / 1800 }); // 5 → 900 pps over 30 minutes
      peak = Math.max(peak, s.detector.value);
    }
    s.steady(300, 0, { arp: 900 }); // the baseline lags a ramp by about slope × 5 min, then catches up
    expect(s.events).toEqual([]);
    expect(peak).toBeLessThan(100);
    expect(s.detector.baseline(0)).toBeGreaterThan(800);
  });

  it('the same rise within 20 s is a jump', () => {
    const s = setup();
    warmUp(s);
    for (let i = 1; i <= 20; i++) s.steady(1, 0, { arp: 5 + (895 * i) / 20 });
    expect(s.summary()).toHaveLength(1);
    expect(stormReport(s.detector)[0]!.rules).toEqual(['baseline']);
  });

  it('60 s of ordinary mixed home traffic on three ports raises nothing', () => {
    const s = setup();
    const r = noise(7);
    let peak = 0;
    const home = (t: number, port: number): Mix => ({
      arp: 2 + r(),
      nd: 1 + r(),
      mdns: 5 + 2 * r() + (t % 45 === port ? 40 : 0), // a phone waking up announces itself
      ssdp: 1 + r() + (t % 30 === 10 ? 15 : 0), // SSDP NOTIFY burst
      dhcp: t % 60 === 20 + port ? 4 : 0,
      other: 0.5 + 0.5 * r(),
    });
    for (let t = 0; t < 330 + 60; t++) {
      s.step(() => {
        for (let port = 0; port < 3; port++) s.put(port, home(t, port));
      });
      if (t >= 330) peak = Math.max(peak, s.detector.value);
    }
    expect([0, 1, 2].map((p) => s.detector.warmedUp(p))).toEqual([true, true, true]);
    expect(s.events).toEqual([]);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(10);
  });
});

describe('StormDetector: clearing', () => {
  it('holds between the clear and raise levels and clears after 5 s below 50 % (absolute rule)', () => {
    const s = setup();
    s.steady(5, 0, { arp: 10 });
    s.steady(1, 0, { arp: 1500 }); // t = 6 s
    s.steady(30, 0, { arp: 800 }); // below the raise level, above the clear level
    expect(s.detector.value).toBe(80); // 50 + 50 × (800 − 500) / (1000 − 500)
    s.steady(3, 0, { arp: 400 }); // t = 37..39 s: quiet run starts at 37 s
    s.steady(1, 0, { arp: 600 }); // t = 40 s: above 500 again, the run starts over
    s.steady(5, 0, { arp: 400 }); // t = 41..45 s
    expect(s.detector.value).toBe(50); // held: at least the clear level while in storm
    s.steady(1, 0, { arp: 400 }); // t = 46 s: 5 s after 41 s
    expect(s.summary()).toEqual(['6000 raised warning', '46000 cleared null']);
    expect(s.events[1]!.state.reason).toBe('broadcast and multicast back to normal on every port');
    expect(s.events[1]!.state.attributes).toEqual({ ports: [] });
  });

  it('a baseline storm clears once the 10 s average is below max(5 × baseline, 100 pps), held 5 s', () => {
    const s = setup();
    warmUp(s);
    s.steady(30, 0, { mdns: 300 }); // raised at 337 s
    s.steady(6, 0, { mdns: 5 }); // 361..366 s: 10 s average still ≥ 100
    s.steady(5, 0, { mdns: 5 }); // 367 s: (7 × 5 + 3 × 300) / 10 = 93.5 → quiet run starts
    expect(s.summary()).toEqual(['337000 raised warning']);
    s.steady(1, 0, { mdns: 5 }); // 372 s
    expect(s.summary()).toEqual(['337000 raised warning', '372000 cleared null']);
  });

  it('an unknown tick neither clears a storm nor counts towards the quiet run', () => {
    const s = setup({ clearHoldMs: 2000 });
    s.steady(1, 0, { arp: 2000 });
    s.steady(1, 0, { arp: 10 }); // quiet run starts at 2 s
    s.step(); // nothing written: unknown
    s.steady(2, 0, { arp: 10 }); // run restarts at 4 s; 5 s is only 1 s into it
    expect(s.detector.inStorm(0)).toBe(true);
    s.steady(1, 0, { arp: 10 });
    expect(s.summary()).toEqual(['1000 raised warning', '6000 cleared null']);
  });
});

describe('StormDetector: baseline frozen during a storm', () => {
  it('does not learn 20 minutes of storm, so it neither clears nor gets used to it', () => {
    const s = setup();
    warmUp(s);
    s.steady(20 * 60, 0, { mdns: 300 });
    expect(s.summary()).toEqual(['337000 raised warning']);
    expect(s.detector.baseline(0)).toBeCloseTo(5, 2);
    // Storm over at 1530 s; the 10 s average is under 100 pps at 1537 s; held 5 s → 1542 s.
    for (let i = 0; i < 60; i++) s.step(() => s.put(0, quietHome(i)));
    expect(s.summary()).toEqual(['337000 raised warning', '1542000 cleared null']);
    // The storm's tail left the 10 s window after the clear: it must not be learned either.
    s.steady(30, 0, quietHome(0));
    expect(s.detector.baseline(0)).toBeCloseTo(5, 2);
    s.steady(7, 0, { mdns: 300 });
    expect(s.summary()).toEqual(['337000 raised warning', '1542000 cleared null', '1627000 raised warning']);
  });
});

describe('StormDetector: baseline bookkeeping', () => {
  it('never learns a storm, even one that clears before its samples leave the 10 s window', () => {
    const s = setup();
    for (let i = 0; i < 330; i++) {
      // During warm-up only the absolute rule applies, so this 1 s spike clears after 5 s,
      // while its bucket leaves the short window only after 10 s.
      s.step(() => s.put(0, i === 50 ? { arp: 1500 } : quietHome(i)));
    }
    expect(s.summary()).toEqual(['51000 raised warning', '57000 cleared null']);
    expect(s.detector.baseline(0)).toBeCloseTo(5, 1);
  });

  it('averages only the last 10 s, across a gap in the samples and at any tick period', () => {
    const detector = new StormDetector(['lan1']);
    let t = 0;
    const at = (ms: number, pps: number) => {
      t += ms;
      detector.setRates(0, pps, pps, 0, 0, 0, 0);
      detector.tick(t);
    };
    for (let i = 0; i < 10; i++) at(1000, 300);
    expect(detector.shortAverage(0)).toBe(300);
    for (let i = 0; i < 15; i++) detector.tick((t += 1000)); // unknown: nothing written
    at(1000, 5);
    expect(detector.shortAverage(0)).toBe(5);
    at(5000, 105); // a 5 s tick weighs five times a 1 s one: (5 × 1 + 105 × 5) / 6
    expect(detector.shortAverage(0)).toBeCloseTo(530 / 6, 10);
    at(5000, 105); // the 5 pps sample is now 10 s old: out
    expect(detector.shortAverage(0)).toBe(105);
  });

  it('learns the same baseline at 1 s and at 5 s ticks (weighted by time, not by sample)', () => {
    const learn = (periodMs: number) => {
      const detector = new StormDetector(['lan1']);
      for (let t = periodMs; t <= 900_000; t += periodMs) {
        const pps = t <= 400_000 ? 10 : 100;
        detector.setRates(0, pps, pps, 0, 0, 0, 0);
        detector.tick(t);
      }
      return detector.baseline(0);
    };
    const fast = learn(1000);
    expect(fast).toBeGreaterThan(60); // 500 s into the step to 100 pps: about 100 − 90 × e^(−490/300)
    expect(fast).toBeLessThan(90);
    expect(learn(5000)).toBeCloseTo(fast, 0);
  });
});

describe('resolveStormOptions', () => {
  it('rejects levels that cannot work', () => {
    expect(() => resolveStormOptions({ clearFraction: 1 })).toThrow(/clearFraction must be < 1/);
    expect(() => resolveStormOptions({ baselineClearFactor: 20 })).toThrow(/baselineRaiseFactor/);
    expect(() => resolveStormOptions({ absoluteRaisePps: 0 })).toThrow(/absoluteRaisePps/);
    expect(resolveStormOptions({ absoluteRaisePps: Infinity }).absoluteRaisePps).toBe(Infinity);
  });
});
