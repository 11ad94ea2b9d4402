import { describe, expect, it } from 'vitest';
import { LoopProtection, type ProtectionAction, type ProtectionPortInput } from '../../../src/protect/loopProtection.ts';
import { LOOP_PROTECTION_DEFAULTS, resolveLoopProtectionOptions, type LoopProtectionOptions } from '../../../src/protect/protectionOptions.ts';

/** lan1..lan4, ifindex 11..14; lan4's carrier came up last (the loose cable), lan1 is the uplink. */
const PORTS = ['lan1', 'lan2', 'lan3', 'lan4'];
const CARRIER: Record<string, number> = { lan1: 1_000, lan2: 2_000, lan3: 3_000, lan4: 50_000 };
const T0 = 100_000;
const GATEWAY = { port: 'lan1', reason: 'the uplink (default route via 192.168.1.1)' };

function setup(options: Partial<LoopProtectionOptions> = { enabled: true }, carrier: Record<string, number> = CARRIER) {
  const protection = new LoopProtection(options);
  let now = T0;
  const log: string[] = [];
  /** One tick `stepMs` after the last, with own frames per second on the ports given. */
  const tick = (own: Record<string, number> = {}, stepMs = 1_000): readonly ProtectionAction[] => {
    now += stepMs;
    const inputs: ProtectionPortInput[] = PORTS.map((name, i) => ({
      name,
      ifindex: 11 + i,
      carrierUpAtMs: carrier[name] ?? NaN,
      ownFramesPerS: own[name] ?? 0,
    }));
    const actions = protection.tick(now, inputs);
    for (const a of actions) log.push(`${now - T0} ${a.kind} ${a.port}`);
    return actions;
  };
  /** `seconds` ticks of 1 s with the same own frames. */
  const run = (seconds: number, own: Record<string, number> = {}): void => {
    for (let i = 0; i < seconds; i++) tick(own);
  };
  return { protection, tick, run, log, now: () => now };
}

describe('loop protection options', () => {
  it('defaults: off, 300 s hold-down (MikroTik 5 min), 3 s settle, 10 s quiet', () => {
    expect(LOOP_PROTECTION_DEFAULTS).toEqual({ enabled: false, holdDownMs: 300_000, settleMs: 3_000, quietMs: 10_000 });
    expect(new LoopProtection().options.enabled).toBe(false);
  });

  it('refuses settings that cannot work', () => {
    expect(() => resolveLoopProtectionOptions({ holdDownMs: 0 })).toThrow(/holdDownMs/);
    expect(() => resolveLoopProtectionOptions({ settleMs: -1 })).toThrow(/settleMs/);
    expect(() => resolveLoopProtectionOptions({ quietMs: NaN })).toThrow(/quietMs/);
  });
});

