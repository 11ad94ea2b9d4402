/**
 * `npm run bench [-- SECTION...]`: every section by default, in this order, or only the ones
 * named (`npm run bench -- mqtt`):
 * - tick: the sampling-tick benchmark (below; needs root);
 * - mqtt: MQTT bytes per minute at defaults with 8 ports (mqttBytes.ts; needs mosquitto).
 *
 * tick: the sampling-tick benchmark (issue targets: ≤ 100 µs and ≤ 256 bytes
 * allocated per tick with 8 interfaces + conntrack stats, ≥ 10,000 ticks).
 *
 * Builds a throw-away namespace (unique name, removed on exit and on failure) holding
 * 4 veth pairs = 8 interfaces and a conntrack-using nft rule, then runs, side by side in
 * one invocation, the real-kernel tick and the replayed tick (our code alone), each in a
 * child process with GC-free measurement windows. Needs root (CAP_NET_ADMIN, netns).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mqttBytesBench } from './mqttBytes.ts';

const SECTIONS = ['tick', 'mqtt'] as const;
type Section = (typeof SECTIONS)[number];

const TICKS = Number(process.env.BENCH_TICKS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ns = `lwbench${process.pid}`;
const tickBench = fileURLToPath(new URL('./tickBench.ts', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));

function sh(args: string[], input?: string): void {
  execFileSync(args[0]!, args.slice(1), { stdio: ['pipe', 'ignore', 'inherit'], input });
}

let built = false;
function teardown(): void {
  if (!built) return;
  built = false;
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}
process.on('exit', teardown);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    teardown();
    process.exit(130);
  });
}

function buildNamespace(): void {
  sh(['ip', 'netns', 'add', ns]);
  built = true;
  const batch = ['link set lo up'];
  for (let i = 0; i < 4; i++) {
    batch.push(`link add port${i} type veth peer name peer${i}`, `link set port${i} up`, `link set peer${i} up`);
  }
  sh(['ip', '-n', ns, '-batch', '-'], batch.join('\n') + '\n');
  // A conntrack-using rule registers the hooks, so the stats are those of a live table.
  sh(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'],
    'table inet lwbench { chain out { type filter hook output priority 0; ct state new counter; }; }\n');
  sh(['ip', 'netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.2', '-W', '1', '127.0.0.1']);
}

interface TickResult {
  source: 'kernel' | 'replay';
  interfaces: number;
  conntrackBackend: string;
  medianUs?: number;
  p99Us?: number;
  cpuUsPerTick?: number;
  heapBytesPerTick?: number | null;
  gcFreeWindows?: number;
  windowsWithGc?: number;
  stalls: number;
  failures: number;
}

type Source = 'kernel' | 'replay';

function runOnce(source: Source, measure: 'time' | 'alloc'): TickResult {
  const flags = measure === 'alloc' ? ['--min-semi-space-size=64', '--max-semi-space-size=64'] : [];
  const out = execFileSync(
    'ip',
    ['netns', 'exec', ns, process.execPath, ...flags, '--import', 'tsx', tickBench, source, measure, String(TICKS)],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as TickResult;
}

const median = (values: number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const pick = (rs: TickResult[], key: keyof TickResult): number | null =>
  median(rs.map((r) => r[key]).filter((v): v is number => typeof v === 'number'));
const fmt = (n: number | null, digits = 1): string => (n === null ? 'n/a' : n.toFixed(digits));

/** Returns the exit code. */
function tickSection(): number {
  if (process.getuid?.() !== 0) {
    console.error('bench: needs root to build its network namespace (CAP_NET_ADMIN); run: sudo npm run bench (or npm run bench -- mqtt for the MQTT section alone)');
    return 1;
  }
  buildNamespace();
  // Interleaved runs, so machine noise hits kernel and replay alike.
  const time: Record<Source, TickResult[]> = { kernel: [], replay: [] };
  const alloc: Record<Source, TickResult[]> = { kernel: [], replay: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const source of ['kernel', 'replay'] as const) {
      time[source].push(runOnce(source, 'time'));
      alloc[source].push(runOnce(source, 'alloc'));
    }
  }
  const first = time.kernel[0]!;
  console.log(`sampling tick: ${TICKS} ticks per run after warm-up, ${RUNS} runs per row (medians of runs), node ${process.version}`);
  console.log(`namespace ${ns}: ${first.interfaces} interfaces (8 veth + lo), conntrack via ${first.conntrackBackend}`);
  console.log('');
  console.log('source   median µs/tick  p99 µs  CPU µs/tick  heap B/tick  GC-free windows');
  for (const source of ['kernel', 'replay'] as const) {
    const windows = alloc[source].reduce((n, r) => n + (r.gcFreeWindows ?? 0), 0);
    const all = windows + alloc[source].reduce((n, r) => n + (r.windowsWithGc ?? 0), 0);
    console.log(
      `${source.padEnd(8)} ${fmt(pick(time[source], 'medianUs')).padStart(14)}  ${fmt(pick(time[source], 'p99Us')).padStart(6)}` +
        `  ${fmt(pick(time[source], 'cpuUsPerTick')).padStart(11)}  ${fmt(pick(alloc[source], 'heapBytesPerTick')).padStart(11)}` +
        `  ${String(windows).padStart(11)}/${all}`,
    );
    const bad = [...time[source], ...alloc[source]].reduce((n, r) => n + r.stalls + r.failures, 0);
    if (bad) console.log(`  warning: ${bad} stalled or failed reads in ${source} runs`);
  }
  const kernel = pick(time.kernel, 'medianUs');
  const replay = pick(time.replay, 'medianUs');
  console.log('');
  if (kernel !== null && replay !== null) {
    console.log(`kernel/replay median ratio: ${(kernel / replay).toFixed(1)}x: the difference is syscalls, the kernel, the netlink binding and the event loop`);
  }
  console.log('targets (kernel row): ≤ 100 µs and ≤ 256 B per tick');
  return 0;
}

function selectedSections(args: string[]): Section[] {
  const unknown = args.filter((a) => !(SECTIONS as readonly string[]).includes(a));
  if (unknown.length > 0) {
    console.error(`bench: unknown section ${unknown.join(', ')}; usage: npm run bench [-- ${SECTIONS.join('|')} ...] (default: all)`);
    process.exit(2);
  }
  return args.length === 0 ? [...SECTIONS] : SECTIONS.filter((s) => args.includes(s));
}

async function main(): Promise<number> {
  let code = 0;
  const sections = selectedSections(process.argv.slice(2));
  for (const [i, section] of sections.entries()) {
    if (i > 0) console.log('');
    if (section === 'tick') {
      try {
        code = Math.max(code, tickSection());
      } finally {
        teardown();
      }
    } else {
      await mqttBytesBench();
    }
  }
  return code;
}

try {
  process.exitCode = await main();
} finally {
  teardown();
}
