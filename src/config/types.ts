/**
 * The agent's configuration as the core sees it after defaults, the board profile, the
 * config file and LANWATCH_* environment variables are merged (in that order, later wins).
 * Keys are camelCase; the JSON schema in schema.ts is the single source of validation.
 */

export interface NatTableAlarmLevels {
  enabled: boolean;
  /** Usage in percent of nf_conntrack_max. Warning raises above warnPct, clears below warnClearPct. */
  warnPct: number;
  warnClearPct: number;
  critPct: number;
  critClearPct: number;
  /** Least time an alarm stays at a severity before it may drop or clear, in ms. */
  holdMs: number;
}

/** Broadcast-storm levels per LAN port (src/detect/stormOptions.ts has the sources). */
export interface StormAlarmLevels {
  enabled: boolean;
  /** Broadcast + multicast frames per second on one port that raise at once. */
  raisePps: number;
  /** The 10 s average above this many times the port's 5-minute baseline… */
  baselineFactor: number;
  /** …and above this many pps raises too. */
  baselineFloorPps: number;
  /** Traffic a port's baseline must have learned before the baseline rule applies, in ms. */
  baselineWarmupMs: number;
}

/** Switching-loop signals (src/detect/loopOptions.ts has the sources). */
export interface LoopAlarmLevels {
  enabled: boolean;
  /** A MAC moving between ports more than this many times within flapWindowMs is flapping. */
  flapMoves: number;
  flapWindowMs: number;
  /** The alarm clears after this long without own frames and without flaps. */
  quietMs: number;
}

/** Refused conntrack entries (drop + early_drop + insert_failed) within 10 s. */
export interface NatFullAlarmLevels {
  enabled: boolean;
  warnRefused: number;
  critRefused: number;
  holdMs: number;
}

/** Upstream NAT usage in percent of nat.upstreamBudget; levels as natTable's. */
export interface NatUpstreamAlarmLevels {
  enabled: boolean;
  warnPct: number;
  warnClearPct: number;
  critPct: number;
  critClearPct: number;
  holdMs: number;
}

export interface AlarmsConfig {
  natTable: NatTableAlarmLevels;
  natFull: NatFullAlarmLevels;
  natUpstream: NatUpstreamAlarmLevels;
  storm: StormAlarmLevels;
  loop: LoopAlarmLevels;
}

/** NAT table intelligence: the upstream device's table and the per-host ranking. */
export interface NatConfig {
  /**
   * Session limit of the device upstream (an ISP router in front), or null when unknown. When
   * set, entries we send it are counted against it and the nat_upstream alarm watches them.
   */
  upstreamBudget: number | null;
  /** Full conntrack dump (per-host ranking) at least this often, ms; events keep it current between. */
  resyncIntervalMs: number;
}

/** The loop probe and the optional protection. */
export interface LoopConfig {
  /** Period of the broadcast probe out of the LAN bridge, in ms; 0 turns the probe off. */
  probeIntervalMs: number;
  /** Cut a looping port off (every frame, both ways, like an STP-blocked port). Off by default. */
  protect: boolean;
  /** How long a port stays blocked before it is re-tested, in ms. */
  holdDownMs: number;
  /** Local TCP ports of ssh servers: the port an ssh session comes in on is never blocked. */
  sshPorts: number[];
}

export interface InterfacesConfig {
  /** WAN interface name; null = from the board profile (default route). */
  wan: string | null;
  /** LAN ports; empty = from the board profile. */
  lan: string[];
  /** The LAN bridge; null = from the board profile. */
  bridge: string | null;
}

export interface MqttConfig {
  /** Publish to a broker at all. With no broker reachable the agent keeps retrying quietly. */
  enabled: boolean;
  url: string;
  username: string | null;
  password: string | null;
  /** A file whose first line is the password; keeps secrets out of the config file. */
  passwordFile: string | null;
  /** Paths to PEM files for TLS. */
  ca: string | null;
  cert: string | null;
  key: string | null;
  discoveryPrefix: string;
  baseTopic: string;
  /** null = a stable id derived from the primary MAC. */
  nodeId: string | null;
  stateIntervalMs: number;
}

export interface PrometheusConfig {
  /** Off by default: nothing listens on the network unless configured. */
  enabled: boolean;
  /** Address to bind; 127.0.0.1 keeps it on the box. */
  address: string;
  port: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
/** auto = human-readable on a terminal, JSON otherwise (systemd journal, procd). */
export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LogConfig {
  level: LogLevel;
  format: LogFormat;
}

export interface Config {
  /** Tick period of the sampler. 100 ms (10 Hz) to 60 s. */
  sampleIntervalMs: number;
  /** Unix socket of `agent status`; null = /run/lanwatch/status.sock as root, else a per-user runtime dir. */
  statusSocket: string | null;
  /** "auto" or a board profile id (see board/profiles.ts). */
  board: string;
  interfaces: InterfacesConfig;
  mqtt: MqttConfig;
  alarms: AlarmsConfig;
  nat: NatConfig;
  loop: LoopConfig;
  prometheus: PrometheusConfig;
  log: LogConfig;
}

/** A partial value at any depth; arrays are replaced whole, never merged. */
export type DeepPartial<T> = T extends readonly (infer E)[]
  ? E[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** What a file, the environment or a board profile may set. */
export type ConfigLayer = DeepPartial<Config>;

/** One problem found in a config source, with the path of the offending value. */
export interface ConfigProblem {
  /** Where the value came from: a file path or "environment". */
  source: string;
  /**
   * Dotted path of the key ("mqtt.url", "interfaces.lan[1]"), or the variable name for the
   * environment; "" when the problem is the source as a whole (unreadable, not JSON, missing).
   */
  path: string;
  /** What is wrong and what was expected, for a person. */
  message: string;
}
