/**
 * `agent status --json`: the contract users' scripts rely on. Fields are only ever added,
 * never renamed. Rates are per second; `rxBps`/`txBps` are BYTES per second. A value the
 * agent does not know (first tick, source unavailable) is null.
 */
import type { ProbeBridgeStatus, SourceStatus } from '../../hal/index.ts';
import type { ProtectionRunnerStatus } from '../portwatch/protectionRunner.ts';

export interface BackendsStatus {
  inventory: SourceStatus;
  links: SourceStatus;
  conntrack: SourceStatus;
}

export interface SourceHealthStatus {
  ok: boolean;
  lastError: string | null;
  failures: number;
}

export interface AgentStatus {
  version: string;
  pid: number;
  uptimeS: number;
  /** ISO time the agent started. */
  startedAt: string;
  board: {
    /** Profile id: pi-router, pi-bridge, openwrt-dsa, generic. */
    id: string;
    name: string;
    role: string;
    /** What the hardware calls itself (device-tree model, OpenWrt board_name), if known. */
    model: string | null;
    /** How the interfaces were assigned, one short line per decision. */
    reasons: string[];
  };
  backends: BackendsStatus;
  health: { links: SourceHealthStatus; conntrack: SourceHealthStatus };
  demo: boolean;
  configFile: string | null;
  sampleIntervalMs: number;
  ticks: number;
  overruns: number;
  stalls: number;
  lastTickMs: number | null;
}

/** One LAN host's share of the conntrack table: entries by protocol and state. */
export interface ConntrackHostStatus {
  ip: string;
  /** From the neighbour table; null when not known. */
  mac: string | null;
  /** From the DHCP leases (dnsmasq, odhcpd) when present; null otherwise. */
  name: string | null;
  entries: number;
  tcpEstablished: number;
  /** fin_wait, close_wait, last_ack, time_wait, close. */
  tcpClosing: number;
  /** syn_sent, syn_recv and the rest. */
  tcpOther: number;
  udp: number;
  icmp: number;
  other: number;
  /** Entries that never saw a reply: the first ones the kernel drops early. */
  unreplied: number;
  /** Entries leaving through our source NAT (count against the upstream device in router mode). */
  snat: number;
}

/** The upstream device's NAT table as far as we can tell (nat.upstreamBudget set). */
export interface ConntrackUpstreamStatus {
  budget: number;
  used: number | null;
  pct: number | null;
  /** "router": entries through our SNAT; "bridge": flows we forward. */
  basis: 'router' | 'bridge';
  /** Seconds until the budget at the current growth; null when not growing or unknown. */
  secondsToFull: number | null;
}

export interface ConntrackStatus {
  count: number | null;
  max: number | null;
  pct: number | null;
  /** Per-CPU counters of the kernel, summed; cumulative since boot. */
  found: number | null;
  invalid: number | null;
  insertFailed: number | null;
  drop: number | null;
  earlyDrop: number | null;
  error: number | null;
  searchRestart: number | null;
  /** Per-second rates over the last tick. */
  dropPerS: number | null;
  earlyDropPerS: number | null;
  insertFailedPerS: number | null;
  /** New entries per second (conntrack events); null when events are unavailable. */
  newPerS: number | null;
  /** Growth of the entry count, entries per second over the last minute (least squares). */
  growthPerS: number | null;
  /** Seconds until nf_conntrack_max at that growth; null when not growing or unknown. */
  secondsToFull: number | null;
  /** Entries refused (drop + early_drop + insert_failed) within the last 10 s. */
  refused10s: number | null;
  /** LAN hosts by entries held, most first; empty until the first dump. */
  hosts: ConntrackHostStatus[];
  /** null when nat.upstreamBudget is not set. */
  upstream: ConntrackUpstreamStatus | null;
}

export type InterfaceRole = 'wan' | 'lan' | 'bridge' | null;

