/**
 * The routing table from /proc/net/route and /proc/net/ipv6_route, with a longest-prefix
 * lookup: through which interface, and to which next hop, the box sends to an address.
 * The loop protection uses it to find the default gateway and the path back to an ssh peer.
 *
 * Limits of the proc files (as in routes.ts): /proc/net/route shows only the main table, so
 * policy routing is invisible, and only a multipath route's first nexthop. A lookup here is
 * what the main table says, which is where a home router's LAN and default routes live.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostWordsToNet, inPrefix, isZeroAddress } from './procAddress.ts';

/** include/uapi/linux/route.h; the same values in both files. */
const RTF_UP = 0x0001;
const RTF_REJECT = 0x0200;

export interface Route {
  iface: string;
  /** Destination network, network-order hex (procAddress.ts). */
  dest: string;
  prefixLength: number;
  /** Next hop, network-order hex; null for an on-link route. */
  gateway: string | null;
  metric: number;
}

function usable(iface: string, flags: number): boolean {
  // Unreachable/prohibit routes carry RTF_REJECT (on lo or "*"); neither leads out of a port.
  if (!Number.isFinite(flags) || (flags & RTF_UP) === 0 || (flags & RTF_REJECT) !== 0) return false;
  return iface !== '' && iface !== '*' && iface !== 'lo';
}

function prefixLengthOfMask(maskHex: string): number {
  let bits = 0;
  for (const digit of maskHex) {
    const d = parseInt(digit, 16);
    if (d === 0xf) {
      bits += 4;
      continue;
    }
    // Contiguous masks only end in 8, c or e.
    bits += d === 0xe ? 3 : d === 0xc ? 2 : d === 0x8 ? 1 : 0;
    break;
  }
  return bits;
}

/** /proc/net/route: "Iface Destination Gateway Flags RefCnt Use Metric Mask …", host-order hex. */
export function parseIpv4Routes(text: string, littleEndian?: boolean): Route[] {
  const routes: Route[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 8 || !/^[0-9A-Fa-f]{8}$/.test(f[1]!) || !/^[0-9A-Fa-f]{8}$/.test(f[2]!) || !/^[0-9A-Fa-f]{8}$/.test(f[7]!)) continue;
    if (!usable(f[0]!, parseInt(f[3]!, 16))) continue;
    const gateway = hostWordsToNet(f[2]!, littleEndian);
    routes.push({
      iface: f[0]!,
      dest: hostWordsToNet(f[1]!, littleEndian),
      prefixLength: prefixLengthOfMask(hostWordsToNet(f[7]!, littleEndian)),
      gateway: isZeroAddress(gateway) ? null : gateway,
      metric: parseInt(f[6]!, 10),
    });
  }
  return routes;
}

/** /proc/net/ipv6_route, no header: "dest destlen src srclen nexthop metric refcnt use flags iface", all hex. */
export function parseIpv6Routes(text: string): Route[] {
  const routes: Route[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // The kernel prints an empty name for a route without a device; split() then drops a field.
    if (f.length < 10 || !/^[0-9a-f]{32}$/.test(f[0]!) || !/^[0-9a-f]{32}$/.test(f[4]!)) continue;
    if (!usable(f[9]!, parseInt(f[8]!, 16))) continue;
    routes.push({
      iface: f[9]!,
      dest: f[0]!,
      prefixLength: parseInt(f[1]!, 16),
      gateway: isZeroAddress(f[4]!) ? null : f[4]!,
      metric: parseInt(f[5]!, 16),
    });
  }
  return routes;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** Both tables under `root`; a missing or unreadable file gives no routes (no IPv6, a container). */
export async function readRoutes(root = '/', littleEndian?: boolean): Promise<Route[]> {
  const [v4, v6] = await Promise.all([readText(join(root, 'proc/net/route')), readText(join(root, 'proc/net/ipv6_route'))]);
  return [...(v4 === null ? [] : parseIpv4Routes(v4, littleEndian)), ...(v6 === null ? [] : parseIpv6Routes(v6))];
}

/** The route the kernel would pick for `address` (hex): longest prefix, then lowest metric. */
export function lookupRoute(routes: readonly Route[], address: string): Route | null {
  let best: Route | null = null;
  for (const route of routes) {
    if (route.dest.length !== address.length || !inPrefix(address, route.dest, route.prefixLength)) continue;
    if (best === null || route.prefixLength > best.prefixLength || (route.prefixLength === best.prefixLength && route.metric < best.metric)) {
      best = route;
    }
  }
  return best;
}

/** Default routes (prefix length 0), lowest metric first per family, IPv4 first. */
export function defaultRoutes(routes: readonly Route[]): Route[] {
  return routes
    .filter((r) => r.prefixLength === 0)
    .sort((a, b) => a.dest.length - b.dest.length || a.metric - b.metric);
}
