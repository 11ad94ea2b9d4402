/**
 * Board resolution: picks the profile (from config, or from the detected board and the live
 * interfaces when config says "auto") and decides which interfaces are WAN, LAN and bridge,
 * with one human line per decision for `agent status` and the log.
 *
 * Config wins field by field, and the fields left to the profile follow the ones config sets:
 * a configured WAN is left out of the LAN, configured LAN ports choose the bridge that holds
 * them, a configured bridge gives its ports as the LAN.
 *
 * Only an unknown profile id is an error (UnknownBoardProfileError, thrown): it is a config
 * mistake the caller reports with the key path, like any other invalid value. A profile that
 * does not fit the box (pi-router with one NIC) still resolves, with empty fields and reasons.
 */
import type { LinkInfo } from '../hal/index.ts';
import type { InterfacesConfig } from '../src/config/types.ts';
import type { BoardDetection } from './detect.ts';
import { PROFILE_IDS, getProfile, isProfileId, type BoardProfile, type ProfileId } from './profiles.ts';

export interface ResolveBoardOptions {
  detection: BoardDetection;
  /** Config `board`: "auto" or a profile id. */
  board: string;
  links: readonly LinkInfo[];
  /** Interfaces with a default route, preferred first (hal/procfs/routes.ts). */
  defaultRoutes: readonly string[];
  interfaces: InterfacesConfig;
}

export interface BoardResolution {
  profile: BoardProfile;
  wan: string | null;
  /** LAN ports, in ifindex order when they come from the inventory. */
  lan: string[];
  bridge: string | null;
  reasons: string[];
}

export class UnknownBoardProfileError extends Error {
  override readonly name = 'UnknownBoardProfileError';
  /** Config key, for a ConfigProblem. */
  readonly path = 'board';
  readonly value: string;
  /** Every accepted value, "auto" first. */
  readonly knownIds: readonly string[];

  constructor(value: string) {
    const known = ['auto', ...PROFILE_IDS];
    super(`unknown board profile "${value}"; expected one of: ${known.join(', ')}`);
    this.value = value;
    this.knownIds = known;
  }
}

/** The inventory with the lookups every rule needs. */
interface Net {
  links: readonly LinkInfo[];
  byName: ReadonlyMap<string, LinkInfo>;
  byIndex: ReadonlyMap<number, LinkInfo>;
  defaultRoutes: readonly string[];
}

interface Pick {
  name: string | null;
  reason: string;
}

interface LanPick {
  lan: string[];
  lanReason: string;
  bridge: string | null;
  /** null when no bridge was considered worth a line. */
  bridgeReason: string | null;
}

interface Rules {
  wan(net: Net): Pick;
  lan(net: Net, wan: string | null): LanPick;
}

// Wi-Fi netdevs report ARPHRD_ETHER, so the HAL calls them 'ethernet'; only the name tells.
// wlan0 (Pi, older OpenWrt), wlp2s0 / wlx<mac> (systemd), phy0-ap0 (OpenWrt 23+), wwan0 (LTE).
const WIRELESS_NAME = /^(wlan|wlp|wlx|wwan|phy\d+-)/;
// A default route through one of these is an overlay; the box's uplink is underneath.
const TUNNEL_KINDS = new Set(['wireguard', 'tun', 'ipip', 'ip6tnl', 'sit', 'gre', 'ip6gre', 'vti', 'vti6']);
// DSA user ports are named from the device tree's port labels: lan1..lanN, lan0.. on some
// boards (BPI-R3), a lone "lan" on others.
const DSA_LAN_NAME = /^lan\d*$/;
// "eth0.7": the usual name of an 802.1Q VLAN on eth0 (ISP VLANs, ip link ... name eth0.7).
const VLAN_NAME = /^(.+)\.\d+$/;

function isWiredNic(link: LinkInfo): boolean {
  return link.kind === 'ethernet' && !WIRELESS_NAME.test(link.name);
}

function isDsaLanPort(link: LinkInfo): boolean {
  return link.name !== 'wan' && (link.kind === 'dsa' || DSA_LAN_NAME.test(link.name));
}

function list(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.join(', ');
}

function names(links: readonly LinkInfo[]): string[] {
  return links.map((l) => l.name);
}

function makeNet(links: readonly LinkInfo[], defaultRoutes: readonly string[]): Net {
  const sorted = [...links].sort((a, b) => a.index - b.index);
  return {
    links: sorted,
    byName: new Map(sorted.map((l) => [l.name, l])),
    byIndex: new Map(sorted.map((l) => [l.index, l])),
    defaultRoutes,
  };
}

