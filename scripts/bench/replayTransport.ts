/**
 * A transport that answers each request with replies recorded from the real kernel,
 * synchronously and without allocating: sequence numbers are patched into the stored
 * datagrams in place. Lets the tick benchmark time our code without syscalls.
 */
import {
  CT_GET_STATS,
  CT_GET_STATS_CPU,
  IF_STATS_MSG_LEN,
  IFLA_STATS_FILTER_LINK_64,
  NETLINK_NETFILTER,
  NETLINK_ROUTE,
  NFGENMSG_LEN,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  RTM_GETSTATS,
} from '../../hal/netlink/constants.ts';
import { openRawNetlink } from '../../hal/netlink/rawSocket.ts';
import { MessageCursor, readU16, readU32, writeU32 } from '../../hal/netlink/reader.ts';
import { allocRequest, setRequestSeq } from '../../hal/netlink/request.ts';
import type { NetlinkTransport, NetlinkTransportFactory } from '../../hal/netlink/transport.ts';

export interface Recorded {
  datagrams: Buffer[];
  /** Offsets of every message header, per datagram, to patch seq in place. */
  offsets: number[][];
}

/** Recorded replies by request message type. */
export type ReplyBook = Map<number, Recorded>;

/**
 * Sends one request on a fresh socket and keeps every reply datagram until NLMSG_DONE or
 * NLMSG_ERROR, or the first datagram when `single` (GET_STATS has no DONE).
 */
export function record(protocol: number, request: Buffer, single: boolean): Promise<Recorded> {
  return new Promise((resolve, reject) => {
    const datagrams: Buffer[] = [];
    const offsets: number[][] = [];
    const cursor = new MessageCursor();
    const socket = openRawNetlink(protocol, {
      onDatagram(datagram) {
        datagrams.push(Buffer.from(datagram));
        const here: number[] = [];
        let end = single;
        cursor.reset(datagram);
        while (cursor.next()) {
          here.push(cursor.offset);
          if (cursor.type === NLMSG_DONE || cursor.type === NLMSG_ERROR) end = true;
        }
        offsets.push(here);
        if (end) {
          socket.close();
          resolve({ datagrams, offsets });
        }
      },
      onError: reject,
    });
    setRequestSeq(request, 1);
    socket.send(request);
  });
}

export async function recordReplies(): Promise<ReplyBook> {
  const stats = allocRequest(RTM_GETSTATS, NLM_F_REQUEST | NLM_F_DUMP, IF_STATS_MSG_LEN);
  writeU32(stats, IFLA_STATS_FILTER_LINK_64, NLMSG_HDRLEN + 8);
  const book: ReplyBook = new Map();
  book.set(RTM_GETSTATS, await record(NETLINK_ROUTE, stats, false));
  book.set(CT_GET_STATS, await record(NETLINK_NETFILTER, allocRequest(CT_GET_STATS, NLM_F_REQUEST, NFGENMSG_LEN), true));
  book.set(
    CT_GET_STATS_CPU,
    await record(NETLINK_NETFILTER, allocRequest(CT_GET_STATS_CPU, NLM_F_REQUEST | NLM_F_DUMP, NFGENMSG_LEN), false),
  );
  return book;
}

export function replayTransportFactory(book: ReplyBook): NetlinkTransportFactory {
  return (_protocol, handlers) => {
    const transport: NetlinkTransport = {
      send(request) {
        const buf = request as Buffer;
        const recorded = book.get(readU16(buf, 4));
        if (!recorded) return;
        const seq = readU32(buf, 8);
        for (let d = 0; d < recorded.datagrams.length; d++) {
          const datagram = recorded.datagrams[d]!;
          const offsets = recorded.offsets[d]!;
          for (let m = 0; m < offsets.length; m++) writeU32(datagram, seq, offsets[m]! + 8);
          handlers.onDatagram(datagram);
        }
      },
      close() {},
    };
    return transport;
  };
}
