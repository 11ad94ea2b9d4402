/**
 * Where a bridge's loop probe goes, from the bridge's own addresses (os.networkInterfaces()).
 * Pure: an interface table in, a target or null out.
 *
 * The probe must leave through the bridge and never through the WAN:
 * - Not 255.255.255.255: an unbound socket's limited broadcast follows the routing table, so
 *   with a default route it leaves by the WAN (checked on Linux 6.18 in the lab, see
 *   test/integration/broadcastProbe.test.ts).
 * - IPv4: the bridge's subnet-directed broadcast (address | ~netmask), from a socket bound to the
 *   bridge's own address. The kernel's local table holds `broadcast <that address> dev <bridge>`,
 *   so the route is the bridge's; the bound address makes the IP source right; a socket bound to
 *   a unicast address is never handed broadcasts, so it hears nothing of the LAN's (house rule:
 *   nothing listens on the network unless configured).
 * - /31 (RFC 3021 point-to-point) and /32 have no broadcast address: the "directed broadcast"
 *   of a /31 is the other host, and Linux installs no broadcast route for either (6.18's local
 *   table: `broadcast` for a /30, none for a /31 or /32). Such an address is skipped (the next
 *   IPv4 address of the bridge is tried, then IPv6).
 * - IPv6 fallback, for a bridge without usable IPv4: all-nodes ff02::1 scoped to the bridge,
 *   from a udp6 socket bound to the bridge's link-local address with the same scope. Link-local
 *   multicast never crosses a router, and the scope pins the interface.
 * - Neither: no target; the caller reports "no address: probe off".
 */
import type { NetworkInterfaceInfo } from 'node:os';
import type { ProbeVia } from '../index.ts';
import { PROBE_PORT } from './probePayload.ts';

/** Status detail of a bridge with neither: shown in `agent status`. */
export const PROBE_OFF_DETAIL = 'no address: probe off';

export type { ProbeVia };

/** os.networkInterfaces()'s shape (injected by tests). */
export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

export interface ProbeTarget {
  via: ProbeVia;
  family: 4 | 6;
  /** The bridge's address the socket binds to; IPv6 link-local carries `%<bridge>`. */
  bindAddress: string;
  /** Directed broadcast, or `ff02::1%<bridge>`. */
  destination: string;
  port: number;
  /** For status and logs: `10.88.0.255:9`, `[ff02::1%br0]:9`. */
  label: string;
}

/** Dotted quad → unsigned 32-bit, or null when it is not one. */
function ipv4ToUint(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

function uintToIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** Prefix length of a contiguous netmask, or null for a non-contiguous one. */
function prefixLength(mask: number): number | null {
  const inverted = ~mask >>> 0;
  // A contiguous mask's host part is 2^k - 1: adding one clears every bit of it.
  if ((inverted & (inverted + 1)) !== 0) return null;
  return 32 - Math.log2(inverted + 1);
}

/**
 * The subnet-directed broadcast of `address`/`netmask` (/24 10.88.0.1 → 10.88.0.255), or null
 * when there is none: a /31 or /32, or text that is not an IPv4 address and contiguous mask.
 */
export function directedBroadcast(address: string, netmask: string): string | null {
  const addr = ipv4ToUint(address);
  const mask = ipv4ToUint(netmask);
  if (addr === null || mask === null) return null;
  const prefix = prefixLength(mask);
  if (prefix === null || prefix > 30) return null;
  return uintToIpv4((addr | ~mask) >>> 0);
}

/** fe80::/10, the only scope ff02::1 may be sent from here. */
function isLinkLocal6(address: string): boolean {
  const first = Number.parseInt(address.split(':')[0] ?? '', 16);
  return Number.isInteger(first) && (first & 0xffc0) === 0xfe80;
}

/** The probe target of `bridge`, or null when the bridge has no address to send from. */
export function probeTargetFor(bridge: string, interfaces: InterfaceTable, port: number = PROBE_PORT): ProbeTarget | null {
  const addresses = interfaces[bridge] ?? [];
  for (const info of addresses) {
    if (info.family !== 'IPv4') continue;
    const broadcast = directedBroadcast(info.address, info.netmask);
    if (broadcast === null) continue;
    return { via: 'ipv4-broadcast', family: 4, bindAddress: info.address, destination: broadcast, port, label: `${broadcast}:${port}` };
  }
  for (const info of addresses) {
    if (info.family !== 'IPv6' || !isLinkLocal6(info.address)) continue;
    // Node lists a link-local address without its zone; the bridge's name is the zone.
    const destination = `ff02::1%${bridge}`;
    return { via: 'ipv6-all-nodes', family: 6, bindAddress: `${info.address}%${bridge}`, destination, port, label: `[${destination}]:${port}` };
  }
  return null;
}

/** Same socket needed? (address change on DHCP renew, fallback switch.) */
export function sameTarget(a: ProbeTarget | null, b: ProbeTarget | null): boolean {
  if (a === null || b === null) return a === b;
  return a.via === b.via && a.bindAddress === b.bindAddress && a.destination === b.destination && a.port === b.port;
}
