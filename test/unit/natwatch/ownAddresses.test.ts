import { describe, expect, it } from 'vitest';
import { HOST_KIND_SNAT, HOST_UDP } from '../../../hal/index.ts';
import { parseAddress } from '../../../hal/addressKey.ts';
import { HostTable } from '../../../hal/linux/conntrackHostTable.ts';
import { OwnAddresses } from '../../../src/natwatch/ownAddresses.ts';

/** A host with `n` UDP entries, keyed as the HAL source keys it. */
function addHost(table: HostTable, address: string, n: number): void {
  const bytes = new Uint8Array(16);
  const length = parseAddress(address, bytes);
  table.count(table.rowOf(bytes, 0, length === 16, true), HOST_UDP | HOST_KIND_SNAT, n);
}

describe('OwnAddresses', () => {
  it("sums the entries of the box's own addresses as they are now, whatever was there when they were set", () => {
    const table = new HostTable(64);
    const own = new OwnAddresses();
    own.set(['127.0.0.1', '10.77.0.1', 'fe80::1%br-lan', '2001:db8:0:1:2:3:4:5', 'bogus']);
    expect(own.entries(table)).toBe(0);
    addHost(table, '127.0.0.1', 2);
    addHost(table, '10.77.0.2', 500);
    expect(own.entries(table)).toBe(2);
    addHost(table, 'fe80::1', 1);
    addHost(table, '10.77.0.1', 3);
    expect(own.entries(table)).toBe(6);
    expect([...own.text]).toContain('10.77.0.1');
  });
});
