/**
 * A MAC address as two 24-bit integers: the OUI (first three octets) and the
 * NIC-specific part (last three). Each half is a small integer in every V8 build, so
 * passing a MAC to a listener or storing it in an Int32Array never boxes a number, which
 * a single 48-bit value (a double above 2^31) would do on the event hot path.
 * Strings are made only for reports, with formatMacPair().
 */

/** Reads the OUI half of the 6-byte MAC at `offset`. */
export function readMacOui(buf: Uint8Array, offset: number): number {
  return (buf[offset]! << 16) | (buf[offset + 1]! << 8) | buf[offset + 2]!;
}

/** Reads the NIC half of the 6-byte MAC at `offset`. */
export function readMacNic(buf: Uint8Array, offset: number): number {
  return (buf[offset + 3]! << 16) | (buf[offset + 4]! << 8) | buf[offset + 5]!;
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/** Lower-case colon form, as LinkInfo.mac and `ip link` print it. Allocates: reports only. */
export function formatMacPair(oui: number, nic: number): string {
  return [oui >>> 16, (oui >>> 8) & 0xff, oui & 0xff, nic >>> 16, (nic >>> 8) & 0xff, nic & 0xff]
    .map(hex2)
    .join(':');
}

/** Parses "aa:bb:cc:dd:ee:ff" (or with dashes) into its halves; null if malformed. */
export function parseMacPair(text: string): { oui: number; nic: number } | null {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text.trim());
  if (m === null) return null;
  const b = m.slice(1).map((h) => parseInt(h, 16));
  return { oui: readMacOui(Uint8Array.from(b), 0), nic: readMacNic(Uint8Array.from(b), 0) };
}
