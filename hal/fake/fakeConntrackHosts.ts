/**
 * A scripted ConntrackHostSource for unit tests and `agent run --demo`: hosts and their entry
 * counts are set by the test (or the demo scenario) and land in the bound table as a kernel
 * source's events would. dump() refills the table synchronously, so a reader never sees it half
 * done. A test can make the next dump fail, and count lost events and resyncs by hand.
 */
import type { ConntrackHostCounts, ConntrackHostSource, ConntrackHostTable, ReadDone, SourceStatus } from '../index.ts';
import {
  HOST_ICMP,
  HOST_KIND_SNAT,
  HOST_KIND_UNREPLIED,
  HOST_OTHER_PROTO,
  HOST_TCP_CLOSING,
  HOST_TCP_ESTABLISHED,
  HOST_TCP_OTHER,
  HOST_UDP,
} from '../index.ts';
import { parseAddress } from '../addressKey.ts';
import { emptyConntrackHostCounts } from '../linux/conntrackHostTable.ts';

/** One host's entries by kind. Unreplied and SNAT are spread over the other entries. */
export interface FakeHostEntries {
  tcpEstablished?: number;
  tcpClosing?: number;
  tcpOther?: number;
  udp?: number;
  icmp?: number;
  otherProto?: number;
  /** At most the host's total; counted on as many of its entries. */
  unreplied?: number;
  snat?: number;
}

const CLASSES: readonly [keyof FakeHostEntries, number][] = [
  ['tcpEstablished', HOST_TCP_ESTABLISHED],
  ['tcpClosing', HOST_TCP_CLOSING],
  ['tcpOther', HOST_TCP_OTHER],
  ['udp', HOST_UDP],
  ['icmp', HOST_ICMP],
  ['otherProto', HOST_OTHER_PROTO],
];

export function hostEntryTotal(entries: FakeHostEntries): number {
  let n = 0;
  for (const [key] of CLASSES) n += entries[key] ?? 0;
  return n;
}

export class FakeConntrackHosts implements ConntrackHostSource {
  status: SourceStatus = { backend: 'fake', detail: 'scripted hosts' };
  readonly counts: ConntrackHostCounts = emptyConntrackHostCounts();
  /** When set, the next dump fails with this error (then it is cleared). */
  failNext: Error | null = null;
  private readonly hosts = new Map<string, FakeHostEntries>();
  private readonly bytes = Buffer.alloc(16);
  private table: ConntrackHostTable | null = null;
  private closed = false;

  /** Sets a host's entries (replacing what it had); the bound table follows at once. */
  set(address: string, entries: FakeHostEntries): void {
    const n = hostEntryTotal(entries);
    if (parseAddress(address, this.bytes) === 0) throw new Error(`fake conntrack hosts: not an address: ${address}`);
    if ((entries.unreplied ?? 0) > n || (entries.snat ?? 0) > n) throw new Error(`fake conntrack hosts: ${address}: flags exceed its ${n} entries`);
    const before = this.hosts.get(address);
    if (this.table !== null && before !== undefined) this.apply(this.table, address, before, -1);
    if (n === 0) this.hosts.delete(address);
    else this.hosts.set(address, { ...entries });
    if (this.table !== null && n > 0) this.apply(this.table, address, entries, 1);
  }

  remove(address: string): void {
    this.set(address, {});
  }

  /** What the script holds for a host, or undefined. */
  get(address: string): FakeHostEntries | undefined {
    return this.hosts.get(address);
  }

  /** Counts `n` NEW events (the new-entry rate), as the kernel source does per event. */
  noteNew(n: number, perSecond: number = n): void {
    this.counts.newEntries += n;
    this.counts.newPerSecond = perSecond;
  }

  dump(table: ConntrackHostTable, done: ReadDone): void {
    if (this.closed) {
      done(new Error('fake conntrack hosts: closed'));
      return;
    }
    if (this.failNext !== null) {
      const error = this.failNext;
      this.failNext = null;
      this.counts.dumpFailures++;
      done(error);
      return;
    }
    table.clear();
    let entries = 0;
    for (const [address, hostEntries] of this.hosts) {
      this.apply(table, address, hostEntries, 1);
      entries += hostEntryTotal(hostEntries);
    }
    table.noteDump();
    this.table = table;
    this.counts.dumps++;
    this.counts.lastDumpEntries = entries;
    this.counts.lastDumpMs = 0;
    this.counts.lastDumpAt = Date.now();
    done(null);
  }

  close(): void {
    this.closed = true;
    this.table = null;
  }

  /** Adds (sign 1) or removes (sign -1) a host's entries, flags spread over its classes. */
  private apply(table: ConntrackHostTable, address: string, entries: FakeHostEntries, sign: 1 | -1): void {
    const length = parseAddress(address, this.bytes);
    const row = table.rowOf(this.bytes, 0, length === 16, sign > 0);
    if (row < 0) return;
    let unreplied = entries.unreplied ?? 0;
    let snat = entries.snat ?? 0;
    // Removing: HOST_ENTRIES reaches 0 only with the last call, which releases the row.
    for (const [key, field] of CLASSES) {
      const n = entries[key] ?? 0;
      if (n === 0) continue;
      const u = Math.min(n, unreplied);
      const s = Math.min(n, snat);
      const both = Math.max(0, u + s - n);
      unreplied -= u;
      snat -= s;
      if (both > 0) table.count(row, field | HOST_KIND_UNREPLIED | HOST_KIND_SNAT, sign * both);
      if (u - both > 0) table.count(row, field | HOST_KIND_UNREPLIED, sign * (u - both));
      if (s - both > 0) table.count(row, field | HOST_KIND_SNAT, sign * (s - both));
      const plain = n - u - s + both;
      if (plain > 0) table.count(row, field, sign * plain);
    }
  }
}

/** Demo hosts: a home LAN of about 1,900 entries (the demo's conntrack count), a console on top. */
export const DEMO_CONNTRACK_HOSTS: readonly [string, FakeHostEntries][] = [
  ['192.168.1.23', { tcpEstablished: 640, tcpClosing: 180, tcpOther: 40, udp: 310, icmp: 2, unreplied: 120, snat: 1170 }],
  ['192.168.1.40', { tcpEstablished: 220, tcpClosing: 60, tcpOther: 6, udp: 90, unreplied: 18, snat: 376 }],
  ['192.168.1.12', { tcpEstablished: 95, tcpClosing: 20, udp: 40, icmp: 1, unreplied: 6, snat: 156 }],
  ['192.168.1.57', { tcpEstablished: 60, tcpClosing: 12, udp: 70, unreplied: 9, snat: 142 }],
  ['fd00::1c4e:8aff:fe21:7b02', { tcpEstablished: 48, tcpClosing: 9, udp: 22, icmp: 1, unreplied: 4, snat: 0 }],
  ['192.168.1.1', { udp: 24, icmp: 2, tcpEstablished: 3, unreplied: 2 }],
];

/** A FakeConntrackHosts scripted with DEMO_CONNTRACK_HOSTS. */
export function createDemoConntrackHosts(): FakeConntrackHosts {
  const source = new FakeConntrackHosts();
  source.status = { backend: 'fake', detail: 'demo data' };
  for (const [address, entries] of DEMO_CONNTRACK_HOSTS) source.set(address, entries);
  return source;
}
