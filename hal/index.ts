/**
 * The HAL contract: everything the agent core may ask of the kernel. Types, the row
 * layout of counter tables, and the few allocation-free helpers every backend shares.
 *
 * The hot path (one sampler tick) must not allocate, so counter reads write into
 * caller-owned typed arrays and report completion through a callback the caller
 * created once, instead of returning objects or promises.
 */

/** Which implementation serves a source, and why it was chosen. Shown in `agent status`. */
/**
 * 'nftables': counters in our own nft table read over netlink (port counters); 'ethtool': the
 * NIC's hardware MIB counters (port counters, planned).
 */
export type BackendName = 'netlink' | 'sysfs' | 'procfs' | 'nftables' | 'ethtool' | 'fake' | 'none';

export interface SourceStatus {
  /** Backend in use. 'none' means the feature is off; `detail` says why. */
  backend: BackendName;
  /** One line for a person: why this backend ("no CAP_NET_ADMIN", "nf_conntrack not loaded"). */
  detail: string;
}

/** Operational state as the kernel names it (IF_OPER_*, RFC 2863). */
export type OperState =
  | 'unknown'
  | 'notpresent'
  | 'down'
  | 'lowerlayerdown'
  | 'testing'
  | 'dormant'
  | 'up';

/**
 * What a link is. From IFLA_INFO_KIND when the kernel sets it (bridge, veth, vlan,
 * wireguard, bond, dsa, tun, macvlan…), otherwise from the ARPHRD type: 'ethernet'
 * for a plain NIC (on-board or USB), 'ppp', 'loopback', or 'other'.
 */
export type LinkKind = string;

export interface LinkInfo {
  index: number;
  name: string;
  kind: LinkKind;
  /** Index of the bridge (or bond) this link is enslaved to, 0 if none. */
  masterIndex: number;
  mtu: number;
  operState: OperState;
  /** Lower-case colon MAC, or null for links without one (wireguard, ppp, tun). */
  mac: string | null;
}

export type LinkEvent = 'added' | 'changed' | 'removed';
export type LinkListener = (event: LinkEvent, link: LinkInfo) => void;

/** Link inventory: the start-up list, kept current from kernel notifications. */
export interface LinkInventory {
  readonly status: SourceStatus;
  /** Loads the initial list and starts following changes. */
  start(): Promise<void>;
  /** Current links, by ifindex. The map is live: do not keep references across ticks. */
  readonly links: ReadonlyMap<number, LinkInfo>;
  onChange(listener: LinkListener): void;
  close(): void;
}

/**
 * Layout of one link's row in a counter table. Values are the kernel's cumulative
 * counters (rtnl_link_stats64 or sysfs statistics/), stored as float64: exact to 2^53.
 */
export const LINK_RX_PACKETS = 0;
export const LINK_TX_PACKETS = 1;
export const LINK_RX_BYTES = 2;
export const LINK_TX_BYTES = 3;
export const LINK_RX_ERRORS = 4;
export const LINK_TX_ERRORS = 5;
export const LINK_RX_DROPPED = 6;
export const LINK_TX_DROPPED = 7;
export const LINK_MULTICAST = 8;
export const LINK_FIELDS = 9;

/**
 * Where a counter read writes. Implemented by the sampler; a backend finds the row of
 * a link by ifindex (netlink) or by name (sysfs) and writes LINK_FIELDS values there.
 */
export interface LinkCounterSink {
  /** row-major: values[slot * LINK_FIELDS + LINK_*] */
  readonly values: Float64Array;
  /** Row for this ifindex, or -1 when the link is not tracked. */
  slotOfIndex(ifindex: number): number;
  /** Row for this interface name, or -1 when the link is not tracked. */
  slotOfName(name: string): number;
  /** Marks a row as written by the current read. */
  markRead(slot: number): void;
}

/** Completion of a counter read. Created once by the caller and passed on every read. */
export type ReadDone = (error: Error | null) => void;

