/**
 * Per-host conntrack counts kept current from the kernel: a full dump to start, events between
 * dumps, and a resync policy (ConntrackHostSource in hal/index.ts).
 *
 * Two sockets, never one (notes/ctnetlink.md §2.5): the dump socket (conntrackDump.ts) joins no
 * group; the event socket (conntrackEvents.ts) joins NEW, DESTROY and, by default, UPDATE.
 *
 * How the table stays exact (conntrackEntryIndex.ts): every counted entry is remembered by
 * (CTA_ID, ports, host) with what it was counted as. NEW and UPDATE events upsert, DESTROY
 * removes what was counted. A dump is an idempotent pass over the same index, so events racing
 * it neither double-count nor get lost, and at the end of a clean dump the entries nobody saw
 * (their DESTROY was lost) are swept out.
 *
 * - First fill of a table: built in a second table and copied in at NLMSG_DONE (events that
 *   arrive meanwhile go to the second table too), so readers see nothing until it is whole.
 * - Resync: the same pass over the live table in place. Readers may look mid-way; they then see
 *   the previous counts with some entries already corrected, never a partial table.
 * - Triggers: events lost (ENOBUFS: the kernel dropped events when the socket's buffer filled),
 *   NLM_F_DUMP_INTR, a failed dump (all no sooner than minResyncGapMs after the last dump ended,
 *   so an event storm does not turn into back-to-back dumps), and every resyncIntervalMs.
 *
 * UPDATE events: followed by default. They cost about three to five messages per TCP flow over
 * its life (SYN_RECV, ESTABLISHED, the closing states, ASSURED) and one or two per UDP flow
 * (reply seen, assured), a few thousand a second on a busy router, each parsed in place. In
 * return the TCP state split and HOST_UNREPLIED are exact between dumps, not only at each dump.
 * With followUpdates false they are as of the entry's NEW event or the last dump (an entry
 * counted SYN_SENT at NEW stays there until the next resync); HOST_ENTRIES, the protocol split
 * and HOST_SNAT stay exact either way (status.detail says which mode runs).
 *
 * Known limit: an entry destroyed while the dump batch holding it is already built and queued
 * (the kernel builds the next ~32 KiB batch while we read the current one) is counted again by
 * that batch after its DESTROY was applied; it stays until the next resync sweeps it. The
 * window is one batch read (~1 ms) per dump.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConntrackHostCounts, ConntrackHostSource, ConntrackHostTable, ReadDone, SourceStatus } from '../index.ts';
import type { NetlinkTransportFactory } from '../netlink/transport.ts';
import { ConntrackDumpStream, type DumpEntrySink, type DumpStats } from './conntrackDump.ts';
import type { ConntrackEntryReader } from './conntrackEntry.ts';
import { DEFAULT_MAX_ENTRIES, EntryIndex } from './conntrackEntryIndex.ts';
import { ConntrackEvents, DEFAULT_EVENT_RCVBUF, type EventEntrySink } from './conntrackEvents.ts';
import { emptyConntrackHostCounts, HostTable } from './conntrackHostTable.ts';
import { KernelSourceError } from './errors.ts';

export interface ConntrackHostsLogger {
  warn(message: string): void;
}

export interface LinuxConntrackHostsOptions {
  /** Full dump this long after the last one ended, even when nothing was lost. Default 60 s; 0 = never. */
  resyncIntervalMs?: number;
  /** No resync sooner than this after the previous dump ended. Default 1 s. */
  minResyncGapMs?: number;
  /** Join NFNLGRP_CONNTRACK_UPDATE (exact TCP states and unreplied between dumps). Default true. */
  followUpdates?: boolean;
  /** SO_RCVBUF of the event socket. Default 4 MiB (the kernel caps it at net.core.rmem_max, then doubles it). */
  eventRecvBufferSize?: number;
  /** A dump without NLMSG_DONE after this long fails. Default 60 s. */
  dumpTimeoutMs?: number;
  /** Most entries the index follows. Default 1,048,576. */
  maxEntries?: number;
  /** Dump family: 0 both (default), 2 IPv4, 10 IPv6. */
  family?: number;
  log?: ConntrackHostsLogger;
  /** Root of /proc, for reading net.core.rmem_max (status only). */
  root?: string;
}

const LOST_LOG_INTERVAL_MS = 10_000;

