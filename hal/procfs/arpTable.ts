/**
 * The IPv4 neighbour (ARP) cache from /proc/net/arp: which MAC answers for an address, on
 * which interface. Columns: "IP address  HW type  Flags  HW address  Mask  Device".
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ipv4ToHex } from './procAddress.ts';

/** include/uapi/linux/if_arp.h: the entry is complete (the MAC is known). */
const ATF_COM = 0x02;
const MAC_RE = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

export interface Neighbour {
  /** Network-order hex (procAddress.ts). */
  address: string;
  /** Lower-case colon MAC. */
  mac: string;
  device: string;
}

/** Complete entries only: an incomplete one has no MAC yet (00:00:00:00:00:00). */
export function parseArpTable(text: string): Neighbour[] {
  const neighbours: Neighbour[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 6) continue;
    const address = ipv4ToHex(f[0]!);
    const mac = f[3]!.toLowerCase();
    if (address === null || (parseInt(f[2]!, 16) & ATF_COM) === 0 || !MAC_RE.test(mac) || mac === '00:00:00:00:00:00') continue;
    neighbours.push({ address, mac, device: f[5]! });
  }
  return neighbours;
}

/** The cache under `root`; none when the file is missing or unreadable. */
export async function readArpTable(root = '/'): Promise<Neighbour[]> {
  try {
    return parseArpTable(await readFile(join(root, 'proc/net/arp'), 'utf8'));
  } catch {
    return [];
  }
}