function bridgeOf(net: Net, link: LinkInfo): LinkInfo | null {
  const master = link.masterIndex === 0 ? undefined : net.byIndex.get(link.masterIndex);
  return master?.kind === 'bridge' ? master : null;
}

function portsOf(net: Net, bridge: LinkInfo): LinkInfo[] {
  return net.links.filter((l) => l.masterIndex === bridge.index);
}

/** The candidate that carries a default route, directly or through a VLAN on it. */
function uplinkAmong(net: Net, candidates: readonly LinkInfo[]): { port: LinkInfo; via: string } | null {
  for (const route of net.defaultRoutes) {
    const direct = candidates.find((c) => c.name === route);
    if (direct) return { port: direct, via: route };
    const base = VLAN_NAME.exec(route)?.[1];
    const lower = base === undefined ? undefined : candidates.find((c) => c.name === base);
    if (lower) return { port: lower, via: route };
  }
  return null;
}

function uplinkReason(name: string, via: string): string {
  return via === name
    ? `wan = ${name}: carries the default route`
    : `wan = ${name}: carries the default route through its VLAN ${via}`;
}

function routeNote(net: Net): string {
  return net.defaultRoutes.length === 0
    ? 'there is no default route'
    : `the default route goes through ${list(net.defaultRoutes)}, not a port`;
}

/**
 * LAN from candidate ports: when they sit in a bridge, the LAN is that bridge and all of its
 * ports (Wi-Fi APs included: a storm comes in through any of them); ports outside a bridge
 * are LAN ports on their own. Never the WAN.
 */
function lanFromPorts(net: Net, ports: readonly LinkInfo[], wan: string | null, what: string): LanPick {
  const candidates = ports.filter((p) => p.name !== wan);
  if (candidates.length === 0) {
    return { lan: [], lanReason: `lan = none: no ${what} besides the WAN`, bridge: null, bridgeReason: null };
  }
  // The bridge holding the most candidates; on a tie, the one met first (lowest port ifindex).
  let bridge: LinkInfo | null = null;
  let held = 0;
  for (const p of candidates) {
    const b = bridgeOf(net, p);
    if (b === null || b === bridge) continue;
    const n: number = candidates.filter((c) => c.masterIndex === b.index).length;
    if (n > held) [bridge, held] = [b, n];
  }
  if (bridge === null) {
    const lan = names(candidates);
    return { lan, lanReason: `lan = ${list(lan)}: the ${what} other than the WAN`, bridge: null, bridgeReason: null };
  }
  const b = bridge;
  const inBridge = candidates.filter((c) => c.masterIndex === b.index);
  const unbridged = candidates.filter((c) => bridgeOf(net, c) === null);
  const lan = names(net.links.filter((l) => l.name !== wan && (l.masterIndex === b.index || unbridged.includes(l))));
  return {
    lan,
    lanReason:
      `lan = ${list(lan)}: the ports of ${b.name}` +
      (unbridged.length > 0 ? `, and ${list(names(unbridged))} outside any bridge` : ''),
    bridge: b.name,
    bridgeReason: `bridge = ${b.name}: holds the ${what} ${list(names(inBridge))}`,
  };
}

const piRouter: Rules = {
  wan(net) {
    const wired = net.links.filter(isWiredNic);
    const up = uplinkAmong(net, wired);
    if (up) return { name: up.port.name, reason: uplinkReason(up.port.name, up.via) };
    // A bridged port is a LAN port, so a single unbridged one is the WAN (PPPoE above it, say).
    const free = wired.filter((l) => bridgeOf(net, l) === null);
    if (free.length === 1 && wired.length > 1) {
      const only = free[0]!.name;
      return { name: only, reason: `wan = ${only}: the only Ethernet port outside a bridge (${routeNote(net)})` };
    }
    // The on-board NIC is eth0 on Raspberry Pi OS (end0 on newer Debian); it registers before
    // any USB NIC, so it has the lowest ifindex either way.
    const onboard = wired.find((l) => l.name === 'eth0') ?? wired[0];
    if (onboard) {
      return { name: onboard.name, reason: `wan = ${onboard.name}: the on-board port, by convention (${routeNote(net)})` };
    }
    return { name: null, reason: 'wan = none: no Ethernet port' };
  },
  lan(net, wan) {
    return lanFromPorts(net, net.links.filter(isWiredNic), wan, 'Ethernet ports');
  },
};

