/**
 * Host addresses as the conntrack host table keys them: 4 bytes (IPv4) or 16 (IPv6), network
 * order, as ctnetlink carries them. Pure text → bytes, no kernel: the HAL sources, the fakes and
 * src/ (the box's own addresses in NatWatch) all key hosts through this one parser.
 */
import { isIPv4 } from 'node:net';

/**
 * Writes the address `text` into `out` (4 bytes for IPv4, 16 for IPv6, network order) and
 * returns its length, or 0 when it is not an address. A zone ("%eth0") is ignored.
 */
export function parseAddress(text: string, out: Uint8Array): number {
  const address = text.split('%')[0] ?? '';
  if (isIPv4(address)) {
    const parts = address.split('.');
    for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
    return 4;
  }
  if (!address.includes(':')) return 0;
  let head = address;
  let tail = '';
  const gap = address.indexOf('::');
  if (gap >= 0) {
    head = address.slice(0, gap);
    tail = address.slice(gap + 2);
    if (tail.includes('::')) return 0;
  }
  const toGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && isIPv4(piece)) {
        const b = piece.split('.').map(Number);
        groups.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        groups.push(parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return groups;
  };
  const a = toGroups(head);
  const b = toGroups(tail);
  if (a === null || b === null) return 0;
  const missing = 8 - a.length - b.length;
  if (gap >= 0 ? missing < 1 : missing !== 0) return 0;
  const groups = [...a, ...new Array<number>(missing).fill(0), ...b];
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >>> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  return 16;
}
