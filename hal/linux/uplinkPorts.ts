/**
 * The ports loop protection must never block (src/protect/loopProtection.ts): the WAN, every
 * interface with a default route, the bridge port behind which the default gateway is
 * learned, and the port each established inbound ssh session comes in on. Blocking any of
 * them would cut the box off from the internet or its admin off from the box, which is worse
 * than the loop.
 *
 * How a port is found for an address on the bridge: route lookup (hal/procfs/routeTable.ts)
 * → next hop (the gateway of the route, or the address itself when on-link) → its MAC in the
 * neighbour cache (/proc/net/arp; IPv6 by an RTM_GETNEIGH dump) → the port the bridge
 * learned that MAC on (brforward, bridgeFdb.ts).
 *
 * The FDB flaps while a loop runs, so the gateway or an ssh peer may then seem to sit behind
 * the looping port: the caller resolves while no loop alarm stands and keeps the last good set
 * during one (LoopProtection.setProtected merges instead of replacing then).
 *
 * Every file is read under `root` so tests run on fixture trees (test/fixtures/uplink/). What
 * cannot be resolved becomes a note for the log, never an error: a missing piece only means
 * one port less is known to be protected.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { ProtectedPort } from '../index.ts';
import { readArpTable, type Neighbour } from '../procfs/arpTable.ts';
import { addressText } from '../procfs/procAddress.ts';
import { defaultRoutes, lookupRoute, readRoutes, type Route } from '../procfs/routeTable.ts';
import { readTcpSessions } from '../procfs/tcpSessions.ts';
import { readLearnedMacPorts } from './bridgeFdb.ts';
import { dumpIpv6Neighbours, type IndexedNeighbour } from './neighbourDump.ts';

export interface UplinkPortsOptions {
  /** Root of the proc and sys trees; default '/'. */
  root?: string;
  /** The LAN bridge whose ports the protection may block; null when there is none. */
  bridge: string | null;
  /** The interface with the WAN role (board resolution), or null. */
  wan: string | null;
  /**
   * Local TCP ports of ssh servers. Default [22]. A server moved to another port (sshd
   * `Port`, dropbear `option Port` on OpenWrt) must be listed here by the config.
   */
  sshPorts?: readonly number[];
  /** The IPv6 neighbour cache; default one RTM_GETNEIGH dump. Tests inject fixtures. */
  ipv6Neighbours?: () => Promise<readonly IndexedNeighbour[]>;
  /** Byte order of the hex in /proc/net files; default the host's. */
  littleEndian?: boolean;
}

export interface UplinkPorts {
  /** One entry per interface, reasons joined with " and ", sorted by name. */
  ports: ProtectedPort[];
  /** What could not be resolved, one line each, for the log. */
  notes: string[];
}

/** A neighbour cache that knows which entries are on the bridge. */
interface BridgeNeighbours {
  macOf(address: string): string | null;
}

async function bridgeNeighbours(options: UplinkPortsOptions, root: string, bridge: string, notes: string[]): Promise<BridgeNeighbours> {
  // A VLAN on the bridge ("br-lan.10") reaches hosts through the same ports.
  const onBridge = (device: string): boolean => device === bridge || device.startsWith(`${bridge}.`);
  const arp: Neighbour[] = (await readArpTable(root)).filter((n) => onBridge(n.device));
  let v6: readonly IndexedNeighbour[] = [];
  const bridgeIndex = parseInt(await readFile(join(root, 'sys/class/net', bridge, 'ifindex'), 'utf8').catch(() => ''), 10);
  try {
    v6 = (await (options.ipv6Neighbours ?? (() => dumpIpv6Neighbours()))()).filter((n) => n.ifindex === bridgeIndex);
  } catch (error) {
    notes.push(`IPv6 neighbours not read (${error instanceof Error ? error.message : String(error)}): IPv6 peers cannot be placed on a port`);
  }
  return {
    macOf(address) {
      const list = address.length === 8 ? arp : v6;
      return list.find((n) => n.address === address)?.mac ?? null;
    },
  };
}

class ProtectedSet {
  private readonly reasons = new Map<string, string[]>();

  add(port: string, reason: string): void {
    const list = this.reasons.get(port) ?? [];
    if (!list.includes(reason)) list.push(reason);
    this.reasons.set(port, list);
  }

  list(): ProtectedPort[] {
    return [...this.reasons]
      .map(([port, reasons]) => ({ port, reason: reasons.join(' and ') }))
      .sort((a, b) => a.port.localeCompare(b.port));
  }
}

/** Resolves the protected ports; never rejects for a missing file or table, only notes it. */
export async function resolveUplinkPorts(options: UplinkPortsOptions): Promise<UplinkPorts> {
  const root = options.root ?? '/';
  const bridge = options.bridge;
  const notes: string[] = [];
  const result = new ProtectedSet();
  if (options.wan !== null) result.add(options.wan, 'the WAN');

  const routes = await readRoutes(root, options.littleEndian);
  const sessions = await readTcpSessions(root, options.sshPorts ?? [22], options.littleEndian);
  const isBridge = (iface: string): boolean => bridge !== null && (iface === bridge || iface.startsWith(`${bridge}.`));

  let macPorts: Map<string, string> | null = null;
  let neighbours: BridgeNeighbours | null = null;
  if (bridge !== null && [...defaultRoutes(routes), ...sessions.map((s) => lookupRoute(routes, s.peer))].some((r) => r && isBridge(r.iface))) {
    macPorts = await readLearnedMacPorts(root, bridge).catch((error: unknown) => {
      notes.push(`bridge ${bridge}: FDB not readable (${error instanceof Error ? error.message : String(error)})`);
      return null;
    });
    neighbours = await bridgeNeighbours(options, root, bridge, notes);
  }

  /** Adds the bridge port behind which `route` reaches `address` (its next hop), if known. */
  const placeOnPort = (route: Route, address: string, reason: string): void => {
    const hop = route.gateway ?? address;
    const hopText = addressText(hop);
    const mac = neighbours?.macOf(hop) ?? null;
    if (mac === null) {
      notes.push(`${reason}: no neighbour entry for ${hopText} on ${route.iface}, its port is unknown`);
      return;
    }
    const port = macPorts?.get(mac);
    if (port === undefined) {
      notes.push(`${reason}: ${hopText} (${mac}) is not in the FDB of ${bridge}, its port is unknown`);
      return;
    }
    result.add(port, reason);
  };

  for (const route of defaultRoutes(routes)) {
    const family = route.dest.length === 8 ? 'default route' : 'IPv6 default route';
    if (!isBridge(route.iface)) {
      result.add(route.iface, `the ${family}`);
    } else if (route.gateway === null) {
      notes.push(`the ${family} on ${route.iface} has no gateway: the uplink port cannot be told`);
    } else {
      placeOnPort(route, route.gateway, `the uplink (${family} via ${addressText(route.gateway)})`);
    }
  }

  for (const session of sessions) {
    const reason = `the ssh session from ${addressText(session.peer)}`;
    const route = lookupRoute(routes, session.peer);
    if (route === null) notes.push(`${reason}: no route back to it`);
    else if (!isBridge(route.iface)) result.add(route.iface, reason);
    else placeOnPort(route, session.peer, reason);
  }

  return { ports: result.list(), notes };
}