/** Interface counters for all links, one kernel request per read. */
export interface LinkStatsSource {
  readonly status: SourceStatus;
  /**
   * Writes every link's counters into `sink`, then calls `done` exactly once (possibly
   * before returning). A read started while another is pending supersedes it: the
   * earlier `done` is called first, with an error whose `code` is 'ESUPERSEDED'.
   */
  read(sink: LinkCounterSink, done: ReadDone): void;
  close(): void;
}

/**
 * Conntrack counters, mutated in place by a read. NaN means "not available from this
 * backend" (for instance the per-CPU statistics when /proc/net/stat/nf_conntrack is
 * compiled out). The per-CPU counters are the kernel's 32-bit per-CPU values summed.
 *
 * There is no `insert`/`new` counter: current kernels leave both at 0 (seen on 6.18 with
 * entries being created), so a new-connection rate must come from conntrack events.
 */
export interface ConntrackSample {
  count: number;
  max: number;
  found: number;
  invalid: number;
  insertFailed: number;
  drop: number;
  earlyDrop: number;
  error: number;
  searchRestart: number;
}

export interface ConntrackStatsSource {
  readonly status: SourceStatus;
  /** Fills `out`, then calls `done` exactly once; superseding as for LinkStatsSource. */
  read(out: ConntrackSample, done: ReadDone): void;
  close(): void;
}

/**
 * Per-host conntrack ranking (issue 5): which hosts hold how many entries of the table.
 *
 * Hosts are keyed by the ORIGINAL-direction source address of each entry: for a flow a LAN
 * host opened through the masquerade that is the LAN host, before NAT. IPv4 and IPv6 share one
 * key space of 16-byte addresses, IPv4 as mapped (::ffff:a.b.c.d). Every entry counts, also
 * the router's own flows and inbound ones (port forwards, keyed by the remote address): which
 * rows are "LAN hosts" is for the sink to decide (by subnet, neighbour table).
 *
 * Layout of one host's row (and of the whole-table totals): entry counts. Every entry adds 1
 * to HOST_ENTRIES and to exactly one of HOST_TCP_ESTABLISHED … HOST_OTHER_PROTO, so those six
 * sum to HOST_ENTRIES; HOST_UNREPLIED and HOST_SNAT are flags counted across them.
 */
export const HOST_ENTRIES = 0;
/** TCP in state ESTABLISHED; also TCP flows offloaded to a flowtable (the kernel hides their state). */
export const HOST_TCP_ESTABLISHED = 1;
/** TCP in FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE: on their way out. */
export const HOST_TCP_CLOSING = 2;
/** TCP in NONE, SYN_SENT, SYN_RECV, SYN_SENT2 (or with no state reported). */
export const HOST_TCP_OTHER = 3;
export const HOST_UDP = 4;
/** ICMP and ICMPv6. */
export const HOST_ICMP = 5;
/** Any other layer-4 protocol (GRE, ESP, SCTP, UDP-Lite, IGMP, …). */
export const HOST_OTHER_PROTO = 6;
/** No IPS_SEEN_REPLY: nothing came back yet; the first entries early_drop evicts. */
export const HOST_UNREPLIED = 7;
/**
 * IPS_SRC_NAT: the flow leaves through a masquerade/SNAT. When we are the router these are the
 * entries that also occupy the upstream device's NAT table.
 */
export const HOST_SNAT = 8;
export const HOST_FIELDS = 9;

/**
 * How a source describes one entry to a table: the HOST_* field of its protocol/state
 * (HOST_TCP_ESTABLISHED … HOST_OTHER_PROTO, in the low three bits) ORed with the two flags.
 */
export const HOST_KIND_FIELD_MASK = 0x7;
export const HOST_KIND_UNREPLIED = 0x8;
export const HOST_KIND_SNAT = 0x10;

