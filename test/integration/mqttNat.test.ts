// The NAT intelligence as Home Assistant gets it from a real Mosquitto: the NAT sensors'
// discovery, their values in the state document, the top hosts as the entries sensor's
// attributes, and the nat_full and nat_upstream alarms as binary sensors with their
// attributes. Every template is rendered with Jinja2 (the engine HA uses) against the state
// document the broker delivered, so a key the document lacks fails here, not in someone's HA.
// The conntrack side is scripted (FakeConntrackHosts); the kernel side has its lab tests.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeConntrackHosts } from '../../hal/fake/fakeConntrackHosts.ts';
import { FakeHal } from '../../hal/fake/fakeHal.ts';
import type { HostIdentity } from '../../hal/index.ts';
import { HostTable } from '../../hal/linux/conntrackHostTable.ts';
import type { RunningAgent } from '../../src/agent.ts';
import type { RankedHost } from '../../src/alarms/natPressureAlarms.ts';
import type { HostState } from '../../src/mqtt/natState.ts';
import { connectRecorder, retainedSnapshot, type RecordedMessage, type Recorder } from '../broker/client.ts';
import { requireMosquitto, startBroker, type Broker } from '../broker/mosquitto.ts';
import { until } from '../broker/until.ts';
import { validateDeviceDiscovery } from '../mqtt/discoveryValidator.ts';
import { renderHaTemplates, requireJinja, type Rendered } from '../mqtt/haTemplate.ts';
import { startTestAgent, stopTestParts } from './mqttAgent.ts';

const skipBroker = requireMosquitto();
const python = skipBroker ? null : requireJinja();
const NODE = 'lwnat';
const DISCOVERY = `homeassistant/device/${NODE}/config`;
const ROOT = `lanwatch/${NODE}`;
const STATE = `${ROOT}/state`;
const BUDGET = 1000;

/** A router HAL whose conntrack table also has per-host counts and names, as ctnetlink gives. */
class NatHal extends FakeHal {
  readonly conntrackHosts = new FakeConntrackHosts();
  readonly hostTable = new HostTable(256);
  readonly identities = new Map<string, HostIdentity>();
  readonly hostIdentities = async (): Promise<Map<string, HostIdentity>> => this.identities;
}

type Component = Record<string, unknown>;

function componentsOf(payload: string): Record<string, Component> {
  return (JSON.parse(payload) as { cmps: Record<string, Component> }).cmps;
}

function rendered(result: Rendered | undefined, what: string): string {
  if (result === undefined) throw new Error(`${what}: not rendered`);
  if ('error' in result) throw new Error(`${what}: ${result.error}`);
  return result.value;
}

