/**
 * The JSON schema of /etc/lanwatch/config.json: the single source of keys, types, limits,
 * defaults, environment variable names (see env.ts) and the wording of problems.
 */
import { PROFILE_IDS } from '../../board/profiles.ts';
import { defaultsOf, objectSchema } from './nodes.ts';
import type {
  AlarmsConfig,
  Config,
  InterfacesConfig,
  LogConfig,
  LoopAlarmLevels,
  LoopConfig,
  MqttConfig,
  NatConfig,
  NatFullAlarmLevels,
  NatTableAlarmLevels,
  NatUpstreamAlarmLevels,
  PrometheusConfig,
  StormAlarmLevels,
} from './types.ts';

export const DEFAULT_CONFIG_PATH = '/etc/lanwatch/config.json';

const ABSOLUTE_FILE = { pattern: '^/', expected: 'an absolute path to a file, or null' } as const;

// Linux dev_valid_name(): 1..15 bytes (IFNAMSIZ - 1), not "." or "..", no "/", ":" or whitespace.
const INTERFACE_NAME = {
  type: 'string',
  minLength: 1,
  maxLength: 15,
  pattern: '^(?!\\.\\.?$)[^/:\\s]+$',
  expected: 'an interface name',
} as const;

// Home Assistant accepts only these characters in discovery topic segments and node ids.
const TOPIC = {
  pattern: '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$',
  expected: 'an MQTT topic like lanwatch or home/lanwatch (letters, digits, _ and -, levels split by /)',
} as const;

const PERCENT = { type: 'number', minimum: 0, maximum: 100, expected: 'a percentage from 0 to 100' } as const;

const HOLD_MS = {
  type: 'integer',
  minimum: 0,
  maximum: 3_600_000,
  default: 60_000,
  description: 'Least time in milliseconds an alarm stays at a severity before it may drop or clear.',
  expected: 'a whole number of milliseconds from 0 to 3600000',
} as const;

const natTable = objectSchema<NatTableAlarmLevels>(
  'Conntrack (NAT) table usage in percent of nf_conntrack_max. Each level raises above its ' +
    'percentage and clears below its clear percentage, so it does not flap around the limit.',
  {
    enabled: { type: 'boolean', default: true, description: 'Raise NAT table alarms at all.', expected: 'true or false' },
    warnPct: { ...PERCENT, default: 90, description: 'Warning above this usage.' },
    warnClearPct: { ...PERCENT, default: 85, description: 'The warning clears below this usage; below warnPct.' },
    critPct: { ...PERCENT, default: 95, description: 'Critical above this usage; at or above warnPct.' },
    critClearPct: { ...PERCENT, default: 90, description: 'Critical clears below this usage; below critPct.' },
    holdMs: HOLD_MS,
  },
);

const storm = objectSchema<StormAlarmLevels>(
  'Broadcast storm per LAN port: broadcast + multicast frames per second, by an absolute level ' +
    'or against the port\'s own 5-minute baseline. Clears at half the level after 5 s.',
  {
    enabled: { type: 'boolean', default: true, description: 'Raise the storm alarm at all.', expected: 'true or false' },
    raisePps: {
      type: 'number',
      minimum: 10,
      maximum: 100_000_000,
      default: 1000,
      description: 'Frames per second on one port that raise at once (Cisco storm-control judges each 1 s the same way).',
      expected: 'a number of frames per second from 10 to 100000000',
    },
    baselineFactor: {
      type: 'number',
      minimum: 2,
      maximum: 1000,
      default: 20,
      description: 'Raise when the 10 s average exceeds this many times the 5-minute baseline…',
      expected: 'a factor from 2 to 1000',
    },
    baselineFloorPps: {
      type: 'number',
      minimum: 1,
      maximum: 100_000_000,
      default: 200,
      description: '…and this many frames per second, so a quiet port does not raise on a few frames.',
      expected: 'a number of frames per second from 1 to 100000000',
    },
    baselineWarmupMs: {
      type: 'integer',
      minimum: 0,
      maximum: 86_400_000,
      default: 300_000,
      description: 'How long a port\'s baseline learns before the baseline rule applies, in milliseconds (one baseline window).',
      expected: 'a whole number of milliseconds from 0 to 86400000',
    },
  },
);

