/**
 * The `tick` section of `npm run bench` (issue targets: ≤ 100 µs and ≤ 256 bytes allocated per
 * tick with 8 interfaces + conntrack stats, ≥ 10,000 ticks).
 *
 * Throw-away namespaces (unique names per run, removed on exit and on failure):
 * - lwbench<pid>:  4 veth pairs = 8 interfaces, and a conntrack-using nft rule   (kernel, replay)
 * - lwbench<pid>b: br0 (STP off, 10.77.0.1/24, so the probe has a directed broadcast) with 8
 *   veth ports, and the same conntrack rule                                          (ports)
 * - lwbench<pid>p: the 8 ports' peers, up, so the ports have carrier and br0 is the only thing
 *   in the bridge namespace besides its ports (10 interfaces with lo, like a router's LAN side)
 * IPv6 is off in the bridge namespaces: nothing but the probe moves, so no counter changes and
 * no alarm fires during the run (a single frame would read as thousands of pps at 100 µs ticks).
 *
 * Each run is a child process (tickBench.ts) inside its namespace; kernel, replay and ports
 * runs are interleaved, so machine noise hits them alike. A heap profile of `ports` follows
 * when its heap per tick exceeds the kernel's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HeapProfileSummary } from './heapSites.ts';

const TICKS = Number(process.env.BENCH_TICKS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ns = `lwbench${process.pid}`;
const nsBridge = `${ns}b`;
const nsPeers = `${ns}p`;
const PORTS = 8;
const tickBench = fileURLToPath(new URL('./tickBench.ts', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));

type Source = 'kernel' | 'replay' | 'ports';
const SOURCES: readonly Source[] = ['kernel', 'replay', 'ports'];
const NS_OF: Record<Source, string> = { kernel: ns, replay: ns, ports: nsBridge };

function sh(args: string[], input?: string): void {
  execFileSync(args[0]!, args.slice(1), { stdio: ['pipe', 'ignore', 'inherit'], input });
}

const built: string[] = [];
/** Synchronous, so it also runs from an exit or signal handler. Idempotent. */
export function teardownTick(): void {
  for (const name of built.splice(0)) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
}

function addNamespace(name: string): void {
  sh(['ip', 'netns', 'add', name]);
  built.push(name);
}

// A conntrack-using rule registers the hooks, so the stats are those of a live table.
function liveConntrack(name: string): void {
  sh(['ip', 'netns', 'exec', name, 'nft', '-f', '-'],
    'table inet lwbench { chain out { type filter hook output priority 0; ct state new counter; }; }\n');
  sh(['ip', 'netns', 'exec', name, 'ping', '-c', '3', '-i', '0.2', '-W', '1', '127.0.0.1']);
}