/**
 * A bounded, allocation-free table of hosts and their entry counts. Caller-owned, like the
 * counter sinks: the agent creates one (hal/linux/conntrackHostTable.ts) and hands it to a
 * ConntrackHostSource, which writes; sinks read.
 *
 * Reading (sinks, every few seconds): iterate rows with `for (let r = t.nextRow(-1); r >= 0;
 * r = t.nextRow(r))`, read `counts[r * HOST_FIELDS + HOST_*]`, and build an address string with
 * addressOf(r) only for the rows that are published. `topRows` ranks without allocating.
 * Rows are stable while a host holds entries; a host whose last entry goes is removed and its
 * row may be reused by another host, so keep addresses, not row numbers, across reads.
 *
 * Consistency: JavaScript runs one callback at a time, so a reader always sees a table in
 * which every counted entry is counted in full; the sources never let a reader see a half
 * dump (see ConntrackHostSource.dump). `dumps` is 0 until a first full dump has landed.
 */
export interface ConntrackHostTable {
  /** Most hosts it holds; entries of further hosts are counted in `overflow`, never thrown. */
  readonly capacity: number;
  /** Hosts held now (rows with at least one entry). */
  readonly size: number;
  /** row-major: counts[row * HOST_FIELDS + HOST_*]. The array is the same for the table's life. */
  readonly counts: Int32Array;
  /** Whole table per HOST_* field, over counted entries (overflow excluded). */
  readonly totals: Float64Array;
  /** Entries left uncounted because every row was taken; reset at each full dump. */
  readonly overflow: number;
  /** Full dumps whose result this table holds (0: never filled, contents not meaningful yet). */
  readonly dumps: number;

  /** First row in use after `row` (start with -1), or -1 at the end. */
  nextRow(row: number): number;
  /** Whether the row's host is IPv4 (a mapped address). */
  isIPv4(row: number): boolean;
  /** The row's address as text ("10.77.0.2", "fd00::1"). Allocates: sinks only. */
  addressOf(row: number): string;
  /** Row of the host with this address (text), or -1. Allocates: tests and sinks only. */
  rowOfAddress(address: string): number;
  /**
   * Writes the rows with the most `field` into `out` (largest first, ties by lower row),
   * up to out.length of them; returns how many it wrote. Allocation-free.
   */
  topRows(field: number, out: Int32Array): number;

  // Write side: sources only.
  /**
   * Row of the host whose address is the 4 (IPv4) or 16 (IPv6) bytes at `offset` of `buf`.
   * With `create`, adds the host when absent; -1 when absent (or, creating, when the table is
   * full: then `overflow` counts the entry and the caller must not count it).
   */
  rowOf(buf: Uint8Array, offset: number, ipv6: boolean, create: boolean): number;
  /**
   * Adds `delta` entries of `kind` (HOST_KIND_*) to `row` and to the totals. When the row's
   * HOST_ENTRIES reaches 0 the host is removed.
   */
  count(row: number, kind: number, delta: number): void;
  /** Forgets every host; `dumps` and `overflow` back to 0. */
  clear(): void;
  /** Sets `overflow` back to 0; a source does when a full dump starts. */
  resetOverflow(): void;
  /**
   * Makes this table's hosts, counts and overflow an exact copy of `other`'s (same
   * implementation and capacity), rows keeping their numbers, arrays keeping their identity;
   * `dumps` stays. How a dump filled off to the side lands at once.
   */
  copyFrom(other: ConntrackHostTable): void;
  /** Marks the end of a full dump whose result the table now holds (`dumps` + 1). */
  noteDump(): void;
}