const loopLevels = objectSchema<LoopAlarmLevels>(
  'Switching loop: the bridge\'s own frames coming back on a port (certain, critical) or a MAC ' +
    'flapping between ports (suspected, warning).',
  {
    enabled: { type: 'boolean', default: true, description: 'Raise the loop alarm at all.', expected: 'true or false' },
    flapMoves: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 5,
      description: 'A MAC that moves between ports more than this many times within flapWindowMs is flapping.',
      expected: 'a whole number from 1 to 1000',
    },
    flapWindowMs: {
      type: 'integer',
      minimum: 1000,
      maximum: 600_000,
      default: 10_000,
      description: 'Window of flapMoves, in milliseconds.',
      expected: 'a whole number of milliseconds from 1000 to 600000',
    },
    quietMs: {
      type: 'integer',
      minimum: 1000,
      maximum: 600_000,
      default: 10_000,
      description: 'The alarm clears after this long without own frames and without flapping, in milliseconds.',
      expected: 'a whole number of milliseconds from 1000 to 600000',
    },
  },
);

const natFull = objectSchema<NatFullAlarmLevels>(
  'New connections refused by the kernel (conntrack drop, early_drop, insert_failed) within 10 s, ' +
    'which can happen before the table looks full.',
  {
    enabled: { type: 'boolean', default: true, description: 'Raise the nat_full alarm at all.', expected: 'true or false' },
    warnRefused: {
      type: 'integer',
      minimum: 1,
      maximum: 1_000_000,
      default: 1,
      description: 'Warning at this many refused connections within 10 s.',
      expected: 'a whole number from 1 to 1000000',
    },
    critRefused: {
      type: 'integer',
      minimum: 1,
      maximum: 1_000_000,
      default: 50,
      description: 'Critical at this many within 10 s; at or above warnRefused.',
      expected: 'a whole number from 1 to 1000000',
    },
    holdMs: HOLD_MS,
  },
);

const natUpstream = objectSchema<NatUpstreamAlarmLevels>(
  'Usage of the upstream device\'s NAT table in percent of nat.upstreamBudget (only when a budget is set).',
  {
    enabled: { type: 'boolean', default: true, description: 'Raise the nat_upstream alarm when a budget is set.', expected: 'true or false' },
    warnPct: { ...PERCENT, default: 80, description: 'Warning above this usage of the budget.' },
    warnClearPct: { ...PERCENT, default: 75, description: 'The warning clears below this usage; below warnPct.' },
    critPct: { ...PERCENT, default: 95, description: 'Critical above this usage; at or above warnPct.' },
    critClearPct: { ...PERCENT, default: 90, description: 'Critical clears below this usage; below critPct.' },
    holdMs: HOLD_MS,
  },
);

const alarms = objectSchema<AlarmsConfig>('Alarm levels, per alarm.', { natTable, natFull, natUpstream, storm, loop: loopLevels });

const nat = objectSchema<NatConfig>('NAT table intelligence: the upstream device\'s table and the per-host ranking.', {
  upstreamBudget: {
    type: ['integer', 'null'],
    minimum: 16,
    maximum: 10_000_000,
    default: null,
    description:
      'Session limit of the device upstream (an ISP router in front; ~2,000 on many home routers), or null. ' +
      'Entries we send it are counted against it.',
    expected: 'a whole number of sessions from 16 to 10000000, or null',
  },
  resyncIntervalMs: {
    type: 'integer',
    minimum: 5_000,
    maximum: 3_600_000,
    default: 60_000,
    description: 'A full conntrack dump at least this often, in milliseconds; conntrack events keep the ranking current in between.',
    expected: 'a whole number of milliseconds from 5000 to 3600000',
  },
});

