/**
 * Reads one ctnetlink conntrack entry (a dump reply or a NEW/UPDATE/DESTROY event) without
 * allocating: the fields the host table needs become numbers on the reader, and the source
 * address stays where it is in the datagram (srcOffset), for the table to hash in place.
 *
 * What is read (notes/ctnetlink.md §2.3; every integer payload big-endian):
 *   nfgenmsg.nfgen_family                        AF_INET / AF_INET6
 *   CTA_TUPLE_ORIG > CTA_TUPLE_IP > V4_SRC | V6_SRC   the host key (LAN side of a NAT'd flow)
 *   CTA_TUPLE_ORIG > CTA_TUPLE_PROTO > NUM, ports / ICMP id, type, code
 *   CTA_STATUS (IPS_SEEN_REPLY, IPS_SRC_NAT, IPS_OFFLOAD), CTA_ID
 *   CTA_PROTOINFO > CTA_PROTOINFO_TCP > CTA_PROTOINFO_TCP_STATE
 * Everything else (reply tuple, counters, timestamps, labels, zone, types added by later
 * kernels) is skipped by length, so an unknown attribute never stops the walk.
 *
 * The kernel leaves PROTOINFO out of UPDATE events that are not about the protocol state
 * (ctnetlink_conntrack_event adds it only for IPCT_PROTOINFO) and out of offloaded flows;
 * `tcpState` is then -1 and the caller decides (hal/linux/conntrackEntryIndex.ts).
 */
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
import {
  AF_INET,
  AF_INET6,
  CT_GET,
  CTA_ID,
  CTA_IP_V4_SRC,
  CTA_IP_V6_SRC,
  CTA_PROTO_DST_PORT,
  CTA_PROTO_ICMP_CODE,
  CTA_PROTO_ICMP_ID,
  CTA_PROTO_ICMP_TYPE,
  CTA_PROTO_ICMPV6_CODE,
  CTA_PROTO_ICMPV6_ID,
  CTA_PROTO_ICMPV6_TYPE,
  CTA_PROTO_NUM,
  CTA_PROTO_SRC_PORT,
  CTA_PROTOINFO,
  CTA_PROTOINFO_TCP,
  CTA_PROTOINFO_TCP_STATE,
  CTA_STATUS,
  CTA_TUPLE_IP,
  CTA_TUPLE_ORIG,
  CTA_TUPLE_PROTO,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPS_OFFLOAD,
  IPS_SEEN_REPLY,
  IPS_SRC_NAT,
  NFGENMSG_LEN,
  NFNETLINK_V0,
  NLA_HDRLEN,
  NLA_TYPE_MASK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
  TCP_CONNTRACK_CLOSE,
  TCP_CONNTRACK_ESTABLISHED,
  TCP_CONNTRACK_FIN_WAIT,
} from '../netlink/constants.ts';
import { endianness } from 'node:os';
import type { MessageCursor } from '../netlink/reader.ts';
import { allocRequest } from '../netlink/request.ts';

/** The table dump request (sequence 0; set it per dump). Family AF_UNSPEC: IPv4 and IPv6. */
export function allocConntrackDumpRequest(family: number = 0): Buffer {
  const request = allocRequest(CT_GET, NLM_F_REQUEST | NLM_F_DUMP, NFGENMSG_LEN);
  request[NLMSG_HDRLEN] = family;
  request[NLMSG_HDRLEN + 1] = NFNETLINK_V0;
  return request;
}