/** Running totals of a ConntrackHostSource, mutated in place. */
export interface ConntrackHostCounts {
  /** Full dumps completed without error. */
  dumps: number;
  /** Dumps that failed (error, timeout, malformed reply); the table kept its previous contents. */
  dumpFailures: number;
  /** Dumps the kernel flagged NLM_F_DUMP_INTR (possibly inconsistent): another dump follows. */
  dumpsInterrupted: number;
  /** Entries in the last complete dump, and how long it took (ms), and when it ended (epoch ms). */
  lastDumpEntries: number;
  lastDumpMs: number;
  lastDumpAt: number;
  /**
   * NEW events: entries the kernel created (cumulative). The new-entry rate comes from here, as
   * the kernel's own insert/new counters stay 0 (see ConntrackSample).
   */
  newEntries: number;
  /** New entries in the last whole second. */
  newPerSecond: number;
  /** UPDATE events (state changes) applied, when the source follows them. */
  updates: number;
  /** DESTROY events. */
  destroys: number;
  /** Event-socket overflows (ENOBUFS, cut datagrams): events were lost, a resync followed. */
  lost: number;
  /** Full dumps run to resynchronise: after lost events, on DUMP_INTR, and every interval. */
  resyncs: number;
  /** Messages that could not be parsed (skipped). */
  malformed: number;
}

/**
 * Per-host conntrack counts from the kernel's table, kept current.
 *
 * dump(): one full dump of the table into `table`. When `done(null)` is called the table holds
 * exactly the kernel's entries as the dump saw them (plus events that arrived meanwhile); a
 * failed dump leaves the previous contents. A reader never sees a half dump: a first fill is
 * built off to the side and copied in at the end; later ones only correct entries in place.
 * One dump at a time: calling dump() while one runs joins it (done called when it ends).
 * A source follows one table: the first dump() binds it, and dump() with another table while
 * a dump runs fails with 'EBUSY' (with none running it rebinds: a first fill of the new table).
 *
 * A source that follows events keeps the table given to its latest dump() current between
 * dumps (NEW adds, DESTROY removes, UPDATE moves state when followed), and by itself runs a
 * full dump again when events were lost (ENOBUFS), when a dump was interrupted, and every
 * resync interval. What is exact between dumps is the source's to document (status.detail).
 */
export interface ConntrackHostSource {
  readonly status: SourceStatus;
  readonly counts: ConntrackHostCounts;
  dump(table: ConntrackHostTable, done: ReadDone): void;
  /** Stops following and closes the sockets; a dump in flight completes with an error. */
  close(): void;
}

/**
 * Layout of one bridge port's row in a port-counter table: cumulative ingress frame counts
 * (packets, not bytes) as the source counts them, float64. The protocol counters count only
 * broadcast and multicast frames (what floods and snowballs in a loop); "other" is derived
 * by the sampler as broadcast + multicast minus the protocol counters.
 */
export const PORT_BCAST = 0;
export const PORT_MCAST = 1;
export const PORT_ARP = 2;
/** ICMPv6 neighbour discovery, types 133–137. */
export const PORT_ND = 3;
/** UDP 5353. */
export const PORT_MDNS = 4;
/** UDP 1900. */
export const PORT_SSDP = 5;
/** UDP 67/68 (DHCPv4) and 546/547 (DHCPv6). */
export const PORT_DHCP = 6;
/**
 * Frames arriving on the port with the bridge's own MAC as source: the bridge's own frames
 * coming back, which only a loop does. NaN when the source cannot tell.
 */
export const PORT_OWN_SOURCE = 7;
export const PORT_FIELDS = 8;

/** Which bridge ports to count, and the bridge MAC whose return means a loop. */
export interface PortCounterPlan {
  bridge: string;
  /** Lower-case colon MAC of the bridge, or null when it has none. */
  bridgeMac: string | null;
  ports: readonly string[];
}

/** Where a port-counter read writes; implemented by the sampler. */
export interface PortCounterSink {
  /** row-major: values[slot * PORT_FIELDS + PORT_*] */
  readonly values: Float64Array;
  /** Row for this port name, or -1 when the port is not tracked. */
  slotOfPort(name: string): number;
  /** Marks a row as written by the current read. */
  markPortRead(slot: number): void;
}

