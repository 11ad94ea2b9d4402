import { describe, it, expect } from 'vitest';
import type { LinkInfo } from '../../../hal/index.ts';
import type { InterfacesConfig } from '../../../src/config/types.ts';
import { detectBoard, type BoardDetection } from '../../../board/detect.ts';
import { getProfile, type ProfileId } from '../../../board/profiles.ts';
import { UnknownBoardProfileError, resolveBoard, type BoardResolution } from '../../../board/resolve.ts';
import { defaultRouteInterfaces } from '../../../hal/procfs/routes.ts';
import { fixture, fixtureLinks } from './fixtures.ts';

const NO_OVERRIDES: InterfacesConfig = { wan: null, lan: [], bridge: null };

const PI4: BoardDetection = { family: 'rpi4', model: 'Raspberry Pi 4 Model B Rev 1.4', source: 'device-tree' };
const OPENWRT: BoardDetection = { family: 'openwrt', model: 'linksys,e8450-ubi', source: 'openwrt' };
const NONE: BoardDetection = { family: 'generic', model: null, source: 'none' };

let nextIndex = 1;
function link(name: string, kind: string, master: LinkInfo | null = null): LinkInfo {
  return { index: nextIndex++, name, kind, masterIndex: master?.index ?? 0, mtu: 1500, operState: 'up', mac: null };
}

/** Pi with on-board eth0, USB eth1 and Wi-Fi. */
function piLinks(): LinkInfo[] {
  nextIndex = 1;
  return [link('lo', 'loopback'), link('eth0', 'ethernet'), link('eth1', 'ethernet'), link('wlan0', 'ethernet')];
}

function summary(r: BoardResolution): { profile: ProfileId; wan: string | null; lan: string[]; bridge: string | null } {
  return { profile: r.profile.id, wan: r.wan, lan: r.lan, bridge: r.bridge };
}

describe('resolveBoard on the fixture boxes (auto)', () => {
  const cases: [string, ReturnType<typeof summary>][] = [
    ['rpi4-router', { profile: 'pi-router', wan: 'eth0', lan: ['eth1'], bridge: null }],
    ['rpi-cm4-reverse', { profile: 'pi-router', wan: 'eth1', lan: ['eth0', 'wlan0'], bridge: 'br0' }],
    ['rpi5-bridge', { profile: 'pi-bridge', wan: null, lan: ['eth0', 'eth1'], bridge: 'br0' }],
    ['rpi-cm5-ipv6only', { profile: 'pi-router', wan: 'eth0', lan: ['eth1'], bridge: null }],
    ['rpi400-host', { profile: 'generic', wan: 'wlan0', lan: ['eth0'], bridge: null }],
    ['rpi3-pppoe', { profile: 'pi-router', wan: 'eth0', lan: ['eth1'], bridge: null }],
    ['openwrt-mt6000', { profile: 'openwrt-dsa', wan: 'eth1', lan: ['lan1', 'lan2', 'lan3', 'lan4', 'lan5', 'phy0-ap0', 'phy1-ap0'], bridge: 'br-lan' }],
    ['openwrt-e8450', { profile: 'openwrt-dsa', wan: 'wan', lan: ['lan1', 'lan2', 'lan3', 'lan4'], bridge: 'br-lan' }],
    ['openwrt-bpi-r3', { profile: 'openwrt-dsa', wan: 'wan', lan: ['lan0', 'lan1', 'lan2', 'lan3', 'sfp2'], bridge: 'br-lan' }],
    ['openwrt-rpi4', { profile: 'pi-router', wan: 'eth1', lan: ['eth0'], bridge: 'br-lan' }],
    ['openwrt-rpi5', { profile: 'generic', wan: null, lan: ['eth0'], bridge: 'br-lan' }],
    ['openwrt-container', { profile: 'generic', wan: 'eth0', lan: [], bridge: null }],
    ['x86-generic', { profile: 'generic', wan: 'enp1s0', lan: ['enp2s0'], bridge: null }],
  ];
  for (const [dir, expected] of cases) {
    it(dir, async () => {
      const root = fixture(dir);
      const r = resolveBoard({
        detection: await detectBoard(root),
        board: 'auto',
        links: fixtureLinks(dir),
        defaultRoutes: await defaultRouteInterfaces(root),
        interfaces: NO_OVERRIDES,
      });
      expect(summary(r)).toEqual(expected);
      expect(r.profile).toBe(getProfile(expected.profile));
      // One line for the profile, one per field that got a value.
      expect(r.reasons[0]).toMatch(new RegExp(`^profile ${expected.profile}: `));
      expect(r.reasons.some((l) => l.startsWith(`wan = ${expected.wan ?? 'none'}: `))).toBe(true);
      expect(r.reasons.some((l) => l.startsWith('lan = '))).toBe(true);
    });
  }

  it('explains the PPPoE and VLAN cases', async () => {
    const e8450 = resolveBoard({
      detection: OPENWRT,
      board: 'auto',
      links: fixtureLinks('openwrt-e8450'),
      defaultRoutes: ['pppoe-wan'],
      interfaces: NO_OVERRIDES,
    });
    expect(e8450.reasons).toContain("wan = wan: the switch's WAN port (the default route goes through pppoe-wan, not a port)");
    const r3 = resolveBoard({
      detection: { family: 'openwrt', model: 'bananapi,bpi-r3', source: 'openwrt' },
      board: 'auto',
      links: fixtureLinks('openwrt-bpi-r3'),
      defaultRoutes: ['wan.7'],
      interfaces: NO_OVERRIDES,
    });
    expect(r3.reasons).toContain('wan = wan: carries the default route through its VLAN wan.7');
  });
});

