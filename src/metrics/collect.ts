/**
 * The metric families of one scrape, read from what the sampler and the alarm engine
 * already hold: a sink reports, it never computes (rates are PromQL's job, from the raw
 * counters).
 *
 * Names, types and meanings follow node_exporter where it has the metric (collector/
 * conntrack_linux.go, netdev_common.go), so existing dashboards and alert rules work on a
 * box that runs lanwatch instead of node_exporter. Everything else is lanwatch_*.
 */
import {
  LINK_FIELDS,
  LINK_MULTICAST,
  LINK_RX_BYTES,
  LINK_RX_DROPPED,
  LINK_RX_ERRORS,
  LINK_RX_PACKETS,
  LINK_TX_BYTES,
  LINK_TX_DROPPED,
  LINK_TX_ERRORS,
  LINK_TX_PACKETS,
} from '../../hal/index.ts';
import type { AlarmState, Severity } from '../alarms/types.ts';
import type { Sampler } from '../sampler/sampler.ts';
import { renderExposition, type MetricFamily, type MetricSample, type MetricType } from './exposition.ts';

/** Which interface plays which part; the same shape the board resolution produces. */
export interface InterfaceRoles {
  wan: string | null;
  lan: readonly string[];
  bridge: string | null;
}

export interface MqttCounters {
  connected: boolean;
  messagesSent: number;
  bytesSent: number;
}

export interface MetricsSources {
  sampler: Sampler;
  /** A getter: roles are re-resolved when interfaces come and go. */
  roles: () => InterfaceRoles;
  alarms: () => readonly AlarmState[];
  agent: { version: string; startedAtMono: number };
  /** Absent when MQTT is off; null while the client does not exist yet. */
  mqtt?: () => MqttCounters | null;
}

interface NetdevCounter {
  field: number;
  name: string;
  key: string;
}

// node_exporter's default (non-"detailed") names. Its receive_drop also adds
// rx_missed_errors, which the HAL does not read: ours is rtnl_link_stats64 rx_dropped alone.
const NETDEV_COUNTERS: readonly NetdevCounter[] = [
  { field: LINK_RX_BYTES, name: 'node_network_receive_bytes_total', key: 'receive_bytes' },
  { field: LINK_TX_BYTES, name: 'node_network_transmit_bytes_total', key: 'transmit_bytes' },
  { field: LINK_RX_PACKETS, name: 'node_network_receive_packets_total', key: 'receive_packets' },
  { field: LINK_TX_PACKETS, name: 'node_network_transmit_packets_total', key: 'transmit_packets' },
  { field: LINK_RX_ERRORS, name: 'node_network_receive_errs_total', key: 'receive_errs' },
  { field: LINK_TX_ERRORS, name: 'node_network_transmit_errs_total', key: 'transmit_errs' },
  { field: LINK_RX_DROPPED, name: 'node_network_receive_drop_total', key: 'receive_drop' },
  { field: LINK_TX_DROPPED, name: 'node_network_transmit_drop_total', key: 'transmit_drop' },
  { field: LINK_MULTICAST, name: 'node_network_receive_multicast_total', key: 'receive_multicast' },
];

const SEVERITY_LEVEL: Record<Severity, number> = { warning: 1, critical: 2 };

function family(name: string, type: MetricType, help: string, samples: MetricSample[] = []): MetricFamily {
  return { name, type, help, samples };
}

/** Unknown values are left out rather than reported as a number nobody measured. */
function known(samples: MetricSample[], value: number, labels?: MetricSample['labels']): void {
  if (!Number.isNaN(value)) samples.push(labels ? { labels, value } : { value });
}

function conntrackFamilies(sampler: Sampler): MetricFamily[] {
  // `latest` keeps the last good read; while the source fails, say nothing instead.
  if (!sampler.conntrackHealth.ok) return [];
  const ct = sampler.conntrack.latest;
  // node_exporter declares the per-CPU statistics as gauges, though they only grow.
  // Matching it keeps its alert rules and recording rules valid here.
  const stat = (name: string, help: string, value: number): MetricFamily => {
    const f = family(`node_nf_conntrack_stat_${name}`, 'gauge', help);
    known(f.samples, value);
    return f;
  };
  const entries = family('node_nf_conntrack_entries', 'gauge', 'Number of currently allocated flow entries for connection tracking.');
  known(entries.samples, ct.count);
  const limit = family('node_nf_conntrack_entries_limit', 'gauge', 'Maximum size of connection tracking table.');
  known(limit.samples, ct.max);
  return [
    entries,
    limit,
    stat('found', 'Number of searched entries which were successful.', ct.found),
    stat('invalid', 'Number of packets seen which can not be tracked.', ct.invalid),
    stat('insert_failed', 'Number of entries for which list insertion was attempted but failed.', ct.insertFailed),
    stat('drop', 'Number of packets dropped due to conntrack failure.', ct.drop),
    stat('early_drop', 'Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.', ct.earlyDrop),
    stat('search_restart', 'Number of conntrack table lookups which had to be restarted due to hashtable resizes.', ct.searchRestart),
  ];
}

