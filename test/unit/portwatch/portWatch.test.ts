import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeHal } from '../../../hal/fake/fakeHal.ts';
import { FakeLoopProbe } from '../../../hal/fake/fakeProbe.ts';
import type { FdbMoveListener, FdbMoveSource, Hal, LinkInfo } from '../../../hal/index.ts';
import { PORT_BCAST, PORT_MCAST, PORT_MDNS, PORT_OWN_SOURCE } from '../../../hal/index.ts';
import { LOOP_CERTAIN, LOOP_NONE, SIGNAL_OWN_FRAMES } from '../../../src/detect/index.ts';
import { samePlan, watchPlan } from '../../../src/portwatch/portPlan.ts';
import { PortWatch } from '../../../src/portwatch/portWatch.ts';
import { Sampler } from '../../../src/sampler/sampler.ts';

const quiet = { info: () => {}, warn: () => {}, debug: () => {} };

function link(index: number, name: string, extra: Partial<LinkInfo> = {}): LinkInfo {
  return { index, name, kind: 'ethernet', masterIndex: 0, mtu: 1500, operState: 'up', mac: null, ...extra };
}

class FakeFdb implements FdbMoveSource {
  readonly status = { backend: 'fake' as const, detail: 'scripted FDB moves' };
  readonly counts = { moves: 0, lost: 0 };
  private listener: FdbMoveListener | null = null;
  onMove(listener: FdbMoveListener): void {
    this.listener = listener;
  }
  move(nic: number, port: number, fromPort: number, atMs: number): void {
    this.counts.moves++;
    this.listener?.(0x020000, nic, port, fromPort, 3, 0, atMs);
  }
  close(): void {}
}

/** A bridge br0 (index 3) with lan1 (4), lan2 (5); eth0 (2) is the WAN; wlan0 (6) a LAN port outside the bridge. */
function setup() {
  let now = 0;
  const clock = () => now;
  const fake = new FakeHal(clock);
  fake.addLink(link(2, 'eth0'));
  fake.addLink(link(3, 'br0', { kind: 'bridge', mac: '02:00:00:00:00:03' }));
  fake.addLink(link(4, 'lan1', { masterIndex: 3 }));
  fake.addLink(link(5, 'lan2', { masterIndex: 3 }));
  fake.addLink(link(6, 'wlan0'));
  const fdb = new FakeFdb();
  const probe = new FakeLoopProbe([], { now: clock });
  const hal: Hal = {
    inventory: fake.inventory,
    linkStats: fake.linkStats,
    conntrack: fake.conntrack,
    ports: fake.ports,
    fdb,
    probe,
    close: () => {},
  };
  const sampler = new Sampler(hal, { intervalMs: 1000, log: quiet, now: clock });
  const watch = new PortWatch({ hal, sampler, log: quiet, storm: {}, loop: {} });
  sampler.onSample(watch.onSample);
  const roles = { wan: 'eth0', lan: ['lan1', 'lan2', 'wlan0'], bridge: 'br0' };
  const run = (seconds: number) => {
    for (let i = 0; i < seconds; i++) {
      now += 1000;
      sampler.tick();
    }
  };
  return { fake, fdb, probe, sampler, watch, roles, run, clock, advance: (ms: number) => (now += ms) };
}

describe('watchPlan', () => {
  const links = [link(2, 'eth0'), link(3, 'br0', { kind: 'bridge', mac: '02:00:00:00:00:03' }), link(4, 'lan1', { masterIndex: 3 }), link(5, 'lan2', { masterIndex: 3 }), link(6, 'wlan0')];

  it('counts the LAN ports that are bridge members and watches the other LAN ports through their interface counters', () => {
    expect(watchPlan({ wan: 'eth0', lan: ['lan1', 'wlan0'], bridge: 'br0' }, links)).toEqual({
      counted: { bridge: 'br0', bridgeMac: '02:00:00:00:00:03', ports: ['lan1'] },
      watched: ['lan1', 'wlan0'],
    });
  });

  it('counts every bridge member when the roles name no LAN port in the bridge, never the WAN', () => {
    const withWanInBridge = [...links, link(7, 'eth1', { masterIndex: 3 })];
    expect(watchPlan({ wan: 'eth1', lan: [], bridge: 'br0' }, withWanInBridge).counted?.ports).toEqual(['lan1', 'lan2']);
  });

  it('has nothing to count without a bridge, and compares plans by content', () => {
    const plan = watchPlan({ wan: 'eth0', lan: ['wlan0'], bridge: null }, links);
    expect(plan).toEqual({ counted: null, watched: ['wlan0'] });
    expect(samePlan(plan, watchPlan({ wan: 'eth0', lan: ['wlan0'], bridge: null }, links))).toBe(true);
    expect(samePlan(plan, watchPlan({ wan: 'eth0', lan: ['lan1'], bridge: 'br0' }, links))).toBe(false);
  });
});

