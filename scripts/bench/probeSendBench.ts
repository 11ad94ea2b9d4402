/**
 * Cost of one loop-probe send (hal/linux/broadcastProbe.ts), by hand:
 *   node --expose-gc --max-semi-space-size=64 --import tsx scripts/bench/probeSendBench.ts [SENDS]
 * Real dgram-as-promised sockets on loopback only: one "bridge" named lo whose address is
 * 127.0.0.1/8, so probes go to 127.255.255.255:9 and never leave the machine. No root needed.
 * JS heap bytes per send over windows in which no GC ran (as tickBench.ts), and time per send.
 * Prints one JSON line.
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { getHeapStatistics, GCProfiler } from 'node:v8';
import { BroadcastProbe } from '../../hal/linux/broadcastProbe.ts';

const sends = Number(process.argv[2] ?? 20_000);
const WINDOW = 100;
const loopback: NetworkInterfaceInfo = {
  address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8',
};
const probe = new BroadcastProbe([{ name: 'lo' }], { minIntervalMs: 0, addressCheckMs: Infinity, networkInterfaces: () => ({ lo: [loopback] }) });

async function run(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await probe.send();
}

await run(Math.max(5_000, sends / 2)); // warm-up: V8 optimises the path
const perSend: number[] = [];
let windowsWithGc = 0;
const started = performance.now();
for (let done = 0; done < sends; done += WINDOW) {
  const profiler = new GCProfiler();
  profiler.start();
  const before = getHeapStatistics().used_heap_size;
  await run(WINDOW);
  const after = getHeapStatistics().used_heap_size;
  if ((profiler.stop()?.statistics.length ?? 0) > 0) windowsWithGc++;
  else perSend.push((after - before) / WINDOW);
}
const elapsed = performance.now() - started;
perSend.sort((a, b) => a - b);
const status = probe.status()[0]!;
await probe.close();
console.log(JSON.stringify({
  sends,
  heapBytesPerSend: perSend.length > 0 ? Math.round(perSend[Math.floor(perSend.length / 2)]!) : null,
  gcFreeWindows: perSend.length,
  windowsWithGc,
  microsecondsPerSend: Math.round((elapsed / sends) * 1000 * 10) / 10,
  sent: status.sent,
  failed: status.failed,
}));
