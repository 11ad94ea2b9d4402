/**
 * Names of LAN hosts from the DHCP server's lease files, for the conntrack ranking ("gaming-pc"
 * rather than 10.77.0.2). Read every few seconds at most, never per tick.
 *
 * - dnsmasq (Raspberry Pi OS, Debian, OpenWrt's default DHCPv4 server): one lease per line,
 *   "<expiry epoch> <mac> <ip> <hostname|*> <client-id|*>"; DHCPv6 leases put the IAID where
 *   the MAC goes, and a "duid …" line precedes them. Files: /var/lib/misc/dnsmasq.leases
 *   (Debian), /tmp/dhcp.leases (OpenWrt), /var/lib/NetworkManager/dnsmasq-*.leases (NM shared).
 * - odhcpd (OpenWrt's DHCPv6/RA server) writes a hosts file, "<ip> <name> …" per line, into
 *   /tmp/hosts/odhcpd, the directory OpenWrt's dnsmasq reads as extra hosts.
 * A missing or unreadable file is simply no names.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface LeasedHost {
  /** As written in the file (dotted IPv4, or IPv6 text). */
  ip: string;
  mac: string | null;
  name: string | null;
}

const MAC_RE = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/** dnsmasq.leases text → hosts. "*" means "no name" / "no client id". */
export function parseDnsmasqLeases(text: string): LeasedHost[] {
  const hosts: LeasedHost[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[0] === 'duid') continue;
    const mac = f[1]!.toLowerCase();
    const name = f[3] === '*' ? null : f[3]!;
    hosts.push({ ip: f[2]!, mac: MAC_RE.test(mac) ? mac : null, name });
  }
  return hosts;
}

/** A hosts file ("ip name [aliases]", # comments) → hosts, first name only. */
export function parseHostsFile(text: string): LeasedHost[] {
  const hosts: LeasedHost[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const f = line.split(/\s+/);
    if (f.length < 2) continue;
    hosts.push({ ip: f[0]!, mac: null, name: f[1]! });
  }
  return hosts;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

const DNSMASQ_FILES = ['var/lib/misc/dnsmasq.leases', 'tmp/dhcp.leases'];
const NM_DIR = 'var/lib/NetworkManager';
const ODHCPD_HOSTS = 'tmp/hosts/odhcpd';

/**
 * Every host the DHCP servers under `root` know, by IP. A name from dnsmasq wins over odhcpd's
 * hosts file (it also carries the MAC).
 */
export async function readLeasedHosts(root = '/'): Promise<Map<string, LeasedHost>> {
  const files = DNSMASQ_FILES.map((f) => join(root, f));
  try {
    for (const entry of await readdir(join(root, NM_DIR))) {
      if (/^dnsmasq-.*\.leases$/.test(entry)) files.push(join(root, NM_DIR, entry));
    }
  } catch {
    // No NetworkManager: fine.
  }
  const byIp = new Map<string, LeasedHost>();
  const odhcpd = await readText(join(root, ODHCPD_HOSTS));
  if (odhcpd !== null) for (const host of parseHostsFile(odhcpd)) byIp.set(host.ip, host);
  for (const file of files) {
    const text = await readText(file);
    if (text === null) continue;
    for (const host of parseDnsmasqLeases(text)) {
      const known = byIp.get(host.ip);
      byIp.set(host.ip, { ip: host.ip, mac: host.mac ?? known?.mac ?? null, name: host.name ?? known?.name ?? null });
    }
  }
  return byIp;
}
