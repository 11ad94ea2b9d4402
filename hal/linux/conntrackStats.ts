/**
 * Conntrack table size and per-CPU statistics over ctnetlink (NETLINK_NETFILTER).
 *
 * Two requests per read on one socket:
 * - IPCTNL_MSG_CT_GET_STATS: count and max. Not a dump: the kernel answers with one
 *   message flagged NLM_F_MULTI and never sends NLMSG_DONE (ctnetlink_stat_ct). We send
 *   it without NLM_F_ACK and take that single message (or an NLMSG_ERROR) as the end,
 *   which saves the ACK datagram ti-mo/conntrack's StatsGlobal() waits for.
 * - IPCTNL_MSG_CT_GET_STATS_CPU: a dump of one message per possible CPU (res_id = CPU)
 *   ending with NLMSG_DONE; we sum the per-CPU counters.
 * All CTA_STATS_* payloads are big-endian u32 (nfacct.plugin decodes them with ntohl).
 * Needs CAP_NET_ADMIN in the socket's network namespace.
 */
import type { ConntrackSample, ConntrackStatsSource, ReadDone, SourceStatus } from '../index.ts';
import { fillConntrackCounters } from '../index.ts';
import {
  CT_GET_STATS,
  CT_GET_STATS_CPU,
  CTA_STATS_DROP,
  CTA_STATS_EARLY_DROP,
  CTA_STATS_ERROR,
  CTA_STATS_FOUND,
  CTA_STATS_GLOBAL_ENTRIES,
  CTA_STATS_GLOBAL_MAX_ENTRIES,
  CTA_STATS_INSERT_FAILED,
  CTA_STATS_INVALID,
  CTA_STATS_SEARCH_RESTART,
  NETLINK_NETFILTER,
  NFGENMSG_LEN,
  NFNETLINK_V0,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
} from '../netlink/constants.ts';
import { AttrCursor, MessageCursor, nlmsgErrno } from '../netlink/reader.ts';
import { allocRequest, SequenceCounter, setRequestSeq } from '../netlink/request.ts';
import type { NetlinkTransport, NetlinkTransportFactory } from '../netlink/transport.ts';
import { errnoError, malformedError, supersededError } from './errors.ts';

function allocNfRequest(type: number, flags: number): Buffer {
  const request = allocRequest(type, flags, NFGENMSG_LEN);
  // nfgenmsg: family AF_UNSPEC (all), version NFNETLINK_V0, res_id 0 (big-endian).
  request[NLMSG_HDRLEN] = 0;
  request[NLMSG_HDRLEN + 1] = NFNETLINK_V0;
  return request;
}

export class NetlinkConntrackStats implements ConntrackStatsSource {
  readonly status: SourceStatus = {
    backend: 'netlink',
    detail: 'ctnetlink GET_STATS + GET_STATS_CPU',
  };
  private readonly transport: NetlinkTransport;
  private readonly globalRequest = allocNfRequest(CT_GET_STATS, NLM_F_REQUEST);
  private readonly cpuRequest = allocNfRequest(CT_GET_STATS_CPU, NLM_F_REQUEST | NLM_F_DUMP);
  private readonly seqs = new SequenceCounter();
  private readonly messages = new MessageCursor();
  private readonly attrs = new AttrCursor();
  private globalSeq = 0;
  private cpuSeq = 0;
  private out: ConntrackSample | null = null;
  private done: ReadDone | null = null;
  private failure: Error | null = null;

  constructor(openTransport: NetlinkTransportFactory) {
    this.transport = openTransport(NETLINK_NETFILTER, {
      onDatagram: (datagram) => this.onDatagram(datagram),
      onError: (error) => {
        this.failure ??= error;
        this.globalSeq = 0;
        this.cpuSeq = 0;
        this.maybeFinish();
      },
    });
  }

  read(out: ConntrackSample, done: ReadDone): void {
    if (this.done) {
      this.failure ??= supersededError('conntrack stats');
      this.globalSeq = 0;
      this.cpuSeq = 0;
      this.maybeFinish();
    }
    this.out = out;
    this.done = done;
    this.failure = null;
    out.count = NaN;
    out.max = NaN;
    fillConntrackCounters(out, 0);
    this.globalSeq = this.seqs.next();
    setRequestSeq(this.globalRequest, this.globalSeq);
    this.cpuSeq = this.seqs.next();
    setRequestSeq(this.cpuRequest, this.cpuSeq);
    this.transport.send(this.globalRequest);
    this.transport.send(this.cpuRequest);
  }

  close(): void {
    this.globalSeq = 0;
    this.cpuSeq = 0;
    this.maybeFinish();
    this.transport.close();
  }

  private onDatagram(datagram: Buffer): void {
    const msg = this.messages.reset(datagram);
    const out = this.out;
    while (msg.next()) {
      if (!out || msg.seq === 0) continue;
      if (msg.seq === this.globalSeq) {
        if (msg.type === CT_GET_STATS) this.parseGlobal(out);
        else if (msg.type === NLMSG_ERROR) this.fail(errnoError('conntrack GET_STATS', nlmsgErrno(msg)));
        this.globalSeq = 0;
      } else if (msg.seq === this.cpuSeq) {
        if (msg.type === CT_GET_STATS_CPU) this.parseCpu(out);
        else if (msg.type === NLMSG_DONE || msg.type === NLMSG_ERROR) {
          const errno = nlmsgErrno(msg);
          if (errno > 0) this.fail(errnoError('conntrack GET_STATS_CPU', errno));
          this.cpuSeq = 0;
        }
      }
    }
    if (msg.problem) {
      this.fail(malformedError('conntrack stats reply', msg.problem));
      this.globalSeq = 0;
      this.cpuSeq = 0;
    }
    this.maybeFinish();
  }

  private parseGlobal(out: ConntrackSample): void {
    const msg = this.messages;
    const attr = this.attrs.reset(msg.buf, msg.payloadOffset + NFGENMSG_LEN, msg.payloadEnd);
    while (attr.next()) {
      if (attr.type === CTA_STATS_GLOBAL_ENTRIES) out.count = attr.u32be();
      else if (attr.type === CTA_STATS_GLOBAL_MAX_ENTRIES) out.max = attr.u32be();
    }
    if (attr.problem) this.fail(malformedError('conntrack GET_STATS reply', attr.problem));
  }

  private parseCpu(out: ConntrackSample): void {
    const msg = this.messages;
    const attr = this.attrs.reset(msg.buf, msg.payloadOffset + NFGENMSG_LEN, msg.payloadEnd);
    while (attr.next()) {
      switch (attr.type) {
        case CTA_STATS_FOUND: out.found += attr.u32be(); break;
        case CTA_STATS_INVALID: out.invalid += attr.u32be(); break;
        case CTA_STATS_INSERT_FAILED: out.insertFailed += attr.u32be(); break;
        case CTA_STATS_DROP: out.drop += attr.u32be(); break;
        case CTA_STATS_EARLY_DROP: out.earlyDrop += attr.u32be(); break;
        case CTA_STATS_ERROR: out.error += attr.u32be(); break;
        case CTA_STATS_SEARCH_RESTART: out.searchRestart += attr.u32be(); break;
        default: break;
      }
    }
    if (attr.problem) this.fail(malformedError('conntrack GET_STATS_CPU reply', attr.problem));
  }

  private fail(error: Error): void {
    this.failure ??= error;
  }

  private maybeFinish(): void {
    if (this.globalSeq !== 0 || this.cpuSeq !== 0) return;
    const done = this.done;
    const failure = this.failure;
    this.done = null;
    this.out = null;
    this.failure = null;
    if (done) done(failure);
  }
}
