/**
 * NFT_MSG_GETOBJ dump of the counter objects of one nf_tables table, and an allocation-free
 * reader for its NFT_MSG_NEWOBJ replies.
 *
 * Request: nlmsghdr + nfgenmsg (family NFPROTO_BRIDGE, NFNETLINK_V0, res_id 0) + NFTA_OBJ_TABLE
 * (NUL-terminated name) + NFTA_OBJ_TYPE (be32 NFT_OBJECT_COUNTER). The kernel filters the dump
 * by family, table name and object type (nf_tables_dump_obj / nf_tables_dump_obj_start in
 * net/netfilter/nf_tables_api.c), so the reply holds only our counters. Each reply message
 * carries NFTA_OBJ_TABLE, NFTA_OBJ_NAME, NFTA_OBJ_TYPE, NFTA_OBJ_USE, NFTA_OBJ_HANDLE and
 * NFTA_OBJ_DATA { NFTA_COUNTER_BYTES, NFTA_COUNTER_PACKETS } (be64 each, with PAD attributes
 * for alignment). Needs CAP_NET_ADMIN: nfnetlink checks it for every message, reads included.
 *
 * Names: reading NFTA_OBJ_NAME as a string would allocate one string per counter per tick, so
 * the names are compared byte by byte with Buffers made once per plan (CounterNameIndex). The
 * dump lists a table's objects in creation order (list_add_tail_rcu in nf_tables_newobj) and
 * nft creates them in the order of the file, so the next expected name is tried first and a
 * match costs one comparison; any other order still works, by a scan.
 */
import {
  NFGENMSG_LEN,
  NFNETLINK_V0,
  NFPROTO_BRIDGE,
  NFT_GETOBJ,
  NFT_OBJECT_COUNTER,
  NFTA_COUNTER_PACKETS,
  NFTA_OBJ_DATA,
  NFTA_OBJ_NAME,
  NFTA_OBJ_TABLE,
  NFTA_OBJ_TYPE,
  NLA_HDRLEN,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
} from '../netlink/constants.ts';
import { AttrCursor, type MessageCursor, writeU16 } from '../netlink/reader.ts';
import { allocRequest } from '../netlink/request.ts';

const align4 = (n: number): number => (n + 3) & ~3;

/** The dump request for the counters of `table` in the bridge family; sequence number 0. */
export function allocCounterDumpRequest(table: string, family: number = NFPROTO_BRIDGE): Buffer {
  const name = Buffer.from(`${table}\0`, 'utf8');
  const tableAttr = NLA_HDRLEN + name.length;
  const typeAttr = NLA_HDRLEN + 4;
  const request = allocRequest(NFT_GETOBJ, NLM_F_REQUEST | NLM_F_DUMP, NFGENMSG_LEN + align4(tableAttr) + typeAttr);
  let at = NLMSG_HDRLEN;
  request[at] = family;
  request[at + 1] = NFNETLINK_V0;
  at += NFGENMSG_LEN;
  writeU16(request, tableAttr, at);
  writeU16(request, NFTA_OBJ_TABLE, at + 2);
  name.copy(request, at + NLA_HDRLEN);
  at += align4(tableAttr);
  writeU16(request, typeAttr, at);
  writeU16(request, NFTA_OBJ_TYPE, at + 2);
  request.writeUInt32BE(NFT_OBJECT_COUNTER, at + NLA_HDRLEN);
  return request;
}

/** Reads one NFT_MSG_NEWOBJ message: where its name is and its packet count. */
export class CounterObjectReader {
  /** Offset and length of the name bytes in the message buffer, trailing NULs excluded. */
  nameOffset = 0;
  nameLength = 0;
  /** NFTA_COUNTER_PACKETS, or NaN when the message has none. */
  packets = NaN;
  problem: string | null = null;
  private readonly attrs = new AttrCursor();
  private readonly inner = new AttrCursor();

  /** False when the message has no name or no packet count (`problem` says which if malformed). */
  read(msg: MessageCursor): boolean {
    this.nameLength = 0;
    this.packets = NaN;
    this.problem = null;
    let hasName = false;
    const attr = this.attrs.reset(msg.buf, msg.payloadOffset + NFGENMSG_LEN, msg.payloadEnd);
    while (attr.next()) {
      if (attr.type === NFTA_OBJ_NAME) {
        let length = attr.length;
        while (length > 0 && attr.buf[attr.offset + length - 1] === 0) length--;
        this.nameOffset = attr.offset;
        this.nameLength = length;
        hasName = true;
      } else if (attr.type === NFTA_OBJ_DATA) {
        const data = attr.enter(this.inner);
        while (data.next()) if (data.type === NFTA_COUNTER_PACKETS) this.packets = data.u64be();
        if (data.problem) this.problem = data.problem;
      }
    }
    if (attr.problem) this.problem = attr.problem;
    return this.problem === null && hasName && !Number.isNaN(this.packets);
  }
}

/** Counter names as bytes, matched against name attributes without creating strings. */
export class CounterNameIndex {
  private names: Buffer[] = [];
  private hint = 0;

  get size(): number {
    return this.names.length;
  }

  /** Replaces the names (once per plan). */
  set(names: readonly string[]): void {
    this.names = names.map((name) => Buffer.from(name, 'utf8'));
    this.hint = 0;
  }

  /** Makes the next lookup start at the first name again (once per dump). */
  rewind(): void {
    this.hint = 0;
  }

  /** Index of the name equal to buf[offset, offset + length), or -1. */
  find(buf: Buffer, offset: number, length: number): number {
    const names = this.names;
    const n = names.length;
    let k = this.hint;
    for (let tries = 0; tries < n; tries++) {
      if (equalBytes(names[k]!, buf, offset, length)) {
        this.hint = k + 1 === n ? 0 : k + 1;
        return k;
      }
      k = k + 1 === n ? 0 : k + 1;
    }
    return -1;
  }
}

function equalBytes(name: Buffer, buf: Buffer, offset: number, length: number): boolean {
  if (name.length !== length) return false;
  for (let i = 0; i < length; i++) if (name[i] !== buf[offset + i]) return false;
  return true;
}
