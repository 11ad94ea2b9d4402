/**
 * Runs inside a lab namespace (`ip netns exec NS node --import tsx fdbProbe.ts`) and follows
 * the bridge FDB with the real NetlinkFdbEvents source. Protocol, one JSON object per line:
 * prints {"ready":true,...} once subscribed; answers each stdin line "report N" with an
 * FdbProbeReport whose seq is N; closes the socket and exits when stdin ends.
 * Test-side code: it formats MACs per event, which the agent never does.
 */
import { createInterface } from 'node:readline';
import { NetlinkFdbEvents } from '../../hal/linux/fdbEvents.ts';
import { formatMacPair } from '../../hal/linux/macPair.ts';
import { openRawNetlink } from '../../hal/netlink/rawSocket.ts';
import type { FdbProbeEvent, FdbProbeReport } from './fdbProbeClient.ts';

/** Only the first events are kept in full; a storm sends thousands a second. */
const KEEP = 200;
const warnings: string[] = [];
const source = new NetlinkFdbEvents(openRawNetlink, { log: { warn: (m) => warnings.push(m) } });
const updates: FdbProbeEvent[] = [];
const moves: FdbProbeEvent[] = [];
const updatesByMac: Record<string, number> = {};
const movesByMac: Record<string, number> = {};
/** "mac from->to": count, over all moves; few distinct keys even in a storm. */
const moveEdges: Record<string, number> = {};

source.onUpdate((oui, nic, port, master, vlan, atMs) => {
  const mac = formatMacPair(oui, nic);
  updatesByMac[mac] = (updatesByMac[mac] ?? 0) + 1;
  if (updates.length < KEEP) updates.push({ mac, port, fromPort: 0, master, vlan, atMs });
});
source.onMove((oui, nic, port, fromPort, master, vlan, atMs) => {
  const mac = formatMacPair(oui, nic);
  movesByMac[mac] = (movesByMac[mac] ?? 0) + 1;
  const edge = `${mac} ${fromPort}->${port}`;
  moveEdges[edge] = (moveEdges[edge] ?? 0) + 1;
  if (moves.length < KEEP) moves.push({ mac, port, fromPort, master, vlan, atMs });
});

const print = (value: object): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
print({ ready: true, timeOrigin: performance.timeOrigin });

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const ask = /^report (\d+)$/.exec(line.trim());
  if (ask === null) return;
  const report: FdbProbeReport = {
    seq: Number(ask[1]),
    timeOrigin: performance.timeOrigin,
    counts: { ...source.counts },
    tracked: source.tracked,
    updates,
    moves,
    updatesByMac,
    movesByMac,
    moveEdges,
    warnings,
  };
  print(report);
});
lines.on('close', () => source.close());
