import { describe, expect, it } from 'vitest';
import { emptyConntrackSample, LINK_FIELDS, LINK_RX_PACKETS, LINK_TX_BYTES } from '../../../hal/index.ts';
import { NetlinkConntrackStats } from '../../../hal/linux/conntrackStats.ts';
import { NetlinkInventory } from '../../../hal/linux/inventory.ts';
import { NetlinkLinkStats } from '../../../hal/linux/linkStats.ts';
import { mockTransportFactory } from '../../../hal/netlink/mockTransport.ts';
import { attr, be32, capturedDatagrams, doneMessage, errorMessage, message, withSeq } from '../../helpers/netlinkFixtures.ts';

function sinkFor(indexes: number[]) {
  const read = new Set<number>();
  return {
    values: new Float64Array(indexes.length * LINK_FIELDS),
    slotOfIndex: (ifindex: number) => indexes.indexOf(ifindex),
    slotOfName: () => -1,
    markRead: (slot: number) => void read.add(slot),
    read,
  };
}

describe('NetlinkLinkStats', () => {
  it('sends one RTM_GETSTATS dump asking only for IFLA_STATS_LINK_64', () => {
    const factory = mockTransportFactory();
    const source = new NetlinkLinkStats(factory);
    source.read(sinkFor([1]), () => {});
    const request = factory.created[0]!.sent[0]!;
    expect(request.readUInt16LE(4)).toBe(94); // RTM_GETSTATS
    expect(request.readUInt16LE(6)).toBe(0x301); // REQUEST | DUMP
    expect(request.readUInt32LE(16 + 8)).toBe(1); // filter_mask = LINK_64
  });

  it('writes the counters of a captured reply into the rows of tracked links', () => {
    const factory = mockTransportFactory();
    const source = new NetlinkLinkStats(factory);
    const sink = sinkFor([1, 3]);
    let result: Error | null | undefined;
    source.read(sink, (error) => (result = error));
    const transport = factory.created[0]!;
    for (const datagram of capturedDatagrams('rtm-getstats-dump')) transport.deliver(withSeq(datagram, transport.lastSeq()));
    expect(result).toBeNull();
    expect([...sink.read].sort()).toEqual([0, 1]);
    // lo in the capture namespace saw the 3 pings to its own bridge address and replies.
    expect(sink.values[0 * LINK_FIELDS + LINK_RX_PACKETS]).toBeGreaterThan(0);
    expect(sink.values[0 * LINK_FIELDS + LINK_TX_BYTES]).toBeGreaterThan(0);
  });

  it('ignores replies to an earlier request', () => {
    const factory = mockTransportFactory();
    const source = new NetlinkLinkStats(factory);
    const sink = sinkFor([1]);
    let calls = 0;
    source.read(sink, () => calls++);
    const transport = factory.created[0]!;
    for (const datagram of capturedDatagrams('rtm-getstats-dump')) transport.deliver(withSeq(datagram, transport.lastSeq() - 1));
    expect(calls).toBe(0);
    expect(sink.read.size).toBe(0);
  });

  it('reports a kernel error once and recovers on the next read', () => {
    const factory = mockTransportFactory();
    const source = new NetlinkLinkStats(factory);
    const results: (string | null)[] = [];
    source.read(sinkFor([1]), (error) => results.push(error ? (error as Error & { code: string }).code : null));
    const transport = factory.created[0]!;
    transport.deliver(errorMessage(transport.lastSeq(), 16));
    source.read(sinkFor([1]), (error) => results.push(error ? 'error' : null));
    transport.deliver(doneMessage(transport.lastSeq()));
    expect(results).toEqual(['EBUSY', null]);
  });

  it('rejects a truncated reply cleanly', () => {
    const factory = mockTransportFactory();
    const source = new NetlinkLinkStats(factory);
    let result: Error | null = null;
    source.read(sinkFor([1]), (error) => (result = error));
    const transport = factory.created[0]!;
    const datagram = withSeq(capturedDatagrams('rtm-getstats-dump')[0]!, transport.lastSeq());
    transport.deliver(datagram.subarray(0, 100));
    expect(result).toMatchObject({ code: 'EMALFORMED' });
  });

  it('gives up on a read the kernel never answered when the next one starts', () => {
    const factory = mockTransportFactory();
    const source = new NetlinkLinkStats(factory);
    const codes: string[] = [];
    source.read(sinkFor([1]), (error) => codes.push((error as Error & { code: string })?.code ?? 'ok'));
    source.read(sinkFor([1]), () => {});
    expect(codes).toEqual(['ESUPERSEDED']);
  });
});