const loop = objectSchema<LoopConfig>('The loop probe and the optional loop protection.', {
  probeIntervalMs: {
    type: 'integer',
    minimum: 0,
    maximum: 60_000,
    default: 1000,
    description:
      'Every this many milliseconds a small UDP broadcast (port 9, discard) leaves the LAN bridge; a loop brings it back. ' +
      '0 = no probe (loops are then seen only from the bridge\'s own traffic and MAC flapping).',
    expected: 'a whole number of milliseconds from 0 to 60000',
  },
  protect: {
    type: 'boolean',
    default: false,
    description:
      'On a loop, cut the looping bridge port off (every frame, both ways, like a port STP blocks) for holdDownMs, ' +
      'then re-test. Never the WAN, the uplink (default gateway) or the port of an ssh session.',
    expected: 'true or false',
  },
  holdDownMs: {
    type: 'integer',
    minimum: 10_000,
    maximum: 86_400_000,
    default: 300_000,
    description: 'How long a looping port stays blocked before it is re-tested, in milliseconds (switch loop-protect: 5 min).',
    expected: 'a whole number of milliseconds from 10000 to 86400000',
  },
  sshPorts: {
    type: 'array',
    items: { type: 'integer', minimum: 1, maximum: 65535, expected: 'a TCP port number from 1 to 65535' },
    default: [22],
    description: 'Local TCP ports of the ssh server (sshd Port, dropbear on OpenWrt): the port an ssh session comes in on is never blocked.',
    expected: 'a list of TCP port numbers',
  },
});

const interfaces = objectSchema<InterfacesConfig>(
  'Which interfaces to watch. Anything left unset comes from the board profile.',
  {
    wan: {
      ...INTERFACE_NAME,
      type: ['string', 'null'],
      expected: 'an interface name, or null',
      default: null,
      description: 'WAN interface; null = from the board profile (the default route).',
    },
    lan: {
      type: 'array',
      items: INTERFACE_NAME,
      default: [],
      description: 'LAN ports; an empty list = from the board profile.',
      expected: 'a list of interface names',
    },
    bridge: {
      ...INTERFACE_NAME,
      type: ['string', 'null'],
      expected: 'an interface name, or null',
      default: null,
      description: 'The LAN bridge; null = from the board profile.',
    },
  },
);

const mqtt = objectSchema<MqttConfig>('The MQTT broker and the Home Assistant topics.', {
  enabled: {
    type: 'boolean',
    default: true,
    description: 'Publish to the broker. While it is unreachable the agent retries with backoff and keeps sampling.',
    expected: 'true or false',
  },
  url: {
    type: 'string',
    format: 'mqtt-url',
    default: 'mqtt://localhost:1883',
    description: 'Broker URL: mqtt://, mqtts:// (TLS), ws:// or wss:// (websockets).',
    expected: 'a string like mqtt://host:1883 or mqtts://host:8883',
  },
  username: {
    type: ['string', 'null'],
    minLength: 1,
    default: null,
    description: 'Broker user name; null = connect without one.',
    expected: 'a user name, or null',
  },
  password: {
    type: ['string', 'null'],
    default: null,
    description: 'Broker password. Prefer passwordFile, which keeps the secret out of this file.',
    expected: 'a string, or null',
  },
  passwordFile: {
    type: ['string', 'null'],
    ...ABSOLUTE_FILE,
    default: null,
    description: 'A file whose first line is the broker password. Not together with password.',
  },
  ca: { type: ['string', 'null'], ...ABSOLUTE_FILE, default: null, description: 'PEM file of the CA that signed the broker certificate.' },
  cert: { type: ['string', 'null'], ...ABSOLUTE_FILE, default: null, description: 'PEM client certificate; needs key.' },
  key: { type: ['string', 'null'], ...ABSOLUTE_FILE, default: null, description: 'PEM private key of cert; needs cert.' },
  discoveryPrefix: {
    type: 'string',
    ...TOPIC,
    default: 'homeassistant',
    description: 'Home Assistant discovery prefix (its MQTT integration setting).',
  },
  baseTopic: { type: 'string', ...TOPIC, default: 'lanwatch', description: 'Prefix of state, availability and command topics.' },
  nodeId: {
    type: ['string', 'null'],
    pattern: '^[A-Za-z0-9_-]+$',
    default: null,
    description: 'Home Assistant node id; null = a stable id derived from the primary MAC address.',
    expected: 'letters, digits, _ and - only, or null',
  },
  stateIntervalMs: {
    type: 'integer',
    minimum: 1000,
    maximum: 3_600_000,
    default: 10_000,
    description: 'How often state is published, in milliseconds (1 s to 1 h).',
    expected: 'a whole number of milliseconds',
  },
});

