/**
 * Which bridge port a MAC is learned on, from sysfs: /sys/class/net/<bridge>/brforward, the
 * FDB as a binary array of struct __fdb_entry (include/uapi/linux/if_bridge.h, 16 bytes):
 *
 *   offset 0  __u8  mac_addr[6]
 *          6  __u8  port_no             low 8 bits of the port number
 *          7  __u8  is_local            the bridge's or a port's own address
 *          8  __u32 ageing_timer_value  host order, 1/100 s (clock_t)
 *         12  __u8  port_hi             high 8 bits of the port number
 *         13  __u8  pad0
 *         14  __u16 unused
 *
 * and /sys/class/net/<bridge>/brif/<port>/port_no ("0x1") to name the port. Read without
 * netlink or iproute2, and from a fixture tree in tests. The kernel writes only entries that
 * have a port and have not expired (br_fdb_fillbuf); no VLAN is given, which is fine here:
 * we ask where a MAC is, and a MAC sits behind one port whatever its VLAN.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const FDB_ENTRY_BYTES = 16;

export interface FdbEntry {
  /** Lower-case colon MAC. */
  mac: string;
  /** Bridge port number (port_hi << 8 | port_no). */
  portNo: number;
  isLocal: boolean;
}

function macAt(buf: Uint8Array, offset: number): string {
  let mac = '';
  for (let i = 0; i < 6; i++) mac += (i === 0 ? '' : ':') + buf[offset + i]!.toString(16).padStart(2, '0');
  return mac;
}

/** Every whole entry of a brforward read; a trailing partial entry is ignored. */
export function parseBrforward(buf: Uint8Array): FdbEntry[] {
  const entries: FdbEntry[] = [];
  for (let at = 0; at + FDB_ENTRY_BYTES <= buf.length; at += FDB_ENTRY_BYTES) {
    entries.push({ mac: macAt(buf, at), portNo: (buf[at + 12]! << 8) | buf[at + 6]!, isLocal: buf[at + 7] !== 0 });
  }
  return entries;
}

/** Port number → port name for the bridge's ports under `root`. */
export async function readBridgePortNumbers(root: string, bridge: string): Promise<Map<number, string>> {
  const dir = join(root, 'sys/class/net', bridge, 'brif');
  const numbers = new Map<number, string>();
  for (const port of await readdir(dir)) {
    const text = await readFile(join(dir, port, 'port_no'), 'utf8').catch(() => '');
    const portNo = parseInt(text.trim(), 16);
    if (Number.isInteger(portNo)) numbers.set(portNo, port);
  }
  return numbers;
}

/**
 * Learned MAC → port name for `bridge` under `root`. Local entries (the ports' own MACs) are
 * left out: nothing is "behind" a port because of its own address. Rejects when the bridge
 * has no brforward (not a bridge, or sysfs not mounted).
 */
export async function readLearnedMacPorts(root: string, bridge: string): Promise<Map<string, string>> {
  const [raw, names] = await Promise.all([
    readFile(join(root, 'sys/class/net', bridge, 'brforward')),
    readBridgePortNumbers(root, bridge),
  ]);
  const ports = new Map<string, string>();
  for (const entry of parseBrforward(raw)) {
    const name = names.get(entry.portNo);
    if (!entry.isLocal && name !== undefined) ports.set(entry.mac, name);
  }
  return ports;
}
