/**
 * Builds netlink requests into Buffers that the caller allocates once and re-sends with a
 * fresh sequence number per request, so the hot path only rewrites four bytes.
 */
import { NLMSG_HDRLEN } from './constants.ts';
import { writeU16, writeU32 } from './reader.ts';

/** A request of `payloadLength` bytes after the header; payload bytes start zeroed. */
export function allocRequest(type: number, flags: number, payloadLength: number): Buffer {
  const length = NLMSG_HDRLEN + payloadLength;
  const buf = Buffer.alloc(length);
  writeU32(buf, length, 0);
  writeU16(buf, type, 4);
  writeU16(buf, flags, 6);
  return buf;
}

export function setRequestSeq(request: Buffer, seq: number): void {
  writeU32(request, seq, 8);
}

/**
 * Sequence numbers per socket. Starts at a time-derived value so replies to a previous
 * run's requests (impossible on a fresh socket, but cheap to rule out) never match.
 */
export class SequenceCounter {
  private value = (Date.now() & 0x7fffffff) >>> 0;
  next(): number {
    this.value = (this.value + 1) >>> 0;
    if (this.value === 0) this.value = 1;
    return this.value;
  }
}
