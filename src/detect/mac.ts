/**
 * MAC addresses as two 24-bit integers, the OUI (first three octets) and the NIC part (last
 * three), as the FDB event source hands them over (hal/linux/macPair.ts): each half is a small
 * integer, so passing a MAC or storing it in an Int32Array never boxes a number, which one 48-bit
 * double would on the move path (a loop makes thousands of FDB moves per second). Strings are
 * built only for reports. src/ does not import hal/linux, hence these few lines of our own.
 */

const MAC_TEXT = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i;

export interface MacHalves {
  oui: number;
  nic: number;
}

/** "02:00:00:00:00:01" → { oui: 0x020000, nic: 0x000001 }. Throws on anything else. */
export function parseMac(text: string): MacHalves {
  const m = MAC_TEXT.exec(text);
  if (m === null) throw new RangeError(`not a MAC address: ${JSON.stringify(text)}`);
  const byte = (i: number) => Number.parseInt(m[i]!, 16);
  return { oui: (byte(1) << 16) | (byte(2) << 8) | byte(3), nic: (byte(4) << 16) | (byte(5) << 8) | byte(6) };
}

/** Lower-case colon form, as the HAL prints MACs. Allocates: reports only. */
export function formatMac(oui: number, nic: number): string {
  const hex = (half: number) => (half & 0xffffff).toString(16).padStart(6, '0').replace(/(..)(..)(..)/, '$1:$2:$3');
  return `${hex(oui)}:${hex(nic)}`;
}
