/**
 * Home Assistant device-based discovery (HA 2024.11+): one retained message describes the
 * whole device and all its entities, instead of one message per entity. Keys use HA's
 * documented abbreviations (homeassistant/components/mqtt/abbreviations.py), which keeps the
 * payload small enough to resend on every HA restart. Topics are written out in full: `~` is
 * only documented for per-entity payloads, and a wrong guess would leave every entity dead.
 *
 * Choices, each for a complaint users of similar projects raise (notes/ha-mqtt.md):
 * - unique ids from the MAC, never the hostname or IP (two Pis called "raspberrypi" would merge);
 * - units on every numeric sensor, `measurement` for every rate and level;
 * - `expire_after` on live values, so a dead agent's last numbers do not look current;
 * - `default_entity_id`, not the deprecated `object_id` (HA 2025.10 warns, 2026.4 drops it);
 * - technical entities `diagnostic`, the noisy ones disabled by default.
 */
import type { AgentIdentity } from './identity.ts';
import type { PublishedPort } from './stateDocument.ts';
import type { Topics } from './topics.ts';

export interface DeviceDescription {
  /** What HA calls the device: the hostname, which the user recognises. */
  name: string;
  manufacturer: string | null;
  model: string | null;
  /** The OS release ("Debian GNU/Linux 12 (bookworm)", "OpenWrt 24.10.0"). */
  osRelease: string | null;
}

export interface DiscoveredAlarm {
  name: string;
  title: string;
}

export interface DiscoveryInput {
  topics: Topics;
  identity: AgentIdentity;
  device: DeviceDescription;
  agentVersion: string;
  ports: readonly PublishedPort[];
  /** Announce the upstream NAT usage sensor (nat.upstreamBudget is set). */
  upstream: boolean;
  alarms: readonly DiscoveredAlarm[];
  stateIntervalMs: number;
  /** Components to announce as removed (`{"p": …}` only), HA's way to delete one entity. */
  removed?: ReadonlyMap<string, string>;
}

export type Component = Record<string, string | number | boolean>;

export interface DiscoveryPayload {
  dev: Record<string, unknown>;
  o: Record<string, string>;
  avty_t: string;
  stat_t: string;
  cmps: Record<string, Component>;
}

/** HA object and component ids allow [a-zA-Z0-9_-]; "br-lan" → "br_lan", "eth0.2" → "eth0_2". */
export function componentSlug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/** `expire_after` in whole seconds: three missed state documents (rpi-mqtt-monitor's rule). */
export function expireAfterSeconds(stateIntervalMs: number): number {
  return Math.ceil((3 * stateIntervalMs) / 1000);
}

interface SensorSpec {
  id: string;
  name: string;
  template: string;
  unit?: string;
  deviceClass?: string;
  precision?: number;
  diagnostic?: boolean;
  disabled?: boolean;
  icon?: string;
  /** Attributes from the state document: a template rendering a JSON object. */
  attributesTemplate?: string;
  /** Live values expire; identity-like values (version, start time) do not. */
  live: boolean;
  measurement: boolean;
}