export interface InterfaceStatus {
  name: string;
  index: number;
  kind: string;
  role: InterfaceRole;
  /** Bridge this port belongs to, if any. */
  master: string | null;
  operState: string;
  mtu: number;
  mac: string | null;
  rxPps: number | null;
  txPps: number | null;
  rxBps: number | null;
  txBps: number | null;
  multicastPps: number | null;
  errorsPerS: number | null;
  dropsPerS: number | null;
  /**
   * Bridge ports only (null elsewhere): ingress broadcast and multicast frames per second as
   * the port-counter source counts them, which `portCounterSource` names.
   */
  bcastPps: number | null;
  mcastPps: number | null;
  /** Broadcast + multicast frames per second by protocol; `other` is what none matched. */
  protocols: PortProtocols | null;
  /** Frames per second arriving with the bridge's own MAC as source: only a loop does that. */
  ownFramesPerS: number | null;
  /** "nftables", "ethtool", "interface multicast counter"… null when the port is not counted. */
  portCounterSource: string | null;
  /** Broadcast + multicast pps, one value per second for the last 60 s, oldest first. */
  bcastMcastLast60s: (number | null)[] | null;
}

export interface PortProtocols {
  arp: number | null;
  nd: number | null;
  mdns: number | null;
  ssdp: number | null;
  dhcp: number | null;
  other: number | null;
}

export interface AlarmStatus {
  name: string;
  /** For people: "NAT table almost full". */
  title: string;
  active: boolean;
  severity: 'warning' | 'critical' | null;
  /** ISO time the current severity (or the cleared state) began; null before any change. */
  since: string | null;
  /** Latest value in the alarm's unit (percent for nat_table); null when unknown. */
  value: number | null;
  /** Highest value of the current (or last) active period. */
  peak: number | null;
  reason: string;
  /** Times raised since the agent started. */
  raisedCount: number;
  lastRaisedAt: string | null;
  lastClearedAt: string | null;
  attributes: Record<string, unknown>;
}

export interface MqttStatus {
  enabled: boolean;
  /** Broker URL without user name or password. */
  broker: string;
  /** disabled, connecting, connected, waiting (to retry after a failure), stopped. */
  state: string;
  /** ISO time the state began. */
  since: string;
  nodeId: string;
  connects: number;
  messagesSent: number;
  /** Bytes written to the broker, MQTT framing included. */
  bytesSent: number;
  lastPublishAt: string | null;
  lastError: string | null;
  /** While waiting: ISO time of the next attempt. */
  nextAttemptAt: string | null;
}

export interface MetricsEndpointStatus {
  /** "http://127.0.0.1:9839/metrics", or null when the endpoint is off. */
  url: string | null;
  /** Why it is not serving, when it should be (port in use…). */
  error: string | null;
}

/** The storm and loop watch over the LAN ports: what is counted, how, the probe. */
export interface PortWatchStatus {
  /** The LAN bridge whose ports are counted; null when there is none. */
  bridge: string | null;
  /** Ports counted by the port-counter source (bridge members). */
  counted: string[];
  /** Every port with rates, counted or on the interface multicast fallback. */
  watched: string[];
  /** The port-counter source as started: nftables, ethtool, or none and why. */
  source: SourceStatus | null;
  /** Why counting could not be installed for the current ports, while that lasts. */
  countingError: string | null;
  health: SourceHealthStatus;
  /** Bridge FDB moves seen and notifications the kernel dropped. */
  fdb: { moves: number; lost: number } | null;
  /** The loop probe; null when there is none (intervalMs 0 means configured off). */
  probe: { intervalMs: number; nonce: string; bridges: ProbeBridgeStatus[] } | null;
  /**
   * Loop protection (`loop.protect`): `enabled`, `blocked[]` (`port`, `since`, `until` epoch
   * ms, `reason`, `blocks`), `refused[]`, `protectedPorts[]` (`port`, `reason`), `failures[]`,
   * `recent[]` actions; null when this machine cannot block ports.
   */
  protection: ProtectionRunnerStatus | null;
}

export interface StatusSnapshot {
  agent: AgentStatus;
  conntrack: ConntrackStatus;
  interfaces: InterfaceStatus[];
  alarms: AlarmStatus[];
  portWatch: PortWatchStatus;
  mqtt: MqttStatus;
  prometheus: MetricsEndpointStatus;
}