/** Per-port broadcast/multicast/protocol counters of the LAN bridge ports. */
export interface PortCounterSource {
  readonly status: SourceStatus;
  /**
   * (Re)installs whatever counting the backend needs for these ports (the nftables table,
   * for the nft backend), replacing a previous plan. Rejects with a message for people.
   */
  apply(plan: PortCounterPlan): Promise<void>;
  /** As LinkStatsSource.read: fills the sink, `done` exactly once, superseding. */
  read(sink: PortCounterSink, done: ReadDone): void;
  /**
   * What counts this port under the applied plan, for people ("nftables", "ethtool eth-mac +
   * nftables"); null when this source does not count it (the sampler then falls back to the
   * interface multicast counter).
   */
  sourceOf(port: string): string | null;
  /** Removes what apply() installed. */
  close(): Promise<void>;
}

/**
 * A learned MAC now behind bridge port `port` (ifindex), last seen behind `fromPort` (same VLAN).
 * The MAC comes as two 24-bit halves (OUI, NIC part) so that a storm of moves allocates
 * nothing; `atMs` is monotonic (performance.now()).
 */
export type FdbMoveListener = (
  oui: number,
  nic: number,
  port: number,
  fromPort: number,
  master: number,
  vlan: number,
  atMs: number,
) => void;

/** Bridge forwarding-database moves: the MAC-flapping signal of a loop. */
export interface FdbMoveSource {
  readonly status: SourceStatus;
  onMove(listener: FdbMoveListener): void;
  /** Notifications the kernel dropped (socket overflow): moves may have been missed. */
  readonly counts: { readonly moves: number; readonly lost: number };
  close(): void;
}

/** How probes leave a bridge: its IPv4 directed broadcast, or IPv6 all-nodes when it has no IPv4. */
export type ProbeVia = 'ipv4-broadcast' | 'ipv6-all-nodes';

export interface LoopProbeBridge {
  name: string;
}

/** One bridge's probe, for `agent status` and MQTT. */
export interface ProbeBridgeStatus {
  bridge: string;
  /** How probes leave this bridge; null when the probe is off for it (see detail). */
  via: ProbeVia | null;
  /** `10.88.0.255:9` or `[ff02::1%br0]:9`; null when off. */
  destination: string | null;
  /** Datagrams the kernel accepted. */
  sent: number;
  /** Sends (or socket opens) that failed; lastError says the latest why. */
  failed: number;
  /** Sends not made: rate-limited, or the previous one on this bridge still under way. */
  skipped: number;
  lastError: string | null;
  /** Wall-clock ms of the last datagram the kernel accepted. */
  lastSentAt: number | null;
  /** Why the probe is off for this bridge ("no address: probe off"), else null. */
  detail: string | null;
}

/**
 * The loop probe: a small UDP broadcast with a nonce out of each LAN bridge, so that a loop
 * always has one of the bridge's own frames to bring back (hal/linux/broadcastProbe.ts).
 */
export interface LoopProbe {
  /** This run's nonce (16 hex digits), as carried by every probe: for status and captures. */
  readonly nonceHex: string;
  /**
   * One probe out of every bridge, or only `bridge`. Bridges probed less than the minimum
   * interval ago are skipped. Never rejects; resolves with how many probes the kernel accepted.
   */
  send(bridge?: string): Promise<number>;
  /** Re-reads the bridges' addresses now (call on link or address changes). */
  refresh(): void;
  /** Replaces the set of bridges; sockets of bridges no longer named are closed. */
  setBridges(bridges: readonly LoopProbeBridge[]): void;
  /** One entry per bridge, in the order given. */
  status(): ProbeBridgeStatus[];
  /** Closes every socket; later sends do nothing. Idempotent. */
  close(): Promise<void>;
}

/**
 * Loop protection's guard: which bridge ports are cut off (every frame dropped in both
 * directions, after the port counters) while a switching loop runs through them.
 */
/** A port that loop protection must never block, and why, phrased to follow "it carries …". */
export interface ProtectedPort {
  port: string;
  reason: string;
}

