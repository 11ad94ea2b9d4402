import { describe, expect, it } from 'vitest';
import { buildDiscovery, componentSlug, expireAfterSeconds, type DiscoveryInput } from '../../../src/mqtt/discovery.ts';
import { agentIdentity } from '../../../src/mqtt/identity.ts';
import { buildStateDocument, publishedPorts, type PublishedPort } from '../../../src/mqtt/stateDocument.ts';
import { Topics } from '../../../src/mqtt/topics.ts';
import type { InterfaceStatus, StatusSnapshot } from '../../../src/status/types.ts';
import { validateDeviceDiscovery } from '../../mqtt/discoveryValidator.ts';

const topics = new Topics({ baseTopic: 'home/lanwatch', discoveryPrefix: 'ha', nodeId: 'attic' });
const identity = agentIdentity('dc:a6:32:00:5e:01', 'attic', '');

function input(overrides: Partial<DiscoveryInput> = {}): DiscoveryInput {
  return {
    topics,
    identity,
    device: { name: 'raspberrypi', manufacturer: 'Raspberry Pi Ltd', model: 'Raspberry Pi 4 Model B Rev 1.4', osRelease: 'Debian GNU/Linux 12 (bookworm)' },
    agentVersion: '1.2.3',
    ports: [
      { name: 'br-lan', role: 'bridge', counted: false },
      { name: 'eth0', role: 'wan', counted: false },
      { name: 'eth1.10', role: 'lan', counted: true },
    ],
    upstream: false,
    alarms: [{ name: 'nat_table', title: 'NAT table almost full' }],
    stateIntervalMs: 10_000,
    ...overrides,
  };
}

/** Every topic the publisher writes for this input. */
const published = new Set([topics.availability, topics.state, topics.alarm('nat_table'), topics.alarmAttributes('nat_table')]);

describe('buildDiscovery', () => {
  const { topic, payload } = buildDiscovery(input());

  it('passes the discovery validator with every referenced topic published', () => {
    expect(topic).toBe('ha/device/attic/config');
    expect(validateDeviceDiscovery(topic, payload, { publishedTopics: published })).toEqual([]);
  });

  it('names the device after the host, identifies it by MAC, and says who published it', () => {
    expect(payload.dev).toEqual({
      ids: ['lanwatch_dca632005e01'],
      cns: [['mac', 'dc:a6:32:00:5e:01']],
      name: 'raspberrypi',
      mf: 'Raspberry Pi Ltd',
      mdl: 'Raspberry Pi 4 Model B Rev 1.4',
      sw: 'Debian GNU/Linux 12 (bookworm)',
    });
    expect(payload.o).toEqual({ name: 'lanwatch', sw: '1.2.3' });
    expect(payload.avty_t).toBe('home/lanwatch/attic/availability');
  });

  it('keys unique ids by MAC and entity ids by node id; interface names become safe ids', () => {
    expect(payload.cmps.eth1_10_rx_rate).toMatchObject({
      uniq_id: 'lanwatch_dca632005e01_eth1_10_rx_rate',
      default_entity_id: 'sensor.attic_eth1_10_rx_rate',
      val_tpl: "{{ value_json.ports['eth1.10'].rx_bytes_ps }}",
      dev_cla: 'data_rate',
      unit_of_meas: 'B/s',
    });
    expect(payload.cmps.eth0_rx_rate?.name).toBe('eth0 (WAN) received');
    expect(componentSlug('br-lan')).toBe('br_lan');
    const odd = buildDiscovery(input({ ports: [{ name: "it's\\x", role: 'lan', counted: false }] })).payload.cmps;
    expect(odd.it_s_x_rx_rate?.val_tpl).toBe("{{ value_json.ports['it\\'s\\\\x'].rx_bytes_ps }}");
  });

  it('marks live values with expire_after (three state intervals), identity values without', () => {
    expect(expireAfterSeconds(10_000)).toBe(30);
    expect(expireAfterSeconds(1500)).toBe(5);
    expect(payload.cmps.nat_table_usage?.exp_aft).toBe(30);
    expect(payload.cmps.agent_version?.exp_aft).toBeUndefined();
    expect(payload.cmps.alarm_nat_table?.exp_aft).toBeUndefined();
  });

  it('gives counted bridge ports a broadcast sensor and a diagnostic counter-source sensor', () => {
    expect(payload.cmps.eth1_10_broadcast).toMatchObject({ unit_of_meas: 'packets/s', stat_cla: 'measurement', val_tpl: "{{ value_json.ports['eth1.10'].broadcast_pps }}" });
    expect(payload.cmps.eth1_10_counter_source).toMatchObject({ ent_cat: 'diagnostic', val_tpl: "{{ value_json.ports['eth1.10'].counter_source }}" });
    expect(payload.cmps.eth0_broadcast).toBeUndefined();
  });

  it('turns removed components into bare platform markers, as HA documents', () => {
    const { payload: withRemoval } = buildDiscovery(input({ removed: new Map([['lan9_rx_rate', 'sensor']]) }));
    expect(withRemoval.cmps.lan9_rx_rate).toEqual({ p: 'sensor' });
    expect(validateDeviceDiscovery(topic, withRemoval, { publishedTopics: published })).toEqual([]);
  });

  it('stays small enough to resend on every HA restart: under 32 kB with 10 ports', () => {
    const ports: PublishedPort[] = [{ name: 'eth0', role: 'wan', counted: false }, { name: 'br-lan', role: 'bridge', counted: false }];
    for (let i = 1; i <= 8; i++) ports.push({ name: `lan${i}`, role: 'lan', counted: true });
    expect(JSON.stringify(buildDiscovery(input({ ports, upstream: true })).payload).length).toBeLessThan(32_000);
  });
});