function buildNamespaces(): void {
  addNamespace(ns);
  const batch = ['link set lo up'];
  for (let i = 0; i < 4; i++) {
    batch.push(`link add port${i} type veth peer name peer${i}`, `link set port${i} up`, `link set peer${i} up`);
  }
  sh(['ip', '-n', ns, '-batch', '-'], batch.join('\n') + '\n');
  liveConntrack(ns);

  addNamespace(nsBridge);
  addNamespace(nsPeers);
  for (const name of [nsBridge, nsPeers]) {
    // Before any link exists, so every new link inherits "IPv6 off".
    sh(['ip', 'netns', 'exec', name, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  const bridge = [
    'link set lo up',
    'link add name br0 type bridge stp_state 0 mcast_snooping 0',
    'addr add 10.77.0.1/24 dev br0',
    'link set br0 up',
  ];
  const peers: string[] = [];
  for (let i = 0; i < PORTS; i++) {
    bridge.push(`link add port${i} type veth peer name peer${i} netns ${nsPeers}`, `link set port${i} master br0`, `link set port${i} up`);
    peers.push(`link set peer${i} up`);
  }
  sh(['ip', '-n', nsBridge, '-batch', '-'], bridge.join('\n') + '\n');
  sh(['ip', '-n', nsPeers, '-batch', '-'], peers.join('\n') + '\n');
  liveConntrack(nsBridge);
}

interface TickResult {
  source: Source;
  interfaces: number;
  conntrackBackend: string;
  medianUs?: number;
  p99Us?: number;
  cpuUsPerTick?: number;
  heapBytesPerTick?: number | null;
  gcFreeWindows?: number;
  windowsWithGc?: number;
  profileTicks?: number;
  profile?: HeapProfileSummary | null;
  counted?: Record<string, string | null>;
  probe?: { sent: number; failed: number; skipped: number; destination: string | null; lastError: string | null } | null;
  alarmEvents?: number;
  warnings?: string[];
  stalls: number;
  failures: number;
}

type Measure = 'time' | 'alloc' | 'profile';

function runOnce(source: Source, measure: Measure, ticks = TICKS): TickResult {
  const flags = measure === 'time' ? [] : ['--min-semi-space-size=64', '--max-semi-space-size=64'];
  const out = execFileSync(
    'ip',
    ['netns', 'exec', NS_OF[source], process.execPath, ...flags, '--import', 'tsx', tickBench, source, measure, String(ticks)],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as TickResult;
}

/** Our table must be gone once the ports run closed its HAL (the namespace goes anyway). */
function leftTables(): string[] {
  const out = spawnSync('ip', ['netns', 'exec', nsBridge, 'nft', 'list', 'tables'], { encoding: 'utf8' }).stdout ?? '';
  return out.split('\n').filter((line) => /^table bridge lanwatch/.test(line));
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
export function tickSection(): number {
  if (process.getuid?.() !== 0) {
    console.error('bench: needs root to build its network namespace (CAP_NET_ADMIN); run: sudo npm run bench (or npm run bench -- mqtt for the MQTT section alone)');
    return 1;
  }
  try {
    return measureAll();
  } finally {
    teardownTick();
  }
}

function measureAll(): number {
  buildNamespaces();
  let code = 0;
  const time: Record<Source, TickResult[]> = { kernel: [], replay: [], ports: [] };
  const alloc: Record<Source, TickResult[]> = { kernel: [], replay: [], ports: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const source of SOURCES) {
      time[source].push(runOnce(source, 'time'));
      alloc[source].push(runOnce(source, 'alloc'));
      if (source === 'ports' && leftTables().length > 0) {
        console.error(`bench: table bridge lanwatch left behind in ${nsBridge} after a ports run`);
        code = 1;
      }
    }
  }
  const kernelRun = time.kernel[0]!;
  const portsRun = time.ports[0]!;
  console.log(`sampling tick: ${TICKS} ticks per run after warm-up, ${RUNS} runs per row (medians of runs), node ${process.version}`);
  console.log(`kernel, replay: namespace ${ns}, ${kernelRun.interfaces} interfaces (8 veth + lo), conntrack via ${kernelRun.conntrackBackend}`);
  const sources = Object.entries(portsRun.counted ?? {}).map(([port, how]) => `${port} ${how ?? 'not counted'}`);
  console.log(`ports: namespace ${nsBridge}, ${portsRun.interfaces} interfaces (br0 + 8 ports + lo); ${sources.join(', ')}`);
  console.log(`  + PortWatch, storm and loop detectors and alarms, one probe to ${portsRun.probe?.destination ?? 'nowhere'} before every tick`);
  console.log('');
  console.log('source   median µs/tick  p99 µs  CPU µs/tick  heap B/tick  GC-free windows');
  for (const source of SOURCES) {
    const windows = alloc[source].reduce((n, r) => n + (r.gcFreeWindows ?? 0), 0);
    const all = windows + alloc[source].reduce((n, r) => n + (r.windowsWithGc ?? 0), 0);
    console.log(
      `${source.padEnd(8)} ${fmt(pick(time[source], 'medianUs')).padStart(14)}  ${fmt(pick(time[source], 'p99Us')).padStart(6)}` +
        `  ${fmt(pick(time[source], 'cpuUsPerTick')).padStart(11)}  ${fmt(pick(alloc[source], 'heapBytesPerTick')).padStart(11)}` +
        `  ${String(windows).padStart(11)}/${all}`,
    );
    const runs = [...time[source], ...alloc[source]];
    const bad = runs.reduce((n, r) => n + r.stalls + r.failures, 0);
    if (bad) console.log(`  warning: ${bad} stalled or failed reads in ${source} runs`);
    const events = runs.reduce((n, r) => n + (r.alarmEvents ?? 0), 0);
    if (events) console.log(`  warning: ${events} alarm events in ${source} runs (the namespace should be quiet)`);
    const warnings = [...new Set(runs.flatMap((r) => r.warnings ?? []))];
    for (const w of warnings) console.log(`  logged: ${w}`);
    const probeFailed = runs.reduce((n, r) => n + (r.probe?.failed ?? 0) + (r.probe?.skipped ?? 0), 0);
    if (source === 'ports') {
      console.log(`  probe: ${runs.reduce((n, r) => n + (r.probe?.sent ?? 0), 0)} sent, ${probeFailed} failed or skipped`);
    }
  }
  console.log('');
  const ratio = (a: Source, b: Source): string => {
    const x = pick(time[a], 'medianUs');
    const y = pick(time[b], 'medianUs');
    return x === null || y === null ? 'n/a' : `${(x / y).toFixed(1)}x`;
  };
  console.log(`median ratios: kernel/replay ${ratio('kernel', 'replay')} (syscalls, the kernel, the netlink binding, the event loop); ports/kernel ${ratio('ports', 'kernel')} (ports also reads the nftables counter dump, a 4th request)`);
  console.log('targets (kernel row): ≤ 100 µs and ≤ 256 B per tick');

  const heapKernel = pick(alloc.kernel, 'heapBytesPerTick');
  const heapPorts = pick(alloc.ports, 'heapBytesPerTick');
  if (heapKernel !== null && heapPorts !== null && heapPorts > heapKernel) printProfile();
  return code;
}

/**
 * Where the ports tick's extra heap bytes come from: a sampling heap profile of `ports` and of
 * `kernel`, compared per allocating function, then the heaviest `ports` sites with callers.
 */
function printProfile(): void {
  const ports = runOnce('ports', 'profile').profile;
  const kernel = runOnce('kernel', 'profile').profile;
  if (!ports || !kernel) return;
  const b = (n: number): string => String(Math.round(n)).padStart(6);
  console.log('');
  console.log(`heap per tick, ports above kernel: sampling heap profiles (${Math.min(TICKS, 2000)} ticks each, ~32 B sampling interval)`);
  console.log(`sampled total: ports ${Math.round(ports.totalPerTick)} B/tick, kernel ${Math.round(kernel.totalPerTick)} B/tick`);
  console.log('by allocating function (inlined callees count as their caller), ports − kernel ≥ 16 B:');
  console.log(' ports kernel  function');
  const names = new Set([...Object.keys(ports.byFunction), ...Object.keys(kernel.byFunction)]);
  const rows = [...names]
    .map((name) => ({ name, p: ports.byFunction[name] ?? 0, k: kernel.byFunction[name] ?? 0 }))
    .filter((r) => r.p - r.k >= 16)
    .sort((x, y) => y.p - y.k - (x.p - x.k));
  for (const r of rows) console.log(`${b(r.p)} ${b(r.k)}  ${r.name}`);
  console.log('heaviest ports sites, with callers:');
  for (const site of ports.sites.slice(0, 10)) {
    console.log(`${b(site.bytesPerTick)} B  ${site.stack[0]}`);
    for (const caller of site.stack.slice(1)) console.log(`          < ${caller}`);
  }
}
