import { describe, expect, it } from 'vitest';
import { formatBitrate, formatCount, formatDuration, renderStatus, sparkline, topProtocol } from '../../../src/status/render.ts';
import type { StatusSnapshot } from '../../../src/status/types.ts';

const NO_PORT = { bcastPps: null, mcastPps: null, protocols: null, ownFramesPerS: null, portCounterSource: null, bcastMcastLast60s: null };

const snapshot: StatusSnapshot = {
  agent: {
    version: '9.9.9', pid: 1, uptimeS: 7385, startedAt: '2026-01-01T00:00:00.000Z',
    board: { id: 'pi-router', name: 'Raspberry Pi router', role: 'router', model: 'Raspberry Pi 4 Model B Rev 1.4', reasons: [] },
    backends: {
      inventory: { backend: 'netlink', detail: '' },
      links: { backend: 'netlink', detail: '' },
      conntrack: { backend: 'procfs', detail: 'ctnetlink needs CAP_NET_ADMIN' },
    },
    health: { links: { ok: true, lastError: null, failures: 0 }, conntrack: { ok: false, lastError: 'EPERM', failures: 3 } },
    demo: false, configFile: null, sampleIntervalMs: 1000, ticks: 7380, overruns: 2, stalls: 0, lastTickMs: 0.06,
  },
  conntrack: {
    count: 61000, max: 65536, pct: 93.1, found: 1, invalid: 0, insertFailed: 4, drop: 17, earlyDrop: 2, error: 0,
    searchRestart: 0, dropPerS: 0.5, earlyDropPerS: 0, insertFailedPerS: 0,
    newPerS: null, growthPerS: null, secondsToFull: null, refused10s: null, hosts: [], upstream: null,
  },
  interfaces: [
    { name: 'lo', index: 1, kind: 'loopback', role: null, master: null, operState: 'unknown', mtu: 65536, mac: null, rxPps: 1, txPps: 1, rxBps: 100, txBps: 100, multicastPps: 0, errorsPerS: 0, dropsPerS: 0, ...NO_PORT },
    { name: 'eth0', index: 2, kind: 'ethernet', role: 'wan', master: null, operState: 'up', mtu: 1500, mac: null, rxPps: 1234, txPps: 99.5, rxBps: 1_500_000, txBps: null, multicastPps: 3, errorsPerS: 0, dropsPerS: 2, ...NO_PORT },
    { name: 'lan1', index: 3, kind: 'dsa', role: 'lan', master: 'br-lan', operState: 'up', mtu: 1500, mac: null, rxPps: null, txPps: null, rxBps: null, txBps: null, multicastPps: null, errorsPerS: null, dropsPerS: null, ...NO_PORT },
  ],
  alarms: [],
  portWatch: {
    bridge: 'br-lan',
    counted: ['lan1'],
    watched: ['lan1', 'wlan0'],
    source: { backend: 'nftables', detail: 'table bridge lanwatch, one NFT_MSG_GETOBJ dump per tick' },
    countingError: null,
    health: { ok: true, lastError: null, failures: 0 },
    fdb: { moves: 12, lost: 0 },
    protection: null,
    probe: {
      intervalMs: 1000,
      nonce: '0123456789abcdef',
      bridges: [
        { bridge: 'br-lan', via: 'ipv4-broadcast', destination: '192.168.1.255:9', sent: 7000, failed: 0, skipped: 0, lastError: null, lastSentAt: Date.parse('2026-01-01T02:03:04.000Z'), detail: null },
      ],
    },
  },
  mqtt: {
    enabled: true, broker: 'mqtt://192.168.1.10:1883', state: 'connected', since: '2026-01-01T00:00:00.000Z',
    nodeId: 'lanwatch_dca632005e01', connects: 1, messagesSent: 42, bytesSent: 15_360,
    lastPublishAt: '2026-01-01T02:03:00.000Z', lastError: null, nextAttemptAt: null,
  },
  prometheus: { url: null, error: null },
};
const NOW = Date.parse('2026-01-01T02:03:05.000Z');

const natAlarm = {
  name: 'nat_table', title: 'NAT table almost full', active: true, severity: 'critical' as const,
  since: '2026-01-01T02:00:05.000Z', value: 96.1, peak: 97.2,
  reason: 'conntrack table 96.1 % full (62,980 of 65,536 entries)', raisedCount: 1,
  lastRaisedAt: '2026-01-01T01:58:00.000Z', lastClearedAt: null, attributes: {},
};