/** Signed big-endian 32 bits from byte loads: small integers, never a heap number. */
function be32(buf: Buffer, o: number): number {
  return (buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!;
}

function be16(buf: Buffer, o: number): number {
  return (buf[o]! << 8) | buf[o + 1]!;
}

/** HOST_* field of a TCP state (enum tcp_conntrack); -1 = not reported. */
export function tcpStateField(state: number, status: number): number {
  if (state === TCP_CONNTRACK_ESTABLISHED) return HOST_TCP_ESTABLISHED;
  if (state >= TCP_CONNTRACK_FIN_WAIT && state <= TCP_CONNTRACK_CLOSE) return HOST_TCP_CLOSING;
  // A flow offloaded to a flowtable is established (only those are offloaded) and the kernel
  // stops reporting its state (ctnetlink_dump_info skips PROTOINFO under IPS_OFFLOAD).
  if (state < 0 && (status & IPS_OFFLOAD) !== 0) return HOST_TCP_ESTABLISHED;
  return HOST_TCP_OTHER;
}

/** Netlink headers are in the host's byte order; payload integers of ctnetlink are big-endian. */
const HOST_LE = endianness() === 'LE';

/** Host-order u16 from byte loads. */
export function h16(buf: Buffer, o: number): number {
  return HOST_LE ? buf[o]! | (buf[o + 1]! << 8) : (buf[o]! << 8) | buf[o + 1]!;
}

/** Host-order 32 bits as int32 (a small integer, never a heap number): compare, don't do math. */
export function h32(buf: Buffer, o: number): number {
  return HOST_LE
    ? buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)
    : (buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!;
}

/** Why an attribute walk stopped; the texts are AttrCursor's. */
const ATTR_PROBLEMS = ['truncated attribute header', 'attribute length shorter than its header', 'attribute length runs past its container'];

/** nla_len of the attribute at `at` (header included), or -1/-2/-3 for ATTR_PROBLEMS[0/1/2]. */
function attrLength(buf: Buffer, at: number, end: number): number {
  if (end - at < NLA_HDRLEN) return -1;
  const len = h16(buf, at);
  if (len < NLA_HDRLEN) return -2;
  if (len > end - at) return -3;
  return len;
}

function attrType(buf: Buffer, at: number): number {
  return h16(buf, at + 2) & NLA_TYPE_MASK;
}

export class ConntrackEntryReader {
  buf: Buffer = Buffer.alloc(0);
  /** nfgen_family of the message. */
  family = 0;
  /** Offset of the original source address in `buf` (4 or 16 bytes), -1 when absent. */
  srcOffset = -1;
  ipv6 = false;
  /** Layer-4 protocol number, -1 when absent. */
  proto = -1;
  /**
   * Original-direction ports (sport << 16 | dport) or ICMP (id << 16 | type << 8 | code), as
   * int32: with `id` it tells entries apart in the entry index.
   */
  portsKey = 0;
  /** IPS_* bits; 0 when absent (hasStatus false). */
  status = 0;
  hasStatus = false;
  /** enum tcp_conntrack, -1 when the message has no TCP protoinfo. */
  tcpState = -1;
  /** CTA_ID as int32; hasId false when absent. */
  id = 0;
  hasId = false;
  /** Why the last read failed, or null. */
  problem: string | null = null;

  /**
   * Reads the entry `msg` is on. False when it has no usable source address (`problem` then
   * says why when the message was malformed rather than just of another family).
   */
  read(msg: MessageCursor): boolean {
    return this.readAt(msg.buf, msg.payloadOffset, msg.payloadEnd);
  }

  /**
   * Reads the entry whose payload (nfgenmsg onwards) is buf[payload, end). The attribute walks
   * are written out with byte loads rather than AttrCursor: this runs ~20 attributes for every
   * entry of a dump, and Buffer.readUInt16LE's bounds checks were a third of the parse time.
   */
  readAt(buf: Buffer, payload: number, end: number): boolean {
    this.buf = buf;
    this.srcOffset = -1;
    this.ipv6 = false;
    this.proto = -1;
    this.portsKey = 0;
    this.status = 0;
    this.hasStatus = false;
    this.tcpState = -1;
    this.id = 0;
    this.hasId = false;
    this.problem = null;
    if (end - payload < NFGENMSG_LEN) {
      this.problem = 'message shorter than nfgenmsg';
      return false;
    }
    this.family = buf[payload]!;
    let at = payload + NFGENMSG_LEN;
    while (at < end) {
      const len = attrLength(buf, at, end);
      if (len < 0) {
        this.problem = ATTR_PROBLEMS[-len - 1]!;
        return false;
      }
      const start = at + NLA_HDRLEN;
      switch (attrType(buf, at)) {
        case CTA_TUPLE_ORIG:
          this.readTuple(buf, start, at + len);
          break;
        case CTA_STATUS:
          if (len >= NLA_HDRLEN + 4) {
            this.status = be32(buf, start);
            this.hasStatus = true;
          }
          break;
        case CTA_ID:
          if (len >= NLA_HDRLEN + 4) {
            this.id = be32(buf, start);
            this.hasId = true;
          }
          break;
        case CTA_PROTOINFO:
          this.readProtoinfo(buf, start, at + len);
          break;
        default:
          break;
      }
      if (this.problem !== null) return false;
      at += (len + 3) & ~3;
    }
    if (this.srcOffset < 0) {
      if (this.family === AF_INET || this.family === AF_INET6) this.problem = 'no original source address';
      return false;
    }
    return true;
  }

  /**
   * The entry's HOST_KIND_*: its protocol/state field and flags. `keepField` (a field from an
   * earlier message about the same TCP entry) is used when this one has no TCP state.
   */
  kind(keepField: number = -1): number {
    const status = this.status;
    let field: number;
    switch (this.proto) {
      case IPPROTO_TCP:
        // No state in this message (an UPDATE about something else): keep the known one,
        // unless the flow went to a flowtable, which only established flows do.
        field =
          this.tcpState < 0 && keepField >= 0 && (status & IPS_OFFLOAD) === 0 ? keepField : tcpStateField(this.tcpState, status);
        break;
      case IPPROTO_UDP:
        field = HOST_UDP;
        break;
      case IPPROTO_ICMP:
      case IPPROTO_ICMPV6:
        field = HOST_ICMP;
        break;
      default:
        field = HOST_OTHER_PROTO;
        break;
    }
    if ((status & IPS_SEEN_REPLY) === 0) field |= HOST_KIND_UNREPLIED;
    if ((status & IPS_SRC_NAT) !== 0) field |= HOST_KIND_SNAT;
    return field;
  }

  private readTuple(buf: Buffer, from: number, end: number): void {
    let at = from;
    while (at < end) {
      const len = attrLength(buf, at, end);
      if (len < 0) {
        this.problem = ATTR_PROBLEMS[-len - 1]!;
        return;
      }
      const type = attrType(buf, at);
      if (type === CTA_TUPLE_IP) this.readIp(buf, at + NLA_HDRLEN, at + len);
      else if (type === CTA_TUPLE_PROTO) this.readL4(buf, at + NLA_HDRLEN, at + len);
      if (this.problem !== null) return;
      at += (len + 3) & ~3;
    }
  }

  private readIp(buf: Buffer, from: number, end: number): void {
    let at = from;
    while (at < end) {
      const len = attrLength(buf, at, end);
      if (len < 0) {
        this.problem = ATTR_PROBLEMS[-len - 1]!;
        return;
      }
      const type = attrType(buf, at);
      if (type === CTA_IP_V4_SRC && len >= NLA_HDRLEN + 4) {
        this.srcOffset = at + NLA_HDRLEN;
        this.ipv6 = false;
      } else if (type === CTA_IP_V6_SRC && len >= NLA_HDRLEN + 16) {
        this.srcOffset = at + NLA_HDRLEN;
        this.ipv6 = true;
      }
      at += (len + 3) & ~3;
    }
  }

  private readL4(buf: Buffer, from: number, end: number): void {
    let at = from;
    let a = 0;
    let b = 0;
    while (at < end) {
      const len = attrLength(buf, at, end);
      if (len < 0) {
        this.problem = ATTR_PROBLEMS[-len - 1]!;
        return;
      }
      const o = at + NLA_HDRLEN;
      const size = len - NLA_HDRLEN;
      switch (attrType(buf, at)) {
        case CTA_PROTO_NUM:
          if (size >= 1) this.proto = buf[o]!;
          break;
        case CTA_PROTO_SRC_PORT:
        case CTA_PROTO_ICMP_ID:
        case CTA_PROTO_ICMPV6_ID:
          if (size >= 2) a = be16(buf, o);
          break;
        case CTA_PROTO_DST_PORT:
          if (size >= 2) b = be16(buf, o);
          break;
        case CTA_PROTO_ICMP_TYPE:
        case CTA_PROTO_ICMPV6_TYPE:
          if (size >= 1) b = (b & 0xff) | (buf[o]! << 8);
          break;
        case CTA_PROTO_ICMP_CODE:
        case CTA_PROTO_ICMPV6_CODE:
          if (size >= 1) b = (b & 0xff00) | buf[o]!;
          break;
        default:
          break;
      }
      at += (len + 3) & ~3;
    }
    this.portsKey = (a << 16) | b;
  }

  private readProtoinfo(buf: Buffer, from: number, end: number): void {
    let at = from;
    while (at < end) {
      const len = attrLength(buf, at, end);
      if (len < 0) {
        this.problem = ATTR_PROBLEMS[-len - 1]!;
        return;
      }
      if (attrType(buf, at) === CTA_PROTOINFO_TCP) {
        const tcpEnd = at + len;
        let inner = at + NLA_HDRLEN;
        while (inner < tcpEnd) {
          const innerLen = attrLength(buf, inner, tcpEnd);
          if (innerLen < 0) {
            this.problem = ATTR_PROBLEMS[-innerLen - 1]!;
            return;
          }
          if (attrType(buf, inner) === CTA_PROTOINFO_TCP_STATE && innerLen > NLA_HDRLEN) this.tcpState = buf[inner + NLA_HDRLEN]!;
          inner += (innerLen + 3) & ~3;
        }
      }
      at += (len + 3) & ~3;
    }
  }
}
