import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { directedBroadcast, probeTargetFor, sameTarget, type InterfaceTable } from '../../../hal/linux/probeAddress.ts';

const MAC = '02:88:00:00:00:01';

function v4(address: string, netmask: string, prefix: number): NetworkInterfaceInfo {
  return { address, netmask, family: 'IPv4', mac: MAC, internal: false, cidr: `${address}/${prefix}` };
}

function v6(address: string, scopeid = 7): NetworkInterfaceInfo {
  return { address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: MAC, internal: false, cidr: `${address}/64`, scopeid };
}

describe('directedBroadcast', () => {
  it('sets the host bits of the subnet', () => {
    expect(directedBroadcast('10.88.0.1', '255.255.255.0')).toBe('10.88.0.255');
    expect(directedBroadcast('192.168.1.77', '255.255.255.0')).toBe('192.168.1.255');
    expect(directedBroadcast('172.16.5.9', '255.255.0.0')).toBe('172.16.255.255');
    expect(directedBroadcast('10.1.2.3', '255.0.0.0')).toBe('10.255.255.255');
    expect(directedBroadcast('192.168.8.130', '255.255.255.192')).toBe('192.168.8.191');
    expect(directedBroadcast('192.168.8.129', '255.255.255.252')).toBe('192.168.8.131'); // /30: the smallest with one
  });

  it('keeps the top bit right (no signed 32-bit wrap)', () => {
    expect(directedBroadcast('203.0.113.200', '255.255.255.128')).toBe('203.0.113.255');
    expect(directedBroadcast('254.1.2.3', '255.255.0.0')).toBe('254.1.255.255');
  });

  it('has none for /31 (RFC 3021 point-to-point) and /32', () => {
    expect(directedBroadcast('10.0.0.0', '255.255.255.254')).toBeNull();
    expect(directedBroadcast('10.0.0.1', '255.255.255.254')).toBeNull();
    expect(directedBroadcast('10.0.0.1', '255.255.255.255')).toBeNull();
  });

  it('refuses non-contiguous masks and text that is not an IPv4 address', () => {
    expect(directedBroadcast('10.0.0.1', '255.0.255.0')).toBeNull();
    expect(directedBroadcast('10.0.0.256', '255.255.255.0')).toBeNull();
    expect(directedBroadcast('10.0.0', '255.255.255.0')).toBeNull();
    expect(directedBroadcast('fe80::1', '255.255.255.0')).toBeNull();
    expect(directedBroadcast('10.0.0.1', 'ffff:ffff::')).toBeNull();
  });

  it('handles /0 and /1 without overflow', () => {
    expect(directedBroadcast('10.0.0.1', '0.0.0.0')).toBe('255.255.255.255');
    expect(directedBroadcast('10.0.0.1', '128.0.0.0')).toBe('127.255.255.255');
  });
});

describe('probeTargetFor', () => {
  it("picks the bridge's IPv4 directed broadcast, bound to its own address, port 9", () => {
    const table: InterfaceTable = {
      eth0: [v4('198.51.100.7', '255.255.255.0', 24)],
      br0: [v4('10.88.0.1', '255.255.255.0', 24), v6('fe80::88:1')],
    };
    expect(probeTargetFor('br0', table)).toEqual({
      via: 'ipv4-broadcast',
      family: 4,
      bindAddress: '10.88.0.1',
      destination: '10.88.0.255',
      port: 9,
      label: '10.88.0.255:9',
    });
  });

  it('uses a /16 as it is', () => {
    const target = probeTargetFor('br-lan', { 'br-lan': [v4('172.20.3.1', '255.255.0.0', 16)] });
    expect(target?.destination).toBe('172.20.255.255');
    expect(target?.bindAddress).toBe('172.20.3.1');
  });

  it('skips /31 and /32 addresses for the next IPv4 address of the bridge', () => {
    const table: InterfaceTable = {
      br0: [v4('10.0.0.0', '255.255.255.254', 31), v4('10.9.9.9', '255.255.255.255', 32), v4('192.168.50.1', '255.255.255.0', 24)],
    };
    expect(probeTargetFor('br0', table)?.destination).toBe('192.168.50.255');
  });

  it('falls back to IPv6 all-nodes from the link-local address, scoped to the bridge', () => {
    const table: InterfaceTable = {
      br0: [v4('10.0.0.1', '255.255.255.255', 32), v6('2001:db8::1'), v6('fe80::4ce3:aff:fe25:587f')],
    };
    expect(probeTargetFor('br0', table)).toEqual({
      via: 'ipv6-all-nodes',
      family: 6,
      bindAddress: 'fe80::4ce3:aff:fe25:587f%br0',
      destination: 'ff02::1%br0',
      port: 9,
      label: '[ff02::1%br0]:9',
    });
  });

  it('recognises all of fe80::/10 as link-local, and nothing else', () => {
    expect(probeTargetFor('br0', { br0: [v6('febf::1')] })?.via).toBe('ipv6-all-nodes');
    expect(probeTargetFor('br0', { br0: [v6('fec0::1')] })).toBeNull();
    expect(probeTargetFor('br0', { br0: [v6('2001:db8::5'), v6('fd00::1')] })).toBeNull();
  });

  it('has no target for a bridge without addresses, or one that does not exist', () => {
    expect(probeTargetFor('br0', { br0: [] })).toBeNull();
    expect(probeTargetFor('br0', { eth0: [v4('10.0.0.2', '255.255.255.0', 24)] })).toBeNull();
    expect(probeTargetFor('br0', { br0: [v4('10.0.0.1', '255.255.255.254', 31)] })).toBeNull();
  });

  it('takes the port from the caller', () => {
    expect(probeTargetFor('br0', { br0: [v4('10.88.0.1', '255.255.255.0', 24)] }, 40009)?.label).toBe('10.88.0.255:40009');
  });
});

describe('sameTarget', () => {
  const a = probeTargetFor('br0', { br0: [v4('10.88.0.1', '255.255.255.0', 24)] });
  it('compares what the socket depends on', () => {
    expect(sameTarget(a, probeTargetFor('br0', { br0: [v4('10.88.0.1', '255.255.255.0', 24)] }))).toBe(true);
    expect(sameTarget(a, probeTargetFor('br0', { br0: [v4('10.88.0.2', '255.255.255.0', 24)] }))).toBe(false);
    expect(sameTarget(a, probeTargetFor('br0', { br0: [v4('10.88.0.1', '255.255.0.0', 16)] }))).toBe(false);
    expect(sameTarget(a, null)).toBe(false);
    expect(sameTarget(null, null)).toBe(true);
  });
});
