/**
 * Conntrack events on a socket of their own, joined to NFNLGRP_CONNTRACK_NEW and _DESTROY
 * (and _UPDATE when state changes are followed), each message parsed in place and handed to a
 * sink; nothing allocated per event beyond the Buffer the netlink addon makes per datagram.
 *
 * Kernel facts (ctnetlink_conntrack_event, checked on 6.18 in test/fixtures/netlink/ct-events.hex):
 * - NEW:     type IPCTNL_MSG_CT_NEW, flags NLM_F_CREATE|NLM_F_EXCL (0x600)
 * - UPDATE:  type IPCTNL_MSG_CT_NEW, flags 0
 * - DESTROY: type IPCTNL_MSG_CT_DELETE, flags 0, with the TCP state and status at the end
 * Every event carries both tuples, CTA_ID and CTA_STATUS; PROTOINFO only when the protocol
 * state is part of the news. One event per datagram (one skb per netlink_broadcast).
 * net.netfilter.nf_conntrack_events defaults to 2 ("on while someone listens") since 5.x.
 *
 * Losing events: when events outrun the receive buffer the kernel drops them and the next read
 * fails with ENOBUFS. The sink hears eventsLost() and must resync from a dump; nothing here
 * guesses. Caveat, netlink addon 0.3.0: when the overrun is noticed by epoll (EPOLLERR while the
 * loop waits) rather than by a read, the addon's poll handler throws from a libuv callback and
 * the process aborts (it builds its error with a NULL syscall name); a patched build that reads
 * the error with recvmsg and keeps polling delivers ENOBUFS here (test/integration/
 * conntrackHosts.test.ts). Until then only the buffer's size keeps that rare. The buffer is large to make that rare: SO_RCVBUF as asked (the kernel doubles it and
 * caps the request at net.core.rmem_max). SO_RCVBUFFORCE, which would pass that cap as root,
 * is not reachable: the netlink addon only sets SO_RCVBUF and does not expose the descriptor.
 */
import {
  CT_DELETE,
  CT_NEW,
  NETLINK_NETFILTER,
  NFNLGRP_CONNTRACK_DESTROY,
  NFNLGRP_CONNTRACK_NEW,
  NFNLGRP_CONNTRACK_UPDATE,
  NLM_F_CREATE,
} from '../netlink/constants.ts';
import { MessageCursor } from '../netlink/reader.ts';
import type { NetlinkTransport, NetlinkTransportFactory } from '../netlink/transport.ts';
import { ConntrackEntryReader } from './conntrackEntry.ts';

/** Where events go. `reader` is valid only during the call. */
export interface EventEntrySink {
  newEntry(reader: ConntrackEntryReader): void;
  updateEntry(reader: ConntrackEntryReader): void;
  destroyEntry(reader: ConntrackEntryReader): void;
  /** Events were lost (ENOBUFS, or a datagram cut short): what the sink holds may be wrong. */
  eventsLost(code: string): void;
  /** A conntrack message that could not be parsed. */
  malformedEvent(problem: string): void;
  /** Any other socket error. */
  eventSocketError(error: NodeJS.ErrnoException): void;
}

export interface ConntrackEventsOptions {
  /** Join NFNLGRP_CONNTRACK_UPDATE too (state changes). Default true. */
  updates?: boolean;
  /** SO_RCVBUF asked for; default 4 MiB. */
  recvBufferSize?: number;
}

export const DEFAULT_EVENT_RCVBUF = 4 * 1024 * 1024;

export class ConntrackEvents {
  readonly updates: boolean;
  readonly recvBufferSize: number;
  private readonly transport: NetlinkTransport;
  private readonly messages = new MessageCursor();
  private readonly reader = new ConntrackEntryReader();
  private closed = false;

  /** Joins the groups at once; events flow from the next turn of the event loop. */
  constructor(openTransport: NetlinkTransportFactory, private readonly sink: EventEntrySink, options: ConntrackEventsOptions = {}) {
    this.updates = options.updates ?? true;
    this.recvBufferSize = options.recvBufferSize ?? DEFAULT_EVENT_RCVBUF;
    const groups = this.updates
      ? [NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_UPDATE, NFNLGRP_CONNTRACK_DESTROY]
      : [NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_DESTROY];
    this.transport = openTransport(
      NETLINK_NETFILTER,
      {
        onDatagram: (datagram) => this.onDatagram(datagram),
        onError: (error) => this.onError(error),
      },
      { groups, recvBufferSize: this.recvBufferSize },
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
  }

  private onError(error: NodeJS.ErrnoException): void {
    if (this.closed) return;
    if (error.code === 'ENOBUFS' || error.code === 'ETRUNC') this.sink.eventsLost(error.code);
    else this.sink.eventSocketError(error);
  }

  private onDatagram(datagram: Buffer): void {
    if (this.closed) return;
    const msg = this.messages.reset(datagram);
    const reader = this.reader;
    const sink = this.sink;
    while (msg.next()) {
      const type = msg.type;
      if (type !== CT_NEW && type !== CT_DELETE) continue;
      if (!reader.read(msg)) {
        if (reader.problem !== null) sink.malformedEvent(reader.problem);
        continue;
      }
      if (type === CT_DELETE) sink.destroyEntry(reader);
      else if ((msg.flags & NLM_F_CREATE) !== 0) sink.newEntry(reader);
      else sink.updateEntry(reader);
    }
    if (msg.problem !== null) sink.malformedEvent(msg.problem);
  }
}
