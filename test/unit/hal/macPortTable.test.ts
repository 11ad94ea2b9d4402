import { describe, expect, it } from 'vitest';
import { formatMacPair, parseMacPair, readMacNic, readMacOui } from '../../../hal/linux/macPair.ts';
import { MacPortTable } from '../../../hal/linux/macPortTable.ts';

describe('MAC pairs', () => {
  it('splits a MAC into 24-bit halves and formats it back', () => {
    const mac = Buffer.from([0xff, 0xfe, 0x02, 0x89, 0x00, 0xab]);
    const oui = readMacOui(mac, 0);
    const nic = readMacNic(mac, 0);
    expect([oui, nic]).toEqual([0xfffe02, 0x8900ab]);
    expect(formatMacPair(oui, nic)).toBe('ff:fe:02:89:00:ab');
    expect(parseMacPair('FF-FE-02-89-00-AB')).toEqual({ oui, nic });
    expect(parseMacPair('ff:fe:02:89:00')).toBeNull();
  });
});

describe('MacPortTable', () => {
  it('returns 0 for a new MAC and the previous port afterwards', () => {
    const table = new MacPortTable(8);
    expect(table.swap(1, 2, 0, 10)).toBe(0);
    expect(table.swap(1, 2, 0, 11)).toBe(10);
    expect(table.swap(1, 2, 0, 11)).toBe(11);
    expect(table.get(1, 2, 0)).toBe(11);
    expect(table.size).toBe(1);
  });

  it('keeps the same MAC on different VLANs apart', () => {
    const table = new MacPortTable(8);
    table.swap(1, 2, 0, 10);
    expect(table.swap(1, 2, 20, 11)).toBe(0);
    expect(table.get(1, 2, 0)).toBe(10);
  });

  it('evicts the least recently updated MAC when full', () => {
    const table = new MacPortTable(3);
    table.swap(0, 1, 0, 5);
    table.swap(0, 2, 0, 5);
    table.swap(0, 3, 0, 5);
    table.swap(0, 1, 0, 6); // 1 is now the most recent; 2 the oldest
    table.swap(0, 4, 0, 5);
    expect(table.get(0, 2, 0)).toBe(0);
    expect([table.get(0, 1, 0), table.get(0, 3, 0), table.get(0, 4, 0)]).toEqual([6, 5, 5]);
    expect(table.size).toBe(3);
    expect(table.evictions).toBe(1);
  });

  it('matches a Map + LRU list model over many random operations', () => {
    // Small key space and capacity: many collisions, evictions and backward shifts.
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const capacity = 37;
    const table = new MacPortTable(capacity);
    const model = new Map<string, number>(); // insertion order = recency (oldest first)
    for (let i = 0; i < 50_000; i++) {
      const oui = rand(3);
      const nic = rand(40);
      const vlan = rand(2);
      const port = 1 + rand(4);
      const key = `${oui}/${nic}/${vlan}`;
      const expected = model.get(key) ?? 0;
      if (model.has(key)) model.delete(key);
      else if (model.size === capacity) model.delete(model.keys().next().value!);
      model.set(key, port);
      expect(table.swap(oui, nic, vlan, port)).toBe(expected);
      if (i % 997 === 0) {
        for (const [k, p] of model) {
          const [o, n, v] = k.split('/').map(Number) as [number, number, number];
          expect(table.get(o, n, v)).toBe(p);
        }
        expect(table.size).toBe(model.size);
      }
    }
  });

  it('rejects a nonsensical size', () => {
    expect(() => new MacPortTable(0)).toThrow(/maxEntries/);
  });
});
