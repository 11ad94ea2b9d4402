/**
 * Byte-level scanning of procfs text in a Buffer, so a per-tick parse creates no strings.
 * Positions are offsets into the buffer; every function returns the new position.
 */

const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;

export function skipBlanks(buf: Buffer, pos: number, end: number): number {
  while (pos < end && (buf[pos] === SPACE || buf[pos] === TAB)) pos++;
  return pos;
}

export function nextLine(buf: Buffer, pos: number, end: number): number {
  while (pos < end && buf[pos] !== NEWLINE) pos++;
  return pos < end ? pos + 1 : end;
}

/** End of the token starting at pos (stops at blank, newline or `stop`, e.g. ':'). */
export function tokenEnd(buf: Buffer, pos: number, end: number, stop = -1): number {
  while (pos < end) {
    const c = buf[pos]!;
    if (c === SPACE || c === TAB || c === NEWLINE || c === stop) break;
    pos++;
  }
  return pos;
}

/** Parses an unsigned decimal or hex number in [start, end); NaN if it has no digits. */
export function parseUnsigned(buf: Buffer, start: number, end: number, radix: 10 | 16): number {
  let value = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (radix === 16 && c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (radix === 16 && c >= 0x41 && c <= 0x46) d = c - 0x37;
    else break;
    value = value * radix + d;
    digits++;
  }
  return digits ? value : NaN;
}
