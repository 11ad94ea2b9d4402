import { describe, expect, it } from 'vitest';
import { FakeHal } from '../../../hal/fake/fakeHal.ts';
import { LINK_MULTICAST, LINK_RX_BYTES, LINK_RX_PACKETS, LINK_TX_PACKETS, PORT_BCAST, PORT_MCAST, PORT_MDNS } from '../../../hal/index.ts';
import { PT_BCAST_PPS, PT_MCAST_PPS, PT_MDNS_PPS, PT_OTHER_PPS } from '../../../src/sampler/portTable.ts';
import { CT_DROP_PS, CT_PCT } from '../../../src/sampler/conntrackHistory.ts';
import { IF_MULTICAST_PPS, IF_RX_BPS, IF_RX_PPS, IF_TX_PPS } from '../../../src/sampler/linkTable.ts';
import { Sampler } from '../../../src/sampler/sampler.ts';

function setup(intervalMs = 1000, maxInterfaces = 8) {
  let now = 0;
  const clock = () => now;
  const hal = new FakeHal(clock);
  const messages: string[] = [];
  const log = { warn: (m: string) => messages.push(`warn ${m}`), info: (m: string) => messages.push(`info ${m}`) };
  const sampler = new Sampler(hal, { intervalMs, log, now: clock, maxInterfaces });
  const step = (ms = intervalMs) => {
    now += ms;
    sampler.tick();
  };
  const latest = (name: string, series: number) => sampler.links.row(name)!.history.get(series, sampler.clock.indexAt(0));
  return { hal, sampler, step, latest, messages, advance: (ms: number) => (now += ms) };
}

