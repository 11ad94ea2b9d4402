// LinuxConntrackHosts: a dump to start, NEW/UPDATE/DESTROY events between dumps, and resyncs
// (lost events, DUMP_INTR, the interval), on events captured from a real 6.18 kernel
// (scripts/fixtures/capture-conntrack.sh) and hand-built ones. Also the scripted fake.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  HOST_ENTRIES,
  HOST_FIELDS,
  HOST_TCP_CLOSING,
  HOST_TCP_ESTABLISHED,
  HOST_TCP_OTHER,
  HOST_UNREPLIED,
  type ConntrackHostTable,
} from '../../../hal/index.ts';
import { createDemoConntrackHosts, DEMO_CONNTRACK_HOSTS, FakeConntrackHosts } from '../../../hal/fake/fakeConntrackHosts.ts';
import { ConntrackEntryReader } from '../../../hal/linux/conntrackEntry.ts';
import { EntryIndex } from '../../../hal/linux/conntrackEntryIndex.ts';
import { HostTable } from '../../../hal/linux/conntrackHostTable.ts';
import { LinuxConntrackHosts, type LinuxConntrackHostsOptions } from '../../../hal/linux/conntrackHosts.ts';
import { KernelSourceError } from '../../../hal/linux/errors.ts';
import { mockTransportFactory, type MockNetlinkTransport } from '../../../hal/netlink/mockTransport.ts';
import { MessageCursor } from '../../../hal/netlink/reader.ts';
import {
  destroyEvent,
  done,
  dumpEntry,
  emptyOracleRow,
  groupByHost,
  newEvent,
  parseConntrackText,
  tableRows,
  updateEvent,
  type CtSpec,
} from '../../helpers/conntrackMessages.ts';
import { capturedDatagrams, withSeq } from '../../helpers/netlinkFixtures.ts';

const oracle = groupByHost(parseConntrackText(readFileSync(new URL('../../fixtures/netlink/ct-dump.txt', import.meta.url), 'utf8')));
const events = capturedDatagrams('ct-events');
/** The capture took its dump after the last `conntrack -I` NEW (port id ≠ 0) and before the flows closed. */
const dumpAt = events.reduce((last, d, i) => (d.readUInt16LE(6) === 0x600 && d.readUInt32LE(12) !== 0 ? i : last), -1) + 1;

interface Rig {
  source: LinuxConntrackHosts;
  table: HostTable;
  dumpSocket: () => MockNetlinkTransport;
  eventSocket: MockNetlinkTransport;
  warnings: string[];
  factory: ReturnType<typeof mockTransportFactory>;
}

const rigs: LinuxConntrackHosts[] = [];
afterEach(() => {
  for (const source of rigs.splice(0)) source.close();
  vi.useRealTimers();
});

function rig(options: LinuxConntrackHostsOptions = {}): Rig {
  const factory = mockTransportFactory();
  const warnings: string[] = [];
  const source = new LinuxConntrackHosts(factory, { resyncIntervalMs: 0, minResyncGapMs: 5, log: { warn: (m) => warnings.push(m) }, ...options });
  rigs.push(source);
  // The dump socket opens first; a failed dump replaces it, the event socket stays.
  const eventSocket = factory.created[1]!;
  return { source, table: new HostTable(64), dumpSocket: () => factory.created.filter((t) => t !== eventSocket).at(-1)!, eventSocket, warnings, factory };
}

/** Starts a dump and returns a getter of its result. */
function startDump(r: Rig, table: ConntrackHostTable = r.table): () => Error | null | undefined {
  let result: Error | null | undefined;
  r.source.dump(table, (error) => {
    result = error;
  });
  return () => result;
}

/** Answers the dump request in flight with these entries and DONE. */
function answer(r: Rig, specs: CtSpec[], flags = 0x2): void {
  const seq = r.dumpSocket().lastSeq();
  r.dumpSocket().deliver(Buffer.concat([...specs.map((s) => dumpEntry(seq, s, flags)), done(seq, flags)]));
}

function emptyDump(r: Rig): void {
  const result = startDump(r);
  answer(r, []);
  expect(result()).toBeNull();
}

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const udp = (src: string, sport: number, id: number, status = 0xa): CtSpec => ({ src, proto: 17, sport, dport: 53, id, status });

