/**
 * Bridge FDB changes from RTNLGRP_NEIGH: which MAC the bridge learned on which port, and
 * when a learned MAC moved to another port. A MAC flapping between ports is how a switching
 * loop shows on a Linux bridge (notes/loop-storm.md §1.2, §2.7): the bridge updates the
 * entry and notifies (br_fdb_update() → fdb_notify(RTM_NEWNEIGH)), but logs nothing.
 *
 * What counts (see FdbEntryKind): learned entries, including NTF_EXT_LEARNED ones, which on
 * a DSA switch are the only sign of a move inside the chip. Local (NUD_PERMANENT) and static
 * (NUD_NOARP) entries are skipped: they never move by learning, and the bridge's own MAC
 * coming back through a loop does not notify at all (the kernel only logs it; the port
 * counters' PORT_OWN_SOURCE is the signal for that). RTM_DELNEIGH (ageing, flush when a
 * port goes down) does not forget a MAC: a host re-cabled to another port is one move.
 *
 * The kernel does not say where a MAC was before, so a bounded table (MacPortTable) keeps
 * the last port per MAC and VLAN; a move is a learned entry whose port differs from it.
 *
 * Hot path (a storm sends thousands of notifications a second): no allocation per message.
 * MACs reach listeners as two 24-bit ints, the clock is read once per datagram. The netlink
 * binding itself allocates one Buffer per datagram (rawSocket.ts).
 *
 * Lost events: when notifications outrun the socket's receive buffer the kernel drops them
 * and the next read fails with ENOBUFS. We count it and go on; there is no re-dump, because
 * a full FDB dump in the middle of a storm costs more than it tells, and a burst of lost FDB
 * events is itself a loop signal.
 */
import type { FdbMoveListener, FdbMoveSource, SourceStatus } from '../index.ts';
import { NETLINK_ROUTE, RTM_DELNEIGH, RTM_NEWNEIGH, RTNLGRP_NEIGH } from '../netlink/constants.ts';
import { MessageCursor } from '../netlink/reader.ts';
import type { NetlinkTransport, NetlinkTransportFactory } from '../netlink/transport.ts';
import { FdbEntryReader } from './fdbMessage.ts';
import { MacPortTable } from './macPortTable.ts';

/** Every learned-entry notification, moves included. `atMs` is monotonic (performance.now()). */
export type FdbUpdateListener = (oui: number, nic: number, port: number, master: number, vlan: number, atMs: number) => void;

export type { FdbMoveListener };

export interface FdbEventsLogger {
  warn(message: string): void;
}

export interface FdbEventsOptions {
  log?: FdbEventsLogger;
  /** MACs (per VLAN) remembered for move detection; the least recently updated go first. */
  maxMacs?: number;
  /** Monotonic clock in ms; performance.now() by default. */
  now?: () => number;
  /** SO_RCVBUF; large, so a storm's notification burst overflows it late. */
  recvBufferSize?: number;
}

/** Running totals, mutated in place; read them, don't keep copies per event. */
export interface FdbEventCounts {
  /** Learned-entry RTM_NEWNEIGH notifications delivered to listeners. */
  updates: number;
  moves: number;
  /** RTM_DELNEIGH for learned entries (ageing, flush). */
  deletes: number;
  /** Notifications skipped: other families, local/static entries, NTF_SELF tables. */
  ignored: number;
  /** Overflows of the receive queue (ENOBUFS) or cut datagrams: events were lost. */
  lost: number;
  /** Messages that could not be parsed. */
  malformed: number;
}

const DEFAULT_RCVBUF = 1024 * 1024;
/** A storm can overflow the socket many times a second; one log line per this long. */
const LOST_LOG_INTERVAL_MS = 10_000;