export function buildDiscovery(input: DiscoveryInput): { topic: string; payload: DiscoveryPayload } {
  const { topics, identity } = input;
  const expireAfter = expireAfterSeconds(input.stateIntervalMs);
  const cmps: Record<string, Component> = {};

  const sensor = (spec: SensorSpec): void => {
    const c: Component = {
      p: 'sensor',
      uniq_id: `${identity.deviceId}_${spec.id}`,
      default_entity_id: `sensor.${identity.nodeId}_${spec.id}`.toLowerCase(),
      name: spec.name,
      val_tpl: spec.template,
    };
    if (spec.unit !== undefined) c.unit_of_meas = spec.unit;
    if (spec.deviceClass !== undefined) c.dev_cla = spec.deviceClass;
    if (spec.measurement) c.stat_cla = 'measurement';
    if (spec.precision !== undefined) c.sug_dsp_prc = spec.precision;
    if (spec.diagnostic) c.ent_cat = 'diagnostic';
    if (spec.disabled) c.en = false;
    if (spec.icon !== undefined) c.ic = spec.icon;
    if (spec.attributesTemplate !== undefined) {
      // json_attributes_topic is not one of the root options a component inherits, so it is
      // named here. On the state topic, HA writes the entity only when the attributes changed.
      c.json_attr_t = topics.state;
      c.json_attr_tpl = spec.attributesTemplate;
    }
    if (spec.live) c.exp_aft = expireAfter;
    cmps[spec.id] = c;
  };

  // The NAT (conntrack) table: what fills up and silently breaks new connections.
  const ct = (key: string): string => `{{ value_json.conntrack.${key} }}`;
  // The hosts holding most entries ride on the entries sensor, the one every user has (the
  // upstream sensor exists only with a budget): HA wants attributes as a JSON object.
  const hosts = "{{ {'top_hosts': value_json.conntrack.top_hosts} | tojson }}";
  sensor({ id: 'nat_table_entries', name: 'NAT table entries', template: ct('count'), unit: 'entries', icon: 'mdi:table-network', attributesTemplate: hosts, live: true, measurement: true });
  sensor({ id: 'nat_table_usage', name: 'NAT table usage', template: ct('pct'), unit: '%', precision: 1, icon: 'mdi:table-network', live: true, measurement: true });
  sensor({ id: 'nat_table_size', name: 'NAT table size', template: ct('max'), unit: 'entries', diagnostic: true, live: true, measurement: true });
  sensor({ id: 'nat_table_drops', name: 'NAT table drops', template: ct('drop_ps'), unit: 'drops/s', precision: 1, live: true, measurement: true });
  sensor({ id: 'nat_table_early_drops', name: 'NAT table early drops', template: ct('early_drop_ps'), unit: 'drops/s', precision: 1, diagnostic: true, disabled: true, live: true, measurement: true });
  sensor({ id: 'nat_table_insert_failures', name: 'NAT table insert failures', template: ct('insert_failed_ps'), unit: 'failures/s', precision: 1, diagnostic: true, disabled: true, live: true, measurement: true });
  sensor({ id: 'nat_table_new_entries', name: 'NAT table new entries', template: ct('new_ps'), unit: 'entries/s', precision: 0, icon: 'mdi:table-plus', live: true, measurement: true });
  // drop + early_drop + insert_failed: what the nat_full alarm counts.
  sensor({ id: 'nat_table_refusals', name: 'NAT table refusals', template: ct('refused_ps'), unit: 'entries/s', precision: 1, icon: 'mdi:table-cancel', live: true, measurement: true });
  // null (not growing, or unknown) renders as "None", which HA's MQTT sensor turns into
  // `unknown`; an empty string would be ignored and leave the last forecast standing.
  sensor({ id: 'nat_table_full_in', name: 'NAT table full in', template: ct('full_in_s'), unit: 's', deviceClass: 'duration', precision: 0, live: true, measurement: true });
  if (input.upstream) {
    sensor({ id: 'nat_upstream_usage', name: 'Upstream NAT usage', template: ct('upstream_pct'), unit: '%', precision: 1, icon: 'mdi:router-network', live: true, measurement: true });
  }

  for (const port of input.ports) {
    const slug = componentSlug(port.name);
    // Bracket access: interface names may hold '-' or '.', which dotted Jinja access cannot,
    // and even a quote or backslash (Linux only forbids '/', ':' and whitespace).
    const quoted = port.name.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
    const value = (key: string): string => `{{ value_json.ports['${quoted}'].${key} }}`;
    const label = port.role === 'wan' ? `${port.name} (WAN)` : port.name;
    sensor({ id: `${slug}_rx_rate`, name: `${label} received`, template: value('rx_bytes_ps'), unit: 'B/s', deviceClass: 'data_rate', precision: 0, live: true, measurement: true });
    sensor({ id: `${slug}_tx_rate`, name: `${label} sent`, template: value('tx_bytes_ps'), unit: 'B/s', deviceClass: 'data_rate', precision: 0, live: true, measurement: true });
    sensor({ id: `${slug}_multicast`, name: `${label} multicast`, template: value('multicast_pps'), unit: 'packets/s', precision: 1, icon: 'mdi:broadcast', live: true, measurement: true });
    if (port.counted) {
      // Storms and loops show first as broadcast; the driver's counters have none (notes/loop-storm.md §2.1).
      sensor({ id: `${slug}_broadcast`, name: `${label} broadcast`, template: value('broadcast_pps'), unit: 'packets/s', precision: 1, icon: 'mdi:broadcast', live: true, measurement: true });
      sensor({ id: `${slug}_counter_source`, name: `${label} counter source`, template: value('counter_source'), diagnostic: true, icon: 'mdi:counter', live: false, measurement: false });
    }
    sensor({ id: `${slug}_rx_packets`, name: `${label} packets received`, template: value('rx_pps'), unit: 'packets/s', precision: 0, disabled: true, live: true, measurement: true });
    sensor({ id: `${slug}_tx_packets`, name: `${label} packets sent`, template: value('tx_pps'), unit: 'packets/s', precision: 0, disabled: true, live: true, measurement: true });
    sensor({ id: `${slug}_errors`, name: `${label} errors`, template: value('errors_ps'), unit: 'errors/s', precision: 1, diagnostic: true, disabled: true, live: true, measurement: true });
    sensor({ id: `${slug}_drops`, name: `${label} drops`, template: value('drops_ps'), unit: 'drops/s', precision: 1, diagnostic: true, disabled: true, live: true, measurement: true });
  }

  for (const alarm of input.alarms) {
    // No expire_after: an alarm is retained state, and availability already covers a dead agent.
    cmps[`alarm_${alarm.name}`] = {
      p: 'binary_sensor',
      uniq_id: `${identity.deviceId}_alarm_${alarm.name}`,
      default_entity_id: `binary_sensor.${identity.nodeId}_${alarm.name}`.toLowerCase(),
      name: alarm.title,
      dev_cla: 'problem',
      stat_t: topics.alarm(alarm.name),
      json_attr_t: topics.alarmAttributes(alarm.name),
    };
  }

  sensor({ id: 'agent_version', name: 'Agent version', template: '{{ value_json.agent.version }}', diagnostic: true, icon: 'mdi:tag', live: false, measurement: false });
  // A start time, not an uptime: a timestamp does not change every state interval, so HA
  // does not record a new state every 10 s for it.
  sensor({ id: 'agent_started', name: 'Agent started', template: '{{ value_json.agent.started_at }}', deviceClass: 'timestamp', diagnostic: true, live: false, measurement: false });

  for (const [id, platform] of input.removed ?? []) cmps[id] = { p: platform };

  const dev: Record<string, unknown> = { ids: [identity.deviceId], name: input.device.name };
  if (identity.mac !== null) dev.cns = [['mac', identity.mac]];
  if (input.device.manufacturer !== null) dev.mf = input.device.manufacturer;
  if (input.device.model !== null) dev.mdl = input.device.model;
  if (input.device.osRelease !== null) dev.sw = input.device.osRelease;

  return {
    topic: topics.discovery,
    payload: {
      dev,
      o: { name: 'lanwatch', sw: input.agentVersion },
      avty_t: topics.availability,
      stat_t: topics.state,
      cmps,
    },
  };
}
