/**
 * One sampling-tick benchmark run, started by scripts/bench/tickSection.ts inside a throw-away
 * namespace:
 *   node [flags] --import tsx tickBench.ts SOURCE MEASURE TICKS
 * SOURCE kernel: the real HAL, real netlink sockets, the real kernel (8 veth interfaces).
 * Every row runs the NAT part of the tick too (natTick.ts): NatWatch and its two alarms.
 * SOURCE replay: the same replies, recorded from the kernel once and handed back
 *   synchronously, so only our code runs per tick (no syscalls, no binding).
 * SOURCE ports: the agent's tick on a LAN bridge (portsTick.ts): br0 with 8 veth ports counted
 *   by our nftables table, FDB events, storm and loop detectors and alarms, and one loop-probe
 *   send before every tick. The tick's latency is request to last reply as for the others; CPU
 *   and heap per tick include the probe send.
 * MEASURE time: latency and CPU per tick, default V8 flags.
 * MEASURE alloc: JS heap bytes per tick (the addon's malloc'd receive buffers are not JS heap). V8 on Node 20 has no allocation counter, so this
 *   measures heap growth over windows of ticks in which no GC ran (v8.GCProfiler proves
 *   it), with 64 MB semi-spaces so that most windows are GC-free. Those flags slow every
 *   tick ~10x, which is why timing is a separate run.
 * MEASURE profile: where those bytes come from: a sampling heap profile over the ticks
 *   (heapSites.ts), the heaviest allocating functions with their callers.
 * Prints one JSON line.
 */
import { getHeapStatistics, GCProfiler } from 'node:v8';
import type { Hal } from '../../hal/index.ts';
import { NetlinkConntrackStats } from '../../hal/linux/conntrackStats.ts';
import { createLinuxHal } from '../../hal/linux/index.ts';
import { NetlinkInventory } from '../../hal/linux/inventory.ts';
import { NetlinkLinkStats } from '../../hal/linux/linkStats.ts';
import { openRawNetlink } from '../../hal/netlink/rawSocket.ts';
import { AlarmEngine, natTableInput, natTableSpec } from '../../src/alarms/index.ts';
import { DEFAULT_CONFIG } from '../../src/config/schema.ts';
import { Sampler } from '../../src/sampler/sampler.ts';
import { HeapSampler } from './heapSites.ts';
import { addNatWatch } from './natTick.ts';
import { portsTickWarnings, startPortsTick, type PortsTick } from './portsTick.ts';
import { recordReplies, replayTransportFactory } from './replayTransport.ts';

const SOURCES = ['kernel', 'replay', 'ports'] as const;
const MEASURES = ['time', 'alloc', 'profile'] as const;
const source = SOURCES.find((s) => s === process.argv[2]) ?? 'kernel';
const measure = MEASURES.find((m) => m === process.argv[3]) ?? 'time';
const ticks = Number(process.argv[4] ?? 10_000);
// Long enough for V8 to optimize every function on the path: steady state is the target.
const warmup = Math.max(5000, ticks / 2);
/** Ticks per allocation window: short enough that most windows see no GC. */
const WINDOW = 100;

const quiet = { warn: () => {}, info: () => {} };

async function makeHal(): Promise<Hal> {
  if (source !== 'replay') return createLinuxHal({ log: quiet });
  const replies = await recordReplies();
  const factory = replayTransportFactory(replies);
  const inventory = new NetlinkInventory(openRawNetlink, quiet);
  const linkStats = new NetlinkLinkStats(factory);
  const conntrack = new NetlinkConntrackStats(factory);
  return {
    inventory, linkStats, conntrack,
    close() { inventory.close(); linkStats.close(); conntrack.close(); },
  };
}

/** The sampler with the agent's listeners on it, and how to undo it all. */
async function makeTick(): Promise<{ hal: Hal; sampler: Sampler; ports: PortsTick | null; close(): Promise<void> }> {
  if (source === 'ports') {
    const ports = await startPortsTick();
    return { hal: ports.hal, sampler: ports.sampler, ports, close: () => ports.close() };
  }
  const hal = await makeHal();
  await hal.inventory.start();
  const sampler = new Sampler(hal, { intervalMs: 1000, log: quiet });
  // The tick as the agent runs it: the alarms are evaluated on every sample (see src/agent.ts),
  // so their cost counts in the CPU and allocation figures.
  const alarms = new AlarmEngine({ warn: () => {} });
  alarms.add(natTableSpec(DEFAULT_CONFIG.alarms.natTable)!, natTableInput(sampler));
  const natWatch = addNatWatch(hal, sampler, alarms, quiet);
  sampler.onSample(() => alarms.evaluate(sampler.sampledAt));
  return {
    hal,
    sampler,
    ports: null,
    // createLinuxHal opened port-counter sockets too (unused here: no plan); they keep the
    // process alive until closed.
    async close() {
      natWatch.close();
      await hal.ports?.close();
      await hal.probe?.close();
      hal.close();
    },
  };
}

