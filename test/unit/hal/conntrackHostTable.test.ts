// The per-host table: open addressing keyed by 16-byte addresses, rows stable while a host has
// entries, bounded with overflow counted, totals always the sum of the rows.
import { describe, expect, it } from 'vitest';
import {
  HOST_ENTRIES,
  HOST_FIELDS,
  HOST_ICMP,
  HOST_KIND_SNAT,
  HOST_KIND_UNREPLIED,
  HOST_SNAT,
  HOST_TCP_CLOSING,
  HOST_TCP_ESTABLISHED,
  HOST_UDP,
  HOST_UNREPLIED,
} from '../../../hal/index.ts';
import { parseAddress } from '../../../hal/addressKey.ts';
import { HostTable } from '../../../hal/linux/conntrackHostTable.ts';

function bytesOf(address: string): { buf: Buffer; v6: boolean } {
  const buf = Buffer.alloc(16);
  const n = parseAddress(address, buf);
  if (n === 0) throw new Error(address);
  return { buf, v6: n === 16 };
}

function add(table: HostTable, address: string, kind: number, n = 1): number {
  const { buf, v6 } = bytesOf(address);
  const row = table.rowOf(buf, 0, v6, true);
  if (row >= 0) table.count(row, kind, n);
  return row;
}

function rows(table: HostTable): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let r = table.nextRow(-1); r >= 0; r = table.nextRow(r)) {
    out.set(table.addressOf(r), Array.from(table.counts.subarray(r * HOST_FIELDS, (r + 1) * HOST_FIELDS)));
  }
  return out;
}

function sumRows(table: HostTable): number[] {
  const sum = new Array<number>(HOST_FIELDS).fill(0);
  for (const counts of rows(table).values()) counts.forEach((v, f) => (sum[f]! += v));
  return sum;
}