describe('LoopProtection: when it acts at all', () => {
  it('does nothing when disabled, whatever comes back', () => {
    const s = setup({ enabled: false });
    s.protection.setProtected([], T0);
    s.run(20, { lan2: 50, lan3: 50 });
    expect(s.log).toEqual([]);
    expect(s.protection.status(s.now(), 0)).toMatchObject({ enabled: false, blocked: [], refused: [] });
  });

  it('does nothing on MAC flapping alone or unknown own frames: own frames are the only input', () => {
    const s = setup();
    s.protection.setProtected([], T0);
    // A flapping MAC (Wi-Fi roaming) shows up in the loop detector, never as own frames.
    s.run(20, { lan2: 0, lan3: 0 });
    s.run(5, { lan2: NaN, lan3: NaN });
    expect(s.log).toEqual([]);
  });

  it('returns one shared empty list while no own frames come back (no allocation per tick)', () => {
    const s = setup();
    s.protection.setProtected([], T0);
    const first = s.tick();
    expect(s.tick()).toBe(first);
    expect(first).toEqual([]);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('blocks nothing until the protected ports were resolved once, and says so once', () => {
    const s = setup();
    s.tick({ lan1: 20, lan4: 20 });
    s.tick({ lan1: 20, lan4: 20 });
    expect(s.log).toEqual(['1000 refuse lan1', '1000 refuse lan4']);
    expect(s.protection.status(s.now(), 0).refused[0]!.reason).toBe('loop on lan1: not blocked, the uplink and ssh ports are not resolved yet');
    s.protection.setProtected([GATEWAY], s.now());
    s.tick({ lan1: 20, lan4: 20 });
    expect(s.log.slice(2)).toEqual(['3000 block lan4']);
  });
});

describe('LoopProtection: which port, one at a time', () => {
  it('blocks one looping port at once and leaves the other up when the loop ends', () => {
    const s = setup();
    s.protection.setProtected([], T0);
    const [block] = s.tick({ lan2: 30, lan4: 30 });
    expect(block).toEqual({
      kind: 'block',
      port: 'lan4',
      reason: 'switching loop: own frames returning on lan4 (30/s); chosen over lan2 because its carrier came up last; blocked for 300 s',
      untilMs: s.now() + 300_000,
      blocks: 1,
    });
    // lan4 blocked: own frames keep arriving on it (counted before the drop), none on lan2.
    s.run(30, { lan4: 1 });
    expect(s.log).toEqual(['1000 block lan4']);
  });

  it('blocks the next port only after the settle time, while own frames still return on it', () => {
    const s = setup();
    s.protection.setProtected([], T0);
    s.tick({ lan3: 30, lan4: 30 });
    // A dumb switch looping on itself: cutting lan4 does not end it on lan3.
    s.tick({ lan3: 30, lan4: 30 });
    s.tick({ lan3: 30, lan4: 30 });
    expect(s.log).toEqual(['1000 block lan4']);
    s.tick({ lan3: 30, lan4: 30 });
    expect(s.log).toEqual(['1000 block lan4', '4000 block lan3']);
    expect(s.protection.status(s.now(), 0).blocked.map((b) => b.port)).toEqual(['lan4', 'lan3']);
  });

  it('does not blame a second port for frames still circling just after the first block', () => {
    const s = setup();
    s.protection.setProtected([], T0);
    s.tick({ lan3: 30, lan4: 30 });
    s.tick({ lan3: 2, lan4: 30 }); // in flight when lan4 was cut
    s.run(10, { lan4: 1 });
    expect(s.log).toEqual(['1000 block lan4']);
  });

  it('prefers the newest carrier, then the most own frames, then the highest ifindex; unknown carrier is oldest', () => {
    const pick = (own: Record<string, number>, carrier: Record<string, number>): string => {
      const s = setup({ enabled: true }, carrier);
      s.protection.setProtected([], T0);
      const [action] = s.tick(own);
      return `${action!.port}: ${action!.reason.split('because ')[1]?.split(';')[0] ?? ''}`;
    };
    expect(pick({ lan2: 5, lan3: 90 }, { lan2: 9_000, lan3: 1_000 })).toBe('lan2: its carrier came up last');
    expect(pick({ lan2: 5, lan3: 90 }, { lan2: 1_000, lan3: 1_000 })).toBe('lan3: it has the most own frames');
    expect(pick({ lan2: 9, lan3: 9 }, { lan2: 1_000, lan3: 1_000 })).toBe('lan3: it has the highest ifindex');
    expect(pick({ lan2: 9, lan3: 9 }, { lan2: 1_000 })).toBe('lan2: its carrier came up last');
  });
});

describe('LoopProtection: protected ports', () => {
  it('never blocks the uplink: blocks the other port, then reports a loop left on the uplink once', () => {
    const s = setup();
    s.protection.setProtected([GATEWAY, { port: 'lan2', reason: 'the ssh session from 192.168.1.20' }], T0);
    const [block] = s.tick({ lan1: 40, lan2: 40, lan3: 40 });
    expect(s.log).toEqual(['1000 block lan3']);
    expect(block!.reason).toBe(
      'switching loop: own frames returning on lan3 (40/s)' +
        '; not lan1: it carries the uplink (default route via 192.168.1.1)' +
        '; not lan2: it carries the ssh session from 192.168.1.20; blocked for 300 s',
    );
    s.run(6, { lan1: 40, lan2: 40, lan3: 1 });
    expect(s.log).toEqual(['1000 block lan3', '4000 refuse lan1', '4000 refuse lan2']);
    expect(s.protection.status(s.now(), 0).refused).toEqual([
      { port: 'lan1', reason: 'loop on lan1: not blocked, it carries the uplink (default route via 192.168.1.1)' },
      { port: 'lan2', reason: 'loop on lan2: not blocked, it carries the ssh session from 192.168.1.20' },
    ]);
    // The refusal ends quietMs after the last own frame.
    s.run(11);
    expect(s.protection.status(s.now(), 0).refused).toEqual([]);
  });

  it('leaves a loop on protected ports only alone', () => {
    const s = setup();
    s.protection.setProtected([GATEWAY], T0);
    s.run(20, { lan1: 40 });
    expect(s.log).toEqual(['1000 refuse lan1']);
    expect(s.protection.status(s.now(), 0).blocked).toEqual([]);
  });

  it('unblocks at once a blocked port that became protected', () => {
    const s = setup();
    s.protection.setProtected([], T0);
    s.tick({ lan3: 40 });
    s.protection.setProtected([{ port: 'lan3', reason: 'the WAN' }], s.now());
    const [action] = s.tick({ lan3: 40 });
    expect(action).toEqual({ kind: 'unblock', port: 'lan3', reason: 'lan3 now carries the WAN: unblocked at once' });
  });

  it('replaces the protected set when no loop was seen, only adds to it during one', () => {
    const s = setup();
    expect(s.protection.setProtected([GATEWAY], T0)).toBe('replaced');
    expect(s.protection.setProtected([{ port: 'lan2', reason: 'the WAN' }], T0)).toBe('replaced');
    expect(s.protection.protectedReason('lan1')).toBeNull();
    s.tick({ lan2: 40 }); // a loop: the FDB may now point the gateway at a looping port
    const started = s.now();
    expect(s.protection.setProtected([{ port: 'lan3', reason: 'the uplink (default route via 192.168.1.1)' }], started)).toBe('merged');
    expect(s.protection.status(s.now(), 0).protectedPorts.map((p) => p.port)).toEqual(['lan2', 'lan3']);
    // A resolution started quietMs after the last own frame replaces again.
    s.run(10);
    expect(s.protection.setProtected([GATEWAY], s.now())).toBe('replaced');
    expect(s.protection.status(s.now(), 0).protectedPorts).toEqual([GATEWAY]);
  });
});

describe('LoopProtection: hold-down', () => {
  const short = { enabled: true, holdDownMs: 20_000, settleMs: 3_000, quietMs: 5_000 };

  it('extends the hold-down while own frames still arrive on the blocked port (the loop is still cabled)', () => {
    const s = setup(short);
    s.protection.setProtected([], T0);
    s.run(45, { lan4: 2 });
    expect(s.log).toEqual(['1000 block lan4', '21000 extend lan4', '41000 extend lan4']);
    const [view] = s.protection.status(s.now(), 1_700_000_000_000).blocked;
    expect(view).toEqual({
      port: 'lan4',
      since: 1_700_000_000_000 - 44_000,
      until: 1_700_000_000_000 + 16_000, // extended at 41 s, now is 45 s
      reason: 'switching loop: own frames returning on lan4 (2/s)',
      blocks: 1,
    });
  });

  it('unblocks at the end when no own frames came for quietMs, and blocks again when the loop returns', () => {
    const s = setup(short);
    s.protection.setProtected([], T0);
    s.tick({ lan4: 30 });
    s.run(3, { lan4: 1 }); // the cable is pulled 4 s in
    s.run(20);
    expect(s.log).toEqual(['1000 block lan4', '21000 unblock lan4']);
    s.run(5);
    s.tick({ lan4: 30, lan2: 30 });
    expect(s.log.at(-1)).toBe('30000 block lan4');
    expect(s.protection.status(s.now(), 0).blockCounts).toEqual([{ port: 'lan4', blocks: 2 }]);
    expect(s.protection.status(s.now(), 0).blocked[0]!.blocks).toBe(2);
  });

  it('unblocks everything when protection is turned off', () => {
    const s = setup();
    s.protection.setProtected([], T0);
    s.tick({ lan3: 30, lan4: 30 });
    s.run(3, { lan3: 30, lan4: 30 });
    s.protection.configure({ enabled: false });
    const actions = s.tick({ lan3: 30, lan4: 30 });
    expect(actions.map((a) => `${a.kind} ${a.port}: ${a.reason}`)).toEqual([
      'unblock lan3: loop protection turned off',
      'unblock lan4: loop protection turned off',
    ]);
    s.run(5, { lan3: 30 });
    expect(s.log.filter((l) => l.includes('block lan')).length).toBe(4);
  });
});
