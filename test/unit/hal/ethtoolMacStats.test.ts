import { describe, expect, it } from 'vitest';
import { PORT_ARP, PORT_BCAST, PORT_FIELDS, PORT_MCAST, type PortCounterPlan } from '../../../hal/index.ts';
import { EthtoolMacStats, openEthtoolMacStats } from '../../../hal/linux/ethtoolMacStats.ts';
import { allocEthMacDumpRequest, allocEthMacPortRequest, EthMacReplyReader } from '../../../hal/linux/ethtoolStatsMessage.ts';
import type { GenlFamily } from '../../../hal/linux/genetlinkFamily.ts';
import { mockTransportFactory, type MockNetlinkTransport } from '../../../hal/netlink/mockTransport.ts';
import { MessageCursor } from '../../../hal/netlink/reader.ts';
import { familyReply, requestedPort, statsReply, type StatsReplySpec } from '../../helpers/genlMessages.ts';
import { attr, capturedDatagrams, doneMessage, errorMessage, message, withSeq } from '../../helpers/netlinkFixtures.ts';

const FAMILY_ID = 21;
const FAMILY: GenlFamily = { name: 'ethtool', id: FAMILY_ID, version: 1, commands: new Map([[32, 0xe]]) };
const TWO_POW_40 = 2n ** 40n;

/** How the kernel answers one port request in a test. */
type Answer = 'counters' | 'empty' | 'broadcast-only' | 'no-group' | number;

function answerSpec(port: string, answer: Exclude<Answer, number>): StatsReplySpec {
  switch (answer) {
    case 'counters': return { name: port, flags: 0, multicast: 10n, broadcast: 20n };
    case 'empty': return { name: port, flags: 0 };
    case 'broadcast-only': return { name: port, flags: 0, broadcast: 20n };
    case 'no-group': return { name: port, flags: 0, noGroup: true };
  }
}

