/**
 * The loop probe's UDP payload: `lanwatch loop probe v1 <nonce: 16 hex> <seq: 10 digits>`,
 * 50 ASCII bytes, e.g. `lanwatch loop probe v1 9f3c0a51d2e47b68 0000000042`.
 *
 * Why text: whoever captures the LAN (tcpdump -A, Wireshark) reads what the frame is and who
 * sent it without a dissector. Why a nonce (8 random bytes per process start): the probes of
 * this run can be told from another lanwatch's on the same LAN, from a previous run's still
 * circling in a loop, and from anyone else's traffic to the discard port. Why a seq: one
 * probe can be followed through a capture, and a capture shows how many copies came back.
 *
 * Fixed width on purpose: the seq is written into the same Buffer in place on every send,
 * so a send builds no string and allocates no Buffer of ours.
 */
import { randomBytes } from 'node:crypto';

/** UDP discard (RFC 863): a receiver that has the service drops it; most have none. */
export const PROBE_PORT = 9;
export const PROBE_PREFIX = 'lanwatch loop probe v1 ';
export const PROBE_NONCE_BYTES = 8;
const NONCE_HEX = PROBE_NONCE_BYTES * 2;
const SEQ_DIGITS = 10; // 2^32 - 1 = 4294967295 has ten
const NONCE_AT = PROBE_PREFIX.length;
const SEQ_AT = NONCE_AT + NONCE_HEX + 1;
export const PROBE_PAYLOAD_LENGTH = SEQ_AT + SEQ_DIGITS;
const DIGIT_0 = 0x30;

let processNonce: Buffer | null = null;

/** The nonce of this process: drawn once, at first use, shared by every probe it sends. */
export function processProbeNonce(): Buffer {
  processNonce ??= randomBytes(PROBE_NONCE_BYTES);
  return processNonce;
}

/** One bridge's payload buffer; `setSeq` rewrites the seq digits in place. */
export class ProbePayload {
  readonly buffer: Buffer;
  readonly nonceHex: string;

  constructor(nonce: Buffer) {
    if (nonce.length !== PROBE_NONCE_BYTES) throw new Error(`probe nonce must be ${PROBE_NONCE_BYTES} bytes, got ${nonce.length}`);
    this.nonceHex = nonce.toString('hex');
    this.buffer = Buffer.from(`${PROBE_PREFIX}${this.nonceHex} ${'0'.repeat(SEQ_DIGITS)}`, 'latin1');
  }

  /** Writes `seq` (taken modulo 2^32) as ten zero-padded decimal digits. */
  setSeq(seq: number): void {
    let rest = seq >>> 0;
    for (let at = SEQ_AT + SEQ_DIGITS - 1; at >= SEQ_AT; at--) {
      this.buffer[at] = DIGIT_0 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
  }
}

export interface ParsedProbe {
  nonceHex: string;
  seq: number;
}

const PROBE_RE = /^lanwatch loop probe v1 ([0-9a-f]{16}) ([0-9]{10})$/;

/** Reads a probe payload (tests, and a future receiver); null when `payload` is not one. */
export function parseProbePayload(payload: Buffer): ParsedProbe | null {
  if (payload.length !== PROBE_PAYLOAD_LENGTH) return null;
  const match = PROBE_RE.exec(payload.toString('latin1'));
  return match ? { nonceHex: match[1]!, seq: Number(match[2]) } : null;
}
