import { describe, expect, it } from 'vitest';
import { AttrCursor, MessageCursor, nlmsgErrno, readU64 } from '../../../hal/netlink/reader.ts';
import { attr, be32, capturedDatagrams, errorMessage, message } from '../../helpers/netlinkFixtures.ts';

describe('MessageCursor', () => {
  it('walks every message of a captured RTM_GETLINK dump and ends on DONE', () => {
    const types: number[] = [];
    const cursor = new MessageCursor();
    for (const datagram of capturedDatagrams('rtm-getlink-dump')) {
      cursor.reset(datagram);
      while (cursor.next()) types.push(cursor.type);
      expect(cursor.problem).toBeNull();
    }
    expect(types.at(-1)).toBe(3); // NLMSG_DONE
    expect(types.filter((t) => t === 16).length).toBe(6); // lo, br-lan, 2 veth pairs
  });

  it('reads header fields in host byte order', () => {
    const cursor = new MessageCursor().reset(message(0x105, 0x2, 77, Buffer.alloc(4)));
    expect(cursor.next()).toBe(true);
    expect([cursor.type, cursor.flags, cursor.seq, cursor.length]).toEqual([0x105, 0x2, 77, 20]);
    expect(cursor.next()).toBe(false);
    expect(cursor.problem).toBeNull();
  });

  it('rejects a datagram cut inside a header', () => {
    const whole = message(16, 0, 1, Buffer.alloc(8));
    const cursor = new MessageCursor().reset(whole.subarray(0, 10));
    expect(cursor.next()).toBe(false);
    expect(cursor.problem).toBe('truncated message header');
  });

  it('rejects a length that runs past the datagram', () => {
    const whole = message(16, 0, 1, Buffer.alloc(8));
    const cursor = new MessageCursor().reset(whole.subarray(0, 20));
    expect(cursor.next()).toBe(false);
    expect(cursor.problem).toBe('message length runs past the datagram');
  });

  it('rejects a length shorter than the header instead of looping', () => {
    const bad = message(16, 0, 1, Buffer.alloc(8));
    bad.writeUInt32LE(8, 0);
    const cursor = new MessageCursor().reset(bad);
    expect(cursor.next()).toBe(false);
    expect(cursor.problem).toBe('message length shorter than its header');
  });

  it('decodes the errno of NLMSG_ERROR', () => {
    const cursor = new MessageCursor().reset(errorMessage(5, 1));
    cursor.next();
    expect(nlmsgErrno(cursor)).toBe(1);
  });
});

describe('AttrCursor', () => {
  it('walks attributes, masks flag bits and enters nests', () => {
    const inner = attr(1, Buffer.from('veth\0'));
    const nested = attr(18 | 0x8000, inner);
    const run = Buffer.concat([attr(4, Buffer.from([0xdc, 0x05, 0, 0])), nested, attr(2, be32(262144))]);
    const cursor = new AttrCursor().reset(run, 0, run.length);
    expect(cursor.next()).toBe(true);
    expect([cursor.type, cursor.u32()]).toEqual([4, 1500]);
    expect(cursor.next()).toBe(true);
    expect([cursor.type, cursor.nested]).toEqual([18, true]);
    const innerCursor = cursor.enter(new AttrCursor());
    expect(innerCursor.next()).toBe(true);
    expect(innerCursor.string()).toBe('veth');
    expect(cursor.next()).toBe(true);
    expect(cursor.u32be()).toBe(262144);
    expect(cursor.next()).toBe(false);
    expect(cursor.problem).toBeNull();
  });

  it('rejects an attribute longer than its container', () => {
    const run = attr(4, Buffer.alloc(8));
    run.writeUInt16LE(40, 0);
    const cursor = new AttrCursor().reset(run, 0, run.length);
    expect(cursor.next()).toBe(false);
    expect(cursor.problem).toBe('attribute length runs past its container');
  });

  it('rejects a zero-length attribute instead of looping', () => {
    const run = Buffer.alloc(8);
    const cursor = new AttrCursor().reset(run, 0, run.length);
    expect(cursor.next()).toBe(false);
    expect(cursor.problem).toBe('attribute length shorter than its header');
  });

  it('gives NaN for a payload too short for the value asked', () => {
    const run = attr(1, Buffer.from([7]));
    const cursor = new AttrCursor().reset(run, 0, run.length);
    cursor.next();
    expect(cursor.u8()).toBe(7);
    expect(cursor.u32()).toBeNaN();
    expect(cursor.u32be()).toBeNaN();
  });
});

describe('readU64', () => {
  it('joins two 32-bit halves exactly above 2^32', () => {
    const buf = Buffer.alloc(8);
    buf.writeBigUInt64LE(0x1_2345_6789n);
    expect(readU64(buf, 0)).toBe(0x1_2345_6789);
  });
});
