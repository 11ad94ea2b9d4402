/**
 * One dump of the IPv6 neighbour cache (RTM_GETNEIGH, AF_INET6) over NETLINK_ROUTE: which MAC
 * answers for an IPv6 address. IPv4 has /proc/net/arp; IPv6 has no proc file, and `ip -6
 * neigh` is not everywhere (BusyBox ip on OpenWrt lacks -j). Used off the hot path (every
 * 30 s at most), so it opens a socket per dump and builds plain objects.
 *
 * Entries in NUD_NOARP state (the multicast maps `ip neigh` hides too) are left out.
 *
 * Reply layout: struct ndmsg (12 bytes: family, pad, ifindex s32, state u16, flags u8, type
 * u8) then attributes NDA_DST (16 bytes) and NDA_LLADDR (6 bytes on Ethernet);
 * include/uapi/linux/neighbour.h.
 */
import {
  NDA_LLADDR,
  NDMSG_FAMILY,
  NDMSG_IFINDEX,
  NDMSG_LEN,
  NDMSG_STATE,
  NETLINK_ROUTE,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NUD_NOARP,
  RTM_NEWNEIGH,
  RTM_GETNEIGH,
  NDA_DST,
  AF_INET6,
} from '../netlink/constants.ts';
import { openRawNetlink } from '../netlink/rawSocket.ts';
import { AttrCursor, MessageCursor, nlmsgErrno, readS32, readU16 } from '../netlink/reader.ts';
import { allocRequest, SequenceCounter, setRequestSeq } from '../netlink/request.ts';
import type { NetlinkTransport, NetlinkTransportFactory } from '../netlink/transport.ts';
import { errnoError, KernelSourceError, malformedError } from './errors.ts';

export interface IndexedNeighbour {
  /** Network-order hex, 32 digits (hal/procfs/procAddress.ts). */
  address: string;
  /** Lower-case colon MAC. */
  mac: string;
  ifindex: number;
}

/** The request: nlmsghdr + ndmsg with only the family set (every device, every state). */
export function neighbourDumpRequest(seq: number): Buffer {
  const request = allocRequest(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, NDMSG_LEN);
  request[NLMSG_HDRLEN + NDMSG_FAMILY] = AF_INET6;
  setRequestSeq(request, seq);
  return request;
}

const sequences = new SequenceCounter();

/** Reads every neighbour with a 16-byte address and an Ethernet MAC out of one datagram. */
export function readNeighbours(datagram: Buffer, seq: number, into: IndexedNeighbour[]): 'more' | 'done' {
  const msg = new MessageCursor().reset(datagram);
  const attr = new AttrCursor();
  while (msg.next()) {
    if (msg.seq !== seq) continue;
    if (msg.type === NLMSG_DONE) return 'done';
    if (msg.type === NLMSG_ERROR) {
      const errno = nlmsgErrno(msg);
      if (errno === 0) continue;
      throw errnoError('RTM_GETNEIGH (IPv6 neighbours)', errno);
    }
    if (msg.type !== RTM_NEWNEIGH || msg.length - NLMSG_HDRLEN < NDMSG_LEN) continue;
    const base = msg.payloadOffset;
    // NOARP entries map multicast groups to 33:33:… MACs; no host answers for them.
    if ((readU16(datagram, base + NDMSG_STATE) & NUD_NOARP) !== 0) continue;
    let address: string | null = null;
    let mac: string | null = null;
    attr.reset(datagram, base + NDMSG_LEN, msg.payloadEnd);
    while (attr.next()) {
      if (attr.type === NDA_DST && attr.length === 16) address = datagram.toString('hex', attr.offset, attr.offset + 16);
      else if (attr.type === NDA_LLADDR && attr.length === 6) {
        mac = [...datagram.subarray(attr.offset, attr.offset + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
      }
    }
    if (attr.problem !== null) throw malformedError('RTM_NEWNEIGH', attr.problem);
    if (address !== null && mac !== null && mac !== '00:00:00:00:00:00') {
      into.push({ address, mac, ifindex: readS32(datagram, base + NDMSG_IFINDEX) });
    }
  }
  if (msg.problem !== null) throw malformedError('RTM_GETNEIGH reply', msg.problem);
  return 'more';
}

/** Dumps the IPv6 neighbour cache of this network namespace. Rejects on an error or after `timeoutMs`. */
export function dumpIpv6Neighbours(openTransport: NetlinkTransportFactory = openRawNetlink, timeoutMs = 2_000): Promise<IndexedNeighbour[]> {
  return new Promise((resolve, reject) => {
    const seq = sequences.next();
    const found: IndexedNeighbour[] = [];
    let transport: NetlinkTransport | null = null;
    let settled = false;
    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      transport?.close();
      if (error) reject(error);
      else resolve(found);
    };
    const timedOut = (): void => finish(new KernelSourceError(`RTM_GETNEIGH (IPv6 neighbours): no answer in ${timeoutMs} ms`, 'ETIMEDOUT'));
    const timer = setTimeout(timedOut, timeoutMs);
    try {
      transport = openTransport(NETLINK_ROUTE, {
        onDatagram: (datagram) => {
          if (settled) return;
          try {
            if (readNeighbours(datagram, seq, found) === 'done') finish(null);
          } catch (error) {
            finish(error as Error);
          }
        },
        onError: (error) => finish(new KernelSourceError(`RTM_GETNEIGH (IPv6 neighbours): ${error.message}`, error.code ?? 'EIO')),
      });
      transport.send(neighbourDumpRequest(seq));
    } catch (error) {
      finish(error instanceof Error ? error : new Error(String(error)));
    }
  });
}
