// The conntrack entry reader and the table dump, on a dump captured from a real 6.18 kernel
// (scripts/fixtures/capture-conntrack.sh: IPv4 + IPv6, TCP in every state, UDP, ICMP/ICMPv6,
// unreplied, masqueraded and not) checked against `conntrack -L` of the same table, and on
// hand-built messages for what a capture can't show (unknown attributes, malformed input,
// DUMP_INTR, errors, overflow).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  HOST_ENTRIES,
  HOST_ICMP,
  HOST_KIND_SNAT,
  HOST_KIND_UNREPLIED,
  HOST_OTHER_PROTO,
  HOST_TCP_CLOSING,
  HOST_TCP_ESTABLISHED,
  HOST_TCP_OTHER,
  HOST_UDP,
  type ConntrackHostTable,
} from '../../../hal/index.ts';
import { ConntrackDumper } from '../../../hal/linux/conntrackDump.ts';
import { allocConntrackDumpRequest, ConntrackEntryReader } from '../../../hal/linux/conntrackEntry.ts';
import { HostTable } from '../../../hal/linux/conntrackHostTable.ts';
import { KernelSourceError } from '../../../hal/linux/errors.ts';
import { mockTransportFactory, type MockNetlinkTransport } from '../../../hal/netlink/mockTransport.ts';
import { MessageCursor } from '../../../hal/netlink/reader.ts';
import { dumpEntry, done, groupByHost, nla, parseConntrackText, tableRows } from '../../helpers/conntrackMessages.ts';
import { capturedDatagrams, errorMessage, withSeq } from '../../helpers/netlinkFixtures.ts';

const oracleText = readFileSync(new URL('../../fixtures/netlink/ct-dump.txt', import.meta.url), 'utf8');

function setup(): { dumper: ConntrackDumper; socket: () => MockNetlinkTransport; factory: ReturnType<typeof mockTransportFactory> } {
  const factory = mockTransportFactory();
  const dumper = new ConntrackDumper(factory, { timeoutMs: 500 });
  return { dumper, socket: () => factory.created.at(-1)!, factory };
}

function runDump(dumper: ConntrackDumper, table: ConntrackHostTable): { result: () => Error | null | undefined } {
  let result: Error | null | undefined;
  dumper.dump(table, (error) => {
    result = error;
  });
  return { result: () => result };
}