/** The bridge a Pi bridges with: the default-route one, else the one with the most wired ports. */
function piBridgeOf(net: Net): LinkInfo | null {
  for (const route of net.defaultRoutes) {
    const link = net.byName.get(route);
    if (link?.kind === 'bridge' && portsOf(net, link).some(isWiredNic)) return link;
  }
  let best: LinkInfo | null = null;
  let held = 0;
  for (const b of net.links) {
    if (b.kind !== 'bridge') continue;
    const n = portsOf(net, b).filter(isWiredNic).length;
    if (n > held) [best, held] = [b, n];
  }
  return best;
}

const piBridge: Rules = {
  wan() {
    return { name: null, reason: 'wan = none: a transparent bridge routes nothing; its uplink is a bridge port' };
  },
  lan(net, wan) {
    const bridge = piBridgeOf(net);
    if (bridge === null) {
      return {
        lan: [],
        lanReason: 'lan = none: no bridge to take ports from',
        bridge: null,
        bridgeReason: 'bridge = none: no bridge holds an Ethernet port',
      };
    }
    const lan = names(portsOf(net, bridge)).filter((n) => n !== wan);
    return {
      lan,
      lanReason: `lan = ${list(lan)}: the ports of ${bridge.name}`,
      bridge: bridge.name,
      bridgeReason: net.defaultRoutes.includes(bridge.name)
        ? `bridge = ${bridge.name}: carries the default route and holds Ethernet ports`
        : `bridge = ${bridge.name}: holds the most Ethernet ports`,
    };
  },
};

const openwrtDsa: Rules = {
  wan(net) {
    // A WAN is a port outside the LAN bridge: the `wan` DSA port, or a NIC of its own (the
    // GL-MT6000's 2.5G WAN is eth1, not a switch port).
    const candidates = net.links.filter((l) => (l.kind === 'dsa' || isWiredNic(l)) && bridgeOf(net, l) === null);
    const up = uplinkAmong(net, candidates);
    if (up) return { name: up.port.name, reason: uplinkReason(up.port.name, up.via) };
    // PPPoE (pppoe-wan) and other L3 uplinks name the logical interface, not the port.
    if (net.byName.has('wan')) return { name: 'wan', reason: `wan = wan: the switch's WAN port (${routeNote(net)})` };
    return { name: null, reason: `wan = none: no port named wan and ${routeNote(net)}` };
  },
  lan(net, wan) {
    return lanFromPorts(net, net.links.filter(isDsaLanPort), wan, 'DSA LAN ports');
  },
};

const generic: Rules = {
  wan(net) {
    const route =
      net.defaultRoutes.find((r) => !TUNNEL_KINDS.has(net.byName.get(r)?.kind ?? '')) ?? net.defaultRoutes[0];
    if (route === undefined) return { name: null, reason: 'wan = none: there is no default route' };
    return { name: route, reason: `wan = ${route}: carries the default route` };
  },
  lan(net, wan) {
    const wanLink = wan === null ? undefined : net.byName.get(wan);
    const lower = wan === null ? undefined : VLAN_NAME.exec(wan)?.[1];
    const ports = net.links.filter(
      (l) =>
        (l.kind === 'ethernet' || l.kind === 'dsa') &&
        l.name !== lower &&
        (wanLink === undefined || l.masterIndex !== wanLink.index),
    );
    return lanFromPorts(net, ports, wan, 'network ports');
  },
};

const RULES: Record<ProfileId, Rules> = {
  'pi-router': piRouter,
  'pi-bridge': piBridge,
  'openwrt-dsa': openwrtDsa,
  generic,
};

function boardName(detection: BoardDetection): string {
  return detection.model ?? detection.family;
}

