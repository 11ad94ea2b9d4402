/**
 * Names and MACs of LAN hosts for the NAT ranking: the DHCP servers' leases (names, MACs) and
 * the kernel's IPv4 neighbour cache (MACs of hosts that never took a lease). Read every 30 s at
 * most, off the tick path.
 */
import type { HostIdentity } from '../index.ts';
import { readArpTable } from '../procfs/arpTable.ts';
import { readLeasedHosts } from '../procfs/dhcpLeases.ts';
import { addressText } from '../procfs/procAddress.ts';

export async function readHostIdentities(root = '/'): Promise<Map<string, HostIdentity>> {
  const byIp = new Map<string, HostIdentity>();
  for (const n of await readArpTable(root)) byIp.set(addressText(n.address), { mac: n.mac, name: null });
  for (const [ip, lease] of await readLeasedHosts(root)) {
    const known = byIp.get(ip);
    // The neighbour cache is what answers now; the lease says who it was given to.
    byIp.set(ip, { mac: known?.mac ?? lease.mac, name: lease.name });
  }
  return byIp;
}