/** Answers every port request sent on the probe's socket (default: counters). */
function answerProbe(transport: MockNetlinkTransport, answers: Record<string, Answer>): void {
  for (const request of transport.sent) {
    const seq = request.readUInt32LE(8);
    const port = requestedPort(request);
    const answer = answers[port] ?? 'counters';
    transport.deliver(typeof answer === 'number' ? errorMessage(seq, answer) : statsReply(FAMILY_ID, seq, answerSpec(port, answer)));
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('condition never held');
}

const plan = (ports: string[]): PortCounterPlan => ({ bridge: 'br0', bridgeMac: null, ports });

async function applied(ports: string[], answers: Record<string, Answer> = {}) {
  const factory = mockTransportFactory();
  const source = new EthtoolMacStats(factory, { family: FAMILY });
  const applying = source.apply(plan(ports));
  await until(() => factory.created.length === 2 && factory.created[1]!.sent.length === ports.length);
  answerProbe(factory.created[1]!, answers);
  await applying;
  return { source, transport: factory.created[0]!, probeSocket: factory.created[1]!, factory };
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

/** Starts a read and returns what its done() reported (undefined while pending). */
function startRead(source: EthtoolMacStats, sink: ReturnType<typeof sinkFor>) {
  const result: { calls: number; error: (Error & { code?: string }) | null | undefined } = { calls: 0, error: undefined };
  source.read(sink, (error) => {
    result.calls++;
    result.error = error;
  });
  return result;
}

describe('ETHTOOL_MSG_STATS_GET requests', () => {
  it('dumps the eth-mac group of every netdev with a compact group bitset', () => {
    const request = allocEthMacDumpRequest(FAMILY_ID);
    expect(request.readUInt32LE(0)).toBe(request.length);
    expect(request.readUInt16LE(4)).toBe(FAMILY_ID);
    expect(request.readUInt16LE(6)).toBe(0x301); // REQUEST | DUMP
    expect([...request.subarray(16, 20)]).toEqual([32, 1, 0, 0]); // STATS_GET, ETHTOOL_GENL_VERSION
    // ETHTOOL_A_STATS_GROUPS (3) | NLA_F_NESTED: NOMASK (flag), SIZE u32 32, VALUE u32 1 << ETH_MAC.
    expect(request.readUInt16LE(20)).toBe(24);
    expect(request.readUInt16LE(22)).toBe(0x8003);
    expect([request.readUInt16LE(24), request.readUInt16LE(26)]).toEqual([4, 1]);
    expect([request.readUInt16LE(28), request.readUInt16LE(30), request.readUInt32LE(32)]).toEqual([8, 2, 32]);
    expect([request.readUInt16LE(36), request.readUInt16LE(38), request.readUInt32LE(40)]).toEqual([8, 4, 0b10]);
    expect(request.length).toBe(44);
  });

  it('asks for one port by name in the stats header', () => {
    const request = allocEthMacPortRequest(FAMILY_ID, 'lan1');
    expect(request.readUInt16LE(6)).toBe(0x1); // REQUEST: a do, not a dump
    expect(request.readUInt16LE(22)).toBe(0x8002); // ETHTOOL_A_STATS_HEADER, nested
    expect(request.readUInt16LE(26)).toBe(2); // ETHTOOL_A_HEADER_DEV_NAME
    expect(request.toString('latin1', 28, 33)).toBe('lan1\0');
    expect(requestedPort(request)).toBe('lan1');
    expect(request.readUInt16LE(38)).toBe(0x8003); // then the same group bitset
  });
});

describe('EthMacReplyReader', () => {
  const readOne = (datagram: Buffer) => {
    const cursor = new MessageCursor().reset(datagram);
    cursor.next();
    const reader = new EthMacReplyReader();
    const ok = reader.read(cursor);
    return { ok, reader, name: datagram.toString('latin1', reader.nameOffset, reader.nameOffset + reader.nameLength) };
  };

  it('reads the name, ifindex and both receive counters, beyond 2^32', () => {
    const { ok, reader, name } = readOne(statsReply(FAMILY_ID, 1, { name: 'lan1', ifindex: 9, multicast: TWO_POW_40 + 5n, broadcast: 2n ** 32n + 1n }));
    expect(ok).toBe(true);
    expect(name).toBe('lan1');
    expect(reader.ifindex).toBe(9);
    expect(reader.hasEthMacGroup).toBe(true);
    expect(reader.rxMulticast).toBe(Number(TWO_POW_40 + 5n));
    expect(reader.rxBroadcast).toBe(2 ** 32 + 1);
    expect(reader.hasCounters).toBe(true);
  });

  it('parses the 6.18 dump: every netdev answers, veth/bridge/lo with an empty eth-mac group', () => {
    const cursor = new MessageCursor();
    const reader = new EthMacReplyReader();
    const seen: string[] = [];
    for (const datagram of capturedDatagrams('ethtool-stats-dump')) {
      cursor.reset(datagram);
      while (cursor.next()) {
        if (cursor.type !== FAMILY_ID) continue;
        expect(reader.read(cursor)).toBe(true);
        expect(reader.hasEthMacGroup).toBe(true);
        expect(reader.hasCounters).toBe(false);
        expect(reader.ifindex).toBeGreaterThan(0);
        seen.push(datagram.toString('latin1', reader.nameOffset, reader.nameOffset + reader.nameLength));
      }
      expect(cursor.problem).toBeNull();
    }
    expect(seen.sort()).toEqual(['br-lan', 'lan1', 'lan1p', 'lan2', 'lan2p', 'lo']);
  });

  it('reads u64 words with the high bit set, up to 2^53 - 1, exactly', () => {
    for (const value of [0n, 0x8000_0000n, 0xffff_ffffn, 0x1_8000_0001n, 0xdead_beef_cafen, 2n ** 53n - 1n]) {
      const { reader } = readOne(statsReply(FAMILY_ID, 1, { name: 'lan1', multicast: value, broadcast: value + 1n }));
      expect(reader.rxMulticast).toBe(Number(value));
      expect(reader.rxBroadcast).toBe(Number(value + 1n));
    }
  });

  it('keeps counters of other groups apart (an rmon id may equal 17 or 18)', () => {
    const datagram = statsReply(FAMILY_ID, 1, { name: 'lan1', noGroup: true });
    const rmon = attr(4 | 0x8000, Buffer.concat([attr(2, Buffer.from([3, 0, 0, 0])), attr(4 | 0x8000, attr(17, Buffer.alloc(8, 1)))]));
    const { ok, reader } = readOne(message(FAMILY_ID, 2, 1, Buffer.concat([datagram.subarray(16), rmon])));
    expect(ok).toBe(true);
    expect(reader.hasEthMacGroup).toBe(false);
    expect(reader.rxMulticast).toBeNaN();
  });

  it('rejects a counter shorter than a u64', () => {
    const reply = statsReply(FAMILY_ID, 1, { name: 'lan1', multicast: 1n, broadcast: 2n });
    // The last 16 bytes are the broadcast nest: nest header, attr header (len 12), u64.
    const at = reply.length - 12;
    expect(reply.readUInt16LE(at)).toBe(12);
    reply.writeUInt16LE(8, at); // now a 4-byte payload, padding after it
    const { ok, reader } = readOne(reply);
    expect(ok).toBe(false);
    expect(reader.problem).toContain('expected a u64');
  });

  it('rejects an attribute running past its nest', () => {
    const reply = statsReply(FAMILY_ID, 1, { name: 'lan1', multicast: 1n, broadcast: 2n });
    reply.writeUInt16LE(64, 24); // ETHTOOL_A_HEADER_DEV_INDEX inside the 20-byte header nest
    const { ok, reader } = readOne(reply);
    expect(ok).toBe(false);
    expect(reader.problem).toContain('stats header');
  });

  it('ignores other commands', () => {
    const { ok, reader } = readOne(message(FAMILY_ID, 2, 1, Buffer.from([1, 1, 0, 0])));
    expect(ok).toBe(false);
    expect(reader.problem).toBeNull();
  });
});

describe('EthtoolMacStats.apply', () => {
  it('counts the ports whose driver reports both counters, and says why not for the others', async () => {
    const { source, probeSocket } = await applied(['lan1', 'lan2', 'lan3', 'lan4', 'gone0'], {
      lan2: 'empty',
      lan3: 'broadcast-only',
      lan4: 'no-group',
      gone0: 19,
    });
    expect(probeSocket.protocol).toBe(16);
    expect(probeSocket.sent.map(requestedPort)).toEqual(['lan1', 'lan2', 'lan3', 'lan4', 'gone0']);
    expect(probeSocket.closed).toBe(true);
    expect(source.ports).toEqual(['lan1']);
    expect(source.sourceOf('lan1')).toBe('ethtool eth-mac');
    expect(source.sourceOf('lan2')).toBeNull();
    expect(source.sourceOf('other')).toBeNull();
    expect(Object.fromEntries(source.unsupported)).toEqual({
      lan2: 'the driver has no IEEE 802.3 MAC counters (empty eth-mac group: no get_eth_mac_stats)',
      lan3: 'the driver reports BroadcastFramesReceivedOK but not MulticastFramesReceivedOK',
      lan4: 'the reply has no eth-mac group (kernel without ethtool standard stats?)',
      gone0: 'no such interface in this network namespace (kernel answered ENODEV)',
    });
    expect(source.status.backend).toBe('ethtool');
    expect(source.status.detail).toMatch(/^eth-mac on lan1; not on lan2: the driver has no IEEE 802.3 MAC counters/);
  });

  it('reports other kernel errors by name and gives up on ports nobody answers', async () => {
    const factory = mockTransportFactory();
    const source = new EthtoolMacStats(factory, { family: FAMILY, timeoutMs: 30 });
    const applying = source.apply(plan(['lan1', 'lan2']));
    await until(() => factory.created.length === 2 && factory.created[1]!.sent.length === 2);
    factory.created[1]!.deliver(errorMessage(factory.created[1]!.sent[0]!.readUInt32LE(8), 95));
    await applying;
    expect(Object.fromEntries(source.unsupported)).toEqual({
      lan1: 'kernel answered EOPNOTSUPP',
      lan2: 'no answer within 30 ms',
    });
  });

  it('probe() lists the supported ports', async () => {
    const factory = mockTransportFactory();
    const source = new EthtoolMacStats(factory, { family: FAMILY });
    const probing = source.probe(['lan1', 'wlan0']);
    await until(() => factory.created.length === 2 && factory.created[1]!.sent.length === 2);
    answerProbe(factory.created[1]!, { wlan0: 'empty' });
    expect(await probing).toEqual(['lan1']);
    expect(source.sourceOf('lan1')).toBeNull(); // probing applies nothing
  });

  it('resolves the family itself when not given one, once', async () => {
    const factory = mockTransportFactory();
    const source = new EthtoolMacStats(factory);
    const applying = source.apply(plan(['lan1']));
    await until(() => factory.created.length === 2);
    const control = factory.created[1]!;
    control.deliver(familyReply(control.lastSeq(), { id: FAMILY_ID, name: 'ethtool', ops: [[32, 0xe]] }));
    await until(() => factory.created.length === 3 && factory.created[2]!.sent.length === 1);
    answerProbe(factory.created[2]!, {});
    await applying;
    expect(source.ports).toEqual(['lan1']);
    const again = source.apply(plan(['lan1']));
    await until(() => factory.created.length === 4 && factory.created[3]!.sent.length === 1);
    answerProbe(factory.created[3]!, {});
    await again;
    expect(factory.created.map((t) => t.protocol)).toEqual([16, 16, 16, 16]); // no second GETFAMILY socket
  });

  it('rejects when the kernel has no ethtool family, and may try again later', async () => {
    const factory = mockTransportFactory();
    const source = new EthtoolMacStats(factory);
    const applying = source.apply(plan(['lan1']));
    await until(() => factory.created.length === 2);
    factory.created[1]!.deliver(errorMessage(factory.created[1]!.lastSeq(), 2));
    await expect(applying).rejects.toMatchObject({ code: 'ENOENT' });
    expect(source.sourceOf('lan1')).toBeNull();
    const retry = source.apply(plan(['lan1']));
    await until(() => factory.created.length === 3);
    expect(factory.created[2]!.sent[0]!.readUInt16LE(4)).toBe(16); // GETFAMILY again
    factory.created[2]!.fail('ENOBUFS');
    await expect(retry).rejects.toMatchObject({ code: 'ENOBUFS' });
  });

  it('counts nothing on a kernel whose ethtool family has no STATS_GET', async () => {
    const factory = mockTransportFactory();
    const source = new EthtoolMacStats(factory, { family: { ...FAMILY, commands: new Map([[1, 0x6]]) } });
    await source.apply(plan(['lan1']));
    expect(factory.created).toHaveLength(1); // nothing asked
    expect(source.unsupported.get('lan1')).toBe('kernel has no ETHTOOL_MSG_STATS_GET (Linux 5.13 or later needed)');
  });
});

describe('EthtoolMacStats.read', () => {
  it('sends one dump per read and fills broadcast/multicast of counted ports, the rest NaN', async () => {
    const { source, transport } = await applied(['lan1', 'lan2', 'wlan0'], { wlan0: 'empty' });
    expect(transport.protocol).toBe(16);
    const sink = sinkFor(['lan2', 'lan1', 'wlan0']);
    sink.values.fill(7);
    const result = startRead(source, sink);
    expect(transport.sent).toHaveLength(1);
    expect(transport.sent[0]!.readUInt16LE(6)).toBe(0x301);
    const seq = transport.lastSeq();
    transport.deliver(Buffer.concat([
      statsReply(FAMILY_ID, seq, { name: 'lo' }),
      statsReply(FAMILY_ID, seq, { name: 'lan1', multicast: TWO_POW_40 + 3n, broadcast: 2n ** 32n + 9n }),
    ]));
    transport.deliver(Buffer.concat([
      statsReply(FAMILY_ID, seq, { name: 'wlan0', multicast: 5n, broadcast: 6n }), // not counted here: ignored
      statsReply(FAMILY_ID, seq, { name: 'lan2', multicast: 0n, broadcast: 4n }),
      statsReply(FAMILY_ID, seq, { name: 'br0' }),
      doneMessage(seq),
    ]));
    expect(result).toEqual({ calls: 1, error: null });
    expect([...sink.read].sort()).toEqual([0, 1]);
    const lan1 = rowOf(sink.values, 1);
    expect(lan1[PORT_BCAST]).toBe(2 ** 32 + 9);
    expect(lan1[PORT_MCAST]).toBe(Number(TWO_POW_40 + 3n));
    expect(lan1[PORT_ARP]).toBeNaN();
    expect(rowOf(sink.values, 0).slice(0, 2)).toEqual([4, 0]);
    expect(rowOf(sink.values, 2)).toEqual(new Array(PORT_FIELDS).fill(7)); // not counted here: untouched

    startRead(source, sink);
    expect(transport.sent).toHaveLength(2);
    expect(transport.lastSeq()).not.toBe(seq);
  });

  it('leaves a port unmarked, without an error, when the dump lacks it or its counters', async () => {
    const { source, transport } = await applied(['lan1', 'lan2']);
    const sink = sinkFor(['lan1', 'lan2']);
    const result = startRead(source, sink);
    const seq = transport.lastSeq();
    transport.deliver(Buffer.concat([statsReply(FAMILY_ID, seq, { name: 'lan2', broadcast: 1n }), doneMessage(seq)]));
    expect(result).toEqual({ calls: 1, error: null });
    expect([...sink.read]).toEqual([]);
    expect(rowOf(sink.values, 0)).toEqual(new Array(PORT_FIELDS).fill(NaN));
  });

  it('writes nowhere for ports the sink does not track', async () => {
    const { source, transport } = await applied(['lan1', 'lan2']);
    const sink = sinkFor(['lan2']);
    const result = startRead(source, sink);
    const seq = transport.lastSeq();
    transport.deliver(Buffer.concat([
      statsReply(FAMILY_ID, seq, { name: 'lan1', multicast: 1n, broadcast: 1n }),
      statsReply(FAMILY_ID, seq, { name: 'lan2', multicast: 2n, broadcast: 3n }),
      doneMessage(seq),
    ]));
    expect(result.error).toBeNull();
    expect([...sink.read]).toEqual([0]);
    expect(rowOf(sink.values, 0).slice(0, 2)).toEqual([3, 2]);
  });

  it('fails a read with a malformed reply as EMALFORMED, marking nothing', async () => {
    const { source, transport } = await applied(['lan1', 'lan2']);
    const sink = sinkFor(['lan1', 'lan2']);
    const result = startRead(source, sink);
    const seq = transport.lastSeq();
    const bad = statsReply(FAMILY_ID, seq, { name: 'lan2', multicast: 1n, broadcast: 2n });
    bad.writeUInt16LE(8, bad.length - 12); // broadcast counter cut to 4 bytes
    transport.deliver(Buffer.concat([statsReply(FAMILY_ID, seq, { name: 'lan1', multicast: 1n, broadcast: 2n }), bad, doneMessage(seq)]));
    expect(result.error?.code).toBe('EMALFORMED');
    expect(result.error?.message).toContain('expected a u64');
    expect([...sink.read]).toEqual([]);
  });

  it('fails on a message length running past the datagram', async () => {
    const { source, transport } = await applied(['lan1']);
    const result = startRead(source, sinkFor(['lan1']));
    const reply = statsReply(FAMILY_ID, transport.lastSeq(), { name: 'lan1', multicast: 1n, broadcast: 2n });
    reply.writeUInt32LE(reply.length + 40, 0);
    transport.deliver(reply);
    expect(result.error?.code).toBe('EMALFORMED');
  });

  it('reports a failed dump by errno, from NLMSG_ERROR or from NLMSG_DONE', async () => {
    const { source, transport } = await applied(['lan1']);
    const first = startRead(source, sinkFor(['lan1']));
    transport.deliver(errorMessage(transport.lastSeq(), 1));
    expect(first.error?.code).toBe('EPERM');
    const second = startRead(source, sinkFor(['lan1']));
    const done = doneMessage(transport.lastSeq());
    done.writeInt32LE(-90, 16); // EMSGSIZE as the dump's final status
    transport.deliver(done);
    expect(second.error?.code).toBe('EMSGSIZE');
  });

  it('supersedes a pending read and ignores the late answer to it', async () => {
    const { source, transport } = await applied(['lan1']);
    const sink = sinkFor(['lan1']);
    const first = startRead(source, sink);
    const oldSeq = transport.lastSeq();
    const second = startRead(source, sink);
    expect(first.calls).toBe(1);
    expect(first.error?.code).toBe('ESUPERSEDED');
    expect(second.calls).toBe(0);
    transport.deliver(Buffer.concat([statsReply(FAMILY_ID, oldSeq, { name: 'lan1', multicast: 1n, broadcast: 1n }), doneMessage(oldSeq)]));
    expect(second.calls).toBe(0);
    const seq = transport.lastSeq();
    transport.deliver(Buffer.concat([statsReply(FAMILY_ID, seq, { name: 'lan1', multicast: 8n, broadcast: 9n }), doneMessage(seq)]));
    expect(second).toEqual({ calls: 1, error: null });
    expect(first.calls).toBe(1);
    expect(rowOf(sink.values, 0).slice(0, 2)).toEqual([9, 8]);
  });

  it('passes a socket error to the pending read', async () => {
    const { source, transport } = await applied(['lan1']);
    const result = startRead(source, sinkFor(['lan1']));
    transport.fail('ENOBUFS');
    expect(result.error?.code).toBe('ENOBUFS');
  });

  it('completes at once, without a request, when no port is counted here', async () => {
    const { source, transport } = await applied(['veth0'], { veth0: 'empty' });
    const sink = sinkFor(['veth0']);
    const result = startRead(source, sink);
    expect(result).toEqual({ calls: 1, error: null });
    expect(transport.sent).toHaveLength(0);
    expect(sink.read.size).toBe(0);
  });

  it('refuses reads before apply() and after close(); reads during apply() mark nothing', async () => {
    const factory = mockTransportFactory();
    const source = new EthtoolMacStats(factory, { family: FAMILY });
    expect(startRead(source, sinkFor(['lan1'])).error?.code).toBe('ENOPLAN');
    const applying = source.apply(plan(['lan1']));
    const during = startRead(source, sinkFor(['lan1']));
    expect(during).toEqual({ calls: 1, error: null });
    await until(() => factory.created.length === 2 && factory.created[1]!.sent.length === 1);
    answerProbe(factory.created[1]!, {});
    await applying;
    const pending = startRead(source, sinkFor(['lan1']));
    await source.close();
    expect(pending).toEqual({ calls: 1, error: null });
    expect(factory.created[0]!.closed).toBe(true);
    expect(startRead(source, sinkFor(['lan1'])).error?.code).toBe('ENOPLAN');
    await expect(source.apply(plan(['lan1']))).rejects.toThrow('after close()');
  });

  it('gives up a read in flight when the plan changes', async () => {
    const { source, factory } = await applied(['lan1']);
    const pending = startRead(source, sinkFor(['lan1']));
    const applying = source.apply(plan(['lan2']));
    expect(pending.error?.code).toBe('ESUPERSEDED');
    await until(() => factory.created.length === 3 && factory.created[2]!.sent.length === 1);
    answerProbe(factory.created[2]!, {});
    await applying;
    expect(source.ports).toEqual(['lan2']);
  });
});

describe('openEthtoolMacStats', () => {
  it('resolves the family at start and returns the source', async () => {
    const factory = mockTransportFactory();
    const opening = openEthtoolMacStats({ transport: factory });
    await until(() => factory.created.length === 1);
    factory.created[0]!.deliver(familyReply(factory.created[0]!.lastSeq(), { id: FAMILY_ID, name: 'ethtool', ops: [[32, 0xe]] }));
    const { source, status } = await opening;
    expect(source).toBeInstanceOf(EthtoolMacStats);
    expect(status).toEqual({ backend: 'ethtool', detail: 'ethtool netlink STATS_GET eth-mac (hardware MIB), one dump per tick' });
    await source!.close();
  });

  it('says why there is no source when the kernel lacks the family or the dump', async () => {
    const missing = mockTransportFactory();
    const opening = openEthtoolMacStats({ transport: missing });
    await until(() => missing.created.length === 1);
    missing.created[0]!.deliver(errorMessage(missing.created[0]!.lastSeq(), 2));
    expect(await opening).toEqual({
      source: null,
      status: { backend: 'none', detail: 'ethtool eth-mac off: generic netlink family "ethtool" is not registered (kernel answered ENOENT)' },
    });
    const old = await openEthtoolMacStats({ transport: mockTransportFactory(), family: { ...FAMILY, commands: new Map() } });
    expect(old.source).toBeNull();
    expect(old.status.detail).toContain('no ETHTOOL_MSG_STATS_GET dump');
  });
});

// The captured dump is also a valid read reply: with veth ports "counted" (forced by the probe
// answers) nothing is marked, because the real kernel sent empty groups.
describe('EthtoolMacStats on the captured 6.18 dump', () => {
  it('marks nothing for veth ports, without an error', async () => {
    const { source, transport } = await applied(['lan1', 'lan2']);
    const sink = sinkFor(['lan1', 'lan2']);
    const result = startRead(source, sink);
    for (const datagram of capturedDatagrams('ethtool-stats-dump')) transport.deliver(withSeq(datagram, transport.lastSeq()));
    expect(result).toEqual({ calls: 1, error: null });
    expect(sink.read.size).toBe(0);
  });
});
