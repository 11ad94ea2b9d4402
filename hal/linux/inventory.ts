/**
 * Link inventory from RTM_GETLINK at start, kept current from RTNLGRP_LINK notifications.
 *
 * One socket joins the group first and then dumps, so no change between the dump and the
 * subscription can be missed, and the kernel keeps events and dump in one ordered queue.
 * If the queue overflows (ENOBUFS: a burst of link events, e.g. a hub with many ports
 * flapping), events were lost and we cannot know which: the inventory re-dumps and
 * reconciles instead of drifting.
 *
 * Not on the hot path: parsing allocates a LinkInfo per change.
 */
import type { LinkEvent, LinkInfo, LinkInventory, LinkListener, OperState, SourceStatus } from '../index.ts';
import {
  AF_UNSPEC,
  ARPHRD_ETHER,
  ARPHRD_LOOPBACK,
  ARPHRD_NONE,
  ARPHRD_PPP,
  IFINFOMSG_LEN,
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_OPERSTATE,
  NETLINK_ROUTE,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTNLGRP_LINK,
} from '../netlink/constants.ts';
import { AttrCursor, MessageCursor, nlmsgErrno, readS32, readU16 } from '../netlink/reader.ts';
import { allocRequest, SequenceCounter, setRequestSeq } from '../netlink/request.ts';
import type { NetlinkTransport, NetlinkTransportFactory } from '../netlink/transport.ts';
import { errnoError, malformedError } from './errors.ts';

/** IF_OPER_* in order (include/uapi/linux/if.h). */
const OPER_STATES: readonly OperState[] = [
  'unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up',
];

/** Bigger than the 208 KiB default so a burst of events rarely overflows it. */
const INVENTORY_RCVBUF = 1024 * 1024;

export interface InventoryLogger {
  warn(message: string): void;
}

export class NetlinkInventory implements LinkInventory {
  readonly status: SourceStatus = {
    backend: 'netlink',
    detail: 'RTM_GETLINK + RTNLGRP_LINK notifications',
  };
  private readonly current = new Map<number, LinkInfo>();
  private readonly listeners: LinkListener[] = [];
  private readonly transport: NetlinkTransport;
  private readonly dumpRequest: Buffer;
  private readonly seqs = new SequenceCounter();
  private readonly messages = new MessageCursor();
  private readonly attrs = new AttrCursor();
  private readonly inner = new AttrCursor();
  private dumpSeq = 0;
  /** Links seen by the running dump; the rest are gone once it completes. */
  private dumpSeen = new Set<number>();
  private dumpWaiters: { resolve(): void; reject(error: Error): void }[] = [];
  private resyncs = 0;

