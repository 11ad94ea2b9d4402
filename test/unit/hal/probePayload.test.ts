import { describe, expect, it } from 'vitest';
import {
  PROBE_NONCE_BYTES,
  PROBE_PAYLOAD_LENGTH,
  PROBE_PORT,
  ProbePayload,
  parseProbePayload,
  processProbeNonce,
} from '../../../hal/linux/probePayload.ts';

const NONCE = Buffer.from('9f3c0a51d2e47b68', 'hex');

describe('probe payload', () => {
  it('reads as text: prefix, nonce in hex, ten-digit seq; 50 bytes to the discard port', () => {
    const payload = new ProbePayload(NONCE);
    payload.setSeq(42);
    expect(payload.buffer.toString('latin1')).toBe('lanwatch loop probe v1 9f3c0a51d2e47b68 0000000042');
    expect(payload.buffer.length).toBe(PROBE_PAYLOAD_LENGTH);
    expect(PROBE_PAYLOAD_LENGTH).toBe(50);
    expect(PROBE_PORT).toBe(9);
    expect(payload.nonceHex).toBe('9f3c0a51d2e47b68');
  });

  it('rewrites the seq in the same Buffer', () => {
    const payload = new ProbePayload(NONCE);
    const buffer = payload.buffer;
    payload.setSeq(4_294_967_295);
    expect(buffer.toString('latin1').endsWith(' 4294967295')).toBe(true);
    payload.setSeq(7);
    expect(payload.buffer).toBe(buffer);
    expect(buffer.toString('latin1').endsWith(' 0000000007')).toBe(true);
    payload.setSeq(4_294_967_296); // wraps modulo 2^32
    expect(buffer.toString('latin1').endsWith(' 0000000000')).toBe(true);
  });

  it('parses its own payloads and nothing else', () => {
    const payload = new ProbePayload(NONCE);
    payload.setSeq(123_456);
    expect(parseProbePayload(payload.buffer)).toEqual({ nonceHex: '9f3c0a51d2e47b68', seq: 123_456 });
    expect(parseProbePayload(Buffer.from('lanwatch loop probe v2 9f3c0a51d2e47b68 0000000001'))).toBeNull();
    expect(parseProbePayload(Buffer.from('lanwatch loop probe v1 9F3C0A51D2E47B68 0000000001'))).toBeNull();
    expect(parseProbePayload(Buffer.from('hello'))).toBeNull();
  });

  it('refuses a nonce that is not 8 bytes', () => {
    expect(() => new ProbePayload(Buffer.alloc(4))).toThrow(/8 bytes/);
  });

  it('draws one nonce per process', () => {
    const nonce = processProbeNonce();
    expect(nonce.length).toBe(PROBE_NONCE_BYTES);
    expect(processProbeNonce()).toBe(nonce);
  });
});