describe('buildDiscovery: NAT intelligence', () => {
  const { topic, payload } = buildDiscovery(input({ upstream: true }));

  it('announces the new-entry rate, the refusals and the time to full as live measurements', () => {
    expect(validateDeviceDiscovery(topic, payload, { publishedTopics: published })).toEqual([]);
    const live = { p: 'sensor', stat_cla: 'measurement', exp_aft: 30 };
    expect(payload.cmps.nat_table_new_entries).toMatchObject({ ...live, name: 'NAT table new entries', unit_of_meas: 'entries/s', val_tpl: '{{ value_json.conntrack.new_ps }}' });
    expect(payload.cmps.nat_table_refusals).toMatchObject({ ...live, name: 'NAT table refusals', unit_of_meas: 'entries/s', val_tpl: '{{ value_json.conntrack.refused_ps }}' });
    expect(payload.cmps.nat_table_full_in).toMatchObject({ ...live, name: 'NAT table full in', dev_cla: 'duration', unit_of_meas: 's', val_tpl: '{{ value_json.conntrack.full_in_s }}' });
    // Primary sensors: neither diagnostic nor hidden.
    for (const id of ['nat_table_new_entries', 'nat_table_refusals', 'nat_table_full_in', 'nat_upstream_usage']) {
      expect(payload.cmps[id]?.ent_cat, id).toBeUndefined();
      expect(payload.cmps[id]?.en, id).toBeUndefined();
    }
  });

  it('announces the upstream usage only with an upstream budget', () => {
    expect(payload.cmps.nat_upstream_usage).toMatchObject({
      p: 'sensor', name: 'Upstream NAT usage', unit_of_meas: '%', stat_cla: 'measurement', exp_aft: 30, val_tpl: '{{ value_json.conntrack.upstream_pct }}',
      uniq_id: 'lanwatch_dca632005e01_nat_upstream_usage', default_entity_id: 'sensor.attic_nat_upstream_usage',
    });
    expect(buildDiscovery(input({ upstream: false })).payload.cmps.nat_upstream_usage).toBeUndefined();
  });

  it('puts the top hosts on the entries sensor as attributes read from the state document', () => {
    expect(payload.cmps.nat_table_entries).toMatchObject({
      json_attr_t: 'home/lanwatch/attic/state',
      json_attr_tpl: "{{ {'top_hosts': value_json.conntrack.top_hosts} | tojson }}",
    });
    // No other sensor carries attributes: each one costs HA a recorder row per change.
    const withAttributes = Object.entries(payload.cmps).filter(([, c]) => c.p === 'sensor' && c.json_attr_t !== undefined).map(([id]) => id);
    expect(withAttributes).toEqual(['nat_table_entries']);
  });

  it('reads only keys the state document has, with and without the upstream sensor', () => {
    for (const upstream of [false, true]) {
      const { cmps } = buildDiscovery(input({ upstream })).payload;
      const conntrack = { newPerS: null, secondsToFull: null, refused10s: null, hosts: [], upstream: null };
      const doc = buildStateDocument({ agent: { version: '1', uptimeS: 1, startedAt: '' }, conntrack, interfaces: [] } as unknown as StatusSnapshot, { ports: [], upstream });
      const keys = Object.values(cmps)
        .flatMap((c) => [c.val_tpl, c.json_attr_tpl])
        .flatMap((t) => [...String(t).matchAll(/value_json\.conntrack\.(\w+)/g)].map((m) => m[1]!));
      expect(keys.length).toBeGreaterThan(8);
      for (const key of keys) expect(doc.conntrack, `conntrack.${key} (upstream ${upstream})`).toHaveProperty(key);
    }
  });
});

