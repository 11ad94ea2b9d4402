import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { emptyConntrackSample, LINK_FIELDS, LINK_MULTICAST, LINK_RX_BYTES, LINK_RX_PACKETS, LINK_TX_DROPPED, LINK_TX_ERRORS } from '../../../hal/index.ts';
import { ProcfsConntrackStats } from '../../../hal/procfs/conntrackStats.ts';
import { ProcNetDevLinkStats } from '../../../hal/procfs/linkStats.ts';

const root = (name: string) => fileURLToPath(new URL(`../../fixtures/procfs/${name}/`, import.meta.url));

describe('ProcfsConntrackStats', () => {
  it('reads count and max and sums per-CPU hex rows, finding columns by header name', () => {
    const source = new ProcfsConntrackStats(root('openwrt-5.4'));
    const out = emptyConntrackSample();
    let result: Error | null | undefined;
    source.read(out, (error) => (result = error));
    expect(result).toBeNull();
    expect(out).toMatchObject({
      count: 1834, max: 16384, found: 0x1e240 + 0xffff, invalid: 11, insertFailed: 2, drop: 12, earlyDrop: 1, searchRestart: 3, error: 0,
    });
    source.close();
  });

  it('keeps count and max when /proc/net/stat/nf_conntrack is compiled out', () => {
    const source = new ProcfsConntrackStats(root('no-stat'));
    const out = emptyConntrackSample();
    source.read(out, () => {});
    expect(out.count).toBe(77);
    expect(out.max).toBe(65536);
    expect(out.drop).toBeNaN();
    expect(source.status.detail).toContain('no /proc/net/stat/nf_conntrack');
  });

  it('says so when nf_conntrack is not loaded', () => {
    const source = new ProcfsConntrackStats(root('no-conntrack'));
    expect(source.available()).toBe(false);
    let result: Error | null = null;
    source.read(emptyConntrackSample(), (error) => (result = error));
    expect(result).toBeInstanceOf(Error);
  });
});

describe('ProcNetDevLinkStats', () => {
  it('maps /proc/net/dev columns to our row layout, exact above 2^32', () => {
    const names = ['eth0', 'br-lan'];
    const values = new Float64Array(names.length * LINK_FIELDS);
    const read: number[] = [];
    const source = new ProcNetDevLinkStats(root('openwrt-5.4'));
    let result: Error | null | undefined;
    source.read({ values, slotOfIndex: () => -1, slotOfName: (n) => names.indexOf(n), markRead: (s) => void read.push(s) }, (e) => (result = e));
    expect(result).toBeNull();
    expect(read).toEqual([0, 1]);
    expect(values[LINK_RX_BYTES]).toBe(98765432109);
    expect(values[LINK_RX_PACKETS]).toBe(87654321);
    expect(values[LINK_MULTICAST]).toBe(33);
    expect(values[LINK_TX_ERRORS]).toBe(3);
    expect(values[LINK_TX_DROPPED]).toBe(4);
    expect(values[LINK_FIELDS + LINK_RX_BYTES]).toBe(5000000000000);
    expect(values[LINK_FIELDS + LINK_MULTICAST]).toBe(512);
  });
});
