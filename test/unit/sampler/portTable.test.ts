import { describe, expect, it } from 'vitest';
import { PORT_ARP, PORT_BCAST, PORT_DHCP, PORT_FIELDS, PORT_MCAST, PORT_MDNS, PORT_ND, PORT_OWN_SOURCE, PORT_SSDP } from '../../../hal/index.ts';
import {
  PT_ARP_PPS,
  PT_BCAST_PPS,
  PT_DHCP_PPS,
  PT_MCAST_PPS,
  PT_MDNS_PPS,
  PT_ND_PPS,
  PT_OTHER_PPS,
  PT_OWN_PS,
  PT_SERIES,
  PT_SSDP_PPS,
  PortTable,
} from '../../../src/sampler/portTable.ts';
import { LinkTable } from '../../../src/sampler/linkTable.ts';

const NFT = (): string => 'nftables';
/** No interfaces: only fallback rows read it. */
const NO_LINKS = new LinkTable(1, 10, () => 0);

/** One read: writes the counters of each named port and marks it read. */
function read(table: PortTable, counters: Record<string, Partial<Record<number, number>>>): void {
  table.beginRead();
  for (const [port, fields] of Object.entries(counters)) {
    const slot = table.slotOfPort(port);
    if (slot < 0) continue;
    for (const [field, value] of Object.entries(fields)) table.values[slot * PORT_FIELDS + Number(field)] = value ?? 0;
    table.markPortRead(slot);
  }
}

const latest = (table: PortTable, port: string, series: number, at: number): number => table.row(port)!.history.get(series, at);

describe('PortTable', () => {
  it('turns counter deltas into per-second rates, with "other" as what no protocol matched', () => {
    const table = new PortTable(4, 10);
    table.setPorts(['lan1', 'lan2'], NFT);
    read(table, { lan1: { [PORT_BCAST]: 100, [PORT_MCAST]: 1000 }, lan2: {} });
    table.commit(0, 1, NO_LINKS);
    expect(latest(table, 'lan1', PT_BCAST_PPS, 0)).toBeNaN(); // first read: baseline only
    read(table, {
      lan1: {
        [PORT_BCAST]: 300, [PORT_MCAST]: 1600, [PORT_ARP]: 50, [PORT_ND]: 20, [PORT_MDNS]: 300,
        [PORT_SSDP]: 10, [PORT_DHCP]: 4, [PORT_OWN_SOURCE]: 6,
      },
      lan2: {},
    });
    table.commit(1, 2, NO_LINKS);
    const rates = Array.from({ length: PT_SERIES }, (_, series) => latest(table, 'lan1', series, 1));
    expect(rates[PT_BCAST_PPS]).toBe(100);
    expect(rates[PT_MCAST_PPS]).toBe(300);
    expect([rates[PT_ARP_PPS], rates[PT_ND_PPS], rates[PT_MDNS_PPS], rates[PT_SSDP_PPS], rates[PT_DHCP_PPS]]).toEqual([25, 10, 150, 5, 2]);
    expect(rates[PT_OTHER_PPS]).toBe(400 - 192);
    expect(rates[PT_OWN_PS]).toBe(3);
    expect(latest(table, 'lan2', PT_BCAST_PPS, 1)).toBe(0);
  });

  it('leaves a gap (NaN) for a port the read missed, and needs a new baseline after it', () => {
    const table = new PortTable(2, 10);
    table.setPorts(['lan1'], NFT);
    read(table, { lan1: { [PORT_BCAST]: 10 } });
    table.commit(0, 1, NO_LINKS);
    read(table, {});
    table.commit(1, 1, NO_LINKS);
    expect(latest(table, 'lan1', PT_BCAST_PPS, 1)).toBeNaN();
    read(table, { lan1: { [PORT_BCAST]: 1_000_000 } });
    table.commit(2, 1, NO_LINKS);
    expect(latest(table, 'lan1', PT_BCAST_PPS, 2)).toBeNaN();
    read(table, { lan1: { [PORT_BCAST]: 1_000_010 } });
    table.commit(3, 1, NO_LINKS);
    expect(latest(table, 'lan1', PT_BCAST_PPS, 3)).toBe(10);
  });

  it('keeps the history of ports that stay in the plan and reuses rows of ports that left', () => {
    const table = new PortTable(2, 10);
    expect(table.setPorts(['lan1', 'lan2'], NFT)).toEqual([]);
    read(table, { lan1: { [PORT_BCAST]: 1 }, lan2: {} });
    table.commit(0, 1, NO_LINKS);
    read(table, { lan1: { [PORT_BCAST]: 3 }, lan2: {} });
    table.commit(1, 1, NO_LINKS);
    expect(table.setPorts(['lan1', 'lan3', 'lan4'], NFT)).toEqual(['lan4']);
    expect(table.slotOfPort('lan2')).toBe(-1);
    expect(table.row('lan1')!.history.get(PT_BCAST_PPS, 1)).toBe(2);
    expect(table.row('lan3')!.history.get(PT_BCAST_PPS, 1)).toBeNaN();
    expect([...table.rows()].map((r) => r.name)).toEqual(['lan1', 'lan3']);
  });
});