describe('ConntrackEntryReader', () => {
  it('reads every entry of the captured dump: family, source, protocol, state, status, id', () => {
    const cursor = new MessageCursor();
    const reader = new ConntrackEntryReader();
    const seen: string[] = [];
    for (const datagram of capturedDatagrams('ct-dump')) {
      cursor.reset(datagram);
      while (cursor.next()) {
        if (cursor.type !== 0x100) continue;
        expect(reader.read(cursor)).toBe(true);
        const src = datagram.subarray(reader.srcOffset, reader.srcOffset + (reader.ipv6 ? 16 : 4));
        expect(reader.family).toBe(reader.ipv6 ? 10 : 2);
        expect(reader.hasStatus && reader.hasId).toBe(true);
        seen.push(`${reader.ipv6 ? src.toString('hex') : [...src].join('.')} ${reader.proto} ${reader.tcpState}`);
      }
    }
    expect(seen).toHaveLength(17);
    expect(seen).toContain('10.66.0.2 6 1'); // SYN_SENT to the dropped port
    expect(seen).toContain('fd660000000000000000000000000002 58 -1');
  });

  it('skips attributes it does not know, at any level', () => {
    const msg = dumpEntry(1, { src: '10.0.0.5', proto: 6, sport: 1000, dport: 80, tcpState: 3, status: 0x1e, extra: [nla(99, Buffer.alloc(7)), nla(0x3fff, Buffer.alloc(0))] });
    const cursor = new MessageCursor().reset(msg);
    cursor.next();
    const reader = new ConntrackEntryReader();
    expect(reader.read(cursor)).toBe(true);
    expect(reader.kind()).toBe(HOST_TCP_ESTABLISHED | HOST_KIND_SNAT);
    expect(reader.portsKey).toBe((1000 << 16) | 80);
  });

  it('classifies TCP states, offloaded flows, UDP, ICMP, other protocols, unreplied and SNAT', () => {
    const reader = new ConntrackEntryReader();
    const cursor = new MessageCursor();
    const kindOf = (spec: Parameters<typeof dumpEntry>[1]): number => {
      cursor.reset(dumpEntry(1, spec));
      cursor.next();
      expect(reader.read(cursor)).toBe(true);
      return reader.kind();
    };
    const expectations: [number, number][] = [
      [0, HOST_TCP_OTHER], [1, HOST_TCP_OTHER], [2, HOST_TCP_OTHER], [3, HOST_TCP_ESTABLISHED], [4, HOST_TCP_CLOSING],
      [5, HOST_TCP_CLOSING], [6, HOST_TCP_CLOSING], [7, HOST_TCP_CLOSING], [8, HOST_TCP_CLOSING], [9, HOST_TCP_OTHER],
    ];
    for (const [state, field] of expectations) expect(kindOf({ src: '10.0.0.1', proto: 6, sport: 1, dport: 2, tcpState: state }), `state ${state}`).toBe(field);
    // Offloaded: no PROTOINFO, IPS_OFFLOAD set.
    expect(kindOf({ src: '10.0.0.1', proto: 6, sport: 1, dport: 2, status: 0x400a })).toBe(HOST_TCP_ESTABLISHED);
    expect(kindOf({ src: '10.0.0.1', proto: 6, sport: 1, dport: 2 })).toBe(HOST_TCP_OTHER);
    expect(kindOf({ src: '10.0.0.1', proto: 17, sport: 1, dport: 2, status: 0x8 })).toBe(HOST_UDP | HOST_KIND_UNREPLIED);
    expect(kindOf({ src: 'fd00::1', proto: 58 })).toBe(HOST_ICMP);
    expect(kindOf({ src: '10.0.0.1', proto: 1, status: 0x1a })).toBe(HOST_ICMP | HOST_KIND_SNAT);
    expect(kindOf({ src: '10.0.0.1', proto: 47 })).toBe(HOST_OTHER_PROTO);
    expect(kindOf({ src: '10.0.0.1', proto: 136, sport: 1, dport: 2 })).toBe(HOST_OTHER_PROTO);
  });

  it('rejects malformed entries with the reason, without throwing', () => {
    const reader = new ConntrackEntryReader();
    const cursor = new MessageCursor();
    const good = dumpEntry(1, { src: '10.0.0.1', proto: 17, sport: 1, dport: 2 });
    // An attribute whose length runs past the message.
    const bad = Buffer.from(good);
    bad.writeUInt16LE(0x7ff0, 20);
    cursor.reset(bad);
    cursor.next();
    expect(reader.read(cursor)).toBe(false);
    expect(reader.problem).toMatch(/runs past/);
    // No nfgenmsg at all.
    const short = Buffer.alloc(16);
    short.writeUInt32LE(16, 0);
    short.writeUInt16LE(0x100, 4);
    cursor.reset(short);
    cursor.next();
    expect(reader.read(cursor)).toBe(false);
    expect(reader.problem).toMatch(/nfgenmsg/);
    // No source address.
    const noSrc = dumpEntry(1, { src: '10.0.0.1', proto: 17 });
    noSrc.writeUInt16LE(1 | 0x8000 | 0x100, 22); // CTA_TUPLE_ORIG renamed to an unknown type
    cursor.reset(noSrc);
    cursor.next();
    expect(reader.read(cursor)).toBe(false);
    expect(reader.problem).toBe('no original source address');
  });
});

