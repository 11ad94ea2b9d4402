import { describe, expect, it } from 'vitest';
import { FakeHal } from '../../../hal/fake/fakeHal.ts';
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
} from '../../../hal/index.ts';
import type { AlarmState } from '../../../src/alarms/types.ts';
import { collectMetrics, type MetricsSources, type MqttCounters } from '../../../src/metrics/collect.ts';
import type { MetricFamily } from '../../../src/metrics/exposition.ts';
import { Sampler } from '../../../src/sampler/sampler.ts';

function setup() {
  let now = 0;
  const clock = () => now;
  const hal = new FakeHal(clock);
  const log = { warn: () => {}, info: () => {} };
  const sampler = new Sampler(hal, { intervalMs: 1000, log, now: clock });
  const step = (ms = 1000) => {
    now += ms;
    sampler.tick();
  };
  let alarms: AlarmState[] = [];
  let mqtt: MqttCounters | null = null;
  const sources: MetricsSources = {
    sampler,
    roles: () => ({ wan: 'eth0', lan: ['eth1', 'lan2'], bridge: 'br-lan' }),
    alarms: () => alarms,
    agent: { version: '1.2.3', startedAtMono: 0 },
    mqtt: () => mqtt,
  };
  return {
    hal,
    sampler,
    step,
    sources,
    collect: () => collectMetrics(sources, now),
    setAlarms: (a: AlarmState[]) => (alarms = a),
    setMqtt: (m: MqttCounters | null) => (mqtt = m),
  };
}

function find(families: MetricFamily[], name: string): MetricFamily | undefined {
  return families.find((f) => f.name === name);
}

/** device → value of one family. */
function byDevice(families: MetricFamily[], name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const sample of find(families, name)?.samples ?? []) out[sample.labels!.device!] = sample.value;
  return out;
}

function single(families: MetricFamily[], name: string): number | undefined {
  const samples = find(families, name)?.samples ?? [];
  expect(samples.length).toBeLessThanOrEqual(1);
  return samples[0]?.value;
}

function alarm(partial: Partial<AlarmState> & Pick<AlarmState, 'name'>): AlarmState {
  return {
    title: partial.name, active: false, severity: null, since: null, value: NaN, peak: NaN,
    reason: '', attributes: {}, raisedCount: 0, lastRaisedAt: null, lastClearedAt: null, ...partial,
  };
}

const NETDEV: [string, number][] = [
  ['node_network_receive_bytes_total', LINK_RX_BYTES],
  ['node_network_transmit_bytes_total', LINK_TX_BYTES],
  ['node_network_receive_packets_total', LINK_RX_PACKETS],
  ['node_network_transmit_packets_total', LINK_TX_PACKETS],
  ['node_network_receive_errs_total', LINK_RX_ERRORS],
  ['node_network_transmit_errs_total', LINK_TX_ERRORS],
  ['node_network_receive_drop_total', LINK_RX_DROPPED],
  ['node_network_transmit_drop_total', LINK_TX_DROPPED],
  ['node_network_receive_multicast_total', LINK_MULTICAST],
];

