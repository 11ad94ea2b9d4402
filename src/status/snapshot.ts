/**
 * Builds the status snapshot from the sampler's latest tick. Runs on request (a person
 * typing `agent status`), never per tick, so allocating here is fine.
 */
import type { Hal } from '../../hal/index.ts';
import {
  CT_DROP_PS,
  CT_EARLY_DROP_PS,
  CT_INSERT_FAILED_PS,
} from '../sampler/conntrackHistory.ts';
import {
  IF_DROPS_PS,
  IF_ERRORS_PS,
  IF_MULTICAST_PPS,
  IF_RX_BPS,
  IF_RX_PPS,
  IF_TX_BPS,
  IF_TX_PPS,
} from '../sampler/linkTable.ts';
import type { AlarmState } from '../alarms/types.ts';
import type { Sampler } from '../sampler/sampler.ts';
import { portFields } from './portStatus.ts';
import type {
  AgentStatus,
  AlarmStatus,
  ConntrackStatus,
  InterfaceRole,
  InterfaceStatus,
  MetricsEndpointStatus,
  MqttStatus,
  PortWatchStatus,
  StatusSnapshot,
} from './types.ts';


type NatStatusFields = Pick<ConntrackStatus, 'newPerS' | 'growthPerS' | 'secondsToFull' | 'refused10s' | 'hosts' | 'upstream'>;

/** Without NAT watching (no conntrack source): the fields are there, and say "unknown". */
const NO_NAT_FIELDS: NatStatusFields = { newPerS: null, growthPerS: null, secondsToFull: null, refused10s: null, hosts: [], upstream: null };

export interface SnapshotContext {
  sampler: Sampler;
  hal: Hal;
  agent: Omit<AgentStatus, 'uptimeS' | 'backends' | 'health' | 'ticks' | 'overruns' | 'stalls' | 'lastTickMs'>;
  /** Monotonic ms at start. */
  startedAtMono: number;
  roles: { wan: string | null; lan: readonly string[]; bridge: string | null };
  alarms: () => readonly AlarmState[];
  mqtt: () => MqttStatus;
  prometheus: () => MetricsEndpointStatus;
  /** The storm/loop watch without the parts the snapshot adds itself (source, health, probe). */
  portWatch: () => Pick<PortWatchStatus, 'bridge' | 'counted' | 'watched' | 'countingError' | 'fdb' | 'protection'>;
  /** The NAT intelligence fields of `conntrack` (ranking, upstream, forecasts). */
  nat?: () => NatStatusFields;
  /** Configured probe period, ms (0 = off). */
  probeIntervalMs: number;
}

/** How a person should read the port counters' origin. */
function isoOrNull(epochMs: number | null): string | null {
  return epochMs === null ? null : new Date(epochMs).toISOString();
}

export function alarmStatus(state: AlarmState): AlarmStatus {
  return {
    name: state.name,
    title: state.title,
    active: state.active,
    severity: state.severity,
    since: isoOrNull(state.since),
    value: known(state.value),
    peak: known(state.peak),
    reason: state.reason,
    raisedCount: state.raisedCount,
    lastRaisedAt: isoOrNull(state.lastRaisedAt),
    lastClearedAt: isoOrNull(state.lastClearedAt),
    attributes: state.attributes,
  };
}

/** NaN and ±Infinity become null; everything else is rounded for people, not floats. */
function known(value: number, decimals = 1): number | null {
  if (!Number.isFinite(value)) return null;
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

function roleOf(name: string, roles: SnapshotContext['roles']): InterfaceRole {
  if (name === roles.wan) return 'wan';
  if (name === roles.bridge) return 'bridge';
  if (roles.lan.includes(name)) return 'lan';
  return null;
}

export function buildSnapshot(context: SnapshotContext, nowMono = performance.now()): StatusSnapshot {
  const { sampler, hal } = context;
  const latest = sampler.clock.indexAt(0);
  const ct = sampler.conntrack.latest;
  const ctHistory = sampler.conntrack.history;
  const interfaces: InterfaceStatus[] = [];
  for (const row of sampler.links.rows()) {
    if (!row.present || !row.info) continue;
    const info = row.info;
    const history = row.history;
    interfaces.push({
      name: row.name,
      index: row.index,
      kind: info.kind,
      role: roleOf(row.name, context.roles),
      master: info.masterIndex ? (hal.inventory.links.get(info.masterIndex)?.name ?? null) : null,
      operState: info.operState,
      mtu: info.mtu,
      mac: info.mac,
      rxPps: known(history.get(IF_RX_PPS, latest)),
      txPps: known(history.get(IF_TX_PPS, latest)),
      rxBps: known(history.get(IF_RX_BPS, latest), 0),
      txBps: known(history.get(IF_TX_BPS, latest), 0),
      multicastPps: known(history.get(IF_MULTICAST_PPS, latest)),
      errorsPerS: known(history.get(IF_ERRORS_PS, latest)),
      dropsPerS: known(history.get(IF_DROPS_PS, latest)),
      ...portFields(sampler, row.name),
    });
  }
  const health = (h: Sampler['linkHealth']) => ({ ok: h.ok, lastError: h.lastError, failures: h.failures });
  return {
    agent: {
      ...context.agent,
      uptimeS: Math.floor((nowMono - context.startedAtMono) / 1000),
      backends: {
        inventory: hal.inventory.status,
        links: hal.linkStats.status,
        conntrack: hal.conntrack.status,
      },
      health: { links: health(sampler.linkHealth), conntrack: health(sampler.conntrackHealth) },
      ticks: sampler.ticks,
      overruns: sampler.overruns,
      stalls: sampler.stalls,
      lastTickMs: known(sampler.lastTickMs, 3),
    },
    conntrack: {
      count: known(ct.count, 0),
      max: known(ct.max, 0),
      pct: ct.max > 0 ? known((ct.count / ct.max) * 100, 1) : null,
      found: known(ct.found, 0),
      invalid: known(ct.invalid, 0),
      insertFailed: known(ct.insertFailed, 0),
      drop: known(ct.drop, 0),
      earlyDrop: known(ct.earlyDrop, 0),
      error: known(ct.error, 0),
      searchRestart: known(ct.searchRestart, 0),
      dropPerS: known(ctHistory.get(CT_DROP_PS, latest)),
      earlyDropPerS: known(ctHistory.get(CT_EARLY_DROP_PS, latest)),
      insertFailedPerS: known(ctHistory.get(CT_INSERT_FAILED_PS, latest)),
      ...(context.nat?.() ?? NO_NAT_FIELDS),
    },
    interfaces,
    alarms: context.alarms().map(alarmStatus),
    portWatch: {
      ...context.portWatch(),
      source: hal.ports?.status ?? null,
      health: health(sampler.portHealth),
      probe: hal.probe ? { intervalMs: context.probeIntervalMs, nonce: hal.probe.nonceHex, bridges: hal.probe.status() } : null,
    },
    mqtt: context.mqtt(),
    prometheus: context.prometheus(),
  };
}
