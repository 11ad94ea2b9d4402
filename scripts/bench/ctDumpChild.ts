/**
 * lanwatch's side of the `conntrack` bench section (ctSection.ts), run inside the bench
 * namespace:
 *   node --import tsx scripts/bench/ctDumpChild.ts DUMPS [hal|mini|recv]
 *
 * Dumps the conntrack table DUMPS times in one process over our netlink transport
 * (hal/netlink/rawSocket.ts: our addon, native/netlink, 32 KiB reads) and aggregates every entry per
 * host (ORIG source address). Dump 1 is the process's first (cold: V8 has not optimised the
 * parser yet), the later ones are the agent's steady state (its periodic resync).
 * - hal (default): the agent's dumper, ConntrackDumper (hal/linux/conntrackDump.ts) into a
 *   HostTable (hal/linux/conntrackHostTable.ts, default capacity): entries, TCP established,
 *   TCP closing, other TCP, UDP, ICMP, other protocols, unreplied, SNAT'd (HOST_* of hal/index.ts).
 * - hal-loop: the same, receiving on the event loop instead of the ring socket's thread.
 * - mini: the minimal streaming parser of this file (MiniDumper: IPv4 keys only, the same
 *   columns), written before the HAL dumper existed; kept as a reference point.
 * - recv: receive only: MiniDumper walking the message headers (counting entries, like the
 *   C floor) without parsing: the cost of the transport and the addon alone.
 *
 * Per dump: wall ms from sending the request to the end of the aggregation (the dumper's done
 * callback), datagrams, bytes, entries, ms spent in our datagram handler (parsing +
 * aggregation: the transport factory is wrapped to time each onDatagram call), the RSS before
 * the dump and the peak RSS during it (VmHWM, reset by writing 5 to /proc/self/clear_refs just
 * before the dump; the process's peak over its whole life, startup and tsx's compile included,
 * is reported as lifetimeHwmKb).
 *
 * Neither dumper allocates per entry; the transport receives every datagram into one reused
 * 32 KiB buffer and hands out one subarray view per datagram.
 *
 * Prints one JSON line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import {
  HOST_ENTRIES,
  HOST_FIELDS,
  HOST_ICMP,
  HOST_OTHER_PROTO,
  HOST_SNAT,
  HOST_TCP_CLOSING,
  HOST_TCP_ESTABLISHED,
  HOST_TCP_OTHER,
  HOST_UDP,
  HOST_UNREPLIED,
} from '../../hal/index.ts';
import { ConntrackDumper } from '../../hal/linux/conntrackDump.ts';
import { HostTable } from '../../hal/linux/conntrackHostTable.ts';
import { openRawNetlink } from '../../hal/netlink/rawSocket.ts';
import type { NetlinkTransport, NetlinkTransportFactory } from '../../hal/netlink/transport.ts';

const NETLINK_NETFILTER = 12;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const NLM_F_DUMP_INTR = 0x10;
const CT_NEW = 0x0100;
const CT_GET = 0x0101;
const CTA_TUPLE_ORIG = 1;
const CTA_STATUS = 3;
const CTA_PROTOINFO = 4;
const CTA_TUPLE_IP = 1;
const CTA_TUPLE_PROTO = 2;
const CTA_IP_V4_SRC = 1;
const CTA_IP_V6_SRC = 3;
const CTA_PROTO_NUM = 1;
const CTA_PROTOINFO_TCP = 1;
const CTA_PROTOINFO_TCP_STATE = 1;
const IPS_SEEN_REPLY = 0x2;
const IPS_SRC_NAT = 0x10;
const TCP_ESTABLISHED = 3;
const TCP_FIN_WAIT = 4;
const TCP_CLOSE = 8;

/** Counter columns per host. */
export const HOST_COLUMNS = ['entries', 'tcpEstablished', 'tcpClosing', 'tcpOther', 'udp', 'icmp', 'other', 'unreplied', 'snat'] as const;
const COLS = HOST_COLUMNS.length;
const C_ENTRIES = 0, C_TCP_EST = 1, C_TCP_CLOSING = 2, C_TCP_OTHER = 3, C_UDP = 4, C_ICMP = 5, C_OTHER = 6, C_UNREPLIED = 7, C_SNAT = 8;