describe('LinuxConntrackHosts', () => {
  it('joins NEW, UPDATE and DESTROY on its own socket with a large buffer; the dump socket joins nothing', () => {
    const r = rig();
    expect(r.eventSocket.options.groups).toEqual([1, 2, 3]);
    expect(r.eventSocket.options.recvBufferSize).toBe(4 * 1024 * 1024);
    expect(r.factory.created[0]!.options.groups ?? []).toEqual([]);
    expect(r.source.status.detail).toMatch(/NEW\/UPDATE\/DESTROY events, resync on loss only; event buffer/);
    const noUpdates = rig({ followUpdates: false, eventRecvBufferSize: 1 << 20, resyncIntervalMs: 60_000 });
    expect(noUpdates.eventSocket.options.groups).toEqual([1, 3]);
    expect(noUpdates.source.status.detail).toMatch(/resync every 60 s; TCP states and unreplied exact at each dump only/);
  });

  it('rebuilds `conntrack -L` per host from the captured events alone, and ends empty after the flush', () => {
    const r = rig();
    emptyDump(r);
    for (const d of events.slice(0, dumpAt)) r.eventSocket.deliver(d);
    expect(tableRows(r.table)).toEqual(oracle);
    for (const d of events.slice(dumpAt)) r.eventSocket.deliver(d);
    expect(r.table.size).toBe(0);
    expect(Array.from(r.table.totals)).toEqual(new Array(HOST_FIELDS).fill(0));
    expect(r.source.index.size).toBe(0);
    expect(r.source.counts).toMatchObject({ newEntries: 17, destroys: 17, malformed: 0 });
    expect(r.source.counts.updates).toBe(events.length - 34);
  });

  it('starts from the captured dump, takes events that raced it once, and follows the rest', () => {
    const r = rig();
    const result = startDump(r);
    // The events before the dump arrive while it runs: the dump must not count them twice.
    for (const d of events.slice(0, dumpAt)) r.eventSocket.deliver(d);
    expect(r.table.size).toBe(0); // first fill: nothing shows before DONE
    const seq = r.dumpSocket().lastSeq();
    for (const d of capturedDatagrams('ct-dump')) r.dumpSocket().deliver(withSeq(d, seq));
    expect(result()).toBeNull();
    expect(tableRows(r.table)).toEqual(oracle);
    expect(r.table.dumps).toBe(1);
    expect(r.source.counts).toMatchObject({ dumps: 1, lastDumpEntries: 17, resyncs: 0 });
    // The flows close (UPDATEs to FIN_WAIT … TIME_WAIT), then everything is flushed.
    const closing = events.slice(dumpAt).filter((d) => d.readUInt16LE(4) === 0x100);
    for (const d of closing) r.eventSocket.deliver(d);
    const host = r.table.rowOfAddress('10.66.0.2');
    expect(r.table.counts[host * HOST_FIELDS + HOST_TCP_CLOSING]).toBe(2);
    expect(r.table.counts[host * HOST_FIELDS + HOST_TCP_ESTABLISHED]).toBe(0);
    for (const d of events.slice(dumpAt + closing.length)) r.eventSocket.deliver(d);
    expect(r.table.size).toBe(0);
  });

  it('without UPDATE events keeps entries where NEW put them and still removes them exactly', () => {
    const r = rig({ followUpdates: false });
    emptyDump(r);
    // The kernel would not send UPDATEs to this socket: drop them from the replay.
    for (const d of events.filter((d) => !(d.readUInt16LE(4) === 0x100 && d.readUInt16LE(6) === 0))) r.eventSocket.deliver(d);
    expect(r.table.size).toBe(0);
    expect(Array.from(r.table.totals)).toEqual(new Array(HOST_FIELDS).fill(0));
  });

  it('moves an entry between fields on UPDATE, keeping its TCP state when the UPDATE has none', () => {
    const r = rig();
    emptyDump(r);
    const spec: CtSpec = { src: '10.0.0.5', proto: 6, sport: 4000, dport: 443, id: 77, status: 0x198, tcpState: 1 };
    r.eventSocket.deliver(newEvent(spec));
    const row = r.table.rowOfAddress('10.0.0.5');
    const field = (f: number): number => r.table.counts[row * HOST_FIELDS + f]!;
    expect([field(HOST_TCP_OTHER), field(HOST_UNREPLIED)]).toEqual([1, 1]);
    r.eventSocket.deliver(updateEvent({ ...spec, status: 0x19e, tcpState: 3 }));
    expect([field(HOST_TCP_OTHER), field(HOST_TCP_ESTABLISHED), field(HOST_UNREPLIED), field(HOST_ENTRIES)]).toEqual([0, 1, 0, 1]);
    // A status-only UPDATE (no PROTOINFO) must not drop it back to "other".
    const { tcpState: _, ...noState } = spec;
    r.eventSocket.deliver(updateEvent({ ...noState, status: 0x19e }));
    expect(field(HOST_TCP_ESTABLISHED)).toBe(1);
    // DESTROY reports TIME_WAIT; what is subtracted is what was counted.
    r.eventSocket.deliver(destroyEvent({ ...spec, status: 0x39e, tcpState: 7 }));
    expect(r.table.size).toBe(0);
    // A DESTROY of an entry never counted changes nothing.
    r.eventSocket.deliver(destroyEvent(udp('10.0.0.6', 1, 1)));
    expect(r.table.size).toBe(0);
    expect(r.source.counts.destroys).toBe(2);
  });

  it('never shows a half first fill; a resync corrects the live table in place', () => {
    const r = rig();
    let result = startDump(r);
    let seq = r.dumpSocket().lastSeq();
    r.dumpSocket().deliver(Buffer.concat([dumpEntry(seq, udp('10.0.0.1', 1, 1)), dumpEntry(seq, udp('10.0.0.2', 2, 2))]));
    expect(r.table.size).toBe(0);
    expect(r.table.dumps).toBe(0);
    r.dumpSocket().deliver(done(seq));
    expect(result()).toBeNull();
    expect(r.table.totals[HOST_ENTRIES]).toBe(2);
    // Resync: 10.0.0.2's entry went (DESTROY lost), 10.0.0.3 came (NEW lost).
    result = startDump(r);
    seq = r.dumpSocket().lastSeq();
    r.dumpSocket().deliver(Buffer.concat([dumpEntry(seq, udp('10.0.0.1', 1, 1)), dumpEntry(seq, udp('10.0.0.3', 3, 3))]));
    // Mid-way: previous entries still counted, the found one already added.
    expect([...tableRows(r.table).keys()].sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    r.dumpSocket().deliver(done(seq));
    expect(result()).toBeNull();
    expect([...tableRows(r.table).keys()].sort()).toEqual(['10.0.0.1', '10.0.0.3']);
    expect(r.table.totals[HOST_ENTRIES]).toBe(2);
    expect(r.table.dumps).toBe(2);
  });

  it('on ENOBUFS counts the loss, warns once, and resyncs from a dump', async () => {
    const r = rig();
    emptyDump(r);
    r.eventSocket.deliver(newEvent(udp('10.0.0.1', 1, 1)));
    r.eventSocket.fail('ENOBUFS');
    r.eventSocket.fail('ENOBUFS');
    expect(r.source.counts.lost).toBe(2);
    expect(r.source.dirtyNow).toBe(true);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/conntrack events lost \(ENOBUFS/);
    const sent = r.dumpSocket().sent.length;
    await tick(30);
    expect(r.dumpSocket().sent.length).toBe(sent + 1);
    expect(r.source.counts.resyncs).toBe(1);
    expect(r.source.dirtyNow).toBe(false);
    answer(r, [udp('10.0.0.2', 2, 2), udp('10.0.0.2', 3, 3)]);
    expect(tableRows(r.table)).toEqual(new Map([['10.0.0.2', { ...emptyOracleRow(), entries: 2, udp: 2 }]]));
    expect(r.source.counts.dumps).toBe(2);
  });

  it('events lost during a dump make another dump follow it', async () => {
    const r = rig();
    emptyDump(r);
    r.eventSocket.fail('ENOBUFS');
    await tick(30);
    expect(r.source.counts.resyncs).toBe(1);
    r.eventSocket.fail('ETRUNC');
    answer(r, []);
    await tick(30);
    expect(r.source.counts.resyncs).toBe(2);
    answer(r, []);
    await tick(30);
    expect(r.source.counts.resyncs).toBe(2);
  });

  it('an interrupted dump (NLM_F_DUMP_INTR) sweeps nothing and is followed by another', async () => {
    const r = rig();
    let result = startDump(r);
    answer(r, [udp('10.0.0.1', 1, 1), udp('10.0.0.2', 2, 2)]);
    expect(result()).toBeNull();
    result = startDump(r);
    answer(r, [udp('10.0.0.1', 1, 1)], 0x12);
    expect(result()).toBeNull();
    expect(r.source.counts.dumpsInterrupted).toBe(1);
    expect(r.table.size).toBe(2); // not swept: the dump may have missed it
    await tick(30);
    expect(r.source.counts.resyncs).toBe(1);
    answer(r, [udp('10.0.0.1', 1, 1)]);
    expect(r.table.size).toBe(1);
  });

  it('a failed first fill lands nothing and is retried', async () => {
    const r = rig();
    const result = startDump(r);
    r.eventSocket.deliver(newEvent(udp('10.0.0.1', 1, 1)));
    r.dumpSocket().fail('EIO', 'boom');
    expect((result() as KernelSourceError).code).toBe('EIO');
    expect(r.table.size).toBe(0);
    r.eventSocket.deliver(newEvent(udp('10.0.0.2', 2, 2)));
    expect(r.table.size).toBe(0);
    await tick(30);
    expect(r.source.counts).toMatchObject({ dumpFailures: 1, resyncs: 1 });
    answer(r, [udp('10.0.0.2', 2, 2)]);
    expect([...tableRows(r.table).keys()]).toEqual(['10.0.0.2']);
  });

  it('resyncs every interval', async () => {
    const r = rig({ resyncIntervalMs: 20 });
    emptyDump(r);
    await tick(60);
    expect(r.source.counts.resyncs).toBe(1);
    answer(r, []);
    await tick(60);
    expect(r.source.counts.resyncs).toBe(2);
  });

  it('joins a dump in flight; refuses another table meanwhile; rebinds when idle', () => {
    const r = rig();
    const a = startDump(r);
    const b = startDump(r);
    const other = new HostTable(8);
    const c = startDump(r, other);
    expect((c() as KernelSourceError).code).toBe('EBUSY');
    expect(r.dumpSocket().sent).toHaveLength(1);
    answer(r, [udp('10.0.0.1', 1, 1)]);
    expect([a(), b()]).toEqual([null, null]);
    const d = startDump(r, other);
    answer(r, [udp('10.0.0.9', 1, 1)]);
    expect(d()).toBeNull();
    expect([...tableRows(other).keys()]).toEqual(['10.0.0.9']);
    r.eventSocket.deliver(newEvent(udp('10.0.0.8', 1, 2)));
    expect(other.size).toBe(2);
    expect(r.table.size).toBe(1);
  });

  it('gives the new-entry rate per second from NEW events', () => {
    vi.useFakeTimers();
    const r = rig();
    for (let i = 0; i < 7; i++) r.eventSocket.deliver(newEvent(udp('10.0.0.1', i, i)));
    vi.advanceTimersByTime(1000);
    expect(r.source.counts.newPerSecond).toBe(7);
    r.eventSocket.deliver(newEvent(udp('10.0.0.1', 99, 99)));
    vi.advanceTimersByTime(1000);
    expect(r.source.counts.newPerSecond).toBe(1);
    expect(r.source.counts.newEntries).toBe(8);
    // Before any dump() the table is not bound: events are only counted.
    expect(r.table.size).toBe(0);
  });

  it('counts malformed events and ignores other message types', () => {
    const r = rig();
    emptyDump(r);
    const bad = newEvent(udp('10.0.0.1', 1, 1));
    bad.writeUInt16LE(0x7ff0, 20);
    r.eventSocket.deliver(bad);
    const other = newEvent(udp('10.0.0.1', 1, 1));
    other.writeUInt16LE(0x0200, 4); // an expectation event (subsystem 2)
    r.eventSocket.deliver(other);
    expect(r.source.counts.malformed).toBe(1);
    expect(r.table.size).toBe(0);
  });

  it('close() fails the dump in flight, closes both sockets and stops resyncing', async () => {
    const r = rig({ resyncIntervalMs: 10 });
    const result = startDump(r);
    r.source.close();
    expect((result() as KernelSourceError).code).toBe('ECLOSED');
    expect(r.factory.created.every((t) => t.closed)).toBe(true);
    await tick(30);
    expect(r.source.counts.resyncs).toBe(0);
    expect((startDump(r)() as KernelSourceError).code).toBe('ECLOSED');
  });

  it('stays exact under a random stream of NEW/UPDATE/DESTROY with lost events and resyncs', () => {
    const r = rig();
    emptyDump(r);
    let seed = 99;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const live = new Map<number, CtSpec>();
    let nextId = 1;
    for (let round = 0; round < 5; round++) {
      for (let step = 0; step < 2000; step++) {
        const op = rand(10);
        const lost = rand(20) === 0; // the kernel dropped this event
        if (op < 5 || live.size === 0) {
          const id = nextId++;
          const spec: CtSpec = { src: `10.0.${rand(3)}.${rand(20)}`, proto: 6, sport: rand(60000), dport: 443, id, status: 0x198, tcpState: 1 };
          live.set(id, spec);
          if (!lost) r.eventSocket.deliver(newEvent(spec));
        } else {
          const ids = [...live.keys()];
          const id = ids[rand(ids.length)]!;
          const spec = live.get(id)!;
          if (op < 8) {
            const next = { ...spec, tcpState: 3 + rand(6), status: 0x19e };
            live.set(id, next);
            if (!lost) r.eventSocket.deliver(updateEvent(next));
          } else {
            live.delete(id);
            if (!lost) r.eventSocket.deliver(destroyEvent(spec));
          }
        }
      }
      // The resync: a dump of what is really there.
      const result = startDump(r);
      answer(r, [...live.values()]);
      expect(result()).toBeNull();
      const expected = new Map<string, number[]>();
      for (const spec of live.values()) {
        const row = expected.get(spec.src) ?? new Array<number>(HOST_FIELDS).fill(0);
        expected.set(spec.src, row);
        row[HOST_ENTRIES]!++;
        const state = spec.tcpState!;
        row[state === 3 ? HOST_TCP_ESTABLISHED : state >= 4 && state <= 8 ? HOST_TCP_CLOSING : HOST_TCP_OTHER]!++;
        if (spec.status === 0x198) row[HOST_UNREPLIED]!++;
        row[8]!++; // SRC_NAT (0x10) is set in both statuses
      }
      const got = new Map<string, number[]>();
      for (let row = r.table.nextRow(-1); row >= 0; row = r.table.nextRow(row)) {
        got.set(r.table.addressOf(row), Array.from(r.table.counts.subarray(row * HOST_FIELDS, (row + 1) * HOST_FIELDS)));
      }
      expect(got).toEqual(expected);
      expect(r.source.index.size).toBe(live.size);
    }
  });
});

describe('EntryIndex', () => {
  it('grows past its first size and refuses entries beyond maxEntries', () => {
    const index = new EntryIndex(16, 3000);
    const table = new HostTable(16);
    const reader = new ConntrackEntryReader();
    const cursor = new MessageCursor();
    for (let i = 0; i < 3100; i++) {
      cursor.reset(newEvent(udp(`10.0.0.${i % 10}`, i, i)));
      cursor.next();
      reader.read(cursor);
      index.upsert(table, reader);
    }
    expect(index.size).toBe(3000);
    expect(index.refused).toBe(100);
    expect(index.slots).toBe(4096);
    expect(table.totals[HOST_ENTRIES]).toBe(3000);
  });
});

describe('FakeConntrackHosts', () => {
  it('fills the table with scripted hosts, flags spread over their entries', () => {
    const fake = new FakeConntrackHosts();
    fake.set('10.0.0.2', { tcpEstablished: 3, udp: 2, unreplied: 4, snat: 4 });
    fake.set('fd00::7', { icmp: 1 });
    const table = new HostTable(8);
    let error: Error | null | undefined;
    fake.dump(table, (e) => (error = e));
    expect(error).toBeNull();
    expect(tableRows(table)).toEqual(
      new Map([
        ['10.0.0.2', { ...emptyOracleRow(), entries: 5, tcpEstablished: 3, udp: 2, unreplied: 4, snat: 4 }],
        ['fd00::7', { ...emptyOracleRow(), entries: 1, icmp: 1 }],
      ]),
    );
    // Changes land in the bound table at once, as events would.
    fake.set('10.0.0.2', { udp: 1 });
    fake.remove('fd00::7');
    expect(tableRows(table)).toEqual(new Map([['10.0.0.2', { ...emptyOracleRow(), entries: 1, udp: 1 }]]));
    fake.failNext = new Error('scripted');
    fake.dump(table, (e) => (error = e));
    expect(error?.message).toBe('scripted');
    expect(fake.counts).toMatchObject({ dumps: 1, dumpFailures: 1 });
    expect(() => fake.set('nope', { udp: 1 })).toThrow(/not an address/);
    expect(() => fake.set('10.0.0.3', { udp: 1, snat: 2 })).toThrow(/flags exceed/);
  });

  it('has demo hosts totalling a home LAN', () => {
    const demo = createDemoConntrackHosts();
    const table = new HostTable(64);
    demo.dump(table, () => {});
    expect(table.size).toBe(DEMO_CONNTRACK_HOSTS.length);
    expect(table.totals[HOST_ENTRIES]).toBeGreaterThan(1800);
    const top = new Int32Array(1);
    table.topRows(HOST_ENTRIES, top);
    expect(table.addressOf(top[0]!)).toBe('192.168.1.23');
    expect(demo.status.detail).toBe('demo data');
  });
});