describe('resolveBoard role rules', () => {
  it('Pi router: WAN is the port with the default route, LAN the other Ethernet port', () => {
    const r = resolveBoard({ detection: PI4, board: 'auto', links: piLinks(), defaultRoutes: ['eth0'], interfaces: NO_OVERRIDES });
    expect(summary(r)).toEqual({ profile: 'pi-router', wan: 'eth0', lan: ['eth1'], bridge: null });
    expect(r.reasons).toEqual([
      'profile pi-router: Raspberry Pi 4 Model B Rev 1.4 with 2 Ethernet ports (eth0, eth1)',
      'wan = eth0: carries the default route',
      'lan = eth1: the Ethernet ports other than the WAN',
    ]);
  });

  it('Pi router the other way round: default route on the USB NIC', () => {
    const r = resolveBoard({ detection: PI4, board: 'auto', links: piLinks(), defaultRoutes: ['eth1'], interfaces: NO_OVERRIDES });
    expect(summary(r)).toEqual({ profile: 'pi-router', wan: 'eth1', lan: ['eth0'], bridge: null });
  });

  it('Pi router without a default route takes eth0 as WAN', () => {
    const r = resolveBoard({ detection: PI4, board: 'auto', links: piLinks(), defaultRoutes: [], interfaces: NO_OVERRIDES });
    expect(summary(r)).toEqual({ profile: 'pi-router', wan: 'eth0', lan: ['eth1'], bridge: null });
    expect(r.reasons[1]).toBe('wan = eth0: the on-board port, by convention (there is no default route)');
  });

  it('Pi router on PPPoE with a LAN bridge: the unbridged port is the WAN', () => {
    nextIndex = 1;
    const br = link('br0', 'bridge');
    const links = [br, link('eth0', 'ethernet', br), link('wlan0', 'ethernet', br), link('eth1', 'ethernet'), link('ppp0', 'ppp')];
    const r = resolveBoard({ detection: PI4, board: 'auto', links, defaultRoutes: ['ppp0'], interfaces: NO_OVERRIDES });
    expect(summary(r)).toEqual({ profile: 'pi-router', wan: 'eth1', lan: ['eth0', 'wlan0'], bridge: 'br0' });
    expect(r.reasons).toEqual([
      'profile pi-router: Raspberry Pi 4 Model B Rev 1.4 with 2 Ethernet ports (eth0, eth1)',
      'wan = eth1: the only Ethernet port outside a bridge (the default route goes through ppp0, not a port)',
      'bridge = br0: holds the Ethernet ports eth0',
      'lan = eth0, wlan0: the ports of br0',
    ]);
  });

  it('Pi whose ports are bridged with no address at all is a bridge', () => {
    nextIndex = 1;
    const br = link('br0', 'bridge');
    const links = [br, link('eth0', 'ethernet', br), link('eth1', 'ethernet', br)];
    const r = resolveBoard({ detection: PI4, board: 'auto', links, defaultRoutes: [], interfaces: NO_OVERRIDES });
    expect(summary(r)).toEqual({ profile: 'pi-bridge', wan: null, lan: ['eth0', 'eth1'], bridge: 'br0' });
  });

  it('Pi with bridged Ethernet but a default route on Wi-Fi routes; it does not bridge', () => {
    nextIndex = 1;
    const br = link('br0', 'bridge');
    const links = [br, link('eth0', 'ethernet', br), link('eth1', 'ethernet', br), link('wlan0', 'ethernet')];
    const r = resolveBoard({ detection: PI4, board: 'auto', links, defaultRoutes: ['wlan0'], interfaces: NO_OVERRIDES });
    expect(r.profile.id).toBe('pi-router');
  });

  it('does not count Wi-Fi as an Ethernet port', () => {
    nextIndex = 1;
    const links = [link('eth0', 'ethernet'), link('wlan0', 'ethernet')];
    const r = resolveBoard({ detection: PI4, board: 'auto', links, defaultRoutes: ['eth0'], interfaces: NO_OVERRIDES });
    expect(summary(r)).toEqual({ profile: 'generic', wan: 'eth0', lan: ['wlan0'], bridge: null });
  });

  it('finds the on-board port under its Debian name when there is no eth0', () => {
    nextIndex = 1;
    const links = [link('end0', 'ethernet'), link('enx001122334455', 'ethernet')];
    const r = resolveBoard({ detection: PI4, board: 'auto', links, defaultRoutes: [], interfaces: NO_OVERRIDES });
    expect(summary(r)).toEqual({ profile: 'pi-router', wan: 'end0', lan: ['enx001122334455'], bridge: null });
  });

  it('OpenWrt without DSA ports is generic', () => {
    nextIndex = 1;
    const br = link('br-lan', 'bridge');
    const links = [link('eth0', 'ethernet', br), br, link('eth1', 'ethernet')];
    const r = resolveBoard({ detection: OPENWRT, board: 'auto', links, defaultRoutes: ['eth1'], interfaces: NO_OVERRIDES });
    expect(summary(r)).toEqual({ profile: 'generic', wan: 'eth1', lan: ['eth0'], bridge: 'br-lan' });
  });

  it('a Pi never picks openwrt-dsa, even with DSA-named ports', () => {
    const r = resolveBoard({ detection: PI4, board: 'auto', links: fixtureLinks('openwrt-e8450'), defaultRoutes: [], interfaces: NO_OVERRIDES });
    expect(r.profile.id).not.toBe('openwrt-dsa');
  });

  it('generic: a tunnel default route is not the WAN, and a VLAN uplink keeps its port out of the LAN', () => {
    nextIndex = 1;
    const links = [link('eth0', 'ethernet'), link('eth0.7', 'vlan'), link('eth1', 'ethernet'), link('wg0', 'wireguard')];
    const r = resolveBoard({ detection: NONE, board: 'auto', links, defaultRoutes: ['wg0', 'eth0.7'], interfaces: NO_OVERRIDES });
    expect(summary(r)).toEqual({ profile: 'generic', wan: 'eth0.7', lan: ['eth1'], bridge: null });
  });

  it('generic without links or routes resolves to nothing, with reasons', () => {
    const r = resolveBoard({ detection: NONE, board: 'auto', links: [], defaultRoutes: [], interfaces: NO_OVERRIDES });
    expect(summary(r)).toEqual({ profile: 'generic', wan: null, lan: [], bridge: null });
    expect(r.reasons).toEqual([
      'profile generic: no board model found',
      'wan = none: there is no default route',
      'lan = none: no network ports besides the WAN',
    ]);
  });
});