function netdevFamilies(sampler: Sampler): MetricFamily[] {
  const families = NETDEV_COUNTERS.map((c) => family(c.name, 'counter', `Network device statistic ${c.key}.`));
  const links = sampler.links;
  const values = links.values;
  for (const row of links.rows()) {
    if (!row.present || !links.hasCounters(row.slot)) continue;
    const labels = { device: row.name };
    const base = row.slot * LINK_FIELDS;
    for (let i = 0; i < NETDEV_COUNTERS.length; i++) {
      known(families[i]!.samples, values[base + NETDEV_COUNTERS[i]!.field]!, labels);
    }
  }
  return families;
}

function roleFamily(roles: InterfaceRoles): MetricFamily {
  const f = family('lanwatch_interface_role', 'gauge', 'Role of an interface on this router (wan, lan or bridge); always 1, for joins.');
  const seen = new Set<string>();
  const add = (device: string | null, role: string): void => {
    if (!device || seen.has(`${role}\n${device}`)) return;
    seen.add(`${role}\n${device}`);
    f.samples.push({ labels: { device, role }, value: 1 });
  };
  add(roles.wan, 'wan');
  for (const lan of roles.lan) add(lan, 'lan');
  add(roles.bridge, 'bridge');
  return f;
}

function alarmFamilies(alarms: readonly AlarmState[]): MetricFamily[] {
  const active = family('lanwatch_alarm_active', 'gauge', 'Whether the alarm is raised (1) or clear (0).');
  const severity = family('lanwatch_alarm_severity', 'gauge', 'Current severity of the alarm: 0 none, 1 warning, 2 critical.');
  const raised = family('lanwatch_alarm_raised_total', 'counter', 'Times the alarm was raised since the agent started.');
  for (const alarm of alarms) {
    const labels = { alarm: alarm.name };
    active.samples.push({ labels, value: alarm.active ? 1 : 0 });
    severity.samples.push({ labels, value: alarm.severity ? SEVERITY_LEVEL[alarm.severity] : 0 });
    raised.samples.push({ labels, value: alarm.raisedCount });
  }
  return [active, severity, raised];
}

function mqttFamilies(counters: MqttCounters): MetricFamily[] {
  return [
    family('lanwatch_mqtt_connected', 'gauge', 'Whether the MQTT client is connected to the broker.', [
      { value: counters.connected ? 1 : 0 },
    ]),
    family('lanwatch_mqtt_messages_sent_total', 'counter', 'MQTT messages published since the agent started.', [
      { value: counters.messagesSent },
    ]),
    family('lanwatch_mqtt_bytes_sent_total', 'counter', 'MQTT payload bytes published since the agent started.', [
      { value: counters.bytesSent },
    ]),
  ];
}

/** `nowMono` is monotonic ms on the same clock as `agent.startedAtMono`. */
export function collectMetrics(sources: MetricsSources, nowMono: number = performance.now()): MetricFamily[] {
  const { sampler, agent } = sources;
  const families: MetricFamily[] = [
    family('lanwatch_build_info', 'gauge', 'Version of the lanwatch agent; always 1.', [
      { labels: { version: agent.version }, value: 1 },
    ]),
    family('lanwatch_uptime_seconds', 'gauge', 'Seconds since the agent started.', [
      { value: Math.max(0, Math.round(nowMono - agent.startedAtMono) / 1000) },
    ]),
    family('lanwatch_sampler_ticks_total', 'counter', 'Sampling ticks completed.', [{ value: sampler.ticks }]),
    family('lanwatch_sampler_overruns_total', 'counter', 'Sampling ticks skipped because the previous one had not finished.', [
      { value: sampler.overruns },
    ]),
    roleFamily(sources.roles()),
    ...alarmFamilies(sources.alarms()),
    ...conntrackFamilies(sampler),
    ...netdevFamilies(sampler),
  ];
  const mqtt = sources.mqtt?.();
  if (mqtt) families.push(...mqttFamilies(mqtt));
  return families;
}

export function renderMetrics(sources: MetricsSources, nowMono?: number): string {
  return renderExposition(collectMetrics(sources, nowMono));
}
