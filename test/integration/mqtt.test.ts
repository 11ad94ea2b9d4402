// The agent against a real Mosquitto: discovery, availability, state, alarms, HA restarts,
// garbage, broker restarts and outages, a vanishing port, clean shutdown and the optional
// Prometheus endpoint. The agent runs in this process on a scripted HAL (the kernel side is
// covered by the lab tests), so each step can set exactly the conntrack usage it needs.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHal } from '../../hal/fake/fakeHal.ts';
import { LINK_MULTICAST, LINK_RX_BYTES, LINK_RX_PACKETS, LINK_TX_BYTES, LINK_TX_PACKETS, PORT_MCAST } from '../../hal/index.ts';
import type { RunningAgent } from '../../src/agent.ts';
import { connectRecorder, retainedSnapshot, type Recorder } from '../broker/client.ts';
import { freePort, requireMosquitto, startBroker, type Broker } from '../broker/mosquitto.ts';
import { until } from '../broker/until.ts';
import { validateDeviceDiscovery } from '../mqtt/discoveryValidator.ts';
import { startTestAgent, stopTestParts } from './mqttAgent.ts';

const skip = requireMosquitto();
const NODE = 'lwtest';
const DISCOVERY = `homeassistant/device/${NODE}/config`;
const ROOT = `lanwatch/${NODE}`;



type Cmps = Record<string, Record<string, unknown>>;

function componentsOf(payload: string): Cmps {
  return (JSON.parse(payload) as { cmps: Cmps }).cmps;
}

