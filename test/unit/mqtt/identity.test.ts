import { describe, expect, it } from 'vitest';
import type { LinkInfo } from '../../../hal/index.ts';
import { agentIdentity, primaryMac } from '../../../src/mqtt/identity.ts';

function link(index: number, name: string, kind: string, mac: string | null): LinkInfo {
  return { index, name, kind, mac, masterIndex: 0, mtu: 1500, operState: 'up' };
}

describe('primaryMac', () => {
  const lo = link(1, 'lo', 'loopback', '00:00:00:00:00:00');
  const eth0 = link(2, 'eth0', 'ethernet', 'dc:a6:32:00:5e:01');
  const usb = link(3, 'eth1', 'ethernet', '00:e0:4c:68:00:02');
  const bridge = link(4, 'br-lan', 'bridge', '02:11:22:33:44:55');
  const veth = link(5, 'veth0', 'veth', 'ae:11:22:33:44:55');
  const wg = link(6, 'wg0', 'wireguard', null);

  it("takes the WAN's factory address when the WAN is a physical NIC", () => {
    expect(primaryMac([lo, eth0, usb, bridge], 'eth1')).toBe('00:e0:4c:68:00:02');
  });

  it('otherwise the physical NIC with the lowest ifindex, whatever the map order', () => {
    expect(primaryMac([usb, bridge, eth0, lo], 'wg0')).toBe('dc:a6:32:00:5e:01');
    expect(primaryMac([usb, eth0], null)).toBe('dc:a6:32:00:5e:01');
  });

  it('never a locally administered address while a factory one exists', () => {
    expect(primaryMac([bridge, veth, link(9, 'eth5', 'vlan', '00:e0:4c:00:00:09')], null)).toBe('00:e0:4c:00:00:09');
  });

  it('falls back to a locally administered one, then to none', () => {
    expect(primaryMac([lo, veth, bridge], null)).toBe('02:11:22:33:44:55');
    expect(primaryMac([lo, wg], null)).toBeNull();
  });
});

describe('agentIdentity', () => {
  it('derives the device id from the MAC and uses it as node id unless one is configured', () => {
    expect(agentIdentity('dc:a6:32:00:5e:01', null, 'x')).toEqual({
      mac: 'dc:a6:32:00:5e:01',
      deviceId: 'lanwatch_dca632005e01',
      nodeId: 'lanwatch_dca632005e01',
    });
    expect(agentIdentity('dc:a6:32:00:5e:01', 'attic', 'x').nodeId).toBe('attic');
    expect(agentIdentity('dc:a6:32:00:5e:01', 'attic', 'x').deviceId).toBe('lanwatch_dca632005e01');
  });

  it('uses the machine id on a box without any MAC, so the id survives restarts', () => {
    expect(agentIdentity(null, null, '4C4C4544004B3510\n').deviceId).toBe('lanwatch_4c4c4544004b');
    expect(agentIdentity(null, null, '').deviceId).toBe('lanwatch_unknown');
  });
});
