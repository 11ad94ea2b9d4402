import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDnsmasqLeases, parseHostsFile, readLeasedHosts } from '../../../hal/procfs/dhcpLeases.ts';

const ROOT = fileURLToPath(new URL('../../fixtures/leases/', import.meta.url));

describe('DHCP leases', () => {
  it('parses dnsmasq leases: names, MACs, "*" as none, DHCPv6 IAIDs are not MACs, the duid line skipped', () => {
    expect(parseDnsmasqLeases('1 DC:A6:32:00:00:02 10.77.0.2 gaming-pc *\n2 02:00:00:00:00:03 10.77.0.3 * *\nduid 00:01\n3 12345678 fd00::5 phone 00:01\n')).toEqual([
      { ip: '10.77.0.2', mac: 'dc:a6:32:00:00:02', name: 'gaming-pc' },
      { ip: '10.77.0.3', mac: '02:00:00:00:00:03', name: null },
      { ip: 'fd00::5', mac: null, name: 'phone' },
    ]);
  });

  it('parses a hosts file, first name only, comments ignored', () => {
    expect(parseHostsFile('# x\nfd00::7 printer printer.lan # the printer\n\nbad\n')).toEqual([{ ip: 'fd00::7', mac: null, name: 'printer' }]);
  });

  it('merges dnsmasq (Debian, OpenWrt, NetworkManager) and odhcpd; dnsmasq names win, its MACs fill in', async () => {
    const hosts = await readLeasedHosts(ROOT);
    expect(Object.fromEntries([...hosts].map(([ip, h]) => [ip, `${h.name ?? '-'} ${h.mac ?? '-'}`]))).toEqual({
      '10.77.0.2': 'gaming-pc dc:a6:32:00:00:02',
      '10.77.0.3': 'tv 02:00:00:00:00:03',
      'fd00::5': 'phone -',
      'fd00::7': 'printer -',
      '10.42.0.9': 'laptop 02:00:00:00:00:09',
    });
  });

  it('has no names, and no error, where there is no DHCP server', async () => {
    expect((await readLeasedHosts('/nonexistent')).size).toBe(0);
  });
});
