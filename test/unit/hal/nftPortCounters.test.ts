import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PORT_ARP, PORT_BCAST, PORT_FIELDS, PORT_MCAST, PORT_ND, PORT_OWN_SOURCE, type PortCounterPlan } from '../../../hal/index.ts';
import { allocCounterDumpRequest } from '../../../hal/linux/nftObjDump.ts';
import { NftPortCounters } from '../../../hal/linux/nftPortCounters.ts';
import type { PortRuleset } from '../../../hal/linux/nftPortRuleset.ts';
import type { PortTableInstaller } from '../../../hal/linux/nftPortTable.ts';
import { mockTransportFactory } from '../../../hal/netlink/mockTransport.ts';
import { MessageCursor } from '../../../hal/netlink/reader.ts';
import { attr, be32, capturedDatagrams, doneMessage, errorMessage, message, withSeq } from '../../helpers/netlinkFixtures.ts';

// Captured by scripts/fixtures/capture-nft.sh: lan1 and lan2 of br-lan, and what `nft -j` said.
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/netlink/nft-getobj-counters.json', import.meta.url), 'utf8')) as {
  plan: PortCounterPlan;
  packets: Record<string, number>;
};

const NFT_NEWOBJ = (10 << 8) | 18;

class FakeInstaller implements PortTableInstaller {
  installed: PortRuleset[] = [];
  removed: string[] = [];
  failNext: Error | null = null;
  gate: Promise<void> | null = null;
  async install(ruleset: PortRuleset): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    this.installed.push(ruleset);
  }
  async remove(table = 'lanwatch'): Promise<void> {
    this.removed.push(table);
  }
}

function sinkFor(ports: string[]) {
  const read = new Set<number>();
  return {
    values: new Float64Array(ports.length * PORT_FIELDS),
    slotOfPort: (name: string) => ports.indexOf(name),
    markPortRead: (slot: number) => void read.add(slot),
    read,
  };
}

function rowOf(values: Float64Array, slot: number): number[] {
  return Array.from(values.subarray(slot * PORT_FIELDS, (slot + 1) * PORT_FIELDS));
}

async function applied(plan: PortCounterPlan = fixture.plan) {
  const factory = mockTransportFactory();
  const installer = new FakeInstaller();
  const source = new NftPortCounters(factory, { installer });
  await source.apply(plan);
  return { source, installer, transport: factory.created[0]!, factory };
}

/** The captured reply with the request's sequence number. */
function reply(seq: number): Buffer[] {
  return capturedDatagrams('nft-getobj-dump').map((d) => withSeq(d, seq));
}

/** Splits datagrams into their messages (copies). */
function messagesOf(datagrams: Buffer[]): Buffer[] {
  const cursor = new MessageCursor();
  const out: Buffer[] = [];
  for (const datagram of datagrams) {
    cursor.reset(datagram);
    while (cursor.next()) out.push(Buffer.from(datagram.subarray(cursor.offset, cursor.offset + ((cursor.length + 3) & ~3))));
  }
  return out;
}

/** A NEWOBJ message for counter `name` with `packets` (be64), as the kernel lays it out. */
function counterMessage(seq: number, name: string, packets: bigint): Buffer {
  const u64 = (v: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v);
    return b;
  };
  const data = Buffer.concat([attr(1, u64(packets * 100n)), attr(2, u64(packets))]);
  const nested = attr(4 | 0x8000, data);
  const payload = Buffer.concat([Buffer.from([7, 0, 0, 1]), attr(1, Buffer.from('lanwatch\0')), attr(2, Buffer.from(`${name}\0`)), attr(3, be32(1)), nested]);
  return message(NFT_NEWOBJ, 2, seq, payload);
}