describe('NetlinkConntrackStats', () => {
  it('decodes count and max (big-endian) and sums the per-CPU counters', () => {
    const factory = mockTransportFactory();
    const source = new NetlinkConntrackStats(factory);
    const out = emptyConntrackSample();
    let result: Error | null | undefined;
    source.read(out, (error) => (result = error));
    const transport = factory.created[0]!;
    const [globalSeq, cpuSeq] = transport.sent.map((request) => request.readUInt32LE(8));
    expect(transport.sent.map((r) => r.readUInt16LE(6))).toEqual([0x1, 0x301]); // no ACK on GET_STATS
    for (const datagram of capturedDatagrams('ct-get-stats')) transport.deliver(withSeq(datagram, globalSeq!));
    expect(result).toBeUndefined(); // still waiting for the per-CPU dump
    for (const datagram of capturedDatagrams('ct-get-stats-cpu')) transport.deliver(withSeq(datagram, cpuSeq!));
    expect(result).toBeNull();
    expect(out.count).toBe(2);
    expect(out.max).toBe(262144);
    expect(out.drop).toBe(0);
    expect(out.found).toBe(0);
  });

  it('sums each counter over the per-CPU messages', () => {
    const factory = mockTransportFactory();
    const source = new NetlinkConntrackStats(factory);
    const out = emptyConntrackSample();
    let result: Error | null | undefined;
    source.read(out, (error) => (result = error));
    const transport = factory.created[0]!;
    const [globalSeq, cpuSeq] = transport.sent.map((request) => request.readUInt32LE(8));
    const nfgen = (cpu: number) => Buffer.from([0, 0, 0, cpu]); // res_id = CPU, big-endian
    // CTA_STATS_FOUND 2, DROP 10, EARLY_DROP 11, INSERT_FAILED 9
    const cpu = (id: number, found: number, drop: number, early: number, failed: number) =>
      message(0x104, 2, cpuSeq!, Buffer.concat([nfgen(id), attr(2, be32(found)), attr(10, be32(drop)), attr(11, be32(early)), attr(9, be32(failed))]));
    transport.deliver(message(0x105, 2, globalSeq!, Buffer.concat([nfgen(0), attr(1, be32(6000)), attr(2, be32(0xfffffff0))])));
    transport.deliver(Buffer.concat([cpu(0, 5, 1, 0, 3), cpu(1, 7, 2, 4, 0), cpu(2, 0xffffffff, 0, 0, 0), doneMessage(cpuSeq!)]));
    expect(result).toBeNull();
    expect(out).toMatchObject({ count: 6000, max: 0xfffffff0, found: 12 + 0xffffffff, drop: 3, earlyDrop: 4, insertFailed: 3 });
  });

  it('reports EPERM from a socket without CAP_NET_ADMIN', () => {
    const factory = mockTransportFactory();
    const source = new NetlinkConntrackStats(factory);
    let result: unknown;
    source.read(emptyConntrackSample(), (error) => (result = error));
    const transport = factory.created[0]!;
    const [globalSeq, cpuSeq] = transport.sent.map((request) => request.readUInt32LE(8));
    transport.deliver(errorMessage(globalSeq!, 1));
    transport.deliver(errorMessage(cpuSeq!, 1));
    expect(result).toMatchObject({ code: 'EPERM' });
  });

  it('finishes on a socket error such as ENOBUFS', () => {
    const factory = mockTransportFactory();
    const source = new NetlinkConntrackStats(factory);
    let result: unknown;
    source.read(emptyConntrackSample(), (error) => (result = error));
    factory.created[0]!.fail('ENOBUFS');
    expect(result).toMatchObject({ code: 'ENOBUFS' });
  });
});