const { hal, sampler, ports, close } = await makeTick();
const interfaces = [...sampler.links.rows()].length;
const profileTicks = Math.min(ticks, 2000);
const heapSampler = measure === 'profile' ? new HeapSampler() : null;

// time
const durations = new Float64Array(ticks);
let cpuStart = process.cpuUsage();
let wallStart = 0;
// alloc: per GC-free window, bytes per tick on the heap and in array buffers
const heapPerTick: number[] = [];
let windowsWithGc = 0;
let profiler: GCProfiler | null = null;
let heapAtWindow = 0;

function openWindow(): void {
  profiler = new GCProfiler();
  profiler.start();
  heapAtWindow = getHeapStatistics().used_heap_size;
}

function closeWindow(): void {
  const heap = getHeapStatistics().used_heap_size;
  const gcs = profiler!.stop()?.statistics.length ?? 0;
  if (gcs > 0) windowsWithGc++;
  else {
    heapPerTick.push((heap - heapAtWindow) / WINDOW);
  }
}

let measured = -warmup;
let finish: () => void = () => {};
const finished = new Promise<void>((resolve) => (finish = resolve));
const total = measure === 'profile' ? profileTicks : ticks;

// ports: the probe goes out first and the tick starts once the kernel took it, so the tick's
// latency is its own while CPU and heap include the send (the agent sends 150 ms before it).
const probe = ports?.probe ?? null;
const startTick = (): void => sampler.tick();
const next = probe === null ? startTick : (): void => void probe.send().then(startTick);

// Created once. In kernel mode the reply arrives from libuv, so starting the next tick
// here does not recurse; in replay mode ticks complete synchronously and a loop drives them.
sampler.onSample(() => {
  if (measure === 'time' && measured >= 0) durations[measured] = sampler.lastTickMs;
  if (measure === 'alloc' && measured >= 0 && measured % WINDOW === 0) {
    if (measured > 0) closeWindow();
    if (measured < ticks) openWindow();
  }
  measured++;
  if (measured === 0) {
    cpuStart = process.cpuUsage();
    wallStart = performance.now();
    if (measure === 'alloc') openWindow();
    // Started from here, so the profile sees ticks only; the first ones pay for the await.
    if (heapSampler && source !== 'replay') {
      void heapSampler.start().then(next);
      return;
    }
  }
  if (measured === total) {
    if (measure === 'alloc') closeWindow();
    finish();
  } else if (source !== 'replay') next();
});

if (source !== 'replay') next();
else if (heapSampler) {
  for (let i = 0; i < warmup; i++) sampler.tick();
  await heapSampler.start();
  for (let i = 0; i < total; i++) sampler.tick();
  finish();
} else for (let i = 0; i < warmup + ticks; i++) sampler.tick();
await finished;
const wall = performance.now() - wallStart;
const cpu = process.cpuUsage(cpuStart);
const profile = heapSampler ? await heapSampler.stop(total) : null;

const median = (values: ArrayLike<number>): number | null => {
  if (values.length === 0) return null;
  const sorted = Array.from(values).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const p99 = (values: Float64Array): number => {
  const sorted = Array.from(values).sort((a, b) => a - b);
  return sorted[Math.floor(0.99 * (sorted.length - 1))]!;
};
console.log(
  JSON.stringify({
    source,
    measure,
    ticks,
    interfaces,
    conntrackBackend: hal.conntrack.status.backend,
    ...(measure === 'time'
      ? {
          medianUs: median(durations)! * 1000,
          p99Us: p99(durations) * 1000,
          cpuUsPerTick: (cpu.user + cpu.system) / ticks,
          wallUsPerTick: (wall * 1000) / ticks,
        }
      : measure === 'alloc'
        ? {
            heapBytesPerTick: median(heapPerTick),
            gcFreeWindows: heapPerTick.length,
            windowsWithGc,
          }
        : { profileTicks: total, profile }),
    ...(ports && {
      counted: ports.counted,
      probe: ports.probe.status()[0] ?? null,
      alarmEvents: ports.alarmEvents(),
      warnings: portsTickWarnings(),
    }),
    stalls: sampler.stalls,
    failures: sampler.linkHealth.failures + sampler.conntrackHealth.failures + sampler.portHealth.failures,
  }),
);
await close();
// Every socket is closed now; a handle left open would hang the run until run.ts times it out.
setTimeout(() => {
  console.error('tickBench: a handle kept the process alive after close(); exiting');
  process.exit(0);
}, 2000).unref();
