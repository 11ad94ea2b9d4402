/**
 * Full conntrack table dump (IPCTNL_MSG_CT_GET + NLM_F_DUMP, family AF_UNSPEC) on a socket of
 * its own, parsed as it streams in.
 *
 * - Own socket, no multicast groups: a socket that joined event groups gets ENOBUFS in the
 *   middle of dumps (nlbwmon's "Unable to dump conntrack", notes/ctnetlink.md §2.5), and a
 *   socket runs one dump at a time (netlink_dump_start: EBUSY).
 * - Reads of 32 KiB without peeking (rawSocket.ts): the kernel then fills each batch up to
 *   SKB_WITH_OVERHEAD(32768), ~150 entries a datagram, ~9x fewer datagrams than page-sized
 *   reads. A dump is reader-paced (the next batch is built inside recvmsg once the queue is
 *   half empty), so it cannot overrun its own socket.
 * - Streaming: each datagram is walked with cursors and every entry handed to a sink while the
 *   datagram is current; nothing per entry is kept or allocated (no objects, strings or
 *   subarrays: the address stays an offset into the datagram). The transport receives into
 *   one reused buffer, so a dump costs no memory per datagram either.
 * - Ends: NLMSG_DONE (its int error, 0 on success), NLMSG_ERROR (EPERM without CAP_NET_ADMIN,
 *   EBUSY), a socket error, a malformed datagram or the timeout. Every failure replaces the
 *   socket, so a dump the kernel may still be running on the old one never answers EBUSY to
 *   the next request. NLM_F_DUMP_INTR on any message marks the dump interrupted (possibly
 *   inconsistent); it still completes, and the caller re-dumps.
 *
 * ConntrackDumper (below) is the stand-alone form scripts and the benchmark use:
 *   const dumper = new ConntrackDumper(openRawNetlink);
 *   dumper.dump(table, (error) => { ... table.counts ... dumper.last ... });
 */
import type { ConntrackHostTable, ReadDone } from '../index.ts';
import { CT_NEW, NETLINK_NETFILTER, NLM_F_DUMP_INTR, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN } from '../netlink/constants.ts';
import { SequenceCounter, setRequestSeq } from '../netlink/request.ts';
import type { NetlinkTransport, NetlinkTransportFactory, NetlinkTransportOptions } from '../netlink/transport.ts';
import { allocConntrackDumpRequest, ConntrackEntryReader, h16, h32 } from './conntrackEntry.ts';
import { HostTable } from './conntrackHostTable.ts';
import { errnoError, KernelSourceError, malformedError } from './errors.ts';

/** Where a dump's entries go. `reader` is valid only during the call. */
export interface DumpEntrySink {
  dumpEntry(reader: ConntrackEntryReader): void;
}

export interface ConntrackDumpOptions {
  /** nfgen_family of the request: 0 (AF_UNSPEC, both), 2 (IPv4 only) or 10 (IPv6 only). */
  family?: number;
  /** A dump with no DONE after this long fails with ETIMEDOUT. Default 60 s. */
  timeoutMs?: number;
  /** SO_RCVBUF of the dump socket; default the system's (a dump is reader-paced). */
  recvBufferSize?: number;
  /** Datagrams received ahead on the transport's thread; default DUMP_RECEIVE_AHEAD, 0 = none. */
  receiveAhead?: number;
}

/**
 * 32 slots of 32 KiB (1 MiB): the kernel can build ~4,800 entries ahead of our parser, far more
 * than it needs to keep busy (our handler is ~5x faster than the kernel's dump per entry).
 */
export const DUMP_RECEIVE_AHEAD = 32;