describe('collectMetrics', () => {
  it('reports the raw kernel counters of every interface under node_exporter names', () => {
    const { hal, step, collect } = setup();
    const rates: Record<number, number> = {};
    for (let field = 0; field < LINK_FIELDS; field++) rates[field] = 1000 * (field + 1) + 7;
    hal.addLink({ index: 2, name: 'eth0' }, rates);
    hal.addLink({ index: 3, name: 'eth1' }, { [LINK_RX_BYTES]: 3_000_000, [LINK_MULTICAST]: 40 });
    hal.setCounter(3, LINK_TX_BYTES, 2 ** 52 + 1); // a big 64-bit counter stays exact
    step();
    step();
    step(1500);
    const families = collect();
    const counters = (index: number) => hal.linkStats.states.get(index)!.counters;
    for (const [name, field] of NETDEV) {
      const family = find(families, name)!;
      expect(family.type, name).toBe('counter');
      expect(byDevice(families, name), name).toEqual({ eth0: counters(2)[field], eth1: counters(3)[field] });
    }
    expect(byDevice(families, 'node_network_receive_bytes_total').eth0).toBe(3007 * 3.5);
    expect(byDevice(families, 'node_network_transmit_bytes_total').eth1).toBe(2 ** 52 + 1);
    expect(find(families, 'node_network_receive_bytes_total')!.help).toBe('Network device statistic receive_bytes.');
  });

  it('leaves out interfaces that are gone or not read yet, and unknown (NaN) counters', () => {
    const { hal, step, collect } = setup();
    hal.addLink({ index: 2, name: 'eth0' }, { [LINK_RX_BYTES]: 100 });
    hal.addLink({ index: 3, name: 'usb0' }, { [LINK_RX_BYTES]: 100 });
    step();
    hal.removeLink(3);
    hal.addLink({ index: 4, name: 'wg0' }, { [LINK_RX_BYTES]: 100 }); // present, no read yet
    expect(Object.keys(byDevice(collect(), 'node_network_receive_bytes_total'))).toEqual(['eth0']);
    // Plugged back with a new ifindex: the row still holds the old device's counters.
    hal.addLink({ index: 9, name: 'usb0' });
    expect(Object.keys(byDevice(collect(), 'node_network_receive_bytes_total'))).toEqual(['eth0']);
    step();
    expect(Object.keys(byDevice(collect(), 'node_network_receive_bytes_total')).sort()).toEqual(['eth0', 'usb0', 'wg0']);
    hal.setCounter(2, LINK_RX_ERRORS, NaN);
    step();
    const families = collect();
    expect(byDevice(families, 'node_network_receive_errs_total')).toEqual({ usb0: 0, wg0: 0 });
    expect(byDevice(families, 'node_network_receive_bytes_total').eth0).toBe(300);
  });

  it('reports nothing for an interface whose counters failed to read', () => {
    const { hal, step, collect } = setup();
    hal.addLink({ index: 2, name: 'eth0' }, { [LINK_RX_BYTES]: 100 });
    step();
    hal.linkStats.failNext = new Error('boom');
    step();
    expect(find(collect(), 'node_network_receive_bytes_total')!.samples).toEqual([]);
    step();
    expect(byDevice(collect(), 'node_network_receive_bytes_total')).toEqual({ eth0: 300 });
  });

  it('reports the conntrack table and statistics as node_exporter does (gauges)', () => {
    const { hal, step, collect } = setup();
    Object.assign(hal.conntrack.sample, {
      count: 1800, max: 2048, found: 11, invalid: 22, insertFailed: 33, drop: 44, earlyDrop: 55, error: 66, searchRestart: 77,
    });
    step();
    const families = collect();
    const expected: [string, number][] = [
      ['node_nf_conntrack_entries', 1800],
      ['node_nf_conntrack_entries_limit', 2048],
      ['node_nf_conntrack_stat_found', 11],
      ['node_nf_conntrack_stat_invalid', 22],
      ['node_nf_conntrack_stat_insert_failed', 33],
      ['node_nf_conntrack_stat_drop', 44],
      ['node_nf_conntrack_stat_early_drop', 55],
      ['node_nf_conntrack_stat_search_restart', 77],
    ];
    for (const [name, value] of expected) {
      expect(find(families, name)?.type, name).toBe('gauge');
      expect(single(families, name), name).toBe(value);
    }
  });

  it('leaves out conntrack values the backend does not have, and all of them while the source fails', () => {
    const { hal, step, collect } = setup();
    Object.assign(hal.conntrack.sample, { count: 10, max: 100, found: NaN, drop: NaN });
    step();
    let families = collect();
    expect(single(families, 'node_nf_conntrack_entries')).toBe(10);
    expect(single(families, 'node_nf_conntrack_stat_found')).toBeUndefined();
    expect(single(families, 'node_nf_conntrack_stat_drop')).toBeUndefined();
    hal.conntrack.failNext = new Error('netlink gone');
    step();
    families = collect();
    expect(families.filter((f) => f.name.startsWith('node_nf_conntrack')).flatMap((f) => f.samples)).toEqual([]);
  });

  it('reports build info, uptime and the sampler counters', () => {
    const { step, collect, sampler } = setup();
    step();
    step();
    sampler.overruns = 3;
    const families = collect();
    expect(find(families, 'lanwatch_build_info')!.samples).toEqual([{ labels: { version: '1.2.3' }, value: 1 }]);
    expect(find(families, 'lanwatch_uptime_seconds')).toMatchObject({ type: 'gauge', samples: [{ value: 2 }] });
    expect(find(families, 'lanwatch_sampler_ticks_total')).toMatchObject({ type: 'counter', samples: [{ value: 2 }] });
    expect(find(families, 'lanwatch_sampler_overruns_total')).toMatchObject({ type: 'counter', samples: [{ value: 3 }] });
  });

  it('reports interface roles', () => {
    const { collect, sources } = setup();
    expect(find(collect(), 'lanwatch_interface_role')!.samples).toEqual([
      { labels: { device: 'eth0', role: 'wan' }, value: 1 },
      { labels: { device: 'eth1', role: 'lan' }, value: 1 },
      { labels: { device: 'lan2', role: 'lan' }, value: 1 },
      { labels: { device: 'br-lan', role: 'bridge' }, value: 1 },
    ]);
    sources.roles = () => ({ wan: null, lan: ['eth0', 'eth0'], bridge: null });
    expect(find(collect(), 'lanwatch_interface_role')!.samples).toEqual([{ labels: { device: 'eth0', role: 'lan' }, value: 1 }]);
  });

  it('reports every alarm: active, severity as a number, times raised', () => {
    const { collect, setAlarms } = setup();
    setAlarms([
      alarm({ name: 'nat_table', active: true, severity: 'critical', raisedCount: 4 }),
      alarm({ name: 'storm', active: true, severity: 'warning', raisedCount: 1 }),
      alarm({ name: 'wan_mode', raisedCount: 2 }),
    ]);
    const families = collect();
    const values = (name: string) => Object.fromEntries(find(families, name)!.samples.map((s) => [s.labels!.alarm, s.value]));
    expect(values('lanwatch_alarm_active')).toEqual({ nat_table: 1, storm: 1, wan_mode: 0 });
    expect(values('lanwatch_alarm_severity')).toEqual({ nat_table: 2, storm: 1, wan_mode: 0 });
    expect(values('lanwatch_alarm_raised_total')).toEqual({ nat_table: 4, storm: 1, wan_mode: 2 });
    expect(find(families, 'lanwatch_alarm_raised_total')!.type).toBe('counter');
    expect(find(families, 'lanwatch_alarm_severity')!.type).toBe('gauge');
  });

  it('reports MQTT only when the getter is given and has a client', () => {
    const { collect, setMqtt, sources } = setup();
    expect(find(collect(), 'lanwatch_mqtt_connected')).toBeUndefined();
    setMqtt({ connected: true, messagesSent: 12, bytesSent: 3456 });
    let families = collect();
    expect(find(families, 'lanwatch_mqtt_connected')).toMatchObject({ type: 'gauge', samples: [{ value: 1 }] });
    expect(find(families, 'lanwatch_mqtt_messages_sent_total')).toMatchObject({ type: 'counter', samples: [{ value: 12 }] });
    expect(find(families, 'lanwatch_mqtt_bytes_sent_total')).toMatchObject({ type: 'counter', samples: [{ value: 3456 }] });
    setMqtt({ connected: false, messagesSent: 12, bytesSent: 3456 });
    expect(single(collect(), 'lanwatch_mqtt_connected')).toBe(0);
    delete sources.mqtt;
    families = collect();
    expect(families.some((f) => f.name.startsWith('lanwatch_mqtt_'))).toBe(false);
  });
});