describe('ConntrackDumper', () => {
  it('sends IPCTNL_MSG_CT_GET with NLM_F_DUMP for both families on a socket with no groups', () => {
    const { dumper, socket } = setup();
    runDump(dumper, new HostTable(16));
    const request = socket().sent[0]!;
    expect(request.length).toBe(20);
    expect(request.readUInt16LE(4)).toBe(0x0101);
    expect(request.readUInt16LE(6)).toBe(0x0301);
    expect(request[16]).toBe(0);
    expect(socket().options.groups ?? []).toEqual([]);
    expect(socket().protocol).toBe(12);
    expect(allocConntrackDumpRequest(10)[16]).toBe(10);
  });

  it('aggregates the captured dump exactly as `conntrack -L` groups it by original source', () => {
    const { dumper, socket } = setup();
    const table = new HostTable(16);
    const run = runDump(dumper, table);
    const seq = socket().lastSeq();
    for (const d of capturedDatagrams('ct-dump')) socket().deliver(withSeq(d, seq));
    expect(run.result()).toBeNull();
    const oracle = groupByHost(parseConntrackText(oracleText));
    expect(oracle.size).toBe(4);
    expect(tableRows(table)).toEqual(oracle);
    expect(table.totals[HOST_ENTRIES]).toBe(17);
    expect(table.dumps).toBe(1);
    expect(dumper.last.entries).toBe(17);
    expect(dumper.last.datagrams).toBe(2);
    expect(dumper.last.interrupted).toBe(false);
    // Spot checks against the capture script: host .2 has ESTABLISHED, TIME_WAIT and SYN_SENT.
    expect(oracle.get('10.66.0.2')).toMatchObject({ tcpEstablished: 1, tcpClosing: 1, tcpOther: 1, udp: 2, icmp: 1, unreplied: 2, snat: 6 });
    expect(oracle.get('10.66.0.9')).toMatchObject({ tcpClosing: 4, tcpOther: 1, otherProto: 1, snat: 0 });
  });

  it('lands the dump only at DONE: a reader sees the previous result until then', () => {
    const { dumper, socket } = setup();
    const table = new HostTable(16);
    runDump(dumper, table);
    socket().deliver(Buffer.concat([dumpEntry(socket().lastSeq(), { src: '10.0.0.1', proto: 17, sport: 1, dport: 2 }), done(socket().lastSeq())]));
    expect(table.totals[HOST_ENTRIES]).toBe(1);
    const run = runDump(dumper, table);
    const seq = socket().lastSeq();
    socket().deliver(dumpEntry(seq, { src: '10.0.0.2', proto: 17, sport: 1, dport: 2 }));
    socket().deliver(dumpEntry(seq, { src: '10.0.0.2', proto: 17, sport: 1, dport: 3 }));
    expect(run.result()).toBeUndefined();
    expect([...tableRows(table).keys()]).toEqual(['10.0.0.1']);
    socket().deliver(done(seq));
    expect(run.result()).toBeNull();
    expect([...tableRows(table).keys()]).toEqual(['10.0.0.2']);
    expect(table.dumps).toBe(2);
  });

  it('flags NLM_F_DUMP_INTR and still lands the dump', () => {
    const { dumper, socket } = setup();
    const table = new HostTable(16);
    const run = runDump(dumper, table);
    const seq = socket().lastSeq();
    socket().deliver(dumpEntry(seq, { src: '10.0.0.1', proto: 17, sport: 1, dport: 2 }, 0x12));
    socket().deliver(done(seq, 0x12));
    expect(run.result()).toBeNull();
    expect(dumper.last.interrupted).toBe(true);
    expect(dumper.counts.interrupted).toBe(1);
    expect(table.totals[HOST_ENTRIES]).toBe(1);
  });

  it('reports NLMSG_ERROR (EBUSY, EPERM) and a DONE carrying an error; the table keeps its contents', () => {
    const { dumper, socket, factory } = setup();
    const table = new HostTable(16);
    runDump(dumper, table);
    socket().deliver(Buffer.concat([dumpEntry(socket().lastSeq(), { src: '10.0.0.1', proto: 17, sport: 1, dport: 2 }), done(socket().lastSeq())]));
    for (const errno of [16, 1]) {
      const before = factory.created.length;
      const run = runDump(dumper, table);
      socket().deliver(errorMessage(socket().lastSeq(), errno));
      expect((run.result() as KernelSourceError).code).toBe(errno === 16 ? 'EBUSY' : 'EPERM');
      // A failed dump gets a fresh socket: the old one may still be mid-dump in the kernel.
      expect(factory.created.length).toBe(before + 1);
      expect(factory.created[before - 1]!.closed).toBe(true);
    }
    const run = runDump(dumper, table);
    const failedDone = done(socket().lastSeq());
    failedDone.writeInt32LE(-105, 16);
    socket().deliver(Buffer.concat([dumpEntry(socket().lastSeq(), { src: '10.0.0.9', proto: 17, sport: 1, dport: 2 }), failedDone]));
    expect((run.result() as KernelSourceError).code).toBe('ENOBUFS');
    expect([...tableRows(table).keys()]).toEqual(['10.0.0.1']);
    expect(dumper.counts).toEqual({ dumps: 1, failures: 3, interrupted: 0 });
  });

  it('fails on a malformed datagram, a socket error or no DONE in time', async () => {
    const { dumper, socket } = setup();
    const table = new HostTable(16);
    let run = runDump(dumper, table);
    const broken = dumpEntry(socket().lastSeq(), { src: '10.0.0.1', proto: 17 });
    broken.writeUInt32LE(broken.length + 64, 0);
    socket().deliver(broken);
    expect((run.result() as KernelSourceError).code).toBe('EMALFORMED');
    run = runDump(dumper, table);
    socket().fail('ENOBUFS');
    expect((run.result() as KernelSourceError).code).toBe('ENOBUFS');
    run = runDump(dumper, table);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((run.result() as KernelSourceError).code).toBe('ETIMEDOUT');
    expect(table.dumps).toBe(0);
  });

  it('ignores replies to other requests and entries it cannot use, counting the latter', () => {
    const { dumper, socket } = setup();
    const table = new HostTable(16);
    const run = runDump(dumper, table);
    const seq = socket().lastSeq();
    const noSource = dumpEntry(seq, { src: '10.0.0.1', proto: 17 });
    noSource.writeUInt16LE(1 | 0x8000 | 0x100, 22);
    socket().deliver(Buffer.concat([dumpEntry(seq + 7, { src: '10.0.0.7', proto: 17 }), noSource, dumpEntry(seq, { src: '10.0.0.2', proto: 17 }), done(seq)]));
    expect(run.result()).toBeNull();
    expect([...tableRows(table).keys()]).toEqual(['10.0.0.2']);
    expect(dumper.last.skipped).toBe(1);
  });

  it('runs one dump at a time and counts hosts beyond the table as overflow', () => {
    const { dumper, socket } = setup();
    const table = new HostTable(2);
    const first = runDump(dumper, table);
    const second = runDump(dumper, table);
    expect((second.result() as KernelSourceError).code).toBe('EBUSY');
    const seq = socket().lastSeq();
    const entries = [1, 2, 3, 3, 4].map((h, i) => dumpEntry(seq, { src: `10.0.0.${h}`, proto: 17, sport: i, dport: 53 }));
    socket().deliver(Buffer.concat([...entries, done(seq)]));
    expect(first.result()).toBeNull();
    expect(table.size).toBe(2);
    expect(table.overflow).toBe(3);
    expect(table.totals[HOST_ENTRIES]).toBe(2);
  });

  it('close() fails a dump in flight and later dumps', () => {
    const { dumper } = setup();
    const table = new HostTable(4);
    const run = runDump(dumper, table);
    dumper.close();
    expect((run.result() as KernelSourceError).code).toBe('ECLOSED');
    expect((runDump(dumper, table).result() as KernelSourceError).code).toBe('ECLOSED');
  });
});