/** What the last (or current) dump saw. Mutated in place. */
export interface DumpStats {
  /** Entries handed to the sink. */
  entries: number;
  /** Entry messages skipped: malformed, or without an IPv4/IPv6 source. */
  skipped: number;
  datagrams: number;
  bytes: number;
  /** The kernel flagged NLM_F_DUMP_INTR. */
  interrupted: boolean;
  /** Duration in ms (performance.now()). */
  ms: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/** One dump at a time over one socket; the building block of the sources. */
export class ConntrackDumpStream {
  readonly stats: DumpStats = { entries: 0, skipped: 0, datagrams: 0, bytes: 0, interrupted: false, ms: NaN };
  private readonly open: () => NetlinkTransport;
  private transport: NetlinkTransport;
  private readonly request: Buffer;
  private readonly seqs = new SequenceCounter();
  private readonly reader = new ConntrackEntryReader();
  private readonly timeoutMs: number;
  private readonly onTimeout = (): void => this.finish(new KernelSourceError('conntrack dump: no NLMSG_DONE in time', 'ETIMEDOUT'), true);
  private timer: NodeJS.Timeout | null = null;
  private pendingSeq = 0;
  private startedAt = 0;
  private sink: DumpEntrySink | null = null;
  private done: ReadDone | null = null;
  private closed = false;

  constructor(openTransport: NetlinkTransportFactory, options: ConntrackDumpOptions = {}) {
    this.request = allocConntrackDumpRequest(options.family ?? 0);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const handlers = {
      onDatagram: (datagram: Buffer): void => this.onDatagram(datagram),
      onError: (error: NodeJS.ErrnoException): void => {
        if (this.done) this.finish(new KernelSourceError(`conntrack dump: socket error: ${error.message}`, error.code ?? 'EIO'), true);
      },
    };
    const transportOptions: NetlinkTransportOptions = { receiveAhead: options.receiveAhead ?? DUMP_RECEIVE_AHEAD };
    if (options.recvBufferSize !== undefined) transportOptions.recvBufferSize = options.recvBufferSize;
    this.open = () => openTransport(NETLINK_NETFILTER, handlers, transportOptions);
    this.transport = this.open();
  }

  get running(): boolean {
    return this.done !== null;
  }

  /** Starts a dump; false (and nothing else happens) when one is running or the stream is closed. */
  start(sink: DumpEntrySink, done: ReadDone): boolean {
    if (this.done !== null || this.closed) return false;
    const stats = this.stats;
    stats.entries = 0;
    stats.skipped = 0;
    stats.datagrams = 0;
    stats.bytes = 0;
    stats.interrupted = false;
    stats.ms = NaN;
    this.sink = sink;
    this.done = done;
    this.startedAt = performance.now();
    const seq = this.seqs.next();
    setRequestSeq(this.request, seq);
    // As int32, the way onDatagram reads sequence numbers back.
    this.pendingSeq = seq | 0;
    this.timer = setTimeout(this.onTimeout, this.timeoutMs);
    this.transport.send(this.request);
    return true;
  }

  /** Fails a dump in flight (ECLOSED) and closes the socket. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.finish(new KernelSourceError('conntrack dump: closed', 'ECLOSED'), false);
    this.transport.close();
  }

  /**
   * The message walk is written out with byte loads (not MessageCursor) for the same reason as
   * the entry reader's: it runs once per entry, ~1,700 datagrams of ~150 entries per 250 k.
   */
  private onDatagram(buf: Buffer): void {
    const sink = this.sink;
    if (sink === null) return;
    const stats = this.stats;
    const end = buf.length;
    stats.datagrams++;
    stats.bytes += end;
    const reader = this.reader;
    const seq = this.pendingSeq;
    let at = 0;
    while (at < end) {
      if (end - at < NLMSG_HDRLEN) return this.malformed('truncated message header');
      const len = h32(buf, at);
      if (len < NLMSG_HDRLEN) return this.malformed('message length shorter than its header');
      if (len > end - at) return this.malformed('message length runs past the datagram');
      if (h32(buf, at + 8) === seq) {
        if ((h16(buf, at + 6) & NLM_F_DUMP_INTR) !== 0) stats.interrupted = true;
        const type = h16(buf, at + 4);
        if (type === CT_NEW) {
          if (reader.readAt(buf, at + NLMSG_HDRLEN, at + len)) {
            stats.entries++;
            sink.dumpEntry(reader);
          } else {
            stats.skipped++;
          }
        } else if (type === NLMSG_DONE || type === NLMSG_ERROR) {
          // DONE carries the dump's final status where an error message has its errno:
          // a negative int after the header (absent from a bare DONE).
          const errno = len >= NLMSG_HDRLEN + 4 ? 0 - h32(buf, at + NLMSG_HDRLEN) : 0;
          this.finish(errno > 0 ? errnoError('conntrack dump', errno) : null, errno > 0);
          return;
        }
      }
      at += (len + 3) & ~3;
    }
  }