const prometheus = objectSchema<PrometheusConfig>(
  'An optional Prometheus scrape endpoint (GET /metrics), node_exporter names where they exist.',
  {
    enabled: {
      type: 'boolean',
      default: false,
      description: 'Serve /metrics. Off by default: the agent listens on no network port unless told to.',
      expected: 'true or false',
    },
    address: {
      type: 'string',
      format: 'ip-address',
      default: '127.0.0.1',
      description: 'Address to listen on; 127.0.0.1 keeps it on this box, 0.0.0.0 or :: opens it to the network.',
      expected: 'an IPv4 or IPv6 address like 127.0.0.1 or ::1',
    },
    port: {
      type: 'integer',
      minimum: 1,
      maximum: 65535,
      default: 9839,
      description: 'TCP port of the endpoint.',
      expected: 'a port number from 1 to 65535',
    },
  },
);

const log = objectSchema<LogConfig>('Logging.', {
  level: {
    type: 'string',
    enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'],
    default: 'info',
    description: 'Least severe level that is logged.',
  },
  format: {
    type: 'string',
    enum: ['auto', 'json', 'pretty'],
    default: 'auto',
    description: 'auto = human-readable on a terminal, JSON otherwise (journal, procd).',
  },
});

export const CONFIG_SCHEMA = objectSchema<Config>(
  `lanwatch agent configuration (${DEFAULT_CONFIG_PATH}). Every key is optional; ` +
    'each can also be set with a LANWATCH_* environment variable.',
  {
    sampleIntervalMs: {
      type: 'integer',
      // 100 ms is the floor because loop detection must sustain 10 samples per second.
      minimum: 100,
      maximum: 60_000,
      default: 1000,
      description: 'Sampler tick period in milliseconds: 100 (10 Hz) to 60000.',
      expected: 'a whole number of milliseconds',
    },
    statusSocket: {
      type: ['string', 'null'],
      pattern: '^/',
      maxLength: 107, // sun_path is 108 bytes including the terminating NUL
      default: null,
      description: 'Unix socket of `agent status`; null = /run/lanwatch/status.sock as root, else a per-user runtime dir.',
      expected: 'an absolute path of at most 107 characters, or null',
    },
    board: {
      type: 'string',
      enum: ['auto', ...PROFILE_IDS],
      default: 'auto',
      description: '"auto" (fingerprint the hardware) or a board profile id.',
      expected: `"auto" or a board profile id (${PROFILE_IDS.join(', ')})`,
    },
    interfaces,
    mqtt,
    alarms,
    nat,
    loop,
    prometheus,
    log,
  },
);

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Every key at its schema default. The cast is sound because `NodeFor<Config>` makes each leaf
 * carry a `default` of its key's type and each object node list every key of its interface.
 * Frozen so no caller can change the defaults of another; mergeConfig() copies.
 */
export const DEFAULT_CONFIG: Config = deepFreeze(defaultsOf(CONFIG_SCHEMA) as Config);
