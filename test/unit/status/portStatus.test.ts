import { describe, expect, it } from 'vitest';
import { FakeHal } from '../../../hal/fake/fakeHal.ts';
import { LINK_MULTICAST, PORT_ARP, PORT_BCAST, PORT_MCAST, PORT_MDNS } from '../../../hal/index.ts';
import { Sampler } from '../../../src/sampler/sampler.ts';
import { lastMinute, portFields } from '../../../src/status/portStatus.ts';
import { PT_BCAST_PPS } from '../../../src/sampler/portTable.ts';

async function setup(intervalMs: number) {
  let now = 0;
  const clock = () => now;
  const hal = new FakeHal(clock);
  const sampler = new Sampler(hal, { intervalMs, log: { warn: () => {}, info: () => {} }, now: clock });
  await hal.ports.apply({ bridge: 'br0', bridgeMac: null, ports: ['lan1'] });
  sampler.setPortPlan(['lan1']);
  const run = (ms: number) => {
    for (let t = 0; t < ms; t += intervalMs) {
      now += intervalMs;
      sampler.tick();
    }
  };
  return { hal, sampler, run };
}

describe('port status', () => {
  it('averages 10 Hz ticks into one value per second for the last minute, oldest first', async () => {
    const { hal, sampler, run } = await setup(100);
    hal.ports.setRate('lan1', PORT_BCAST, 10);
    run(30_000);
    hal.ports.setRate('lan1', PORT_BCAST, 200);
    run(30_000);
    const minute = lastMinute(sampler, (i) => sampler.ports.row('lan1')!.history.get(PT_BCAST_PPS, i));
    expect(minute).toHaveLength(60);
    expect(minute.slice(0, 29).every((v) => v === 10)).toBe(true);
    expect(minute.slice(31).every((v) => v === 200)).toBe(true);
  });

  it('gives the current rates, the protocol mix and the source of a counted port, nothing for others', async () => {
    const { hal, sampler, run } = await setup(1000);
    hal.ports.setRate('lan1', PORT_BCAST, 4);
    hal.ports.setRate('lan1', PORT_ARP, 4);
    hal.ports.setRate('lan1', PORT_MCAST, 300);
    hal.ports.setRate('lan1', PORT_MDNS, 290);
    run(5000);
    const fields = portFields(sampler, 'lan1');
    expect(fields).toMatchObject({ bcastPps: 4, mcastPps: 300, ownFramesPerS: 0, portCounterSource: 'fake' });
    expect(fields.protocols).toEqual({ arp: 4, nd: 0, mdns: 290, ssdp: 0, dhcp: 0, other: 10 });
    expect(fields.bcastMcastLast60s!.filter((v) => v !== null)).toEqual([304, 304, 304, 304]);
    expect(portFields(sampler, 'eth0').portCounterSource).toBeNull();
  });

  it('falls back to the interface multicast counter, labelled, for a port no source counts', async () => {
    const { hal, sampler, run } = await setup(1000);
    hal.addLink({ index: 7, name: 'wlan0', kind: 'ethernet', masterIndex: 3 }, { [LINK_MULTICAST]: 40 });
    sampler.setPortPlan(['lan1', 'wlan0']);
    hal.ports.setRate('lan1', PORT_BCAST, 4);
    run(3000);
    expect(portFields(sampler, 'wlan0')).toMatchObject({
      bcastPps: null,
      mcastPps: 40,
      protocols: { arp: null, nd: null, mdns: null, ssdp: null, dhcp: null, other: null },
      ownFramesPerS: null,
      portCounterSource: 'interface multicast counter',
    });
    expect(portFields(sampler, 'wlan0').bcastMcastLast60s!.filter((v) => v !== null)).toEqual([40, 40]);
    expect(portFields(sampler, 'lan1')).toMatchObject({ bcastPps: 4, portCounterSource: 'fake' });
  });
});