describe.skipIf(skip)('MQTT and Home Assistant against a real Mosquitto', () => {
  let broker: Broker;
  let dir: string;
  let hal: FakeHal;
  let agent: RunningAgent;
  let watcher: Recorder;
  let metricsPort: number;
  let configPath: string;

  const boot = (withHal: FakeHal): Promise<RunningAgent> => startTestAgent(configPath, withHal);

  const setUsage = (count: number): void => {
    hal.conntrack.sample.count = count;
  };

  beforeAll(async () => {
    broker = await startBroker();
    dir = mkdtempSync(join(tmpdir(), 'lanwatch-mqtt-'));
    metricsPort = await freePort();
    configPath = join(dir, 'config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        sampleIntervalMs: 100,
        statusSocket: join(dir, 'status.sock'),
        interfaces: { wan: 'eth0', lan: ['lan1', 'lan2'], bridge: 'br-lan' },
        mqtt: { url: broker.url, nodeId: NODE, stateIntervalMs: 1000 },
        alarms: { natTable: { holdMs: 0 } },
        prometheus: { enabled: true, port: metricsPort },
        log: { level: 'error', format: 'json' },
      }),
    );
    hal = new FakeHal();
    hal.addLink({ index: 2, name: 'eth0', mac: 'dc:a6:32:00:5e:01' }, { [LINK_RX_PACKETS]: 1000, [LINK_RX_BYTES]: 1_000_000, [LINK_TX_PACKETS]: 500, [LINK_TX_BYTES]: 100_000 });
    hal.addLink({ index: 3, name: 'br-lan', kind: 'bridge', mac: '02:00:00:00:00:03' });
    hal.addLink({ index: 4, name: 'lan1', masterIndex: 3, mac: '00:e0:4c:00:00:04' }, { [LINK_MULTICAST]: 20, [LINK_RX_PACKETS]: 200 });
    hal.addLink({ index: 5, name: 'lan2', masterIndex: 3, mac: '00:e0:4c:00:00:05' });
    // The bridge ports are counted by the port counters, whose multicast is what gets published.
    hal.ports.setRate('lan1', PORT_MCAST, 20);
    hal.conntrack.sample.max = 4000;
    setUsage(1000);
    watcher = await connectRecorder(broker.url, [`${ROOT}/#`, 'homeassistant/device/#']);
    agent = await boot(hal);
    await watcher.waitFor((m) => m.topic === `${ROOT}/state`, 10_000);
  });

  afterAll(() => stopTestParts({ agent, watcher, broker, dir }));

  it('publishes a valid device discovery, retained, whose every topic is really published', async () => {
    const retained = await retainedSnapshot(broker.url, [DISCOVERY, `${ROOT}/#`]);
    const discovery = retained.get(DISCOVERY);
    expect(discovery).toBeDefined();
    const payload = JSON.parse(discovery!) as Record<string, unknown>;
    expect(validateDeviceDiscovery(DISCOVERY, payload, { publishedTopics: new Set(retained.keys()) })).toEqual([]);

    const cmps = componentsOf(discovery!);
    // One set of sensors per port with a role, none for anything else.
    for (const port of ['eth0', 'br_lan', 'lan1', 'lan2']) expect(cmps[`${port}_rx_rate`]).toBeDefined();
    expect(cmps.nat_table_usage).toMatchObject({ p: 'sensor', unit_of_meas: '%', stat_cla: 'measurement', exp_aft: 3 });
    expect(cmps.alarm_nat_table).toMatchObject({
      p: 'binary_sensor',
      dev_cla: 'problem',
      stat_t: `${ROOT}/alarm/nat_table`,
      json_attr_t: `${ROOT}/alarm/nat_table/attributes`,
    });
    // No upstream budget configured: neither the upstream sensor nor its alarm; nat_full always.
    expect(cmps.nat_upstream_usage).toBeUndefined();
    expect(cmps.alarm_nat_upstream).toBeUndefined();
    expect(cmps.alarm_nat_full).toMatchObject({ p: 'binary_sensor', dev_cla: 'problem', stat_t: `${ROOT}/alarm/nat_full` });
    expect(retained.get(`${ROOT}/alarm/nat_full`)).toBe('OFF');
    // unique ids from the primary MAC (the WAN NIC), not the node id, hostname or an IP.
    expect(cmps.nat_table_usage!.uniq_id).toBe('lanwatch_dca632005e01_nat_table_usage');
    expect(payload.dev).toMatchObject({ ids: ['lanwatch_dca632005e01'], cns: [['mac', 'dc:a6:32:00:5e:01']], mdl: 'Test Box' });
    expect(payload.avty_t).toBe(`${ROOT}/availability`);
    expect(retained.get(`${ROOT}/availability`)).toBe('online');
  });

  it('publishes one state document with conntrack and per-port rates at the state interval', async () => {
    watcher.clear();
    const first = await watcher.waitFor((m) => m.topic === `${ROOT}/state`, 3000);
    const second = await watcher.waitFor((m) => m.topic === `${ROOT}/state` && m.at > first.at, 3000);
    expect(second.at - first.at).toBeGreaterThan(700);
    const state = JSON.parse(second.payload) as {
      conntrack: { count: number; max: number; pct: number; new_ps: number | null; top_hosts: unknown[] };
      ports: Record<string, { role: string; rx_pps: number; rx_bytes_ps: number; multicast_pps: number }>;
      agent: { version: string };
    };
    expect(state.conntrack).toMatchObject({ count: 1000, max: 4000, pct: 25 });
    // This HAL has no per-host conntrack source (no ctnetlink): no rate, no hosts, no upstream key.
    expect(state.conntrack).toMatchObject({ new_ps: null, top_hosts: [] });
    expect(state.conntrack).not.toHaveProperty('upstream_pct');
    expect(Object.keys(state.ports).sort()).toEqual(['br-lan', 'eth0', 'lan1', 'lan2']);
    expect(state.ports.eth0!.role).toBe('wan');
    expect(state.ports.eth0!.rx_pps).toBeCloseTo(1000, -1);
    expect(state.ports.eth0!.rx_bytes_ps).toBeCloseTo(1_000_000, -4);
    expect(state.ports.lan1!.multicast_pps).toBeCloseTo(20, 0);
  });

  it('raises and clears nat_table, retained, so a late subscriber sees the current truth', async () => {
    setUsage(3900); // 97.5 %: straight to critical
    const raised = await until('nat_table ON', async () => {
      const r = await retainedSnapshot(broker.url, `${ROOT}/alarm/#`, 150);
      return r.get(`${ROOT}/alarm/nat_table`) === 'ON' ? r : undefined;
    });
    const attributes = JSON.parse(raised.get(`${ROOT}/alarm/nat_table/attributes`)!) as Record<string, unknown>;
    expect(attributes).toMatchObject({ severity: 'critical', count: 3900, max: 4000, raised_count: 1 });
    expect(String(attributes.reason)).toContain('97.5 %');

    setUsage(3700); // 92.5 %: below critical's clear (90 %)? No: still above it, so it stays critical.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(agent.alarms.state('nat_table')?.severity).toBe('critical');

    setUsage(3500); // 87.5 %: below 90 → down to warning, not cleared (warning clears below 85)
    await until('warning', () => (agent.alarms.state('nat_table')?.severity === 'warning' ? true : undefined));

    setUsage(1000);
    const cleared = await until('nat_table OFF', async () => {
      const r = await retainedSnapshot(broker.url, `${ROOT}/alarm/#`, 150);
      return r.get(`${ROOT}/alarm/nat_table`) === 'OFF' ? r : undefined;
    });
    expect(JSON.parse(cleared.get(`${ROOT}/alarm/nat_table/attributes`)!)).toMatchObject({ severity: null, raised_count: 1, peak: 97.5 });
    expect(agent.snapshot().alarms.find((a) => a.name === 'nat_table')).toMatchObject({ active: false, raisedCount: 1 });
  });

  it('re-sends discovery, alarms and state shortly after Home Assistant announces it is online', async () => {
    watcher.clear();
    await watcher.publish('homeassistant/status', 'online');
    const again = await watcher.waitFor((m) => m.topic === DISCOVERY && !m.retain, 3000);
    expect(componentsOf(again.payload).alarm_nat_table).toBeDefined();
    await watcher.waitFor((m) => m.topic === `${ROOT}/alarm/nat_table` && !m.retain, 3000);
  });

  it('ignores garbage on homeassistant/status: no crash, no re-discovery, no change of state', async () => {
    const before = agent.snapshot();
    watcher.clear();
    for (const junk of ['garbage', '', '{"state":"online"}', 'ONLINE', Buffer.alloc(100_000, 0x41), Buffer.from([0xff, 0xfe, 0x00])]) {
      await watcher.publish('homeassistant/status', junk);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(watcher.messages.filter((m) => m.topic === DISCOVERY)).toEqual([]);
    const after = agent.snapshot();
    expect(after.mqtt.state).toBe('connected');
    expect(after.mqtt.connects).toBe(before.mqtt.connects);
    // The latest values move with every tick; what an alarm is must not.
    const standing = (alarms: typeof before.alarms) => alarms.map(({ name, active, severity, since, raisedCount }) => ({ name, active, severity, since, raisedCount }));
    expect(standing(after.alarms)).toEqual(standing(before.alarms));
    expect(after.agent.ticks).toBeGreaterThan(before.agent.ticks);
  });

  it('reconnects after a broker restart that lost every retained message, and republishes', async () => {
    const connects = agent.snapshot().mqtt.connects;
    await broker.restart();
    const retained = await until('republished retained messages', async () => {
      const r = await retainedSnapshot(broker.url, [DISCOVERY, `${ROOT}/#`], 200);
      return r.has(DISCOVERY) && r.get(`${ROOT}/availability`) === 'online' && r.has(`${ROOT}/alarm/nat_table`) && r.has(`${ROOT}/state`)
        ? r
        : undefined;
    });
    expect(retained.get(`${ROOT}/alarm/nat_table`)).toBe('OFF');
    expect(agent.snapshot().mqtt.connects).toBe(connects + 1);
  });

  it('keeps alarming while the broker is down and reports what happened once it is back', async () => {
    await broker.stop();
    await until('agent notices', () => (agent.snapshot().mqtt.state !== 'connected' ? true : undefined));
    setUsage(3900);
    await until('raised offline', () => (agent.alarms.state('nat_table')?.active ? true : undefined));
    setUsage(1000);
    await until('cleared offline', () => (agent.alarms.state('nat_table')?.active === false ? true : undefined));
    expect(agent.snapshot().agent.ticks).toBeGreaterThan(0);

    await broker.restart();
    const retained = await until('alarm republished', async () => {
      const r = await retainedSnapshot(broker.url, `${ROOT}/alarm/#`, 200);
      return r.has(`${ROOT}/alarm/nat_table/attributes`) ? r : undefined;
    });
    // Off now, but the raise and the clear in between are not lost.
    expect(retained.get(`${ROOT}/alarm/nat_table`)).toBe('OFF');
    expect(JSON.parse(retained.get(`${ROOT}/alarm/nat_table/attributes`)!)).toMatchObject({ raised_count: 2, changes_while_offline: 2 });
  });

  it('removes the entities of a port that vanished, the way HA documents it', async () => {
    await until('connected', () => (agent.snapshot().mqtt.state === 'connected' ? true : undefined));
    watcher.clear();
    hal.removeLink(5); // lan2 unplugged
    const marker = await watcher.waitFor((m) => m.topic === DISCOVERY && componentsOf(m.payload).lan2_rx_rate?.p === 'sensor' && Object.keys(componentsOf(m.payload).lan2_rx_rate!).length === 1, 5000);
    const final = await watcher.waitFor((m) => m.topic === DISCOVERY && m.at >= marker.at && componentsOf(m.payload).lan2_rx_rate === undefined, 5000);
    expect(componentsOf(final.payload).lan1_rx_rate).toBeDefined();
    const retained = await retainedSnapshot(broker.url, DISCOVERY);
    expect(componentsOf(retained.get(DISCOVERY)!).lan2_rx_rate).toBeUndefined();
  });

  it('serves Prometheus metrics, with the MQTT counters, on 127.0.0.1 only', async () => {
    const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(body).toMatch(/^node_nf_conntrack_entries 1000$/m);
    expect(body).toMatch(/^node_nf_conntrack_entries_limit 4000$/m);
    expect(body).toMatch(/^lanwatch_mqtt_connected 1$/m);
    expect(body).toMatch(/^lanwatch_alarm_raised_total\{alarm="nat_table"\} 2$/m);
    expect(agent.snapshot().prometheus.url).toBe(`http://127.0.0.1:${metricsPort}/metrics`);
  });

  it('shows the broker, its state and the traffic in status', () => {
    const { mqtt } = agent.snapshot();
    expect(mqtt).toMatchObject({ enabled: true, broker: broker.url, state: 'connected', nodeId: NODE, lastError: null });
    expect(mqtt.messagesSent).toBeGreaterThan(10);
    expect(mqtt.bytesSent).toBeGreaterThan(1000);
    expect(Date.now() - Date.parse(mqtt.lastPublishAt!)).toBeLessThan(5000);
  });

  it('publishes offline, retained, on a clean stop', async () => {
    await agent.stop();
    const retained = await retainedSnapshot(broker.url, `${ROOT}/availability`);
    expect(retained.get(`${ROOT}/availability`)).toBe('offline');
  });

  it('after a restart, removes the entities of a port that vanished while it was stopped', async () => {
    // The same box restarted without lan1: only the broker's retained discovery remembers it.
    const smaller = new FakeHal();
    smaller.addLink({ index: 2, name: 'eth0', mac: 'dc:a6:32:00:5e:01' });
    smaller.addLink({ index: 3, name: 'br-lan', kind: 'bridge', mac: '02:00:00:00:00:03' });
    watcher.clear();
    agent = await boot(smaller);
    const marker = await watcher.waitFor((m) => m.topic === DISCOVERY && componentsOf(m.payload).lan1_rx_rate?.p === 'sensor', 5000);
    expect(Object.keys(componentsOf(marker.payload).lan1_rx_rate!)).toEqual(['p']);
    await until('lan1 gone from the retained discovery', async () => {
      const retained = await retainedSnapshot(broker.url, DISCOVERY, 150);
      const cmps = componentsOf(retained.get(DISCOVERY) ?? '{"cmps":{}}');
      return cmps.eth0_rx_rate !== undefined && cmps.lan1_rx_rate === undefined ? true : undefined;
    });
    await agent.stop();
  });
});
