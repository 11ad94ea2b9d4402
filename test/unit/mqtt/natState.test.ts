// The NAT part of the state document: what Home Assistant's NAT sensors and the entries
// sensor's attributes read (src/mqtt/natState.ts).
import { describe, expect, it } from 'vitest';
import { buildNatState, TOP_HOSTS } from '../../../src/mqtt/natState.ts';
import type { ConntrackHostStatus, ConntrackStatus } from '../../../src/status/types.ts';

function host(ip: string, entries: number, extra: Partial<ConntrackHostStatus> = {}): ConntrackHostStatus {
  // Entries split over protocols the way a desktop's are: mostly TCP, some UDP.
  const udp = Math.floor(entries / 4);
  const icmp = entries > 10 ? 1 : 0;
  const tcp = entries - udp - icmp;
  return {
    ip, mac: null, name: null, entries,
    tcpEstablished: tcp - Math.floor(tcp / 3), tcpClosing: Math.floor(tcp / 3), tcpOther: 0,
    udp, icmp, other: 0, unreplied: 3, snat: entries,
    ...extra,
  };
}

function conntrack(overrides: Partial<ConntrackStatus> = {}): ConntrackStatus {
  return {
    count: 1900, max: 65536, pct: 2.9, found: 0, invalid: 0, insertFailed: 0, drop: 0, earlyDrop: 0, error: 0, searchRestart: 0,
    dropPerS: 0, earlyDropPerS: 0, insertFailedPerS: 0,
    newPerS: 37, growthPerS: 0.1, secondsToFull: null, refused10s: 0, hosts: [], upstream: null,
    ...overrides,
  };
}

describe('buildNatState', () => {
  it('names the five hosts holding most entries, by protocol, most first', () => {
    const hosts = [
      host('192.168.1.23', 1172, { mac: 'dc:a6:32:00:5e:23', name: 'desktop' }),
      host('192.168.1.40', 376, { mac: 'dc:a6:32:00:5e:40', name: 'nas' }),
      host('192.168.1.12', 156),
      host('192.168.1.57', 142),
      host('fd00::1c4e:8aff:fe21:7b02', 80, { other: 2, tcpOther: 1 }),
      host('192.168.1.99', 12),
      host('192.168.1.98', 3),
    ];
    const state = buildNatState(conntrack({ hosts }), false);
    expect(TOP_HOSTS).toBe(5);
    expect(state.top_hosts.map((h) => h.ip)).toEqual(['192.168.1.23', '192.168.1.40', '192.168.1.12', '192.168.1.57', 'fd00::1c4e:8aff:fe21:7b02']);
    expect(state.top_hosts[0]).toEqual({ ip: '192.168.1.23', mac: 'dc:a6:32:00:5e:23', name: 'desktop', entries: 1172, tcp: 878, udp: 293, icmp: 1, other: 0 });
    // Unknown identity stays null; TCP adds up every state; the protocols add up to the entries.
    const ipv6 = state.top_hosts[4]!;
    expect(ipv6).toMatchObject({ mac: null, name: null, tcp: hosts[4]!.tcpEstablished + hosts[4]!.tcpClosing + 1, other: 2 });
    for (const h of state.top_hosts.slice(0, 4)) expect(h.tcp + h.udp + h.icmp + h.other).toBe(h.entries);
  });

  it('keeps five hosts small enough for every state document', () => {
    const hosts = [1, 2, 3, 4, 5, 6].map((i) =>
      host(`192.168.100.${200 + i}`, 12_345 - i, { mac: `dc:a6:32:00:5e:0${i}`, name: `living-room-tv-${i}` }),
    );
    // Long addresses, five-digit counts, names and MACs: about 135 B a host, 4 kB a minute at defaults.
    expect(JSON.stringify(buildNatState(conntrack({ hosts }), false).top_hosts).length).toBeLessThan(700);
  });

  it('turns the refusals of the last 10 s into a rate, and passes the forecast and new-entry rate on', () => {
    expect(buildNatState(conntrack({ refused10s: 37, secondsToFull: 245, newPerS: 12 }), false)).toMatchObject({ refused_ps: 3.7, full_in_s: 245, new_ps: 12 });
    expect(JSON.stringify(buildNatState(conntrack({ refused10s: 3 }), false).refused_ps)).toBe('0.3');
    expect(buildNatState(conntrack({ refused10s: 0 }), false).refused_ps).toBe(0);
  });

  it('keeps unknown as null: not growing, no events, no NAT source at all', () => {
    expect(buildNatState(conntrack({ secondsToFull: null, newPerS: null, refused10s: null }), false)).toEqual({ new_ps: null, refused_ps: null, full_in_s: null, top_hosts: [] });
    // What the status snapshot holds without a conntrack host source.
    const none = conntrack({ newPerS: null, growthPerS: null, secondsToFull: null, refused10s: null, hosts: [], upstream: null });
    expect(buildNatState(none, true)).toEqual({ new_ps: null, refused_ps: null, full_in_s: null, upstream_pct: null, top_hosts: [] });
  });

  it('carries the upstream usage only when discovery announced its sensor', () => {
    const upstream = { budget: 2000, used: 1700, pct: 85, basis: 'router' as const, secondsToFull: null };
    expect(buildNatState(conntrack({ upstream }), true).upstream_pct).toBe(85);
    expect('upstream_pct' in buildNatState(conntrack({ upstream }), false)).toBe(false);
    // Before the first dump the usage is unknown, and says so.
    expect(buildNatState(conntrack({ upstream: { ...upstream, used: null, pct: null } }), true)).toHaveProperty('upstream_pct', null);
  });
});
