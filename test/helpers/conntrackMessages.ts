/** Hand-built ctnetlink conntrack entries (dump replies and events) for the host-ranking tests. */
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
  type ConntrackHostTable,
} from '../../hal/index.ts';
import { parseAddress } from '../../hal/addressKey.ts';
import { parseConntrackLine, type ConntrackEntry } from '../lab/oracle.ts';
import { message } from './netlinkFixtures.ts';

const NESTED = 0x8000;

export function nla(type: number, payload: Buffer): Buffer {
  const length = 4 + payload.length;
  const out = Buffer.alloc((length + 3) & ~3);
  out.writeUInt16LE(length, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

export function nest(type: number, ...children: Buffer[]): Buffer {
  return nla(type | NESTED, Buffer.concat(children));
}

const u8 = (v: number): Buffer => Buffer.from([v]);
const be16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
};
const be32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};

export interface CtSpec {
  src: string;
  dst?: string;
  /** 6 tcp, 17 udp, 1 icmp, 58 icmpv6, … */
  proto: number;
  sport?: number;
  dport?: number;
  /** IPS_* bits; default CONFIRMED|SEEN_REPLY (0xa). */
  status?: number;
  /** TCP state; omitted: no PROTOINFO. */
  tcpState?: number;
  id?: number;
  /** Attributes appended at the top level (unknown ones, counters…). */
  extra?: Buffer[];
  /** Leave CTA_STATUS out. */
  noStatus?: boolean;
}

function ipAttrs(address: string, srcType4: number, srcType6: number): Buffer {
  const bytes = Buffer.alloc(16);
  const length = parseAddress(address, bytes);
  if (length === 0) throw new Error(`not an address: ${address}`);
  return nla(length === 4 ? srcType4 : srcType6, bytes.subarray(0, length));
}

/** The payload of an entry message: nfgenmsg + attributes, in the kernel's order. */
export function ctPayload(spec: CtSpec): Buffer {
  const v6 = spec.src.includes(':');
  const dst = spec.dst ?? (v6 ? 'fd67::2' : '198.51.100.2');
  const l4: Buffer[] = [nla(1, u8(spec.proto))];
  if (spec.proto === 1 || spec.proto === 58) {
    const base = spec.proto === 1 ? 4 : 7;
    l4.push(nla(base, be16(spec.sport ?? 1)), nla(base + 1, u8(8)), nla(base + 2, u8(0)));
  } else if (spec.sport !== undefined || spec.dport !== undefined) {
    l4.push(nla(2, be16(spec.sport ?? 0)), nla(3, be16(spec.dport ?? 0)));
  }
  const tuple = (from: string, to: string): Buffer =>
    Buffer.concat([nest(1, ipAttrs(from, 1, 3), ipAttrs(to, 2, 4)), nest(2, ...l4)]);
  const attrs: Buffer[] = [nla(1 | NESTED, tuple(spec.src, dst)), nla(2 | NESTED, tuple(dst, spec.src))];
  if (spec.noStatus !== true) attrs.push(nla(3, be32(spec.status ?? 0xa)));
  attrs.push(nla(8, be32(0)), nla(12, be32(spec.id ?? 1)), nla(11, be32(1)), nla(7, be32(100)));
  if (spec.tcpState !== undefined) attrs.push(nest(4, nest(1, nla(1, u8(spec.tcpState)), nla(2, u8(7)), nla(3, u8(7)))));
  attrs.push(...(spec.extra ?? []));
  const nfgen = Buffer.from([v6 ? 10 : 2, 0, 0, 0]);
  return Buffer.concat([nfgen, ...attrs]);
}

export const CT_NEW = 0x100;
export const CT_DELETE = 0x102;
export const NLM_F_MULTI = 0x2;
export const EVENT_NEW_FLAGS = 0x600;

/** A dump reply entry (type CT_NEW, NLM_F_MULTI). */
export function dumpEntry(seq: number, spec: CtSpec, flags = NLM_F_MULTI): Buffer {
  return message(CT_NEW, flags, seq, ctPayload(spec));
}

export function newEvent(spec: CtSpec): Buffer {
  return message(CT_NEW, EVENT_NEW_FLAGS, 0, ctPayload(spec));
}

export function updateEvent(spec: CtSpec): Buffer {
  return message(CT_NEW, 0, 0, ctPayload(spec));
}

export function destroyEvent(spec: CtSpec): Buffer {
  return message(CT_DELETE, 0, 0, ctPayload(spec));
}

/** NLMSG_DONE with the flags given (NLM_F_MULTI, maybe NLM_F_DUMP_INTR). */
export function done(seq: number, flags = NLM_F_MULTI): Buffer {
  return message(3, flags, seq, Buffer.alloc(4));
}

/** Per-host counts as the HOST_* layout from `conntrack -L` lines (the oracle). */
export interface OracleRow {
  entries: number;
  tcpEstablished: number;
  tcpClosing: number;
  tcpOther: number;
  udp: number;
  icmp: number;
  otherProto: number;
  unreplied: number;
  snat: number;
}

export function emptyOracleRow(): OracleRow {
  return { entries: 0, tcpEstablished: 0, tcpClosing: 0, tcpOther: 0, udp: 0, icmp: 0, otherProto: 0, unreplied: 0, snat: 0 };
}

const CLOSING = new Set(['FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE']);

/**
 * Groups `conntrack -L` entries by original source address into the HOST_* fields. SNAT is
 * read the way conntrack(8) shows it: the reply goes to another address than the original
 * source came from (what `conntrack -L --src-nat` selects).
 */
export function groupByHost(entries: readonly ConntrackEntry[]): Map<string, OracleRow> {
  const hosts = new Map<string, OracleRow>();
  for (const e of entries) {
    const row = hosts.get(e.orig.src) ?? emptyOracleRow();
    hosts.set(e.orig.src, row);
    row.entries++;
    if (e.proto === 'tcp') {
      if (e.state === 'ESTABLISHED') row.tcpEstablished++;
      else if (e.state !== undefined && CLOSING.has(e.state)) row.tcpClosing++;
      else row.tcpOther++;
    } else if (e.proto === 'udp') row.udp++;
    else if (e.proto === 'icmp' || e.proto === 'icmpv6') row.icmp++;
    else row.otherProto++;
    if (e.flags.includes('UNREPLIED')) row.unreplied++;
    if (e.reply.dst !== e.orig.src) row.snat++;
  }
  return hosts;
}

export function parseConntrackText(text: string): ConntrackEntry[] {
  return text.split('\n').map(parseConntrackLine).filter((e): e is ConntrackEntry => e !== null);
}

/** The table as oracle rows, by address. */
export function tableRows(table: ConntrackHostTable): Map<string, OracleRow> {
  const out = new Map<string, OracleRow>();
  for (let r = table.nextRow(-1); r >= 0; r = table.nextRow(r)) {
    const c = (f: number): number => table.counts[r * HOST_FIELDS + f]!;
    out.set(table.addressOf(r), {
      entries: c(HOST_ENTRIES),
      tcpEstablished: c(HOST_TCP_ESTABLISHED),
      tcpClosing: c(HOST_TCP_CLOSING),
      tcpOther: c(HOST_TCP_OTHER),
      udp: c(HOST_UDP),
      icmp: c(HOST_ICMP),
      otherProto: c(HOST_OTHER_PROTO),
      unreplied: c(HOST_UNREPLIED),
      snat: c(HOST_SNAT),
    });
  }
  return out;
}