/** The HAL's columns, in HOST_COLUMNS order. */
const HAL_FIELDS = [HOST_ENTRIES, HOST_TCP_ESTABLISHED, HOST_TCP_CLOSING, HOST_TCP_OTHER, HOST_UDP, HOST_ICMP, HOST_OTHER_PROTO, HOST_UNREPLIED, HOST_SNAT];

/** Time spent in datagram handlers, and datagrams, over every socket opened through timedOpen. */
let handlerMs = 0;
let datagrams = 0;
const timedOpen: NetlinkTransportFactory = (protocol, handlers, options) =>
  openRawNetlink(protocol, {
    onDatagram(datagram) {
      const t0 = performance.now();
      datagrams++;
      handlers.onDatagram(datagram);
      handlerMs += performance.now() - t0;
    },
    onError: (error) => handlers.onError(error),
  }, options);

/**
 * MiniDumper's per-host counters keyed by IPv4 address (as int32), open addressing over typed
 * arrays: nothing is allocated per entry, and only on growth. IPv6 sources are counted in `ipv6`.
 */
class MiniHostTable {
  capacity = 1024;
  keys = new Int32Array(this.capacity);
  used = new Uint8Array(this.capacity);
  counts = new Uint32Array(this.capacity * COLS);
  size = 0;
  ipv6 = 0;

  clear(): void {
    this.used.fill(0);
    this.counts.fill(0);
    this.size = 0;
    this.ipv6 = 0;
  }