describe('renderStatus', () => {
  const text = renderStatus(snapshot, NOW);

  it('puts board, uptime and sources in the header', () => {
    expect(text).toContain('lanwatch 9.9.9 · up 2h 03m · Raspberry Pi router (pi-router) · Raspberry Pi 4 Model B Rev 1.4');
    expect(text).toContain('7380 ticks · 2 late');
    expect(text).toContain('conntrack: procfs — ctnetlink needs CAP_NET_ADMIN');
    expect(text).toContain('conntrack: FAILING — EPERM');
  });

  it('shows the table usage and drop counters', () => {
    expect(text).toContain('conntrack  61,000 / 65,536 (93.1 %) · drop 17 · early_drop 2 · insert_failed 4');
  });

  it('lists interfaces in aligned columns, bits per second, without loopback', () => {
    const lines = text.split('\n');
    const header = lines.find((l) => l.startsWith('interface'))!;
    const eth0 = lines.find((l) => l.startsWith('eth0'))!;
    expect(eth0.indexOf('wan')).toBe(header.indexOf('role'));
    expect(eth0).toContain('12.0 Mb/s');
    expect(eth0).toContain('1.2k');
    expect(lines.find((l) => l.startsWith('lan1'))).toContain('dsa (br-lan)');
    expect(text).not.toMatch(/^lo /m);
    expect(text).toContain('alarms     none');
  });

  it('shows the NAT forecast, the upstream budget and the top hosts under the conntrack line', () => {
    const out = renderStatus(
      {
        ...snapshot,
        conntrack: {
          ...snapshot.conntrack,
          newPerS: 120,
          growthPerS: 40,
          secondsToFull: 300,
          refused10s: 0,
          upstream: { budget: 2000, used: 1850, pct: 92.5, basis: 'router', secondsToFull: 9 },
          hosts: [
            { ip: '10.77.0.2', mac: null, name: 'gaming-pc', entries: 3000, tcpEstablished: 3000, tcpClosing: 0, tcpOther: 0, udp: 0, icmp: 0, other: 0, unreplied: 0, snat: 3000 },
            { ip: '10.77.0.3', mac: null, name: null, entries: 1000, tcpEstablished: 1000, tcpClosing: 0, tcpOther: 0, udp: 0, icmp: 0, other: 0, unreplied: 0, snat: 1000 },
          ],
        },
      },
      NOW,
    );
    expect(out).toContain('           new 120/s · growth 40/s · full in ~5m 00s at this rate');
    expect(out).toContain('upstream   1,850 / 2,000 sessions declared (through our NAT) 93 % · full in ~9s');
    expect(out).toContain('top hosts  gaming-pc 3.0k, 10.77.0.3 1.0k (agent top for the live view)');
  });

  it('says how the ports are counted and probed', () => {
    expect(text).toContain('ports      lan1 on br-lan · nftables (table bridge lanwatch, one NFT_MSG_GETOBJ dump per tick) · 12 MAC moves');
    expect(text).toContain('           wlan0: interface multicast counter only (not a bridge port)');
    expect(text).toContain('probe      every 1 s to 192.168.1.255:9 · 7000 sent, last 1s ago · nonce 0123456789abcdef');
  });

  it('shows what loop protection blocked, spares and failed to do', () => {
    const at = (iso: string) => Date.parse(iso);
    const out = renderStatus(
      {
        ...snapshot,
        portWatch: {
          ...snapshot.portWatch,
          protection: {
            enabled: true,
            protectedKnown: true,
            blocked: [{ port: 'lan3', since: at('2026-01-01T02:03:00.000Z'), until: at('2026-01-01T02:08:00.000Z'), reason: 'own frames came back (1,410/s)', blocks: 1 }],
            refused: [{ port: 'lan1', reason: 'loop on lan1: not blocked, it carries the uplink via 192.168.1.1' }],
            protectedPorts: [{ port: 'lan1', reason: 'the uplink via 192.168.1.1' }],
            blockCounts: [{ port: 'lan3', blocks: 1 }],
            failures: [{ op: 'block', port: 'lan4', error: 'nft: Operation not permitted' }],
            recent: [],
          },
        },
      },
      NOW,
    );
    expect(out).toContain('protect    on · never blocks lan1 (the uplink via 192.168.1.1)');
    expect(out).toContain('           BLOCKED lan3 since 5s ago, 4m 55s left (block #1): own frames came back (1,410/s)');
    expect(out).toContain('           loop on lan1: not blocked, it carries the uplink via 192.168.1.1');
    expect(out).toContain('           FAILING block lan4: nft: Operation not permitted');
    const off = { ...snapshot.portWatch, protection: { enabled: false, protectedKnown: false, blocked: [], refused: [], protectedPorts: [], blockCounts: [], failures: [], recent: [] } };
    expect(renderStatus({ ...snapshot, portWatch: off }, NOW)).toContain('protect    off (loop.protect is false)');
  });

  it('says why ports are not counted or probed', () => {
    const off = renderStatus(
      {
        ...snapshot,
        portWatch: {
          ...snapshot.portWatch,
          source: { backend: 'none', detail: 'port counters off: nft not found' },
          countingError: 'nft: Operation not permitted (needs CAP_NET_ADMIN)',
          probe: { ...snapshot.portWatch.probe!, bridges: [{ ...snapshot.portWatch.probe!.bridges[0]!, via: null, destination: null, detail: 'no address: probe off' }] },
        },
      },
      NOW,
    );
    expect(off).toContain('none (port counters off: nft not found)');
    expect(off).toContain('NOT COUNTING: nft: Operation not permitted (needs CAP_NET_ADMIN)');
    expect(off).toContain('probe      br-lan: no address: probe off');
  });

  it('shows active alarms with severity, reason, age and peak', () => {
    const out = renderStatus({ ...snapshot, alarms: [natAlarm] }, NOW);
    expect(out).toContain('  CRITICAL nat_table: conntrack table 96.1 % full (62,980 of 65,536 entries) · since 3m 00s ago · peak 97.2');
  });

  it('keeps the trace of an alarm that has cleared', () => {
    const cleared = { ...natAlarm, active: false, severity: null, raisedCount: 2, lastClearedAt: '2026-01-01T02:02:05.000Z' };
    expect(renderStatus({ ...snapshot, alarms: [cleared] }, NOW)).toContain('alarms     none (nat_table raised 2× since start, cleared 1m 00s ago)');
  });

  it('shows the broker without credentials, the traffic and the last publish', () => {
    expect(text).toContain('mqtt       connected to mqtt://192.168.1.10:1883 as lanwatch_dca632005e01 · 42 messages, 15.4 kB · last publish 5s ago');
  });

  it('says why the broker is not connected and when the next attempt is', () => {
    const mqtt = { ...snapshot.mqtt, state: 'waiting', lastError: 'connect ECONNREFUSED 127.0.0.1:1883', nextAttemptAt: '2026-01-01T02:03:35.000Z' };
    expect(renderStatus({ ...snapshot, mqtt }, NOW)).toContain(
      'mqtt       NOT CONNECTED to mqtt://192.168.1.10:1883: connect ECONNREFUSED 127.0.0.1:1883; next attempt in 30s',
    );
    expect(renderStatus({ ...snapshot, mqtt: { ...snapshot.mqtt, enabled: false } }, NOW)).toContain('mqtt       off');
  });

  it('shows the metrics endpoint only when it is configured', () => {
    expect(text).not.toContain('metrics');
    expect(renderStatus({ ...snapshot, prometheus: { url: 'http://127.0.0.1:9839/metrics', error: null } }, NOW)).toContain(
      'metrics    http://127.0.0.1:9839/metrics',
    );
  });
});