describe('NetlinkInventory', () => {
  async function loaded() {
    const factory = mockTransportFactory();
    const inventory = new NetlinkInventory(factory);
    const started = inventory.start();
    const transport = factory.created[0]!;
    for (const datagram of capturedDatagrams('rtm-getlink-dump')) transport.deliver(withSeq(datagram, transport.lastSeq()));
    await started;
    return { inventory, transport };
  }

  it('joins RTNLGRP_LINK before dumping and lists every link with kind, master and MAC', async () => {
    const { inventory, transport } = await loaded();
    expect(transport.options.groups).toEqual([1]);
    const byName = new Map([...inventory.links.values()].map((link) => [link.name, link]));
    expect([...byName.keys()].sort()).toEqual(['br-lan', 'lan1', 'lan1p', 'lan2', 'lan2p', 'lo']);
    expect(byName.get('br-lan')!.kind).toBe('bridge');
    expect(byName.get('lan1')!.kind).toBe('veth');
    expect(byName.get('lo')!.kind).toBe('loopback');
    expect(byName.get('lan1')!.masterIndex).toBe(byName.get('br-lan')!.index);
    expect(byName.get('lan1')!.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(byName.get('lo')!.mtu).toBe(65536);
  });

  it('follows notifications: removal, re-add with a new ifindex, and ignores AF_BRIDGE port messages', async () => {
    const { inventory, transport } = await loaded();
    const events: string[] = [];
    inventory.onChange((event, link) => events.push(`${event} ${link.name}`));
    const newlinks = capturedDatagrams('rtm-getlink-dump').flatMap((datagram) => splitMessages(datagram)).filter((m) => m.readUInt16LE(4) === 16);
    const lan1 = newlinks.find((m) => m.includes(Buffer.from('lan1\0')))!;
    // AF_BRIDGE RTM_DELLINK = "left the bridge", not "removed".
    const bridgeDel = Buffer.from(lan1);
    bridgeDel.writeUInt16LE(17, 4);
    bridgeDel[16] = 7;
    transport.deliver(withSeq(bridgeDel, 0));
    expect(events).toEqual([]);
    const del = Buffer.from(lan1);
    del.writeUInt16LE(17, 4);
    transport.deliver(withSeq(del, 0));
    const readd = Buffer.from(lan1);
    readd.writeInt32LE(999, 16 + 4);
    transport.deliver(withSeq(readd, 0));
    expect(events).toEqual(['removed lan1', 'added lan1']);
    expect(inventory.links.get(999)?.name).toBe('lan1');
  });

  it('re-dumps after ENOBUFS and drops links the kernel no longer lists', async () => {
    const { inventory, transport } = await loaded();
    const before = inventory.links.size;
    const events: string[] = [];
    inventory.onChange((event, link) => events.push(`${event} ${link.name}`));
    transport.fail('ENOBUFS');
    expect(inventory.resyncCount).toBe(1);
    // The fresh dump lacks lan2: it vanished while events were being lost.
    const seq = transport.lastSeq();
    for (const datagram of capturedDatagrams('rtm-getlink-dump')) {
      const kept = splitMessages(datagram).filter((m) => !(m.readUInt16LE(4) === 16 && m.includes(Buffer.from('lan2\0'))));
      transport.deliver(withSeq(Buffer.concat(kept), seq));
    }
    expect(events).toEqual(['removed lan2']);
    expect(inventory.links.size).toBe(before - 1);
  });
});

function splitMessages(datagram: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  while (offset + 16 <= datagram.length) {
    const length = datagram.readUInt32LE(offset);
    out.push(datagram.subarray(offset, offset + ((length + 3) & ~3)));
    offset += (length + 3) & ~3;
  }
  return out;
}