describe('NFT_MSG_GETOBJ dump request', () => {
  it('asks for the counter objects of our table in the bridge family, as a dump', () => {
    const request = allocCounterDumpRequest('lanwatch');
    expect(request.readUInt32LE(0)).toBe(request.length);
    expect(request.readUInt16LE(4)).toBe(0x0a13); // NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETOBJ
    expect(request.readUInt16LE(6)).toBe(0x301); // REQUEST | DUMP
    expect([...request.subarray(16, 20)]).toEqual([7, 0, 0, 0]); // NFPROTO_BRIDGE, NFNETLINK_V0, res_id 0
    // NFTA_OBJ_TABLE "lanwatch\0" (len 13, padded to 16), NFTA_OBJ_TYPE be32 NFT_OBJECT_COUNTER.
    expect(request.readUInt16LE(20)).toBe(13);
    expect(request.readUInt16LE(22)).toBe(1);
    expect(request.toString('latin1', 24, 33)).toBe('lanwatch\0');
    expect(request.readUInt16LE(36)).toBe(8);
    expect(request.readUInt16LE(38)).toBe(3);
    expect(request.readUInt32BE(40)).toBe(1);
    expect(request.length).toBe(44);
  });
});

describe('NftPortCounters', () => {
  it('installs the plan once per apply and sends one request per read', async () => {
    const { source, installer, transport } = await applied();
    expect(installer.installed).toHaveLength(1);
    expect(installer.installed[0]!.ports).toEqual(['lan1', 'lan2']);
    source.read(sinkFor(['lan1', 'lan2']), () => {});
    source.read(sinkFor(['lan1', 'lan2']), () => {});
    expect(transport.sent).toHaveLength(2);
    expect(transport.protocol).toBe(12); // NETLINK_NETFILTER
  });

  it('reads the captured kernel reply exactly as `nft -j list counters` reported it', async () => {
    const { source, transport } = await applied();
    const sink = sinkFor(['lan1', 'lan2']);
    let result: Error | null | undefined;
    source.read(sink, (error) => (result = error));
    for (const datagram of reply(transport.lastSeq())) transport.deliver(datagram);
    expect(result).toBeNull();
    expect([...sink.read].sort()).toEqual([0, 1]);
    const suffixes = ['bcast', 'mcast', 'arp', 'nd', 'mdns', 'ssdp', 'dhcp', 'own'];
    fixture.plan.ports.forEach((_, port) => {
      expect(rowOf(sink.values, port)).toEqual(suffixes.map((s) => fixture.packets[`p${port}_${s}`]));
    });
    // The capture had real traffic: broadcast ARP on both, ND, and lan2 sending with br-lan's MAC.
    expect(sink.values[PORT_ARP]).toBeGreaterThan(0);
    expect(sink.values[PORT_ND]).toBeGreaterThan(0);
    expect(sink.values[PORT_FIELDS + PORT_OWN_SOURCE]).toBeGreaterThan(0);
  });

  it('lists the counters in the order they were defined, so name matching is one comparison each', () => {
    const names: string[] = [];
    const cursor = new MessageCursor();
    for (const datagram of capturedDatagrams('nft-getobj-dump')) {
      cursor.reset(datagram);
      while (cursor.next()) {
        if (cursor.type !== NFT_NEWOBJ) continue;
        const text = datagram.toString('latin1', cursor.offset, cursor.offset + cursor.length);
        names.push(/p[0-9]+_[a-z]+/.exec(text)![0]);
      }
    }
    expect(names).toEqual(Object.keys(fixture.packets));
  });

  it('matches names in any order, and writes rows where the sink keeps them', async () => {
    const { source, transport } = await applied();
    const sink = sinkFor(['other', 'lan2', 'lan1']);
    let result: Error | null | undefined;
    source.read(sink, (error) => (result = error));
    const seq = transport.lastSeq();
    const messages = messagesOf(reply(seq));
    const done = messages.pop()!; // NLMSG_DONE stays last
    transport.deliver(Buffer.concat([...messages.reverse(), done]));
    expect(result).toBeNull();
    expect([...sink.read].sort()).toEqual([1, 2]);
    expect(sink.values[2 * PORT_FIELDS + PORT_BCAST]).toBe(fixture.packets.p0_bcast);
    expect(sink.values[1 * PORT_FIELDS + PORT_OWN_SOURCE]).toBe(fixture.packets.p1_own);
    expect(rowOf(sink.values, 0)).toEqual(new Array(PORT_FIELDS).fill(0)); // not a planned port: untouched
  });

  it('skips ports the sink does not track', async () => {
    const { source, transport } = await applied();
    const sink = sinkFor(['lan2']);
    let result: Error | null | undefined;
    source.read(sink, (error) => (result = error));
    for (const datagram of reply(transport.lastSeq())) transport.deliver(datagram);
    expect(result).toBeNull();
    expect([...sink.read]).toEqual([0]);
    expect(sink.values[PORT_MCAST]).toBe(fixture.packets.p1_mcast);
  });

  it('reads 64-bit big-endian counts exactly and ignores counters that are not ours', async () => {
    const { source, transport } = await applied({ bridge: 'br0', bridgeMac: null, ports: ['lan1'] });
    const sink = sinkFor(['lan1']);
    let result: Error | null | undefined;
    source.read(sink, (error) => (result = error));
    const seq = transport.lastSeq();
    const big = 2n ** 40n + 5n;
    const fields = ['bcast', 'mcast', 'arp', 'nd', 'mdns', 'ssdp', 'dhcp'];
    transport.deliver(Buffer.concat([
      counterMessage(seq, 'someone_elses', 77n),
      ...fields.map((f, i) => counterMessage(seq, `p0_${f}`, i === 0 ? big : BigInt(i))),
      doneMessage(seq),
    ]));
    expect(result).toBeNull();
    expect(rowOf(sink.values, 0)).toEqual([Number(big), 1, 2, 3, 4, 5, 6, NaN]); // no bridge MAC: no own-source counter
    expect([...sink.read]).toEqual([0]);
  });

  it('fails with ENOENT when the table is gone, leaving the rows NaN and unmarked', async () => {
    const { source, transport } = await applied();
    const sink = sinkFor(['lan1', 'lan2']);
    let result: unknown;
    source.read(sink, (error) => (result = error));
    transport.deliver(doneMessage(transport.lastSeq()));
    expect(result).toMatchObject({ code: 'ENOENT' });
    expect((result as Error).message).toMatch(/16 of 16 counters missing/);
    expect(sink.read.size).toBe(0);
    expect(rowOf(sink.values, 0).every(Number.isNaN)).toBe(true);
  });

  it('marks only ports whose counters all arrived', async () => {
    const { source, transport } = await applied();
    const sink = sinkFor(['lan1', 'lan2']);
    let result: unknown;
    source.read(sink, (error) => (result = error));
    const seq = transport.lastSeq();
    const messages = messagesOf(reply(seq));
    transport.deliver(Buffer.concat(messages.filter((m) => !m.includes(Buffer.from('p1_nd\0')))));
    expect(result).toMatchObject({ code: 'ENOENT' });
    expect([...sink.read]).toEqual([0]);
  });

  it('reports EPERM from a socket without CAP_NET_ADMIN', async () => {
    const { source, transport } = await applied();
    let result: unknown;
    source.read(sinkFor(['lan1']), (error) => (result = error));
    transport.deliver(errorMessage(transport.lastSeq(), 1));
    expect(result).toMatchObject({ code: 'EPERM' });
  });

  it('rejects a truncated reply cleanly', async () => {
    const { source, transport } = await applied();
    let result: unknown;
    source.read(sinkFor(['lan1']), (error) => (result = error));
    transport.deliver(reply(transport.lastSeq())[0]!.subarray(0, 150));
    expect(result).toMatchObject({ code: 'EMALFORMED' });
  });

  it('ignores replies to an earlier request and gives up on an unanswered one at the next read', async () => {
    const { source, transport } = await applied();
    const codes: string[] = [];
    source.read(sinkFor(['lan1']), (error) => codes.push((error as Error & { code?: string })?.code ?? 'ok'));
    const oldSeq = transport.lastSeq();
    source.read(sinkFor(['lan1']), (error) => codes.push((error as Error & { code?: string })?.code ?? 'ok'));
    for (const datagram of reply(oldSeq)) transport.deliver(datagram);
    expect(codes).toEqual(['ESUPERSEDED']);
    for (const datagram of reply(transport.lastSeq())) transport.deliver(datagram);
    expect(codes).toEqual(['ESUPERSEDED', 'ok']);
  });

  it('refuses to read before apply() and writes nothing while apply() runs', async () => {
    const factory = mockTransportFactory();
    const installer = new FakeInstaller();
    const source = new NftPortCounters(factory, { installer });
    let first: unknown;
    source.read(sinkFor(['lan1']), (error) => (first = error));
    expect(first).toMatchObject({ code: 'ENOPLAN' });

    let open!: () => void;
    installer.gate = new Promise((resolve) => (open = resolve));
    const applying = source.apply(fixture.plan);
    const sink = sinkFor(['lan1']);
    let during: Error | null | undefined;
    source.read(sink, (error) => (during = error));
    expect(during).toBeNull();
    expect(sink.read.size).toBe(0);
    expect(factory.created[0]!.sent).toHaveLength(0);
    open();
    await applying;
  });

  it('gives up on a read in flight when a new plan is applied', async () => {
    const { source, transport } = await applied();
    const codes: string[] = [];
    source.read(sinkFor(['lan1']), (error) => codes.push((error as Error & { code?: string })?.code ?? 'ok'));
    const seq = transport.lastSeq();
    const applying = source.apply({ bridge: 'br-lan', bridgeMac: null, ports: ['lan2'] });
    expect(codes).toEqual(['ESUPERSEDED']);
    for (const datagram of reply(seq)) transport.deliver(datagram);
    await applying;
    expect(codes).toEqual(['ESUPERSEDED']);
  });

  it('keeps the previous plan when an apply fails, and re-plans on the next one', async () => {
    const { source, installer, transport } = await applied();
    installer.failNext = new Error('installing table bridge lanwatch: nft failed');
    await expect(source.apply({ bridge: 'br-lan', bridgeMac: null, ports: ['lan9'] })).rejects.toThrow(/nft failed/);
    expect(source.ports).toEqual(['lan1', 'lan2']);
    let result: Error | null | undefined;
    const sink = sinkFor(['lan1', 'lan2']);
    source.read(sink, (error) => (result = error));
    for (const datagram of reply(transport.lastSeq())) transport.deliver(datagram);
    expect(result).toBeNull();

    await source.apply({ bridge: 'br-lan', bridgeMac: '02:99:00:00:00:01', ports: ['lan2', 'lan1'] });
    expect(source.ports).toEqual(['lan2', 'lan1']);
    const again = sinkFor(['lan1', 'lan2']);
    source.read(again, () => {});
    for (const datagram of reply(transport.lastSeq())) transport.deliver(datagram);
    // The same capture read under the new plan: p0_* now belongs to lan2.
    expect(again.values[1 * PORT_FIELDS + PORT_OWN_SOURCE]).toBe(fixture.packets.p0_own);
    expect(again.values[0 * PORT_FIELDS + PORT_OWN_SOURCE]).toBe(fixture.packets.p1_own);
  });

  it('rejects a plan it cannot express without touching the installed table', async () => {
    const { source, installer } = await applied();
    await expect(source.apply({ bridge: 'br-lan', bridgeMac: null, ports: ['bad"name'] })).rejects.toThrow(/cannot count port/);
    expect(installer.installed).toHaveLength(1);
  });

  it('close() removes the table once, closes the socket and ends reads', async () => {
    const { source, installer, transport } = await applied();
    let pending: unknown;
    source.read(sinkFor(['lan1']), (error) => (pending = error));
    await source.close();
    await source.close();
    expect(pending).toBeNull();
    expect(installer.removed).toEqual(['lanwatch']);
    expect(transport.closed).toBe(true);
    let after: unknown;
    source.read(sinkFor(['lan1']), (error) => (after = error));
    expect(after).toMatchObject({ code: 'ENOPLAN' });
    await expect(source.apply(fixture.plan)).rejects.toThrow(/after close/);
  });

  it('does not remove a table it never installed', async () => {
    const installer = new FakeInstaller();
    const source = new NftPortCounters(mockTransportFactory(), { installer });
    await source.close();
    expect(installer.removed).toEqual([]);
  });
});
