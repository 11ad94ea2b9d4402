/**
 * The HAL contract: everything the agent core may ask of the kernel. Types, the row
 * layout of counter tables, and the few allocation-free helpers every backend shares.
 *
 * The hot path (one sampler tick) must not allocate, so counter reads write into
 * caller-owned typed arrays and report completion through a callback the caller
 * created once, instead of returning objects or promises.
 */

/** Which implementation serves a source, and why it was chosen. Shown in `agent status`. */
export type BackendName = 'netlink' | 'sysfs' | 'procfs' | 'fake' | 'none';

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

/** One backend's set of sources. The agent wiring picks the backend per source. */
export interface Hal {
  readonly inventory: LinkInventory;
  readonly linkStats: LinkStatsSource;
  readonly conntrack: ConntrackStatsSource;
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