  private malformed(problem: string): void {
    this.finish(malformedError('conntrack dump datagram', problem), true);
  }

  private finish(error: Error | null, replaceSocket: boolean): void {
    const done = this.done;
    if (done === null) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.done = null;
    this.sink = null;
    this.pendingSeq = 0;
    this.stats.ms = performance.now() - this.startedAt;
    if (replaceSocket && !this.closed) {
      // The kernel may still be in the middle of this dump on the old socket.
      this.transport.close();
      this.transport = this.open();
    }
    done(error);
  }
}

/** Totals of a ConntrackDumper, mutated in place. */
export interface DumperCounts {
  dumps: number;
  failures: number;
  interrupted: number;
}

/**
 * A full dump aggregated per host into a caller's table. The dump fills a second table of the
 * same capacity, which is copied into the caller's at NLMSG_DONE: a reader sees the previous
 * result until then, never a half dump, and a failed dump leaves it untouched. One dump at a
 * time: dump() while one runs completes at once with an 'EBUSY' error.
 */
export class ConntrackDumper implements DumpEntrySink {
  readonly counts: DumperCounts = { dumps: 0, failures: 0, interrupted: 0 };
  private readonly stream: ConntrackDumpStream;
  private staging: HostTable | null = null;
  private target: ConntrackHostTable | null = null;
  private done: ReadDone | null = null;
  private readonly onStreamDone = (error: Error | null): void => this.streamDone(error);

  constructor(openTransport: NetlinkTransportFactory, options: ConntrackDumpOptions = {}) {
    this.stream = new ConntrackDumpStream(openTransport, options);
  }

  /** What the last dump saw: entries, datagrams, bytes, DUMP_INTR, duration. */
  get last(): Readonly<DumpStats> {
    return this.stream.stats;
  }

  dump(table: ConntrackHostTable, done: ReadDone): void {
    if (this.done !== null) {
      done(new KernelSourceError('conntrack dump: one is already running', 'EBUSY'));
      return;
    }
    if (this.staging === null || this.staging.capacity !== table.capacity) this.staging = new HostTable(table.capacity);
    this.staging.clear();
    this.target = table;
    this.done = done;
    if (!this.stream.start(this, this.onStreamDone)) {
      this.target = null;
      this.done = null;
      done(new KernelSourceError('conntrack dump: closed', 'ECLOSED'));
    }
  }

  dumpEntry(reader: ConntrackEntryReader): void {
    const staging = this.staging!;
    const row = staging.rowOf(reader.buf, reader.srcOffset, reader.ipv6, true);
    if (row >= 0) staging.count(row, reader.kind(), 1);
  }

  close(): void {
    this.stream.close();
  }

  private streamDone(error: Error | null): void {
    const done = this.done!;
    const target = this.target!;
    this.done = null;
    this.target = null;
    if (error !== null) {
      this.counts.failures++;
    } else {
      target.copyFrom(this.staging!);
      target.noteDump();
      this.counts.dumps++;
      if (this.stream.stats.interrupted) this.counts.interrupted++;
    }
    done(error);
  }
}