  constructor(
    openTransport: NetlinkTransportFactory,
    private readonly log: InventoryLogger = { warn: () => {} },
  ) {
    this.dumpRequest = allocRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, IFINFOMSG_LEN);
    this.transport = openTransport(
      NETLINK_ROUTE,
      {
        onDatagram: (datagram) => this.onDatagram(datagram),
        onError: (error) => this.onSocketError(error),
      },
      { groups: [RTNLGRP_LINK], recvBufferSize: INVENTORY_RCVBUF },
    );
  }

  get links(): ReadonlyMap<number, LinkInfo> {
    return this.current;
  }

  /** How many times the inventory re-dumped after losing events. */
  get resyncCount(): number {
    return this.resyncs;
  }

  start(): Promise<void> {
    return this.dump();
  }

  onChange(listener: LinkListener): void {
    this.listeners.push(listener);
  }

  close(): void {
    this.transport.close();
    this.settleDump(new Error('inventory closed'));
  }

  private dump(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.dumpWaiters.push({ resolve, reject });
      // A dump already running will answer for this caller too.
      if (this.dumpSeq !== 0) return;
      this.dumpSeq = this.seqs.next();
      this.dumpSeen = new Set();
      setRequestSeq(this.dumpRequest, this.dumpSeq);
      this.transport.send(this.dumpRequest);
    });
  }

  private onSocketError(error: NodeJS.ErrnoException): void {
    if (error.code === 'ENOBUFS' || error.code === 'ETRUNC') {
      this.resyncs++;
      this.log.warn(`link notifications lost (${error.code}); re-reading the link list`);
      // If a dump was running its replies may be lost too: restart it.
      this.dumpSeq = 0;
      this.dump().catch(() => {});
      return;
    }
    this.log.warn(`link inventory socket error: ${error.message}`);
  }

  private onDatagram(datagram: Buffer): void {
    const msg = this.messages.reset(datagram);
    while (msg.next()) {
      const isDumpReply = this.dumpSeq !== 0 && msg.seq === this.dumpSeq;
      if (msg.type === RTM_NEWLINK || msg.type === RTM_DELLINK) {
        this.onLinkMessage(msg.type === RTM_DELLINK, isDumpReply);
      } else if (isDumpReply && (msg.type === NLMSG_DONE || msg.type === NLMSG_ERROR)) {
        const errno = nlmsgErrno(msg);
        if (errno > 0) this.settleDump(errnoError('RTM_GETLINK', errno));
        else this.completeDump();
      }
    }
    if (msg.problem) {
      this.log.warn(`link notification rejected: ${msg.problem}`);
      if (this.dumpSeq !== 0) this.settleDump(malformedError('RTM_GETLINK reply', msg.problem));
    }
  }

  private onLinkMessage(deleted: boolean, isDumpReply: boolean): void {
    const msg = this.messages;
    if (msg.length - NLMSG_HDRLEN < IFINFOMSG_LEN) return;
    const base = msg.payloadOffset;
    // The bridge module also notifies RTNLGRP_LINK with family AF_BRIDGE about its ports
    // (br_ifinfo_notify); its RTM_DELLINK means "left the bridge", not "link removed".
    if (msg.buf[base] !== AF_UNSPEC) return;
    const arphrd = readU16(msg.buf, base + 2);
    const index = readS32(msg.buf, base + 4);
    if (deleted) {
      this.dumpSeen.delete(index);
      this.remove(index);
      return;
    }
    const link = this.parseLink(index, arphrd, base + IFINFOMSG_LEN, msg.payloadEnd);
    if (!link) return;
    // During a dump, an event about a link proves it exists as much as a dump entry does:
    // a link created after the dump walked past its index must survive completeDump().
    if (isDumpReply || this.dumpSeq !== 0) this.dumpSeen.add(index);
    this.upsert(link);
  }

  private parseLink(index: number, arphrd: number, start: number, end: number): LinkInfo | null {
    const attr = this.attrs.reset(this.messages.buf, start, end);
    let name = '';
    let kind = '';
    let masterIndex = 0;
    let mtu = 0;
    let operState: OperState = 'unknown';
    let mac: string | null = null;
    while (attr.next()) {
      switch (attr.type) {
        case IFLA_IFNAME: name = attr.string(); break;
        case IFLA_MTU: mtu = attr.u32(); break;
        case IFLA_MASTER: masterIndex = attr.u32(); break;
        case IFLA_OPERSTATE: operState = OPER_STATES[attr.u8()] ?? 'unknown'; break;
        case IFLA_ADDRESS:
          if (attr.length === 6) mac = formatMac(attr.buf, attr.offset);
          break;
        case IFLA_LINKINFO: {
          const info = attr.enter(this.inner);
          while (info.next()) if (info.type === IFLA_INFO_KIND) kind = info.string();
          break;
        }
        default: break;
      }
    }
    if (attr.problem || name === '') {
      this.log.warn(`link ${index}: unreadable RTM_NEWLINK (${attr.problem ?? 'no name'})`);
      return null;
    }
    return { index, name, kind: kind || kindFromArphrd(arphrd), masterIndex, mtu, operState, mac };
  }

  private upsert(link: LinkInfo): void {
    const previous = this.current.get(link.index);
    if (previous && sameLink(previous, link)) return;
    this.current.set(link.index, link);
    this.emit(previous ? 'changed' : 'added', link);
  }

  private remove(index: number): void {
    const previous = this.current.get(index);
    if (!previous) return;
    this.current.delete(index);
    this.emit('removed', previous);
  }

  private completeDump(): void {
    // Links that the dump did not list were removed while we were not listening.
    for (const index of [...this.current.keys()]) {
      if (!this.dumpSeen.has(index)) this.remove(index);
    }
    this.settleDump(null);
  }

  private settleDump(error: Error | null): void {
    this.dumpSeq = 0;
    const waiters = this.dumpWaiters;
    this.dumpWaiters = [];
    for (const waiter of waiters) {
      if (error) waiter.reject(error);
      else waiter.resolve();
    }
  }

  private emit(event: LinkEvent, link: LinkInfo): void {
    for (const listener of this.listeners) listener(event, link);
  }
}

function kindFromArphrd(arphrd: number): string {
  switch (arphrd) {
    case ARPHRD_ETHER: return 'ethernet';
    case ARPHRD_PPP: return 'ppp';
    case ARPHRD_LOOPBACK: return 'loopback';
    case ARPHRD_NONE: return 'tun';
    default: return 'other';
  }
}

function sameLink(a: LinkInfo, b: LinkInfo): boolean {
  return (
    a.name === b.name &&
    a.kind === b.kind &&
    a.masterIndex === b.masterIndex &&
    a.mtu === b.mtu &&
    a.operState === b.operState &&
    a.mac === b.mac
  );
}

export function formatMac(buf: Buffer, offset: number): string {
  let out = '';
  for (let i = 0; i < 6; i++) {
    if (i) out += ':';
    out += buf[offset + i]!.toString(16).padStart(2, '0');
  }
  return out;
}