describe('HostTable', () => {
  it('keys IPv4 and IPv6 hosts, IPv4 as mapped addresses, and counts every field of a kind', () => {
    const t = new HostTable(16);
    const a = add(t, '10.77.0.2', HOST_TCP_ESTABLISHED | HOST_KIND_SNAT, 3);
    expect(add(t, '10.77.0.2', HOST_UDP | HOST_KIND_UNREPLIED)).toBe(a);
    // The same host written as a mapped IPv6 address is the same row.
    expect(add(t, '::ffff:10.77.0.2', HOST_ICMP)).toBe(a);
    const b = add(t, 'fd00::1', HOST_TCP_CLOSING);
    expect(b).not.toBe(a);
    expect(t.size).toBe(2);
    expect(t.isIPv4(a)).toBe(true);
    expect(t.isIPv4(b)).toBe(false);
    expect(rows(t)).toEqual(
      new Map([
        ['10.77.0.2', [5, 3, 0, 0, 1, 1, 0, 1, 3]],
        ['fd00::1', [1, 0, 1, 0, 0, 0, 0, 0, 0]],
      ]),
    );
    expect(Array.from(t.totals)).toEqual([6, 3, 1, 0, 1, 1, 0, 1, 3]);
    expect(t.rowOfAddress('10.77.0.2')).toBe(a);
    expect(t.rowOfAddress('FD00:0::1')).toBe(b);
    expect(t.rowOfAddress('10.77.0.3')).toBe(-1);
    expect(t.rowOfAddress('not an address')).toBe(-1);
  });

  it('formats IPv6 addresses as RFC 5952 text', () => {
    const t = new HostTable(8);
    for (const a of ['2001:db8::1', '::1', 'fd00::', '2001:db8:0:1:1:1:1:1', '2001:0:0:1::1', 'fe80::1c4e:8aff:fe21:7b02', '::']) {
      const row = add(t, a, HOST_UDP);
      expect(t.addressOf(row)).toBe(a);
    }
    expect(t.addressOf(add(t, '2001:db8:0:0:1:0:0:1', HOST_UDP))).toBe('2001:db8::1:0:0:1');
  });

  it('removes a host with its last entry and reuses the row; totals stay the sum of the rows', () => {
    const t = new HostTable(4);
    const a = add(t, '10.0.0.1', HOST_UDP, 2);
    add(t, '10.0.0.2', HOST_UDP);
    t.count(a, HOST_UDP, -1);
    expect(t.size).toBe(2);
    t.count(a, HOST_UDP, -1);
    expect(t.size).toBe(1);
    expect(t.rowOfAddress('10.0.0.1')).toBe(-1);
    expect(add(t, '10.0.0.3', HOST_TCP_ESTABLISHED)).toBe(a);
    expect(sumRows(t)).toEqual(Array.from(t.totals));
  });

  it('counts entries of hosts beyond its capacity as overflow, never throws', () => {
    const t = new HostTable(3);
    for (let i = 1; i <= 5; i++) add(t, `10.0.0.${i}`, HOST_UDP, 2);
    expect(t.size).toBe(3);
    expect(t.overflow).toBe(2);
    expect(t.totals[HOST_ENTRIES]).toBe(6);
    add(t, '10.0.0.1', HOST_UDP);
    expect(t.overflow).toBe(2);
    t.resetOverflow();
    expect(t.overflow).toBe(0);
  });

  it('stays a correct map under heavy churn (backward-shift deletion)', () => {
    const t = new HostTable(64);
    const model = new Map<string, number>();
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let step = 0; step < 20_000; step++) {
      // 100 candidate hosts for 64 rows: the table runs full and overflows now and then.
      const host = rand(100);
      const address = host % 2 === 0 ? `10.1.${host >> 8}.${host & 255}` : `fd00::${host.toString(16)}`;
      const have = model.get(address) ?? 0;
      if (have > 0 && rand(2) === 0) {
        const row = t.rowOfAddress(address);
        expect(row).toBeGreaterThanOrEqual(0);
        t.count(row, HOST_UDP, -1);
        if (have === 1) model.delete(address);
        else model.set(address, have - 1);
      } else if (add(t, address, HOST_UDP) >= 0) {
        model.set(address, have + 1);
      }
    }
    const seen = rows(t);
    expect(seen.size).toBe(model.size);
    expect(t.size).toBe(model.size);
    for (const [address, n] of model) expect(seen.get(address)?.[HOST_ENTRIES], address).toBe(n);
    expect(sumRows(t)).toEqual(Array.from(t.totals));
  });

  it('ranks the top rows by any field without allocating a result', () => {
    const t = new HostTable(16);
    add(t, '10.0.0.1', HOST_UDP, 5);
    add(t, '10.0.0.2', HOST_UDP | HOST_KIND_SNAT, 9);
    add(t, '10.0.0.3', HOST_UDP, 7);
    add(t, '10.0.0.4', HOST_UDP, 7);
    add(t, '10.0.0.5', HOST_UDP, 1);
    const out = new Int32Array(3);
    expect(t.topRows(HOST_ENTRIES, out)).toBe(3);
    expect(Array.from(out, (r) => t.addressOf(r))).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4']);
    expect(t.topRows(HOST_SNAT, out)).toBe(1);
    expect(t.addressOf(out[0]!)).toBe('10.0.0.2');
    expect(t.topRows(HOST_UNREPLIED, out)).toBe(0);
  });

  it('copies another table whole (rows keep their numbers), clears, and keeps its dump count', () => {
    const a = new HostTable(8);
    const b = new HostTable(8);
    add(b, '10.9.9.9', HOST_UDP, 4);
    b.noteDump();
    const r1 = add(a, '10.0.0.1', HOST_UDP);
    const r2 = add(a, 'fd00::2', HOST_TCP_ESTABLISHED, 2);
    a.count(r1, HOST_UDP, -1);
    b.copyFrom(a);
    expect(b.dumps).toBe(1);
    expect(rows(b)).toEqual(rows(a));
    expect(b.rowOfAddress('fd00::2')).toBe(r2);
    expect(Array.from(b.totals)).toEqual(Array.from(a.totals));
    // The copy is independent and fully working: free rows, hash and all.
    expect(add(b, '10.0.0.7', HOST_UDP)).toBe(r1);
    expect(a.rowOfAddress('10.0.0.7')).toBe(-1);
    expect(() => b.copyFrom(new HostTable(9))).toThrow(TypeError);
    b.clear();
    expect(b.size).toBe(0);
    expect(b.dumps).toBe(0);
    expect(b.nextRow(-1)).toBe(-1);
    expect(Array.from(b.totals)).toEqual(new Array(HOST_FIELDS).fill(0));
  });

  it('parses and rejects addresses', () => {
    const out = Buffer.alloc(16);
    expect(parseAddress('1.2.3.4', out)).toBe(4);
    expect(parseAddress('fe80::1%eth0', out)).toBe(16);
    expect(parseAddress('::ffff:1.2.3.4', out)).toBe(16);
    expect(out.subarray(10, 16)).toEqual(Buffer.from([0xff, 0xff, 1, 2, 3, 4]));
    for (const bad of ['', '1.2.3', 'fd00::1::2', '1:2:3:4:5:6:7:8:9', 'fd00:::1', 'g::1']) expect(parseAddress(bad, out), bad).toBe(0);
  });

  it('rejects a capacity it cannot hold', () => {
    expect(() => new HostTable(0)).toThrow(RangeError);
    expect(new HostTable().capacity).toBe(65_536);
  });
});