function readRmemMax(root: string): number {
  try {
    return Number(readFileSync(join(root, 'proc/sys/net/core/rmem_max'), 'utf8').trim());
  } catch {
    return NaN;
  }
}

function mib(bytes: number): string {
  return bytes >= 1 << 20 ? `${+(bytes / (1 << 20)).toFixed(1)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

export class LinuxConntrackHosts implements ConntrackHostSource, DumpEntrySink, EventEntrySink {
  readonly status: SourceStatus;
  readonly counts: ConntrackHostCounts = emptyConntrackHostCounts();
  /** Entries the index follows now (for status and tests). */
  readonly index: EntryIndex;
  private readonly stream: ConntrackDumpStream;
  private readonly events: ConntrackEvents;
  private readonly log: ConntrackHostsLogger;
  private readonly resyncIntervalMs: number;
  private readonly minResyncGapMs: number;

  /** The table being followed (bound by the first dump()). */
  private live: ConntrackHostTable | null = null;
  /** Where entries go now: the staging table during a first fill, else `live`; null = nowhere yet. */
  private target: ConntrackHostTable | null = null;
  private staging: HostTable | null = null;
  private filling = false;
  /** Whether `live` holds a landed dump (later dumps are passes in place). */
  private landed = false;
  private dirty = false;
  private closed = false;
  private waiters: ReadDone[] = [];
  private resyncTimer: NodeJS.Timeout | null = null;
  private readonly rateTimer: NodeJS.Timeout;
  private newAtLastSecond = 0;
  private lostLoggedAt = -Infinity;
  private lostSinceLog = 0;
  private readonly onStreamDone = (error: Error | null): void => this.streamDone(error);
  private readonly onResyncTimer = (): void => this.resync();

  constructor(openTransport: NetlinkTransportFactory, options: LinuxConntrackHostsOptions = {}) {
    this.log = options.log ?? { warn: () => {} };
    this.resyncIntervalMs = options.resyncIntervalMs ?? 60_000;
    this.minResyncGapMs = options.minResyncGapMs ?? 1000;
    this.index = new EntryIndex(4096, options.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.stream = new ConntrackDumpStream(openTransport, {
      ...(options.family !== undefined ? { family: options.family } : {}),
      ...(options.dumpTimeoutMs !== undefined ? { timeoutMs: options.dumpTimeoutMs } : {}),
    });
    const followUpdates = options.followUpdates ?? true;
    const rcvbuf = options.eventRecvBufferSize ?? DEFAULT_EVENT_RCVBUF;
    this.events = new ConntrackEvents(openTransport, this, { updates: followUpdates, recvBufferSize: rcvbuf });
    const rmemMax = readRmemMax(options.root ?? '/');
    const effective = Number.isFinite(rmemMax) ? 2 * Math.min(rcvbuf, rmemMax) : NaN;
    const buffer = Number.isFinite(effective)
      ? `event buffer ${mib(effective)}${rcvbuf > rmemMax ? ` (capped by net.core.rmem_max ${mib(rmemMax)})` : ''}`
      : `event buffer ${mib(rcvbuf)} asked`;
    const every = this.resyncIntervalMs > 0 ? `every ${Math.round(this.resyncIntervalMs / 1000)} s` : 'on loss only';
    this.status = {
      backend: 'netlink',
      detail: followUpdates
        ? `ctnetlink dump + NEW/UPDATE/DESTROY events, resync ${every}; ${buffer}`
        : `ctnetlink dump + NEW/DESTROY events, resync ${every}; TCP states and unreplied exact at each dump only; ${buffer}`,
    };
    // Not per event: one subtraction a second gives the new-entry rate.
    this.rateTimer = setInterval(() => {
      this.counts.newPerSecond = this.counts.newEntries - this.newAtLastSecond;
      this.newAtLastSecond = this.counts.newEntries;
    }, 1000);
    this.rateTimer.unref();
  }

  /** What the last (or current) dump saw. */
  get lastDump(): Readonly<DumpStats> {
    return this.stream.stats;
  }

  /** Whether events were lost since the last dump started (a resync is due). */
  get dirtyNow(): boolean {
    return this.dirty;
  }

  /** Whether a dump is running. */
  get dumping(): boolean {
    return this.stream.running;
  }

  dump(table: ConntrackHostTable, done: ReadDone): void {
    if (this.closed) {
      done(new KernelSourceError('conntrack hosts: closed', 'ECLOSED'));
      return;
    }
    if (table !== this.live) {
      if (this.stream.running) {
        done(new KernelSourceError('conntrack hosts: a dump of another table is running', 'EBUSY'));
        return;
      }
      this.live = table;
      this.target = null;
      this.landed = false;
    }
    this.waiters.push(done);
    if (!this.stream.running) this.startDump();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.rateTimer);
    if (this.resyncTimer !== null) clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
    this.events.close();
    this.stream.close();
    this.target = null;
  }

  // DumpEntrySink
  dumpEntry(reader: ConntrackEntryReader): void {
    this.index.upsert(this.target!, reader);
  }

  // EventEntrySink
  newEntry(reader: ConntrackEntryReader): void {
    this.counts.newEntries++;
    if (this.target !== null) this.index.upsert(this.target, reader);
  }

  updateEntry(reader: ConntrackEntryReader): void {
    this.counts.updates++;
    if (this.target !== null) this.index.upsert(this.target, reader);
  }

  destroyEntry(reader: ConntrackEntryReader): void {
    this.counts.destroys++;
    if (this.target !== null) this.index.remove(this.target, reader);
  }

  eventsLost(code: string): void {
    this.counts.lost++;
    this.lostSinceLog++;
    const at = performance.now();
    if (at - this.lostLoggedAt >= LOST_LOG_INTERVAL_MS) {
      this.log.warn(`conntrack events lost (${code}, ${this.lostSinceLog}x since last report); host counts resync from a dump`);
      this.lostLoggedAt = at;
      this.lostSinceLog = 0;
    }
    this.dirty = true;
    // While a dump runs, its end sees `dirty` and schedules the next one.
    if (!this.stream.running && this.live !== null) this.schedule(this.minResyncGapMs);
  }

  malformedEvent(_problem: string): void {
    this.counts.malformed++;
  }

  eventSocketError(error: NodeJS.ErrnoException): void {
    this.log.warn(`conntrack event socket error: ${error.message}`);
  }

  private startDump(): void {
    const live = this.live!;
    this.dirty = false;
    if (this.resyncTimer !== null) clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
    if (!this.landed) {
      if (this.staging === null || this.staging.capacity !== live.capacity) this.staging = new HostTable(live.capacity);
      this.staging.clear();
      this.index.clear();
      this.target = this.staging;
      this.filling = true;
    } else {
      this.target = live;
      live.resetOverflow();
    }
    this.index.beginPass();
    if (!this.stream.start(this, this.onStreamDone)) this.streamDone(new KernelSourceError('conntrack hosts: closed', 'ECLOSED'));
  }

  private resync(): void {
    this.resyncTimer = null;
    if (this.closed || this.live === null || this.stream.running) return;
    this.counts.resyncs++;
    this.startDump();
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.resyncTimer !== null) clearTimeout(this.resyncTimer);
    this.resyncTimer = setTimeout(this.onResyncTimer, delayMs);
    this.resyncTimer.unref();
  }

  private streamDone(error: Error | null): void {
    const counts = this.counts;
    const stats = this.stream.stats;
    const live = this.live!;
    if (error !== null) {
      counts.dumpFailures++;
      if (this.filling) {
        // Nothing lands; events wait for the next first fill.
        this.filling = false;
        this.target = null;
        this.index.clear();
      }
      this.dirty = true;
    } else {
      if (stats.interrupted) {
        counts.dumpsInterrupted++;
        this.dirty = true;
      }
      if (this.filling) {
        // Closes the pass (everything in it was seen); rows keep their numbers in the copy,
        // so the index stays valid for `live`.
        this.index.sweep(this.staging!);
        live.copyFrom(this.staging!);
        this.filling = false;
        this.landed = true;
        this.target = live;
        this.staging = null;
      } else if (!stats.interrupted) {
        this.index.sweep(live);
      }
      live.noteDump();
      counts.dumps++;
      counts.lastDumpEntries = stats.entries;
      counts.lastDumpMs = stats.ms;
      counts.lastDumpAt = Date.now();
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const done of waiters) done(error);
    if (this.closed) return;
    if (this.dirty) this.schedule(this.minResyncGapMs);
    else if (this.resyncIntervalMs > 0) this.schedule(this.resyncIntervalMs);
  }
}
