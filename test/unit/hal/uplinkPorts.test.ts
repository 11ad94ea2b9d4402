import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBrforward, readLearnedMacPorts } from '../../../hal/linux/bridgeFdb.ts';
import { resolveUplinkPorts, type UplinkPortsOptions } from '../../../hal/linux/uplinkPorts.ts';
import { parseArpTable } from '../../../hal/procfs/arpTable.ts';
import { addressText, hostWordsToNet, inPrefix, ipv4ToHex, isLoopback, unmapIpv4 } from '../../../hal/procfs/procAddress.ts';
import { lookupRoute, parseIpv4Routes, parseIpv6Routes, readRoutes } from '../../../hal/procfs/routeTable.ts';
import { readTcpSessions } from '../../../hal/procfs/tcpSessions.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/uplink/${name}/`, import.meta.url));
const BRIDGE = fixture('bridge-uplink');
const ROUTER = fixture('router-wan');
const v6 = (text: string): string => {
  // fd00::20 style → 32 hex digits, for injected neighbours.
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (s: string | undefined): string[] => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  return [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => g.padStart(4, '0')).join('');
};

describe('procAddress', () => {
  it('turns host-order /proc hex into network order on a little-endian host only', () => {
    expect(hostWordsToNet('0100590A', true)).toBe('0a590001');
    expect(hostWordsToNet('0A590001', false)).toBe('0a590001');
    expect(hostWordsToNet('00000000000000000000000001000000', true)).toBe('00000000000000000000000000000001');
  });

  it('formats addresses for people (RFC 5952) and knows loopback and mapped IPv4', () => {
    expect(addressText(ipv4ToHex('10.89.0.1')!)).toBe('10.89.0.1');
    expect(addressText(v6('fe80::1'))).toBe('fe80::1');
    expect(addressText(v6('2001:db8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1');
    expect(addressText(v6('2001:db8:0:1:1:1:1:1'))).toBe('2001:db8:0:1:1:1:1:1');
    expect(addressText('00000000000000000000ffffc0a8011e')).toBe('::ffff:192.168.1.30');
    expect(unmapIpv4('00000000000000000000ffffc0a8011e')).toBe('c0a8011e');
    expect(isLoopback(ipv4ToHex('127.0.0.53')!)).toBe(true);
    expect(isLoopback(v6('::1'))).toBe(true);
    expect(isLoopback(ipv4ToHex('10.0.0.1')!)).toBe(false);
    expect(ipv4ToHex('10.0.0.256')).toBeNull();
  });

  it('matches prefixes on bit boundaries', () => {
    expect(inPrefix(ipv4ToHex('10.20.3.4')!, ipv4ToHex('10.20.0.0')!, 16)).toBe(true);
    expect(inPrefix(ipv4ToHex('10.21.3.4')!, ipv4ToHex('10.20.0.0')!, 16)).toBe(false);
    expect(inPrefix(ipv4ToHex('10.20.3.4')!, ipv4ToHex('10.16.0.0')!, 13)).toBe(true);
    expect(inPrefix(ipv4ToHex('10.24.3.4')!, ipv4ToHex('10.16.0.0')!, 13)).toBe(false);
    expect(inPrefix(ipv4ToHex('1.2.3.4')!, '00000000', 0)).toBe(true);
  });
});

describe('route table', () => {
  it('parses both files and looks up the longest prefix', async () => {
    const routes = await readRoutes(BRIDGE, true);
    const via = (address: string): string => {
      const route = lookupRoute(routes, address);
      return route === null ? 'none' : `${route.iface} ${route.gateway === null ? 'on-link' : addressText(route.gateway)}`;
    };
    expect(via(ipv4ToHex('192.168.1.20')!)).toBe('br0 on-link');
    expect(via(ipv4ToHex('10.20.0.5')!)).toBe('br0 192.168.1.254');
    expect(via(ipv4ToHex('8.8.8.8')!)).toBe('br0 192.168.1.1');
    expect(via(v6('fd00::20'))).toBe('br0 on-link');
    expect(via(v6('2001:db8::1'))).toBe('br0 fe80::1');
    // The unreachable ::/0 on lo (RTF_REJECT) is not a route out.
    expect(parseIpv6Routes(readFileSync(`${BRIDGE}proc/net/ipv6_route`, 'utf8')).map((r) => r.iface)).not.toContain('lo');
    expect(parseIpv4Routes('Iface\tDestination\nbad line\n', true)).toEqual([]);
  });
});

describe('tcp sessions', () => {
  it('keeps established inbound sessions on the ssh ports, IPv4-mapped peers unmapped, loopback left out', async () => {
    const sessions = await readTcpSessions(BRIDGE, [22], true);
    expect(sessions.map((s) => `${addressText(s.peer)}:${s.peerPort} → ${s.localPort}`)).toEqual([
      '192.168.1.20:51022 → 22',
      '10.20.0.5:40022 → 22',
      'fd00::20:50620 → 22',
      '192.168.1.30:50630 → 22',
    ]);
    expect(await readTcpSessions(fixture('none'), [22], true)).toEqual([]);
  });
});

describe('neighbour and FDB tables', () => {
  it('reads complete ARP entries only', () => {
    const arp = parseArpTable(readFileSync(`${BRIDGE}proc/net/arp`, 'utf8'));
    expect(arp.map((n) => `${addressText(n.address)} ${n.mac} ${n.device}`)).toEqual([
      '192.168.1.1 aa:bb:cc:00:00:01 br0',
      '192.168.1.20 aa:bb:cc:00:00:20 br0',
      '192.168.1.30 aa:bb:cc:00:00:30 br0',
      '192.168.1.254 aa:bb:cc:00:00:fe br0',
    ]);
  });

  it('parses the hand-built brforward: 16-byte struct __fdb_entry, port = port_hi << 8 | port_no', () => {
    const entries = parseBrforward(readFileSync(`${BRIDGE}sys/class/net/br0/brforward`));
    expect(entries).toHaveLength(8);
    expect(entries[2]).toEqual({ mac: 'aa:bb:cc:00:00:30', portNo: 260, isLocal: false });
    expect(entries[5]).toEqual({ mac: '02:00:00:00:00:e0', portNo: 1, isLocal: true });
    // A trailing partial entry (a short read) is ignored.
    expect(parseBrforward(new Uint8Array(20))).toHaveLength(1);
  });

  it('maps learned MACs to port names, leaving out local entries and unknown port numbers', async () => {
    const ports = await readLearnedMacPorts(BRIDGE, 'br0');
    expect(Object.fromEntries(ports)).toEqual({
      'aa:bb:cc:00:00:01': 'eth0',
      'aa:bb:cc:00:00:20': 'lan1',
      'aa:bb:cc:00:00:30': 'lan3',
      'aa:bb:cc:00:00:fe': 'lan2',
      'aa:bb:cc:00:02:20': 'lan2',
    });
    await expect(readLearnedMacPorts(BRIDGE, 'br9')).rejects.toThrow();
  });
});

describe('resolveUplinkPorts', () => {
  const bridgeOptions: UplinkPortsOptions = {
    root: BRIDGE,
    bridge: 'br0',
    wan: null,
    littleEndian: true,
    ipv6Neighbours: async () => [
      { address: v6('fe80::1'), mac: 'aa:bb:cc:00:00:01', ifindex: 5 },
      { address: v6('fd00::20'), mac: 'aa:bb:cc:00:02:20', ifindex: 5 },
      { address: v6('fd00::20'), mac: 'aa:bb:cc:00:09:99', ifindex: 9 }, // same address on another link
    ],
  };

  it('names the gateway port and every ssh session port on a bridge uplink', async () => {
    const result = await resolveUplinkPorts(bridgeOptions);
    expect(result.ports).toEqual([
      { port: 'eth0', reason: 'the uplink (default route via 192.168.1.1) and the uplink (IPv6 default route via fe80::1)' },
      { port: 'lan1', reason: 'the ssh session from 192.168.1.20' },
      { port: 'lan2', reason: 'the ssh session from 10.20.0.5 and the ssh session from fd00::20' },
      { port: 'lan3', reason: 'the ssh session from 192.168.1.30' },
    ]);
    expect(result.notes).toEqual([]);
  });

  it('adds the WAN role, and notes what it cannot place instead of failing', async () => {
    const noNetlink = (): Promise<never> => Promise.reject(new Error('netlink addon not loadable'));
    const result = await resolveUplinkPorts({ ...bridgeOptions, wan: 'eth0', ipv6Neighbours: noNetlink });
    expect(result.ports[0]).toEqual({ port: 'eth0', reason: 'the WAN and the uplink (default route via 192.168.1.1)' });
    expect(result.ports.map((p) => p.port)).toEqual(['eth0', 'lan1', 'lan2', 'lan3']);
    expect(result.notes).toEqual([
      'IPv6 neighbours not read (netlink addon not loadable): IPv6 peers cannot be placed on a port',
      'the uplink (IPv6 default route via fe80::1): no neighbour entry for fe80::1 on br0, its port is unknown',
      'the ssh session from fd00::20: no neighbour entry for fd00::20 on br0, its port is unknown',
    ]);
  });

  it('on a router: the WAN interface carries the default route and internet ssh; LAN sessions get their port', async () => {
    const result = await resolveUplinkPorts({
      root: ROUTER,
      bridge: 'br-lan',
      wan: 'eth1',
      sshPorts: [22, 2222],
      littleEndian: true,
      ipv6Neighbours: async () => [],
    });
    expect(result.ports).toEqual([
      { port: 'eth1', reason: 'the WAN and the default route and the ssh session from 203.0.113.9' },
      { port: 'lan2', reason: 'the ssh session from 192.168.8.50' },
    ]);
    expect(result.notes).toEqual([
      'the ssh session from 192.168.8.60: no neighbour entry for 192.168.8.60 on br-lan, its port is unknown',
      'the ssh session from 192.168.8.70: 192.168.8.70 (aa:bb:cc:08:00:70) is not in the FDB of br-lan, its port is unknown',
    ]);
  });

  it('only the configured ssh ports count', async () => {
    const result = await resolveUplinkPorts({ root: ROUTER, bridge: 'br-lan', wan: null, littleEndian: true, ipv6Neighbours: async () => [] });
    expect(result.ports.map((p) => p.port)).toEqual(['eth1', 'lan2']);
    expect(result.notes).toEqual([]);
  });

  it('works without a bridge or any file: nothing but the WAN', async () => {
    expect(await resolveUplinkPorts({ root: fixture('none'), bridge: null, wan: 'wan' })).toEqual({
      ports: [{ port: 'wan', reason: 'the WAN' }],
      notes: [],
    });
  });
});
