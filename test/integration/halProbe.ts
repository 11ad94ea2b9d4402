/**
 * Runs inside a lab namespace (`ip netns exec NS node --import tsx halProbe.ts`) and
 * prints, as JSON, what the Linux HAL reads there: backends, the inventory, one read of
 * every link's counters and of conntrack. The integration tests compare it with
 * `conntrack -C` and `ip -s -j link` run in the same namespace.
 */
import { createLinuxHal } from '../../hal/linux/index.ts';
import { emptyConntrackSample, LINK_FIELDS, type ConntrackSample } from '../../hal/index.ts';

const hal = await createLinuxHal({ log: { warn: (m) => process.stderr.write(`${m}\n`) } });
await hal.inventory.start();
const links = [...hal.inventory.links.values()];
const values = new Float64Array(links.length * LINK_FIELDS);
const read = new Set<number>();
const sink = {
  values,
  slotOfIndex: (ifindex: number) => links.findIndex((l) => l.index === ifindex),
  slotOfName: (name: string) => links.findIndex((l) => l.name === name),
  markRead: (slot: number) => void read.add(slot),
};
const linkError = await new Promise<Error | null>((resolve) => hal.linkStats.read(sink, resolve));
const conntrack: ConntrackSample = emptyConntrackSample();
const conntrackError = await new Promise<Error | null>((resolve) => hal.conntrack.read(conntrack, resolve));
hal.close();
process.stdout.write(
  JSON.stringify({
    backends: { inventory: hal.inventory.status, links: hal.linkStats.status, conntrack: hal.conntrack.status },
    linkError: linkError?.message ?? null,
    conntrackError: conntrackError?.message ?? null,
    links: links.map((link, slot) => ({
      ...link,
      read: read.has(slot),
      counters: Array.from(values.subarray(slot * LINK_FIELDS, (slot + 1) * LINK_FIELDS)),
    })),
    conntrack,
  }),
);
