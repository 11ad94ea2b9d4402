/** Loads captured kernel datagrams (scripts/fixtures/capture-netlink.sh) and builds messages by hand. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../fixtures/netlink/', import.meta.url));

export function capturedDatagrams(name: string): Buffer[] {
  return readFileSync(`${dir}${name}.hex`, 'utf8')
    .trim()
    .split('\n')
    .map((line) => Buffer.from(line, 'hex'));
}

/** Rewrites the sequence number of every message in a captured datagram. */
export function withSeq(datagram: Buffer, seq: number): Buffer {
  const copy = Buffer.from(datagram);
  let offset = 0;
  while (offset + 16 <= copy.length) {
    const length = copy.readUInt32LE(offset);
    if (length < 16) break;
    copy.writeUInt32LE(seq, offset + 8);
    offset += (length + 3) & ~3;
  }
  return copy;
}

export function attr(type: number, payload: Buffer): Buffer {
  const length = 4 + payload.length;
  const out = Buffer.alloc((length + 3) & ~3);
  out.writeUInt16LE(length, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

export function be32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

export function message(type: number, flags: number, seq: number, payload: Buffer): Buffer {
  const length = 16 + payload.length;
  const out = Buffer.alloc((length + 3) & ~3);
  out.writeUInt32LE(length, 0);
  out.writeUInt16LE(type, 4);
  out.writeUInt16LE(flags, 6);
  out.writeUInt32LE(seq, 8);
  payload.copy(out, 16);
  return out;
}

/** NLMSG_ERROR carrying -errno (0 = ACK) and a copy of a 16-byte request header. */
export function errorMessage(seq: number, errno: number): Buffer {
  const payload = Buffer.alloc(20);
  payload.writeInt32LE(-errno, 0);
  return message(2, 0, seq, payload);
}

export function doneMessage(seq: number): Buffer {
  return message(3, 2, seq, Buffer.alloc(4));
}