  /** Row offset into `counts` for the host, created on first sight. */
  row(addr: number): number {
    let mask = this.capacity - 1;
    let i = Math.imul(addr, 0x9e3779b1) >>> 22 & mask;
    for (;;) {
      if (this.used[i] === 0) {
        if ((this.size + 1) * 2 > this.capacity) {
          this.grow();
          mask = this.capacity - 1;
          i = Math.imul(addr, 0x9e3779b1) >>> 22 & mask;
          continue;
        }
        this.used[i] = 1;
        this.keys[i] = addr;
        this.size++;
        return i * COLS;
      }
      if (this.keys[i] === addr) return i * COLS;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const { keys, used, counts, capacity } = this;
    this.capacity = capacity * 2;
    this.keys = new Int32Array(this.capacity);
    this.used = new Uint8Array(this.capacity);
    this.counts = new Uint32Array(this.capacity * COLS);
    this.size = 0;
    for (let i = 0; i < capacity; i++) {
      if (!used[i]) continue;
      const r = this.row(keys[i]!);
      this.counts.set(counts.subarray(i * COLS, i * COLS + COLS), r);
    }
  }

  top(n: number): Array<Record<string, number | string>> {
    const rows: Array<Record<string, number | string>> = [];
    for (let i = 0; i < this.capacity; i++) {
      if (!this.used[i]) continue;
      const a = this.keys[i]! >>> 0;
      const row: Record<string, number | string> = { ip: `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}` };
      HOST_COLUMNS.forEach((name, c) => (row[name] = this.counts[i * COLS + c]!));
      rows.push(row);
    }
    return rows.sort((x, y) => (y.entries as number) - (x.entries as number)).slice(0, n);
  }
}

if (endianness() !== 'LE') throw new Error('ctDumpChild: the minimal parser reads netlink headers as little-endian');

const u16 = (b: Buffer, o: number): number => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Buffer, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
/** Big-endian u32 as int32 (a Smi: no heap number for addresses ≥ 128.0.0.0). */
const be32 = (b: Buffer, o: number): number => (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;

type Done = (error: Error | null) => void;

/** Minimal streaming CT_GET dump + per-host aggregation (see the header). */
class MiniDumper {
  private readonly transport: NetlinkTransport;
  private readonly request = Buffer.alloc(20);
  private seq = 0;
  private table: MiniHostTable | null = null;
  private done: Done | null = null;
  private parse = true;
  bytes = 0;
  entries = 0;
  dumpIntr = false;

  constructor() {
    this.transport = timedOpen(NETLINK_NETFILTER, {
      onDatagram: (d) => this.onDatagram(d),
      onError: (e) => this.finish(e),
    });
    this.request.writeUInt32LE(20, 0);
    this.request.writeUInt16LE(CT_GET, 4);
    this.request.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
    // nfgenmsg: AF_UNSPEC, NFNETLINK_V0, res_id 0: the zeroed bytes 16..19.
  }

  dump(table: MiniHostTable, parse: boolean, done: Done): void {
    this.table = table;
    this.parse = parse;
    this.done = done;
    this.bytes = this.entries = 0;
    this.dumpIntr = false;
    this.seq = (this.seq + 1) >>> 0;
    this.request.writeUInt32LE(this.seq, 8);
    this.transport.send(this.request);
  }

  close(): void {
    this.transport.close();
  }

  private finish(error: Error | null): void {
    const done = this.done;
    this.done = null;
    this.table = null;
    done?.(error);
  }

  private onDatagram(buf: Buffer): void {
    this.bytes += buf.length;
    const end = buf.length;
    let at = 0;
    while (at + 16 <= end) {
      const len = u32(buf, at);
      if (len < 16 || len > end - at) return this.finish(new Error('malformed dump datagram'));
      const type = u16(buf, at + 4);
      if (u16(buf, at + 6) & NLM_F_DUMP_INTR) this.dumpIntr = true;
      if (type === CT_NEW) {
        this.entries++;
        if (this.parse) this.entry(buf, at + 20, at + len);
      } else if (type === NLMSG_DONE) {
        return this.finish(null);
      } else if (type === NLMSG_ERROR) {
        const errno = -(buf.readInt32LE(at + 16));
        if (errno !== 0) return this.finish(new Error(`conntrack dump: errno ${errno}`));
      }
      at += (len + 3) & ~3;
    }
  }

  private entry(buf: Buffer, start: number, end: number): void {
    let src = 0;
    let family = 0;
    let proto = -1;
    let status = 0;
    let tcpState = -1;
    let at = start;
    while (at + 4 <= end) {
      const len = u16(buf, at);
      if (len < 4) break;
      const type = u16(buf, at + 2) & 0x3fff;
      if (type === CTA_TUPLE_ORIG) {
        for (let t = at + 4, tEnd = at + len; t + 4 <= tEnd;) {
          const tLen = u16(buf, t);
          if (tLen < 4) break;
          const tType = u16(buf, t + 2) & 0x3fff;
          if (tType === CTA_TUPLE_IP) {
            // First child is the source address (the kernel writes SRC then DST).
            const aType = u16(buf, t + 6) & 0x3fff;
            if (aType === CTA_IP_V4_SRC) { family = 4; src = be32(buf, t + 8); }
            else if (aType === CTA_IP_V6_SRC) family = 6;
          } else if (tType === CTA_TUPLE_PROTO) {
            if ((u16(buf, t + 6) & 0x3fff) === CTA_PROTO_NUM) proto = buf[t + 8]!;
          }
          t += (tLen + 3) & ~3;
        }
      } else if (type === CTA_STATUS) {
        status = be32(buf, at + 4);
      } else if (type === CTA_PROTOINFO) {
        // PROTOINFO → PROTOINFO_TCP → first child TCP_STATE
        if ((u16(buf, at + 6) & 0x3fff) === CTA_PROTOINFO_TCP && (u16(buf, at + 10) & 0x3fff) === CTA_PROTOINFO_TCP_STATE) {
          tcpState = buf[at + 12]!;
        }
      }
      at += (len + 3) & ~3;
    }
    const table = this.table!;
    if (family !== 4) {
      table.ipv6++;
      return;
    }
    const r = table.row(src);
    const counts = table.counts;
    counts[r + C_ENTRIES]!++;
    if (proto === 6) {
      if (tcpState === TCP_ESTABLISHED) counts[r + C_TCP_EST]!++;
      else if (tcpState >= TCP_FIN_WAIT && tcpState <= TCP_CLOSE) counts[r + C_TCP_CLOSING]!++;
      else counts[r + C_TCP_OTHER]!++;
    } else if (proto === 17) counts[r + C_UDP]!++;
    else if (proto === 1) counts[r + C_ICMP]!++;
    else counts[r + C_OTHER]!++;
    if ((status & IPS_SEEN_REPLY) === 0) counts[r + C_UNREPLIED]!++;
    if ((status & IPS_SRC_NAT) !== 0) counts[r + C_SNAT]!++;
  }
}

function status(): { rssKb: number; hwmKb: number } {
  const text = readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

const dumps = Number(process.argv[2] ?? 3);
const MODES = ['hal', 'hal-loop', 'mini', 'recv'] as const;
const mode = MODES.find((m) => m === process.argv[3]) ?? 'hal';

interface Contender {
  name: string;
  dump(done: Done): void;
  /** Entries, bytes and DUMP_INTR of the last dump. */
  last(): { entries: number; bytes: number; dumpIntr: boolean };
  hosts(): Array<Record<string, number | string>>;
  ipv6(): number;
  close(): void;
}

/** receiveAhead: the dumper's default (a ring socket with its receive thread), or 0 (the event loop). */
function halContender(receiveAhead?: number): Contender {
  const dumper = new ConntrackDumper(timedOpen, receiveAhead === undefined ? {} : { receiveAhead });
  const table = new HostTable();
  const order = new Int32Array(table.capacity);
  return {
    name: 'ConntrackDumper (hal/linux/conntrackDump.ts) into HostTable (hal/linux/conntrackHostTable.ts)',
    dump: (done) => dumper.dump(table, done),
    last: () => ({ entries: dumper.last.entries, bytes: dumper.last.bytes, dumpIntr: dumper.last.interrupted }),
    hosts() {
      const n = table.topRows(HOST_ENTRIES, order);
      const rows: Array<Record<string, number | string>> = [];
      for (let i = 0; i < n; i++) {
        const r = order[i]!;
        const row: Record<string, number | string> = { ip: table.addressOf(r) };
        HOST_COLUMNS.forEach((name, c) => (row[name] = table.counts[r * HOST_FIELDS + HAL_FIELDS[c]!]!));
        rows.push(row);
      }
      return rows;
    },
    ipv6() {
      let n = 0;
      for (let r = table.nextRow(-1); r >= 0; r = table.nextRow(r)) if (!table.isIPv4(r)) n += table.counts[r * HOST_FIELDS + HOST_ENTRIES]!;
      return n;
    },
    close: () => dumper.close(),
  };
}

function miniContender(parse: boolean): Contender {
  const dumper = new MiniDumper();
  const table = new MiniHostTable();
  return {
    name: parse ? 'MiniDumper (scripts/bench/ctDumpChild.ts)' : 'receive only (MiniDumper walking message headers)',
    dump(done) {
      table.clear();
      dumper.dump(table, parse, done);
    },
    last: () => ({ entries: dumper.entries, bytes: dumper.bytes, dumpIntr: dumper.dumpIntr }),
    hosts: () => (parse ? table.top(1000) : []),
    ipv6: () => table.ipv6,
    close: () => dumper.close(),
  };
}

const contender = mode === 'hal' ? halContender() : mode === 'hal-loop' ? halContender(0) : miniContender(mode === 'mini');
const results: Array<Record<string, number | boolean>> = [];
const lifetimeHwmKb = status().hwmKb;

for (let d = 0; d < dumps; d++) {
  const rssBeforeKb = status().rssKb;
  handlerMs = 0;
  datagrams = 0;
  writeFileSync('/proc/self/clear_refs', '5');
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => contender.dump((e) => (e ? reject(e) : resolve())));
  const ms = performance.now() - t0;
  const after = status();
  const last = contender.last();
  results.push({ ms, handlerMs, datagrams, bytes: last.bytes, entries: last.entries, dumpIntr: last.dumpIntr, rssBeforeKb, hwmKb: after.hwmKb });
}
contender.close();

console.log(JSON.stringify({
  dumper: contender.name,
  mode,
  node: process.version,
  lifetimeHwmKb: Math.max(lifetimeHwmKb, status().hwmKb),
  dumps: results,
  ipv6: contender.ipv6(),
  hosts: contender.hosts(),
}));