function autoProfile(detection: BoardDetection, net: Net): { id: ProfileId; reason: string } {
  const board = boardName(detection);
  const { family } = detection;
  if (family === 'rpi4' || family === 'rpi5' || family === 'rpi') {
    const wired = net.links.filter(isWiredNic);
    for (const route of net.defaultRoutes) {
      const link = net.byName.get(route);
      const bridged = link?.kind === 'bridge' ? portsOf(net, link).filter(isWiredNic) : [];
      if (link && bridged.length > 0) {
        return {
          id: 'pi-bridge',
          reason: `profile pi-bridge: ${board} with its default route through bridge ${link.name}, which holds ${list(names(bridged))}`,
        };
      }
    }
    // A bridge with no address at all is still a bridge: with every port in one bridge there is
    // no WAN port to route to. A default route elsewhere means a router (Wi-Fi uplink, say).
    const master = wired[0] ? bridgeOf(net, wired[0]) : null;
    if (net.defaultRoutes.length === 0 && wired.length >= 2 && master && wired.every((l) => l.masterIndex === master.index)) {
      return {
        id: 'pi-bridge',
        reason: `profile pi-bridge: ${board} with all its Ethernet ports (${list(names(wired))}) in ${master.name} and no default route`,
      };
    }
    if (wired.length >= 2) {
      return { id: 'pi-router', reason: `profile pi-router: ${board} with ${wired.length} Ethernet ports (${list(names(wired))})` };
    }
    return {
      id: 'generic',
      reason: `profile generic: ${board} with ${wired.length === 1 ? 'one Ethernet port' : 'no Ethernet port'}: neither router nor bridge`,
    };
  }
  if (family === 'openwrt') {
    const dsa = net.links.filter(isDsaLanPort);
    if (dsa.length > 0) return { id: 'openwrt-dsa', reason: `profile openwrt-dsa: ${board} with DSA LAN ports ${list(names(dsa))}` };
    return { id: 'generic', reason: `profile generic: ${board} runs OpenWrt but has no DSA LAN ports (lanN)` };
  }
  return {
    id: 'generic',
    reason: detection.model === null ? 'profile generic: no board model found' : `profile generic: no profile for ${board}`,
  };
}

function configured(field: string, value: string, net: Net): string {
  return net.byName.has(value) ? `config sets interfaces.${field}` : `config sets interfaces.${field} (not present now)`;
}

export function resolveBoard(opts: ResolveBoardOptions): BoardResolution {
  const net = makeNet(opts.links, opts.defaultRoutes);
  let id: ProfileId;
  const reasons: string[] = [];
  if (opts.board === 'auto') {
    const auto = autoProfile(opts.detection, net);
    id = auto.id;
    reasons.push(auto.reason);
  } else if (isProfileId(opts.board)) {
    id = opts.board;
    reasons.push(`profile ${id}: config sets board (detected: ${boardName(opts.detection)})`);
  } else {
    throw new UnknownBoardProfileError(opts.board);
  }
  const rules = RULES[id];
  const cfg = opts.interfaces;

  let wan: string | null;
  if (cfg.wan !== null) {
    wan = cfg.wan;
    reasons.push(`wan = ${wan}: ${configured('wan', wan, net)}`);
  } else {
    const pick = rules.wan(net);
    wan = pick.name;
    reasons.push(pick.reason);
  }

  let lan: string[];
  let bridge: string | null;
  if (cfg.lan.length > 0) {
    lan = [...cfg.lan];
    const absent = lan.filter((n) => !net.byName.has(n));
    reasons.push(`lan = ${list(lan)}: config sets interfaces.lan` + (absent.length ? ` (not present now: ${list(absent)})` : ''));
    if (cfg.bridge !== null) {
      bridge = cfg.bridge;
      reasons.push(`bridge = ${bridge}: ${configured('bridge', bridge, net)}`);
    } else {
      bridge = null;
      let reason = 'bridge = none: no bridge holds the configured LAN ports';
      for (const name of lan) {
        const port = net.byName.get(name);
        const master = port ? bridgeOf(net, port) : null;
        if (master) {
          bridge = master.name;
          reason = `bridge = ${master.name}: holds the configured LAN port ${name}`;
          break;
        }
      }
      reasons.push(reason);
    }
  } else if (cfg.bridge !== null) {
    bridge = cfg.bridge;
    reasons.push(`bridge = ${bridge}: ${configured('bridge', bridge, net)}`);
    const link = net.byName.get(bridge);
    const ports = link ? names(portsOf(net, link)).filter((n) => n !== wan) : [];
    if (ports.length > 0) {
      lan = ports;
      reasons.push(`lan = ${list(lan)}: the ports of ${bridge}`);
    } else {
      // The bridge is not there (yet): the profile's LAN ports are the better guess than none.
      const pick = rules.lan(net, wan);
      lan = pick.lan;
      reasons.push(`${pick.lanReason} (${bridge} has no ports now)`);
    }
  } else {
    const pick = rules.lan(net, wan);
    lan = pick.lan;
    bridge = pick.bridge;
    if (pick.bridgeReason !== null) reasons.push(pick.bridgeReason);
    reasons.push(pick.lanReason);
  }

  return { profile: getProfile(id), wan, lan, bridge, reasons };
}
