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
