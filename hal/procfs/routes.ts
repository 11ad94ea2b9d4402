/**
 * Interfaces that carry a default route, from /proc/net/route and /proc/net/ipv6_route.
 *
 * Read once at start-up (board resolution), so plain string parsing is fine here. Known limits of
 * the proc files: /proc/net/route shows only the main table (policy routing, e.g. wg-quick's
 * table 51820, is invisible) and only the first nexthop of a multipath route.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** include/uapi/linux/route.h; the same values in both files. */
const RTF_UP = 0x0001;
const RTF_REJECT = 0x0200;

const IPV6_ZERO = '00000000000000000000000000000000';

export interface DefaultRoute {
  iface: string;
  metric: number;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** A garbled metric sorts last instead of poisoning the sort with NaN. */
function orLast(metric: number): number {
  return Number.isFinite(metric) ? metric : Number.MAX_SAFE_INTEGER;
}

function usable(iface: string, flags: number): boolean {
  // "unreachable default" / "prohibit" routes are listed with RTF_REJECT, on lo in the IPv6 file
  // (the kernel's catch-all) and on "*" in the IPv4 file; neither leads anywhere.
  if (!Number.isFinite(flags) || (flags & RTF_UP) === 0 || (flags & RTF_REJECT) !== 0) return false;
  return iface !== '' && iface !== '*' && iface !== 'lo';
}

/**
 * /proc/net/route: "Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT",
 * addresses as host-order hex (little-endian on every board we run on; zero reads the same
 * either way), Flags hex, Metric decimal.
 */
export function parseIpv4DefaultRoutes(text: string): DefaultRoute[] {
  const routes: DefaultRoute[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 8) continue;
    const iface = f[0]!;
    if (parseInt(f[1]!, 16) !== 0 || parseInt(f[7]!, 16) !== 0) continue;
    if (!usable(iface, parseInt(f[3]!, 16))) continue;
    routes.push({ iface, metric: orLast(parseInt(f[6]!, 10)) });
  }
  return routes;
}

/**
 * /proc/net/ipv6_route, no header: "dest destlen src srclen nexthop metric refcnt use flags iface",
 * all hex. Source-specific defaults ("default from 2001:db8::/56", which OpenWrt installs per
 * delegated prefix) count: the destination is still ::/0.
 */
export function parseIpv6DefaultRoutes(text: string): DefaultRoute[] {
  const routes: DefaultRoute[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // The kernel prints an empty name for a route without a device; split() then drops a field.
    if (f.length < 10) continue;
    const iface = f[9]!;
    if (f[0] !== IPV6_ZERO || f[1] !== '00') continue;
    if (!usable(iface, parseInt(f[8]!, 16))) continue;
    routes.push({ iface, metric: orLast(parseInt(f[5]!, 16)) });
  }
  return routes;
}

function byMetric(a: DefaultRoute, b: DefaultRoute): number {
  return a.metric - b.metric;
}

/**
 * Names of the interfaces with a usable default route, without duplicates: IPv4 first, then
 * IPv6, each lowest metric first (the route the kernel prefers). The first name is the uplink.
 * Missing or unreadable files give no routes, never an error: a box may lack IPv6, and a
 * container may hide /proc/net.
 */
export async function defaultRouteInterfaces(root = '/'): Promise<string[]> {
  const [v4, v6] = await Promise.all([
    readText(join(root, 'proc/net/route')),
    readText(join(root, 'proc/net/ipv6_route')),
  ]);
  const routes = [
    ...(v4 === null ? [] : parseIpv4DefaultRoutes(v4).sort(byMetric)),
    ...(v6 === null ? [] : parseIpv6DefaultRoutes(v6).sort(byMetric)),
  ];
  const names: string[] = [];
  for (const r of routes) if (!names.includes(r.iface)) names.push(r.iface);
  return names;
}