export class NetlinkFdbEvents implements FdbMoveSource {
  readonly status: SourceStatus = { backend: 'netlink', detail: 'RTNLGRP_NEIGH bridge FDB notifications' };
  readonly counts: FdbEventCounts = { updates: 0, moves: 0, deletes: 0, ignored: 0, lost: 0, malformed: 0 };
  private readonly table: MacPortTable;
  private readonly messages = new MessageCursor();
  private readonly entry = new FdbEntryReader();
  private readonly transport: NetlinkTransport;
  private readonly log: FdbEventsLogger;
  private readonly now: () => number;
  private readonly updateListeners: FdbUpdateListener[] = [];
  private readonly moveListeners: FdbMoveListener[] = [];
  private lostLoggedAt = -Infinity;
  private lostSinceLog = 0;
  private closed = false;

  /** Joins RTNLGRP_NEIGH at once; events flow from the next turn of the event loop. */
  constructor(openTransport: NetlinkTransportFactory, options: FdbEventsOptions = {}) {
    this.table = new MacPortTable(options.maxMacs ?? 4096);
    this.log = options.log ?? { warn: () => {} };
    this.now = options.now ?? (() => performance.now());
    this.transport = openTransport(
      NETLINK_ROUTE,
      {
        onDatagram: (datagram) => this.onDatagram(datagram),
        onError: (error) => this.onSocketError(error),
      },
      { groups: [RTNLGRP_NEIGH], recvBufferSize: options.recvBufferSize ?? DEFAULT_RCVBUF },
    );
  }

  onUpdate(listener: FdbUpdateListener): void {
    this.updateListeners.push(listener);
  }

  onMove(listener: FdbMoveListener): void {
    this.moveListeners.push(listener);
  }

  /** MACs currently remembered, and how many were evicted to stay within maxMacs. */
  get tracked(): { size: number; evictions: number } {
    return { size: this.table.size, evictions: this.table.evictions };
  }

  /** Last port the MAC was learned on (0 = unknown). */
  lastPort(oui: number, nic: number, vlan = 0): number {
    return this.table.get(oui, nic, vlan);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
  }

  private onSocketError(error: NodeJS.ErrnoException): void {
    if (error.code === 'ENOBUFS' || error.code === 'ETRUNC') {
      this.counts.lost++;
      this.lostSinceLog++;
      const at = this.now();
      if (at - this.lostLoggedAt >= LOST_LOG_INTERVAL_MS) {
        this.log.warn(`bridge FDB notifications lost (${error.code}, ${this.lostSinceLog}x since last report); MAC moves may be missed`);
        this.lostLoggedAt = at;
        this.lostSinceLog = 0;
      }
      return;
    }
    this.log.warn(`bridge FDB socket error: ${error.message}`);
  }

  private onDatagram(datagram: Buffer): void {
    if (this.closed) return;
    const msg = this.messages.reset(datagram);
    let atMs = NaN;
    while (msg.next()) {
      if (msg.type !== RTM_NEWNEIGH && msg.type !== RTM_DELNEIGH) continue;
      const entry = this.entry;
      if (!entry.read(msg)) {
        this.counts.malformed++;
        continue;
      }
      if (entry.kind() !== 'learned') {
        this.counts.ignored++;
        continue;
      }
      if (msg.type === RTM_DELNEIGH) {
        this.counts.deletes++;
        continue;
      }
      if (Number.isNaN(atMs)) atMs = this.now();
      this.onLearned(entry, atMs);
    }
    if (msg.problem !== null) this.counts.malformed++;
  }

  private onLearned(entry: FdbEntryReader, atMs: number): void {
    const { oui, nic, port, master, vlan } = entry;
    const fromPort = this.table.swap(oui, nic, vlan, port);
    this.counts.updates++;
    for (let i = 0; i < this.updateListeners.length; i++) this.updateListeners[i]!(oui, nic, port, master, vlan, atMs);
    if (fromPort === 0 || fromPort === port) return;
    this.counts.moves++;
    for (let i = 0; i < this.moveListeners.length; i++) this.moveListeners[i]!(oui, nic, port, fromPort, master, vlan, atMs);
  }
}
