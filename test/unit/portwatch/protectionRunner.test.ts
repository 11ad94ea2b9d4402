import { describe, expect, it } from 'vitest';
import { FakeGuard } from '../../../hal/fake/fakeGuard.ts';
import type { LinkInfo, ProtectedPortQuery } from '../../../hal/index.ts';
import { ProtectionRunner } from '../../../src/portwatch/protectionRunner.ts';

const settle = () => new Promise((r) => setImmediate(r));

function link(index: number, name: string, operState: LinkInfo['operState'] = 'up'): LinkInfo {
  return { index, name, kind: 'ethernet', masterIndex: 3, mtu: 1500, operState, mac: null };
}

function setup(enabled = true) {
  let now = 1000;
  const guard = new FakeGuard();
  const queries: ProtectedPortQuery[] = [];
  const logs: string[] = [];
  const runner = new ProtectionRunner({
    guard,
    resolver: async (query) => {
      queries.push(query);
      return { ports: [{ port: 'lan1', reason: 'the uplink via 192.168.1.1' }], notes: [] };
    },
    enabled,
    holdDownMs: 60_000,
    sshPorts: [22],
    log: { info: (m) => logs.push(m), warn: (m) => logs.push(m), debug: () => {} },
    now: () => now,
  });
  const roles = { wan: 'eth0', lan: [], bridge: 'br0' };
  const links = [link(4, 'lan1'), link(5, 'lan2'), link(6, 'lan3', 'down')];
  /** One tick `ms` later with these own-frame rates (missing ports: 0). */
  const tick = (ms: number, own: Record<string, number> = {}) => {
    now += ms;
    for (const name of ['lan1', 'lan2', 'lan3']) runner.setOwnFrames(name, own[name] ?? 0);
    runner.tick(now);
  };
  return { runner, guard, queries, logs, roles, links, tick, at: () => now, advance: (ms: number) => (now += ms) };
}

describe('ProtectionRunner', () => {
  it('does nothing at all while loop.protect is off', async () => {
    const { runner, guard, roles, links, tick } = setup(false);
    runner.setPorts(['lan1', 'lan2', 'lan3'], roles, links);
    await runner.start();
    tick(1000, { lan2: 50 });
    await settle();
    expect(guard.calls).toEqual([]);
    expect(runner.status()).toMatchObject({ enabled: false, blocked: [] });
  });

  it('installs the guard, spares the resolved uplink and blocks the port whose cable came up last', async () => {
    const { runner, guard, queries, roles, links, tick, logs } = setup();
    runner.setPorts(['lan1', 'lan2', 'lan3'], roles, links);
    await runner.start();
    expect(queries[0]).toEqual({ bridge: 'br0', wan: 'eth0', sshPorts: [22] });
    // lan3's cable goes in: its carrier comes up now, after everyone else's.
    runner.onLinkEvent('changed', link(6, 'lan3', 'up'));
    tick(1000, { lan1: 80, lan2: 90, lan3: 40 });
    await settle();
    expect(guard.blockedNow).toEqual(['lan3']);
    const status = runner.status();
    expect(status.blocked.map((b) => b.port)).toEqual(['lan3']);
    expect(status.protectedPorts).toEqual([{ port: 'lan1', reason: 'the uplink via 192.168.1.1' }]);
    expect(status.recent.map((e) => `${e.kind} ${e.port ?? ''}`.trim())).toEqual(['install', 'block lan3']);
    expect(logs.some((m) => m.startsWith('loop protection: blocking lan3 for 60 s'))).toBe(true);
    expect(runner.revision).toBeGreaterThan(0);
  });

  it('never blocks the uplink even when it is the only port the frames come back on', async () => {
    const { runner, guard, roles, links, tick } = setup();
    runner.setPorts(['lan1', 'lan2', 'lan3'], roles, links);
    await runner.start();
    tick(1000, { lan1: 80 });
    await settle();
    expect(guard.blockedNow).toEqual([]);
    expect(runner.status().refused).toEqual([{ port: 'lan1', reason: 'loop on lan1: not blocked, it carries the uplink via 192.168.1.1' }]);
  });

  it('reports a failed block, retries it, and removes the guard on close', async () => {
    const { runner, guard, roles, links, tick, logs } = setup();
    runner.setPorts(['lan1', 'lan2', 'lan3'], roles, links);
    await runner.start();
    guard.failNext('block', 'nft: Operation not permitted');
    tick(1000, { lan2: 50 });
    await settle();
    expect(guard.blockedNow).toEqual([]);
    expect(runner.status().failures).toEqual([{ op: 'block', port: 'lan2', error: 'nft: Operation not permitted' }]);
    expect(logs.some((m) => /block lan2 failed: nft: Operation not permitted/.test(m))).toBe(true);
    tick(11_000, { lan2: 50 });
    await settle();
    expect(guard.blockedNow).toEqual(['lan2']);
    await runner.close();
    expect(guard.installed).toBe(false);
    expect(guard.blockedNow).toEqual([]);
  });
});
