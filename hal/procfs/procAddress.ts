/**
 * IP addresses as the /proc/net files print them, turned into one form: lower-case hex of the
 * bytes in network order, 8 characters for IPv4, 32 for IPv6 (the family is the length).
 * Comparing and prefix-matching that is plain string work; text for people is made only for
 * reasons and notes.
 *
 * The files differ in byte order:
 * - /proc/net/route and /proc/net/tcp print an IPv4 address as one u32 in host order
 *   ("%08X" of __be32): on a little-endian box 10.89.0.1 reads 0100590A.
 * - /proc/net/tcp6 prints the four u32 words of an IPv6 address, each in host order.
 * - /proc/net/ipv6_route prints the 16 bytes in network order ("%pi6").
 */
import { endianness } from 'node:os';

export const HOST_LITTLE_ENDIAN = endianness() === 'LE';

/** Reverses the byte order inside each 8-hex-digit word when the host is little-endian. */
export function hostWordsToNet(hex: string, littleEndian: boolean = HOST_LITTLE_ENDIAN): string {
  const lower = hex.toLowerCase();
  if (!littleEndian) return lower;
  let out = '';
  for (let w = 0; w < lower.length; w += 8) {
    for (let b = 6; b >= 0; b -= 2) out += lower.slice(w + b, w + b + 2);
  }
  return out;
}

/** "10.89.0.1" → "0a590001"; null when it is not a dotted IPv4 address. */
export function ipv4ToHex(text: string): string | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let hex = '';
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    hex += Number(part).toString(16).padStart(2, '0');
  }
  return hex;
}

export function isHexAddress(hex: string): boolean {
  return /^(?:[0-9a-f]{8}|[0-9a-f]{32})$/.test(hex);
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d, how tcp6 shows IPv4 peers) as IPv4; others as they are. */
export function unmapIpv4(hex: string): string {
  return hex.length === 32 && hex.startsWith('00000000000000000000ffff') ? hex.slice(24) : hex;
}

/** 127.0.0.0/8, ::1, or a mapped 127.x: a peer on this box, not behind any port. */
export function isLoopback(hex: string): boolean {
  const plain = unmapIpv4(hex);
  return plain.length === 8 ? plain.startsWith('7f') : plain === '00000000000000000000000000000001';
}

export function isZeroAddress(hex: string): boolean {
  return /^0+$/.test(hex);
}

/** True when the first `prefixLength` bits of `hex` equal those of `prefix` (same family). */
export function inPrefix(hex: string, prefix: string, prefixLength: number): boolean {
  if (hex.length !== prefix.length) return false;
  const fullDigits = prefixLength >> 2;
  if (hex.slice(0, fullDigits) !== prefix.slice(0, fullDigits)) return false;
  const rest = prefixLength & 3;
  if (rest === 0) return true;
  const mask = (0xf << (4 - rest)) & 0xf;
  return (parseInt(hex[fullDigits]!, 16) & mask) === (parseInt(prefix[fullDigits]!, 16) & mask);
}

/** Text for people: dotted IPv4, RFC 5952 IPv6 (longest zero run as "::", mapped IPv4 dotted). */
export function addressText(hex: string): string {
  if (hex.length === 8) return [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
  if (unmapIpv4(hex) !== hex) return `::ffff:${addressText(unmapIpv4(hex))}`;
  const groups = Array.from({ length: 8 }, (_, i) => parseInt(hex.slice(i * 4, i * 4 + 4), 16).toString(16));
  let bestAt = -1;
  let bestLength = 1; // a single zero group is not shortened (RFC 5952 §4.2.2)
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) {
      bestAt = i;
      bestLength = j - i;
    }
    i = j > i ? j : i + 1;
  }
  if (bestAt < 0) return groups.join(':');
  return `${groups.slice(0, bestAt).join(':')}::${groups.slice(bestAt + bestLength).join(':')}`;
}
