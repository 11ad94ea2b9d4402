/**
 * Interface counters for every link with one RTM_GETSTATS dump per read.
 *
 * RTM_GETSTATS with filter IFLA_STATS_LINK_64 returns only struct rtnl_link_stats64 per
 * link (~200 bytes each), where an RTM_GETLINK dump would carry every attribute of every
 * link (~1.5 KiB each). It needs no privileges. Counters are u64 in host byte order.
 */
import type { LinkCounterSink, LinkStatsSource, ReadDone, SourceStatus } from '../index.ts';
import { LINK_FIELDS } from '../index.ts';
import {
  AF_UNSPEC,
  IF_STATS_MSG_LEN,
  IFLA_STATS_FILTER_LINK_64,
  IFLA_STATS_LINK_64,
  NETLINK_ROUTE,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  RTM_GETSTATS,
  RTM_NEWSTATS,
  RTNL_LINK_STATS64_MIN_LEN,
} from '../netlink/constants.ts';
import { AttrCursor, MessageCursor, nlmsgErrno, readU32, readU64, writeU32 } from '../netlink/reader.ts';
import { allocRequest, SequenceCounter, setRequestSeq } from '../netlink/request.ts';
import type { NetlinkTransport, NetlinkTransportFactory } from '../netlink/transport.ts';
import { errnoError, malformedError, supersededError } from './errors.ts';

export class NetlinkLinkStats implements LinkStatsSource {
  readonly status: SourceStatus = {
    backend: 'netlink',
    detail: 'RTM_GETSTATS (IFLA_STATS_LINK_64), one dump per tick',
  };
  private readonly transport: NetlinkTransport;
  private readonly request: Buffer;
  private readonly seqs = new SequenceCounter();
  private readonly messages = new MessageCursor();
  private readonly attrs = new AttrCursor();
  private pendingSeq = 0;
  private sink: LinkCounterSink | null = null;
  private done: ReadDone | null = null;

  constructor(openTransport: NetlinkTransportFactory) {
    this.request = allocRequest(RTM_GETSTATS, NLM_F_REQUEST | NLM_F_DUMP, IF_STATS_MSG_LEN);
    this.request[NLMSG_HDRLEN] = AF_UNSPEC;
    writeU32(this.request, IFLA_STATS_FILTER_LINK_64, NLMSG_HDRLEN + 8);
    this.transport = openTransport(NETLINK_ROUTE, {
      onDatagram: (datagram) => this.onDatagram(datagram),
      onError: (error) => this.finish(error),
    });
  }

  read(sink: LinkCounterSink, done: ReadDone): void {
    // A read still pending means the kernel never answered the last one; give up on it
    // so a lost datagram cannot stall sampling for good.
    if (this.done) this.finish(supersededError('RTM_GETSTATS'));
    this.sink = sink;
    this.done = done;
    this.pendingSeq = this.seqs.next();
    setRequestSeq(this.request, this.pendingSeq);
    this.transport.send(this.request);
  }

  close(): void {
    this.finish(null);
    this.transport.close();
  }

  private onDatagram(datagram: Buffer): void {
    const msg = this.messages.reset(datagram);
    while (msg.next()) {
      if (msg.seq !== this.pendingSeq || !this.sink) continue;
      if (msg.type === RTM_NEWSTATS) this.parseStats(this.sink);
      else if (msg.type === NLMSG_DONE || msg.type === NLMSG_ERROR) {
        // DONE carries the dump's final status in the same place as an error's errno.
        const errno = nlmsgErrno(msg);
        this.finish(errno > 0 ? errnoError('RTM_GETSTATS', errno) : null);
        return;
      }
    }
    if (msg.problem) this.finish(malformedError('RTM_GETSTATS reply', msg.problem));
  }

  private parseStats(sink: LinkCounterSink): void {
    const msg = this.messages;
    if (msg.length < NLMSG_HDRLEN + IF_STATS_MSG_LEN) return;
    const ifindex = readU32(msg.buf, msg.payloadOffset + 4);
    const slot = sink.slotOfIndex(ifindex);
    if (slot < 0) return;
    const attr = this.attrs.reset(msg.buf, msg.payloadOffset + IF_STATS_MSG_LEN, msg.payloadEnd);
    while (attr.next()) {
      if (attr.type !== IFLA_STATS_LINK_64 || attr.length < RTNL_LINK_STATS64_MIN_LEN) continue;
      // The first LINK_FIELDS u64s of rtnl_link_stats64 are exactly our row layout.
      const values = sink.values;
      const base = slot * LINK_FIELDS;
      for (let field = 0; field < LINK_FIELDS; field++) {
        values[base + field] = readU64(attr.buf, attr.offset + field * 8);
      }
      sink.markRead(slot);
      return;
    }
  }

  private finish(error: Error | null): void {
    const done = this.done;
    this.done = null;
    this.sink = null;
    this.pendingSeq = 0;
    if (done) done(error);
  }
}