describe('formatters', () => {
  it('formats durations, counts and bitrates for people', () => {
    expect(formatDuration(59)).toBe('59s');
    expect(formatDuration(3 * 86400 + 7200)).toBe('3d 2h');
    expect(formatCount(null)).toBe('–');
    expect(formatCount(12.34)).toBe('12.3');
    expect(formatCount(15_000)).toBe('15k');
    expect(formatCount(2_500_000)).toBe('2.5M');
    expect(formatBitrate(125_000_000)).toBe('1.00 Gb/s');
    expect(formatBitrate(100)).toBe('800 b/s');
  });
});

describe('bridge ports', () => {
  const minute = Array.from({ length: 60 }, (_, i) => (i < 50 ? 4 : i === 59 ? null : 320));
  const lan1 = {
    ...snapshot.interfaces[2]!,
    bcastPps: 2, mcastPps: 318, ownFramesPerS: 0,
    protocols: { arp: 2, nd: 1, mdns: 300, ssdp: 10, dhcp: 0, other: 7 },
    portCounterSource: 'nftables', bcastMcastLast60s: minute,
  };

  it('lists each counted port with its rates, top protocol, a 60 s sparkline and the source', () => {
    const out = renderStatus({ ...snapshot, interfaces: [snapshot.interfaces[1]!, lan1] }, NOW);
    const header = out.split('\n').find((l) => l.startsWith('port'))!;
    expect(header).toMatch(/^port +bcast\/s +mcast\/s +top protocol +own\/s +bcast\+mcast, last 60 s \(peak\) +source$/);
    const row = out.split('\n').filter((l) => l.startsWith('lan1 ')).at(-1)!;
    expect(row).toContain('mDNS 94 %');
    expect(row).toContain(`${'▁'.repeat(50)}${'█'.repeat(9)}  320`);
    expect(row).toMatch(/nftables$/);
  });

  it('draws a flat line for a quiet minute and blanks for unknown seconds', () => {
    expect(sparkline([0, 0, null, 0])).toBe('▁▁ ▁');
    expect(sparkline([1, 2, 4, 8])).toBe('▂▃▅█');
    expect(topProtocol({ ...lan1, protocols: { arp: 0, nd: 0, mdns: 0, ssdp: 0, dhcp: 0, other: 0 } })).toBe('');
  });

  it('shows no port table when no port is counted', () => {
    expect(renderStatus(snapshot, NOW)).not.toMatch(/^port /m);
  });
});
