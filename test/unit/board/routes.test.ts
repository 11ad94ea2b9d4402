import { describe, it, expect } from 'vitest';
import { defaultRouteInterfaces, parseIpv4DefaultRoutes, parseIpv6DefaultRoutes } from '../../../hal/procfs/routes.ts';
import { fixture } from './fixtures.ts';

// Captured from a dev VM (`cat /proc/net/route`, `cat /proc/net/ipv6_route`), addresses rewritten
// into documentation ranges; note the 127-column padding and the kernel's lo reject default.
const VM_ROUTE = [
  'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       ',
  'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0                                                                               ',
  'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0                                                                               ',
  '',
].join('\n');
const VM_IPV6_ROUTE = [
  '20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0',
  '00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000000000000000000000001 00000400 00000002 00000000 00000003     eth0',
  '00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo',
  '00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo',
  '',
].join('\n');

describe('parseIpv4DefaultRoutes', () => {
  it('finds the default route in the kernel format', () => {
    expect(parseIpv4DefaultRoutes(VM_ROUTE)).toEqual([{ iface: 'eth0', metric: 0 }]);
  });

  it('needs a zero mask as well as a zero destination', () => {
    const half = VM_ROUTE.replace('\t00000000\t0\t0\t0 ', '\t00000080\t0\t0\t0 ');
    expect(half).not.toBe(VM_ROUTE);
    expect(parseIpv4DefaultRoutes(half)).toEqual([]);
  });

  it('skips the header and blank or short lines', () => {
    expect(parseIpv4DefaultRoutes('Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\nbroken line\n')).toEqual([]);
  });
});

describe('parseIpv6DefaultRoutes', () => {
  it('finds ::/0 and ignores the lo reject route', () => {
    expect(parseIpv6DefaultRoutes(VM_IPV6_ROUTE)).toEqual([{ iface: 'eth0', metric: 1024 }]);
  });

  it('counts source-specific defaults (OpenWrt) as defaults', async () => {
    expect(await defaultRouteInterfaces(fixture('openwrt-mt6000'))).toEqual(['eth1']);
  });

  it('skips a route printed without a device', () => {
    const noDev = '00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 00000400 00000001 00000000 00000001         \n';
    expect(parseIpv6DefaultRoutes(noDev)).toEqual([]);
  });
});

describe('defaultRouteInterfaces', () => {
  const cases: [string, string[]][] = [
    ['rpi4-router', ['eth0']],
    ['rpi-cm4-reverse', ['eth1']],
    ['rpi5-bridge', ['br0']],
    ['rpi-cm5-ipv6only', ['eth0']],
    ['rpi3-pppoe', ['ppp0']],
    ['openwrt-e8450', ['pppoe-wan']],
    ['openwrt-bpi-r3', ['wan.7']],
    ['openwrt-rpi5', []],
    ['x86-generic', ['wg0', 'enp1s0']],
  ];
  for (const [dir, expected] of cases) {
    it(`${dir}: ${expected.join(', ') || 'none'}`, async () => {
      expect(await defaultRouteInterfaces(fixture(dir))).toEqual(expected);
    });
  }

  it('orders by metric, IPv4 first, drops duplicates, reject, down, "*" and non-default routes', async () => {
    // IPv4: eth1 (200) is listed before eth0 (100); eth2 is not RTF_UP; "*" is unreachable;
    // eth3 is 0.0.0.0/1. IPv6: eth4 (100) before eth0 (1024, already listed); eth5 is a
    // prohibit route; eth6 is 2000::/3.
    expect(await defaultRouteInterfaces(fixture('routes-edge'))).toEqual(['eth0', 'eth1', 'eth4']);
  });

  it('returns [] when the files are missing', async () => {
    expect(await defaultRouteInterfaces(fixture('armbian-odroid-c4'))).toEqual([]);
    expect(await defaultRouteInterfaces(fixture('no-such-tree'))).toEqual([]);
  });
});