describe('Sampler', () => {
  it('reads bridge-port counters once a plan is set, and stops when the plan is empty', async () => {
    const { hal, sampler, step } = setup();
    hal.addLink({ index: 2, name: 'eth0' });
    hal.ports.setRate('lan1', PORT_BCAST, 40);
    hal.ports.setRate('lan1', PORT_MDNS, 300);
    hal.ports.setRate('lan1', PORT_MCAST, 310);
    await hal.ports.apply({ bridge: 'br-lan', bridgeMac: null, ports: ['lan1'] });
    expect(sampler.setPortPlan(['lan1'])).toEqual([]);
    step();
    step();
    const at = sampler.clock.indexAt(0);
    const lan1 = sampler.ports.row('lan1')!.history;
    expect([lan1.get(PT_BCAST_PPS, at), lan1.get(PT_MCAST_PPS, at), lan1.get(PT_MDNS_PPS, at), lan1.get(PT_OTHER_PPS, at)]).toEqual([40, 310, 300, 50]);
    expect(sampler.ticks).toBe(2);

    hal.ports.failNext = new Error('EPERM');
    step();
    expect(sampler.portHealth.ok).toBe(false);
    expect(sampler.links.row('eth0')).not.toBeNull(); // the other sources still committed
    expect(sampler.ticks).toBe(3);

    sampler.setPortPlan([]);
    step();
    expect(sampler.ports.row('lan1')!.history.get(PT_BCAST_PPS, sampler.clock.indexAt(0))).toBeNaN();
    expect(sampler.ticks).toBe(4);
  });

  it('turns counter deltas into per-second rates over the measured interval', () => {
    const { hal, step, latest } = setup();
    hal.addLink({ index: 2, name: 'eth0' }, { [LINK_RX_PACKETS]: 1200, [LINK_TX_PACKETS]: 300, [LINK_RX_BYTES]: 1_500_000, [LINK_MULTICAST]: 12 });
    step();
    expect(latest('eth0', IF_RX_PPS)).toBeNaN(); // first read: no baseline yet
    step();
    expect(latest('eth0', IF_RX_PPS)).toBe(1200);
    expect(latest('eth0', IF_TX_PPS)).toBe(300);
    expect(latest('eth0', IF_RX_BPS)).toBe(1_500_000);
    expect(latest('eth0', IF_MULTICAST_PPS)).toBe(12);
    // A late tick (timer jitter) must not inflate the rate: it divides by real time.
    step(1500);
    expect(latest('eth0', IF_RX_PPS)).toBe(1200);
  });

  it('sustains 10 Hz ticks with a 10-minute ring', () => {
    const { hal, sampler, step, latest } = setup(100);
    hal.addLink({ index: 2, name: 'eth0' }, { [LINK_RX_PACKETS]: 1000 });
    for (let i = 0; i < 7000; i++) step();
    expect(sampler.clock.capacity).toBe(6000);
    expect(sampler.clock.filled).toBe(6000);
    expect(latest('eth0', IF_RX_PPS)).toBe(1000);
  });

  it('gives no rate across a counter reset, then resumes', () => {
    const { hal, step, latest } = setup();
    hal.addLink({ index: 2, name: 'eth0' }, { [LINK_RX_PACKETS]: 500 });
    step();
    step();
    hal.setCounter(2, LINK_RX_PACKETS, 3);
    step();
    expect(latest('eth0', IF_RX_PPS)).toBeNaN();
    step();
    expect(latest('eth0', IF_RX_PPS)).toBe(500);
  });

  it('follows a USB NIC pulled and plugged back: same row, new ifindex, fresh baseline', () => {
    const { hal, sampler, step, latest } = setup();
    hal.addLink({ index: 5, name: 'eth1' }, { [LINK_RX_PACKETS]: 100 });
    step();
    step();
    const row = sampler.links.row('eth1')!;
    hal.removeLink(5);
    step();
    expect(row.present).toBe(false);
    expect(latest('eth1', IF_RX_PPS)).toBeNaN();
    hal.addLink({ index: 9, name: 'eth1' }, { [LINK_RX_PACKETS]: 100 });
    step();
    expect(sampler.links.row('eth1')).toBe(row);
    expect(row.index).toBe(9);
    expect(latest('eth1', IF_RX_PPS)).toBeNaN();
    step();
    expect(latest('eth1', IF_RX_PPS)).toBe(100);
    // Older history survived the replug.
    expect(row.history.get(IF_RX_PPS, sampler.clock.indexAt(3))).toBe(100);
  });

  it('stays bounded when interfaces keep coming and going (no leak)', () => {
    const { hal, sampler, step, messages } = setup(1000, 4);
    for (let i = 0; i < 200; i++) {
      hal.addLink({ index: 100 + i, name: `veth${i}` }, { [LINK_RX_PACKETS]: 1 });
      step();
      hal.removeLink(100 + i);
    }
    expect([...sampler.links.rows()].length).toBe(4);
    expect(messages.filter((m) => m.startsWith('warn'))).toEqual([]);
  });

  it('says once per interface when the table is full of present interfaces', () => {
    const { hal, sampler, messages } = setup(1000, 2);
    for (let i = 0; i < 3; i++) hal.addLink({ index: 10 + i, name: `eth${i}` });
    hal.inventory.emit('changed', hal.inventory.current.get(12)!);
    expect(messages).toEqual(['warn eth2: not sampled: the agent tracks at most 2 interfaces at once']);
    expect(sampler.links.row('eth2')).toBeNull();
  });

  it('reports a failing source once and says when it answers again', () => {
    const { hal, sampler, step, messages } = setup();
    hal.addLink({ index: 2, name: 'eth0' });
    step();
    hal.linkStats.failNext = new Error('boom');
    step();
    hal.linkStats.failNext = new Error('boom');
    step();
    step();
    expect(messages).toEqual(['warn link counters: boom', 'info link counters: answering again after 2 failed reads']);
    expect(sampler.linkHealth.failures).toBe(2);
  });

  it('tracks conntrack usage and drop rate', () => {
    const { hal, step, sampler } = setup();
    hal.conntrack.sample.count = 1800;
    hal.conntrack.sample.max = 2000;
    step();
    hal.conntrack.sample.drop = 30;
    step();
    const at = sampler.clock.indexAt(0);
    expect(sampler.conntrack.history.get(CT_PCT, at)).toBe(90);
    expect(sampler.conntrack.history.get(CT_DROP_PS, at)).toBe(30);
  });

  it('skips a tick while the previous one is pending and abandons it after a stall', () => {
    const { hal, sampler, advance } = setup();
    const pending: (() => void)[] = [];
    hal.linkStats.read = (_sink, done) => void pending.push(() => done(null));
    sampler.tick();
    advance(1000);
    sampler.tick();
    expect(sampler.overruns).toBe(1);
    advance(5000);
    sampler.tick();
    expect(sampler.stalls).toBe(1);
    expect(sampler.ticks).toBe(0);
  });
});