function link(name: string, role: InterfaceStatus['role']): InterfaceStatus {
  return {
    name, index: 1, kind: 'ethernet', role, master: null, operState: 'up', mtu: 1500, mac: null,
    rxPps: 12.345, txPps: 1, rxBps: 1234.5, txBps: 10, multicastPps: 0.26, errorsPerS: 0, dropsPerS: null,
    bcastPps: null, mcastPps: null, protocols: null, ownFramesPerS: null, portCounterSource: null, bcastMcastLast60s: null,
  };
}

describe('state document', () => {
  const snapshot = {
    agent: { version: '1.2.3', uptimeS: 61, startedAt: '2026-01-01T00:00:00.000Z' },
    conntrack: {
      count: 15744, max: 16384, pct: 96.09375, dropPerS: 0.04, earlyDropPerS: null, insertFailedPerS: 0,
      newPerS: null, growthPerS: null, secondsToFull: null, refused10s: null, hosts: [], upstream: null,
    },
    interfaces: [link('lo', null), link('eth0', 'wan'), link('lan1', 'lan')],
  } as unknown as StatusSnapshot;

  it('publishes the ports with a role, sorted, and nothing else', () => {
    expect(publishedPorts(snapshot)).toEqual([
      { name: 'eth0', role: 'wan', counted: false },
      { name: 'lan1', role: 'lan', counted: false },
    ]);
  });

  it('takes broadcast and multicast of a counted bridge port from the port counters', () => {
    const counted = {
      ...snapshot,
      interfaces: [{ ...link('lan1', 'lan'), bcastPps: 2.04, mcastPps: 318.26, portCounterSource: 'nftables' }],
    } as unknown as StatusSnapshot;
    const doc = buildStateDocument(counted, { ports: publishedPorts(counted), upstream: false });
    expect(doc.ports.lan1).toMatchObject({ broadcast_pps: 2, multicast_pps: 318.3, counter_source: 'nftables' });
    expect(buildStateDocument(snapshot, { ports: publishedPorts(snapshot), upstream: false }).ports.lan1).toMatchObject({ broadcast_pps: null, multicast_pps: 0.3, counter_source: null });
  });

  it('rounds for people, keeps unknown as null, and lists a vanished port with nulls', () => {
    const doc = buildStateDocument(snapshot, { ports: [...publishedPorts(snapshot), { name: 'lan2', role: 'lan', counted: false }], upstream: false });
    // No NAT source (no ctnetlink): its values are unknown and no host is named.
    expect(doc.conntrack).toEqual({
      count: 15744, max: 16384, pct: 96.1, drop_ps: 0, early_drop_ps: null, insert_failed_ps: 0,
      new_ps: null, refused_ps: null, full_in_s: null, top_hosts: [],
    });
    expect(doc.ports.eth0).toMatchObject({ role: 'wan', present: true, rx_pps: 12.3, rx_bytes_ps: 1235, multicast_pps: 0.3, drops_ps: null });
    expect(doc.ports.lan2).toMatchObject({ role: 'lan', present: false, oper_state: null, rx_pps: null });
    expect(doc.agent).toEqual({ version: '1.2.3', uptime_s: 61, started_at: '2026-01-01T00:00:00.000Z' });
  });
});