describe('resolveBoard with config', () => {
  it('uses a configured profile even when detection says otherwise', () => {
    const r = resolveBoard({ detection: NONE, board: 'pi-router', links: piLinks(), defaultRoutes: ['eth1'], interfaces: NO_OVERRIDES });
    expect(summary(r)).toEqual({ profile: 'pi-router', wan: 'eth1', lan: ['eth0'], bridge: null });
    expect(r.reasons[0]).toBe('profile pi-router: config sets board (detected: generic)');
  });

  it('resolves a configured profile that does not fit the box, without throwing', () => {
    const r = resolveBoard({ detection: NONE, board: 'pi-router', links: [], defaultRoutes: [], interfaces: NO_OVERRIDES });
    expect(summary(r)).toEqual({ profile: 'pi-router', wan: null, lan: [], bridge: null });
    expect(r.reasons).toContain('wan = none: no Ethernet port');
    expect(r.reasons).toContain('lan = none: no Ethernet ports besides the WAN');
    const b = resolveBoard({ detection: NONE, board: 'pi-bridge', links: piLinks(), defaultRoutes: [], interfaces: NO_OVERRIDES });
    expect(summary(b)).toEqual({ profile: 'pi-bridge', wan: null, lan: [], bridge: null });
    expect(b.reasons).toContain('bridge = none: no bridge holds an Ethernet port');
  });

  it('throws UnknownBoardProfileError listing the known ids', () => {
    const run = (): BoardResolution =>
      resolveBoard({ detection: PI4, board: 'pi-rooter', links: piLinks(), defaultRoutes: [], interfaces: NO_OVERRIDES });
    expect(run).toThrow(UnknownBoardProfileError);
    try {
      run();
    } catch (e) {
      expect(e).toBeInstanceOf(UnknownBoardProfileError);
      const err = e as UnknownBoardProfileError;
      expect(err.value).toBe('pi-rooter');
      expect(err.path).toBe('board');
      expect(err.knownIds).toEqual(['auto', 'pi-router', 'pi-bridge', 'openwrt-dsa', 'generic']);
      expect(err.message).toContain('pi-router, pi-bridge, openwrt-dsa, generic');
    }
  });

  it('config wan wins, and the LAN follows it', () => {
    const r = resolveBoard({
      detection: PI4,
      board: 'auto',
      links: piLinks(),
      defaultRoutes: ['eth0'],
      interfaces: { wan: 'eth1', lan: [], bridge: null },
    });
    expect(summary(r)).toEqual({ profile: 'pi-router', wan: 'eth1', lan: ['eth0'], bridge: null });
    expect(r.reasons).toContain('wan = eth1: config sets interfaces.wan');
  });

  it('config lan wins and picks the bridge that holds it', () => {
    const r = resolveBoard({
      detection: OPENWRT,
      board: 'auto',
      links: fixtureLinks('openwrt-e8450'),
      defaultRoutes: ['pppoe-wan'],
      interfaces: { wan: null, lan: ['lan1', 'lan2'], bridge: null },
    });
    expect(summary(r)).toEqual({ profile: 'openwrt-dsa', wan: 'wan', lan: ['lan1', 'lan2'], bridge: 'br-lan' });
    expect(r.reasons).toContain('lan = lan1, lan2: config sets interfaces.lan');
    expect(r.reasons).toContain('bridge = br-lan: holds the configured LAN port lan1');
  });

  it('config bridge wins and gives its ports as the LAN', () => {
    nextIndex = 1;
    const guest = link('br-guest', 'bridge');
    const lan = link('br-lan', 'bridge');
    const links = [guest, lan, link('lan1', 'dsa', lan), link('lan2', 'dsa', guest), link('wan', 'dsa')];
    const r = resolveBoard({
      detection: OPENWRT,
      board: 'auto',
      links,
      defaultRoutes: ['wan'],
      interfaces: { wan: null, lan: [], bridge: 'br-guest' },
    });
    expect(summary(r)).toEqual({ profile: 'openwrt-dsa', wan: 'wan', lan: ['lan2'], bridge: 'br-guest' });
  });

  it('all three overrides win together, even for interfaces that are not there', () => {
    const r = resolveBoard({
      detection: PI4,
      board: 'auto',
      links: piLinks(),
      defaultRoutes: ['eth0'],
      interfaces: { wan: 'ppp0', lan: ['eth1', 'usb0'], bridge: 'br9' },
    });
    expect(summary(r)).toEqual({ profile: 'pi-router', wan: 'ppp0', lan: ['eth1', 'usb0'], bridge: 'br9' });
    expect(r.reasons).toEqual([
      'profile pi-router: Raspberry Pi 4 Model B Rev 1.4 with 2 Ethernet ports (eth0, eth1)',
      'wan = ppp0: config sets interfaces.wan (not present now)',
      'lan = eth1, usb0: config sets interfaces.lan (not present now: usb0)',
      'bridge = br9: config sets interfaces.bridge (not present now)',
    ]);
  });

  it('returns a copy of the configured LAN list, not the config array', () => {
    const interfaces: InterfacesConfig = { wan: null, lan: ['eth1'], bridge: null };
    const r = resolveBoard({ detection: PI4, board: 'auto', links: piLinks(), defaultRoutes: ['eth0'], interfaces });
    r.lan.push('eth9');
    expect(interfaces.lan).toEqual(['eth1']);
  });
});