describe.skipIf(skipBroker || python === null)('NAT sensors and alarms in Home Assistant, through a real Mosquitto', () => {
  let broker: Broker;
  let dir: string;
  let hal: NatHal;
  let agent: RunningAgent;
  let watcher: Recorder;
  let discovery: Record<string, Component>;

  /** The next state document the broker delivers that satisfies `ready`. */
  const nextState = async (ready: (state: { conntrack: Record<string, unknown> }) => boolean, timeoutMs = 5000): Promise<RecordedMessage> => {
    watcher.clear();
    return watcher.waitFor((m) => m.topic === STATE && ready(JSON.parse(m.payload) as { conntrack: Record<string, unknown> }), timeoutMs);
  };

  /** Every value template of a sensor on the state topic, and the attributes template, as HA renders them. */
  const renderState = async (payload: string): Promise<Record<string, Rendered>> => {
    const templates: Record<string, string> = {};
    for (const [id, c] of Object.entries(discovery)) {
      if (c.p !== 'sensor' || c.stat_t !== undefined) continue;
      templates[id] = String(c.val_tpl);
      if (c.json_attr_tpl !== undefined) templates[`${id}#attributes`] = String(c.json_attr_tpl);
    }
    return renderHaTemplates(python!, payload, templates);
  };

  beforeAll(async () => {
    broker = await startBroker();
    dir = mkdtempSync(join(tmpdir(), 'lanwatch-mqtt-nat-'));
    const configPath = join(dir, 'config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        sampleIntervalMs: 100,
        statusSocket: join(dir, 'status.sock'),
        interfaces: { wan: 'eth0', lan: ['lan1'], bridge: 'br-lan' },
        mqtt: { url: broker.url, nodeId: NODE, stateIntervalMs: 1000 },
        nat: { upstreamBudget: BUDGET },
        alarms: { natTable: { holdMs: 0 }, natFull: { holdMs: 0 }, natUpstream: { holdMs: 0 } },
        log: { level: 'error', format: 'json' },
      }),
    );
    hal = new NatHal();
    hal.addLink({ index: 2, name: 'eth0', mac: 'dc:a6:32:00:7a:01' });
    hal.addLink({ index: 3, name: 'br-lan', kind: 'bridge', mac: '02:00:00:00:7a:03' });
    hal.addLink({ index: 4, name: 'lan1', masterIndex: 3, mac: '00:e0:4c:00:7a:04' });
    hal.conntrack.sample.max = 4000;
    hal.conntrack.sample.count = 1000;
    // Six LAN hosts, so the top five leave one out; 380 entries through our SNAT = 38 % of the budget.
    const hosts = hal.conntrackHosts;
    hosts.set('10.231.0.23', { tcpEstablished: 300, tcpClosing: 60, udp: 120, icmp: 2, snat: 200 });
    hosts.set('10.231.0.40', { tcpEstablished: 150, udp: 40, snat: 100 });
    hosts.set('10.231.0.12', { tcpOther: 5, udp: 90, snat: 50 });
    hosts.set('10.231.0.57', { tcpEstablished: 60, udp: 20, snat: 30 });
    hosts.set('fd00:77::57', { tcpEstablished: 30, icmp: 1, otherProto: 2 });
    hosts.set('10.231.0.99', { udp: 4 });
    hosts.noteNew(420, 42);
    hal.identities.set('10.231.0.23', { mac: 'dc:a6:32:aa:00:23', name: 'desktop' });
    hal.identities.set('10.231.0.40', { mac: 'dc:a6:32:aa:00:40', name: 'nas' });
    hal.identities.set('10.231.0.57', { mac: 'dc:a6:32:aa:00:57', name: null });
    watcher = await connectRecorder(broker.url, [`${ROOT}/#`, 'homeassistant/device/#']);
    agent = await startTestAgent(configPath, hal);
    await watcher.waitFor((m) => m.topic === STATE, 10_000);
    const retained = await retainedSnapshot(broker.url, DISCOVERY);
    discovery = componentsOf(retained.get(DISCOVERY) ?? '{"cmps":{}}');
  });

  afterAll(() => stopTestParts({ agent, watcher, broker, dir }));

  it('discovers the NAT sensors and both NAT alarms, valid, with every topic published', async () => {
    const retained = await retainedSnapshot(broker.url, [DISCOVERY, `${ROOT}/#`]);
    expect(validateDeviceDiscovery(DISCOVERY, retained.get(DISCOVERY), { publishedTopics: new Set(retained.keys()) })).toEqual([]);
    const live = { p: 'sensor', stat_cla: 'measurement', exp_aft: 3 };
    expect(discovery.nat_table_new_entries).toMatchObject({ ...live, unit_of_meas: 'entries/s' });
    expect(discovery.nat_table_refusals).toMatchObject({ ...live, unit_of_meas: 'entries/s' });
    expect(discovery.nat_table_full_in).toMatchObject({ ...live, dev_cla: 'duration', unit_of_meas: 's' });
    expect(discovery.nat_upstream_usage).toMatchObject({ ...live, unit_of_meas: '%', uniq_id: 'lanwatch_dca632007a01_nat_upstream_usage' });
    expect(discovery.nat_table_entries).toMatchObject({ json_attr_t: STATE });
    for (const alarm of ['nat_full', 'nat_upstream']) {
      expect(discovery[`alarm_${alarm}`]).toMatchObject({
        p: 'binary_sensor',
        dev_cla: 'problem',
        stat_t: `${ROOT}/alarm/${alarm}`,
        json_attr_t: `${ROOT}/alarm/${alarm}/attributes`,
      });
      expect(retained.get(`${ROOT}/alarm/${alarm}`)).toBe('OFF');
    }
  });

  it('publishes the NAT values HA renders: rates, usage, and "None" (unknown) while the table is not growing', async () => {
    const state = await nextState((s) => s.conntrack.upstream_pct !== null && (s.conntrack.top_hosts as unknown[]).length > 0);
    const values = await renderState(state.payload);
    // Every template of every sensor renders: no key the document lacks.
    for (const [id, result] of Object.entries(values)) rendered(result, id);
    expect(rendered(values.nat_table_entries, 'entries')).toBe('1000');
    expect(rendered(values.nat_table_new_entries, 'new entries')).toBe('42');
    expect(rendered(values.nat_table_refusals, 'refusals')).toBe('0');
    expect(rendered(values.nat_upstream_usage, 'upstream')).toBe('38');
    // HA's MQTT sensor turns "None" into unknown; "" would be ignored and keep a stale forecast.
    expect(rendered(values.nat_table_full_in, 'full in')).toBe('None');
  });

  it('gives the entries sensor the five hosts holding most entries as attributes, named where known', async () => {
    const state = await nextState((s) => (s.conntrack.top_hosts as unknown[]).length > 0);
    const values = await renderState(state.payload);
    const attributes = JSON.parse(rendered(values['nat_table_entries#attributes'], 'attributes')) as { top_hosts: HostState[] };
    expect(Object.keys(attributes)).toEqual(['top_hosts']);
    expect(attributes.top_hosts.map((h) => h.ip)).toEqual(['10.231.0.23', '10.231.0.40', '10.231.0.12', '10.231.0.57', 'fd00:77::57']);
    expect(attributes.top_hosts[0]).toEqual({ ip: '10.231.0.23', mac: 'dc:a6:32:aa:00:23', name: 'desktop', entries: 482, tcp: 360, udp: 120, icmp: 2, other: 0 });
    expect(attributes.top_hosts[2]).toEqual({ ip: '10.231.0.12', mac: null, name: null, entries: 95, tcp: 5, udp: 90, icmp: 0, other: 0 });
    expect(attributes.top_hosts[4]).toMatchObject({ tcp: 30, icmp: 1, other: 2 });
  });

  it('raises nat_upstream with the top hosts in its attributes, and shows the usage', async () => {
    // The desktop opens 400 more connections through our NAT: 880 entries through SNAT of 1,000.
    hal.conntrackHosts.set('10.231.0.23', { tcpEstablished: 700, tcpClosing: 60, udp: 120, icmp: 2, snat: 700 });
    const raised = await until('nat_upstream ON', async () => {
      const r = await retainedSnapshot(broker.url, `${ROOT}/alarm/#`, 150);
      return r.get(`${ROOT}/alarm/nat_upstream`) === 'ON' ? r : undefined;
    });
    const attributes = JSON.parse(raised.get(`${ROOT}/alarm/nat_upstream/attributes`)!) as Record<string, unknown>;
    expect(attributes).toMatchObject({ severity: 'warning', budget: BUDGET, used: 880, basis: 'router', raised_count: 1 });
    expect((attributes.top_hosts as RankedHost[])[0]).toEqual({ ip: '10.231.0.23', mac: 'dc:a6:32:aa:00:23', name: 'desktop', entries: 882 });
    expect(String(attributes.reason)).toContain('desktop');
    const state = await nextState((s) => s.conntrack.upstream_pct === 88);
    expect(rendered((await renderState(state.payload)).nat_upstream_usage, 'upstream')).toBe('88');
  });

  it('raises nat_full when the kernel refuses entries, and shows the refusals per second', async () => {
    // 60 refusals in one tick: over the critical level (50 within 10 s).
    const sample = hal.conntrack.sample;
    sample.drop += 40;
    sample.earlyDrop += 15;
    sample.insertFailed += 5;
    const raised = await until('nat_full ON', async () => {
      const r = await retainedSnapshot(broker.url, `${ROOT}/alarm/#`, 150);
      return r.get(`${ROOT}/alarm/nat_full`) === 'ON' ? r : undefined;
    });
    const attributes = JSON.parse(raised.get(`${ROOT}/alarm/nat_full/attributes`)!) as { severity: string; refused_10s: number };
    expect(attributes.severity).toBe('critical');
    expect(attributes.refused_10s).toBeGreaterThanOrEqual(55);
    expect(attributes.refused_10s).toBeLessThanOrEqual(65);
    const state = await nextState((s) => typeof s.conntrack.refused_ps === 'number' && s.conntrack.refused_ps > 0);
    const refusals = Number(rendered((await renderState(state.payload)).nat_table_refusals, 'refusals'));
    // 60 over the 10 s window: 6 a second (a tick's rate × its measured length, so not exact).
    expect(refusals).toBeGreaterThanOrEqual(5.5);
    expect(refusals).toBeLessThanOrEqual(6.5);
  });

  it('forecasts when the table will be full while it grows, sooner as it keeps growing', async () => {
    // 100 entries a second towards 4,000. The slope is a least-squares fit over the last minute
    // (the detector's unit tests check its numbers), so the first forecasts, with the flat
    // minute before still in the window, are long ones that shorten as the growth goes on.
    const grow = setInterval(() => {
      hal.conntrack.sample.count += 10;
    }, 100);
    try {
      const forecast = async (after: number): Promise<{ fullIn: number; count: number }> => {
        const state = await nextState((s) => typeof s.conntrack.full_in_s === 'number' && s.conntrack.full_in_s < after);
        const fullIn = Number(rendered((await renderState(state.payload)).nat_table_full_in, 'full in'));
        return { fullIn, count: (JSON.parse(state.payload) as { conntrack: { count: number } }).conntrack.count };
      };
      const first = await forecast(Infinity);
      expect(Number.isInteger(first.fullIn)).toBe(true);
      // A forecast exists only above the detector's least slope, 0.5 entries/s.
      expect(first.fullIn).toBeGreaterThan(0);
      expect(first.fullIn).toBeLessThanOrEqual((4000 - first.count) / 0.5);
      const later = await forecast(first.fullIn);
      expect(later.count).toBeGreaterThan(first.count);
    } finally {
      clearInterval(grow);
    }
  });
});