describe('PortWatch', () => {
  afterEach(() => vi.useRealTimers());

  it('installs the plan, names the probe bridge and labels every port with what counts it', async () => {
    const { fake, probe, sampler, watch, roles } = setup();
    await watch.setRoles(roles);
    expect(fake.ports.plan).toEqual({ bridge: 'br0', bridgeMac: '02:00:00:00:00:03', ports: ['lan1', 'lan2'] });
    expect(probe.status().map((b) => b.bridge)).toEqual(['br0']);
    expect([...sampler.ports.rows()].map((r) => `${r.name}: ${r.source}`)).toEqual(['lan1: fake', 'lan2: fake', 'wlan0: interface multicast counter']);
    expect(watch.status()).toMatchObject({ bridge: 'br0', counted: ['lan1', 'lan2'], watched: ['lan1', 'lan2', 'wlan0'], countingError: null });
  });

  it('feeds the storm detector from the port counters: a port above the absolute level is in storm', async () => {
    const { fake, watch, roles, run } = setup();
    await watch.setRoles(roles);
    fake.ports.setRate('lan2', PORT_MCAST, 1500);
    fake.ports.setRate('lan2', PORT_MDNS, 1400);
    run(3);
    expect(watch.storm.inStorm(watch.storm.portCount - 1)).toBe(false);
    const slot = [...Array(watch.storm.portCount).keys()].find((p) => watch.storm.portName(p) === 'lan2')!;
    expect(watch.storm.inStorm(slot)).toBe(true);
    expect(watch.storm.value).toBeGreaterThan(100);
  });

  it('feeds own frames to the loop detector: the port they come back on is a certain loop', async () => {
    const { fake, watch, roles, run } = setup();
    await watch.setRoles(roles);
    run(2);
    expect(watch.loop.value).toBe(LOOP_NONE);
    fake.ports.setRate('lan1', PORT_OWN_SOURCE, 40);
    fake.ports.setRate('lan1', PORT_BCAST, 40);
    run(1);
    expect(watch.loop.value).toBe(LOOP_CERTAIN);
    const slot = [...Array(watch.loop.portCount).keys()].find((p) => watch.loop.portName(p) === 'lan1')!;
    expect(watch.loop.signals(slot) & SIGNAL_OWN_FRAMES).toBe(SIGNAL_OWN_FRAMES);
  });

  it('answers a burst of FDB moves with a probe at once and a sample 100 ms later; a single move does neither', async () => {
    vi.useFakeTimers();
    const { fdb, probe, sampler, watch, roles, run } = setup();
    await watch.setRoles(roles);
    watch.startProbe(60_000); // on, but not due during the test
    run(2);
    const ticks = sampler.ticks;
    fdb.move(1, 4, 5, 2000); // one host roaming: nothing special
    await vi.advanceTimersByTimeAsync(200);
    expect(probe.sends).toHaveLength(0);
    expect(sampler.ticks).toBe(ticks);
    fdb.move(2, 5, 4, 2001);
    fdb.move(2, 4, 5, 2002); // third move within a second
    expect(probe.sends).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(sampler.ticks).toBe(ticks);
    await vi.advanceTimersByTimeAsync(1);
    expect(sampler.ticks).toBe(ticks + 1);
    expect(watch.loop.trackedMacs).toBe(2);
    watch.close();
  });

  it('sends no probe on a burst of moves when the probe is off (loop.probeIntervalMs 0), but still samples at once', async () => {
    vi.useFakeTimers();
    const { fdb, probe, sampler, watch, roles, run } = setup();
    await watch.setRoles(roles);
    watch.startProbe(0);
    run(2);
    const ticks = sampler.ticks;
    for (let i = 0; i < 3; i++) fdb.move(2, i % 2 ? 4 : 5, i % 2 ? 5 : 4, 2000 + i);
    await vi.advanceTimersByTimeAsync(100);
    expect(probe.sends).toHaveLength(0);
    expect(sampler.ticks).toBe(ticks + 1);
  });

  it('installs the counters again when the table was deleted behind its back (ENOENT), at most every 5 s', async () => {
    const { fake, watch, roles, run } = setup();
    await watch.setRoles(roles);
    const apply = vi.spyOn(fake.ports, 'apply');
    const gone = Object.assign(new Error('2 of 16 counters missing'), { code: 'ENOENT' });
    fake.ports.failNext = gone;
    run(1);
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    expect(apply).toHaveBeenCalledTimes(1);
    fake.ports.failNext = gone;
    run(1);
    await new Promise((r) => setImmediate(r));
    expect(apply).toHaveBeenCalledTimes(1); // 1 s later: not yet
    for (let i = 0; i < 5; i++) {
      fake.ports.failNext = gone;
      run(1);
    }
    await new Promise((r) => setImmediate(r));
    expect(apply).toHaveBeenCalledTimes(2);
  });

  it('reports a plan that could not be installed, and still watches the ports on their interface counters', async () => {
    const { fake, watch, roles, sampler } = setup();
    fake.ports.failApply = new Error('nft: Operation not permitted (needs CAP_NET_ADMIN)');
    await watch.setRoles(roles);
    expect(watch.status().countingError).toBe('nft: Operation not permitted (needs CAP_NET_ADMIN)');
    expect(sampler.ports.row('lan1')?.planned).toBe(true);
  });

  it('starts a port from scratch when another port takes its slot', async () => {
    const { fake, watch, roles, run } = setup();
    await watch.setRoles(roles);
    fake.ports.setRate('lan1', PORT_OWN_SOURCE, 40);
    run(2);
    expect(watch.loop.value).toBe(LOOP_CERTAIN);
    fake.removeLink(4);
    fake.addLink(link(8, 'lan3', { masterIndex: 3 }));
    await watch.setRoles({ ...roles, lan: ['lan2', 'lan3', 'wlan0'] });
    run(1);
    const names = [...Array(watch.loop.portCount).keys()].map((p) => watch.loop.portName(p)).filter(Boolean);
    expect(names).toEqual(expect.arrayContaining(['lan2', 'lan3']));
    expect(watch.loop.value).toBe(LOOP_NONE);
  });
});