export interface PortGuard {
  /**
   * Replaces whatever a previous (crashed) run left with a guard that blocks nothing.
   * Rejects with a message for people (nft missing, no CAP_NET_ADMIN, no bridge support).
   */
  install(): Promise<void>;
  /** Drops every frame entering or leaving `port`. Resolves once the kernel holds it. */
  block(port: string): Promise<void>;
  /** Lets `port` pass again; fine when it is not blocked. */
  unblock(port: string): Promise<void>;
  /** The ports the kernel blocks now, read back from the kernel (sorted). */
  blocked(): Promise<string[]>;
  /** Removes the guard from the kernel: no port stays blocked after the agent. */
  close(): Promise<void>;
}

/** What to keep out of the guard's reach: the LAN bridge, the WAN, the local ssh ports. */
export interface ProtectedPortQuery {
  bridge: string | null;
  wan: string | null;
  sshPorts: readonly number[];
}

/**
 * Finds the ports loop protection must never block (WAN, default-route interfaces, the bridge
 * port behind which the default gateway and each ssh peer are learned). Never rejects for a
 * missing file or entry: `notes` say what could not be found.
 */
export type ProtectedPortResolver = (query: ProtectedPortQuery) => Promise<{ ports: ProtectedPort[]; notes: string[] }>;

/** Who a LAN host is, as far as the box knows. */
export interface HostIdentity {
  mac: string | null;
  name: string | null;
}

/** One backend's set of sources. The agent wiring picks the backend per source. */
export interface Hal {
  readonly inventory: LinkInventory;
  readonly linkStats: LinkStatsSource;
  readonly conntrack: ConntrackStatsSource;
  /**
   * Per-bridge-port counters. A backend that cannot count ports (no nftables, no
   * CAP_NET_ADMIN) may give a source whose status is 'none' and whose sourceOf() is always
   * null, so that `agent status` can say why.
   */
  readonly ports?: PortCounterSource;
  /** Bridge FDB moves; absent when the backend has none. */
  readonly fdb?: FdbMoveSource;
  /** The loop probe; absent when the backend has none. */
  readonly probe?: LoopProbe;
  /**
   * Per-host conntrack counts (a source following `hostTable`) and who the hosts are; absent
   * when ctnetlink can't be used (no CAP_NET_ADMIN, nf_conntrack_netlink missing).
   */
  readonly conntrackHosts?: ConntrackHostSource;
  readonly hostTable?: ConntrackHostTable;
  /** MAC and name by address text ("10.77.0.2"), from the neighbour cache and DHCP leases. */
  readonly hostIdentities?: () => Promise<Map<string, HostIdentity>>;
  /** Loop protection's guard and the resolver of the ports it must spare; absent without. */
  readonly guard?: PortGuard;
  readonly protectedPorts?: ProtectedPortResolver;
  close(): void;
}

/**
 * Sets every per-CPU counter of `out` to `value`. Named stores on purpose, as in
 * copyConntrackSample: a keyed store over a list of field names boxes each double into a
 * new heap number, which per tick is exactly the allocation the hot path must not make.
 */
export function fillConntrackCounters(out: ConntrackSample, value: number): void {
  out.found = value;
  out.invalid = value;
  out.insertFailed = value;
  out.drop = value;
  out.earlyDrop = value;
  out.error = value;
  out.searchRestart = value;
}

/** Copies a sample field by field, allocation-free (see fillConntrackCounters). */
export function copyConntrackSample(from: ConntrackSample, to: ConntrackSample): void {
  to.count = from.count;
  to.max = from.max;
  to.found = from.found;
  to.invalid = from.invalid;
  to.insertFailed = from.insertFailed;
  to.drop = from.drop;
  to.earlyDrop = from.earlyDrop;
  to.error = from.error;
  to.searchRestart = from.searchRestart;
}

export function emptyConntrackSample(): ConntrackSample {
  return {
    count: NaN,
    max: NaN,
    found: NaN,
    invalid: NaN,
    insertFailed: NaN,
    drop: NaN,
    earlyDrop: NaN,
    error: NaN,
    searchRestart: NaN,
  };
}
