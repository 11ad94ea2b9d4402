/**
 * The `conntrack` section of `npm run bench` (issue 5 targets: a 250,000-entry table dumped and
 * aggregated per LAN host ≥ 2× faster than `conntrack -L > /dev/null`, ≤ 1.25× a C program that
 * only receives the dump, agent RSS ≤ 100 MB during the dump).
 *
 * 1. Builds ctfill.c, ctdump.c and cttime.c with gcc -O2 into a temp dir.
 * 2. A throw-away namespace lwctbench<pid>; ctfill creates BENCH_CT_ENTRIES (250,000) entries in it
 *    with batched IPCTNL_MSG_CT_NEW (50 LAN hosts with a skewed share, TCP/UDP/ICMP, replied or
 *    not, 75 % SNAT'd; see ctfill.c). `conntrack -C` must then equal the entry count.
 *    nf_conntrack_max is global (init_net's sysctl, read-only in a netns on 6.18): when it is
 *    below the entry count + 1,024 it is raised for the run and restored afterwards.
 * 3. `conntrack -L` grouped by source address, once: the oracle for the per-host counts.
 * 4. BENCH_CT_RUNS (7) rounds, the order rotated every round so machine noise hits all alike:
 *    - conntrack -L:   `cttime conntrack -L` (stdout and stderr to /dev/null): fork to exit.
 *    - C floor:        `ctdump DUMPS`: send → NLMSG_DONE per dump, 32 KiB recv buffer.
 *    - lanwatch:       `node --import tsx ctDumpChild.ts DUMPS hal`: the agent's ConntrackDumper
 *                      into a HostTable, send → done callback (aggregation included).
 *    - no receive thread: the same dumper receiving on the event loop (receiveAhead 0): what
 *                      the ring socket's thread buys.
 *    - mini parser:    the same child with the bench's own minimal parser (IPv4 keys, same
 *                      columns): a reference for what parsing in JS can cost, not the agent.
 *    - recv only:      the same child receiving only (transport and addon, headers walked).
 *    Each C and lanwatch process dumps BENCH_CT_DUMPS (3) times: its first dump is "first"
 *    (a fresh process, V8 cold), the others "steady" (the agent's periodic resync); first is
 *    compared with first, steady with steady.
 * Everything (namespace, temp dir, nf_conntrack_max) is undone on exit, failure and Ctrl-C:
 * teardownConntrack() is synchronous and idempotent, and run.ts calls it from its exit and
 * signal hooks.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labEnv, labSkipReason } from '../../test/lab/exec.ts';

const ENTRIES = Number(process.env.BENCH_CT_ENTRIES ?? 250_000);
const RUNS = Math.max(1, Number(process.env.BENCH_CT_RUNS ?? 7));
const DUMPS = Math.max(2, Number(process.env.BENCH_CT_DUMPS ?? 3));
const ns = `lwctbench${process.pid}`;
const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const childScript = join(here, 'ctDumpChild.ts');
const MAX_PATH = '/proc/sys/net/netfilter/nf_conntrack_max';
const SPAWN_TIMEOUT_MS = 180_000;

// ---- teardown -------------------------------------------------------------------------------

let nsBuilt = false;
let tempDir: string | null = null;
/** nf_conntrack_max before we raised it, and what we wrote. */
let maxChange: { was: number; set: number } | null = null;

/** Synchronous, so it also runs from an exit or signal handler. Idempotent. */
export function teardownConntrack(): void {
  if (nsBuilt) {
    nsBuilt = false;
    spawnSync('ip', ['netns', 'del', ns], { env: labEnv, stdio: 'ignore' });
  }
  if (tempDir) {
    rmSync(tempDir, { recursive: true, force: true });
    tempDir = null;
  }
  if (maxChange) {
    const { was, set } = maxChange;
    maxChange = null;
    try {
      const now = Number(readFileSync(MAX_PATH, 'utf8').trim());
      if (now === set) writeFileSync(MAX_PATH, `${was}\n`);
      else console.error(`bench conntrack: nf_conntrack_max is ${now}, not the ${set} we set; left as is (was ${was})`);
    } catch (error) {
      console.error(`bench conntrack: could not restore nf_conntrack_max to ${was}: ${(error as Error).message}`);
    }
  }
}

// ---- helpers --------------------------------------------------------------------------------

function exec(cmd: string, args: string[], quiet = false): string {
  return execFileSync(cmd, args, {
    cwd: root,
    env: labEnv,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', quiet ? 'ignore' : 'inherit'],
    timeout: SPAWN_TIMEOUT_MS,
    maxBuffer: 512 * 1024 * 1024,
  });
}
const inNs = (cmd: string, args: string[], quiet = false): string => exec('ip', ['netns', 'exec', ns, cmd, ...args], quiet);
const jsonLines = <T>(out: string): T[] =>
  out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as T);

const median = (values: number[]): number => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const mb = (kb: number): string => fmt(kb / 1024, 1);
const thousands = (n: number): string => n.toLocaleString('en-US');

// ---- types of the children's output ---------------------------------------------------------

interface Plan {
  requested: number;
  errors: number;
  firstError: string;
  mode: string;
  ms: number;
  hosts: Array<{
    ip: string; entries: number; tcpEstablished: number; tcpTimeWait: number; tcpSynSent: number;
    udpReplied: number; udpUnreplied: number; icmpReplied: number; icmpUnreplied: number; snat: number;
  }>;
}
interface TimeResult { ms: number; maxRssKb: number; status: number }
interface CDump { ms: number; datagrams: number; bytes: number; messages: number; dumpIntr: number }
interface ChildDump {
  ms: number; handlerMs: number; datagrams: number; bytes: number; entries: number;
  dumpIntr: boolean; rssBeforeKb: number; hwmKb: number;
}
type HostRow = Record<string, number | string> & { ip: string; entries: number };
interface ChildResult {
  dumper: string; mode: string; node: string; lifetimeHwmKb: number;
  dumps: ChildDump[]; ipv6: number; hosts: HostRow[];
}

type ChildMode = 'hal' | 'hal-loop' | 'mini' | 'recv';
interface Runs {
  ctl: TimeResult[];
  c: Array<{ dumps: CDump[]; maxRssKb: number }>;
  hal: ChildResult[];
  'hal-loop': ChildResult[];
  mini: ChildResult[];
  recv: ChildResult[];
}

// ---- the section ----------------------------------------------------------------------------

/** Returns the exit code. */
export function conntrackSection(): number {
  const skip = labSkipReason(['gcc']);
  if (skip) {
    console.error(`bench conntrack: skipped: ${skip}`);
    return 1;
  }
  try {
    return measureAll();
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { signal?: string | null };
    if (e.signal === 'SIGINT' || e.signal === 'SIGTERM') {
      // Ctrl-C reached the child first; the exit hooks tear down (teardownConntrack, below, too).
      teardownConntrack();
      console.error(`bench conntrack: interrupted (${e.signal})`);
      process.exit(130);
    }
    console.error(`bench conntrack: failed: ${e.message.split('\n')[0]}`);
    return 1;
  } finally {
    teardownConntrack();
  }
}

function build(): { fill: string; dump: string; time: string } {
  tempDir = mkdtempSync(join(tmpdir(), 'lwct-'));
  const out = (name: string): string => join(tempDir!, name);
  exec('gcc', ['-O2', '-Wall', '-o', out('ctfill'), join(here, 'ctfill.c'), '-lm']);
  exec('gcc', ['-O2', '-Wall', '-o', out('ctdump'), join(here, 'ctdump.c')]);
  exec('gcc', ['-O2', '-Wall', '-o', out('cttime'), join(here, 'cttime.c')]);
  return { fill: out('ctfill'), dump: out('ctdump'), time: out('cttime') };
}

function ensureMax(): string {
  const was = Number(readFileSync(MAX_PATH, 'utf8').trim());
  const need = ENTRIES + 1024;
  if (was >= need) return `nf_conntrack_max ${thousands(was)} (unchanged)`;
  maxChange = { was, set: need };
  writeFileSync(MAX_PATH, `${need}\n`);
  return `nf_conntrack_max raised ${thousands(was)} → ${thousands(need)} for the run (restored on exit)`;
}

const countInNs = (): number => Number(inNs('conntrack', ['-C']).trim());

function fill(bin: { fill: string }): Plan {
  const attempt = (mode: string): Plan => {
    const r = spawnSync('ip', ['netns', 'exec', ns, bin.fill, String(ENTRIES), mode], {
      env: labEnv, encoding: 'utf8', timeout: SPAWN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    const plan = jsonLines<Plan>(r.stdout)[0];
    if (!plan) throw new Error(`ctfill printed nothing (exit ${r.status}): ${r.stderr.trim()}`);
    return plan;
  };
  let plan = attempt('nat');
  if (plan.errors > 0) {
    // A kernel without NAT refuses CTA_NAT_SRC: write the WAN address into the reply tuple instead.
    console.log(`  ctfill nat mode: ${plan.errors} errors (${plan.firstError}); retrying with the WAN address in the reply tuple`);
    inNs('conntrack', ['-F'], true);
    plan = attempt('reply');
  }
  if (plan.errors > 0) throw new Error(`ctfill: ${plan.errors} CT_NEW errors, first: ${plan.firstError}`);
  const count = countInNs();
  if (count !== ENTRIES) throw new Error(`conntrack -C in ${ns} says ${count}, expected ${ENTRIES}`);
  return plan;
}

/** `conntrack -L` grouped by the first src= of each line (the ORIG source). */
function oracle(): Map<string, number> {
  const text = inNs('conntrack', ['-L'], true); // quiet: "N flow entries have been shown" on stderr
  const bySrc = new Map<string, number>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const at = text.indexOf('src=', start);
    if (at >= 0 && at < end) {
      const stop = text.indexOf(' ', at);
      const ip = text.slice(at + 4, stop < 0 || stop > end ? end : stop);
      bySrc.set(ip, (bySrc.get(ip) ?? 0) + 1);
    }
    start = end + 1;
  }
  return bySrc;
}

/** The plan's categories in the child's columns. */
function expected(h: Plan['hosts'][number]): Record<string, number> {
  return {
    entries: h.entries,
    tcpEstablished: h.tcpEstablished,
    tcpClosing: h.tcpTimeWait,
    tcpOther: h.tcpSynSent,
    udp: h.udpReplied + h.udpUnreplied,
    icmp: h.icmpReplied + h.icmpUnreplied,
    other: 0,
    unreplied: h.tcpSynSent + h.udpUnreplied + h.icmpUnreplied,
    snat: h.snat,
  };
}

/** Mismatches between lanwatch's hosts, the fill plan and conntrack -L's grouping. */
function checkHosts(hosts: HostRow[], plan: Plan, bySrc: Map<string, number>): string[] {
  const problems: string[] = [];
  const got = new Map(hosts.map((h) => [h.ip, h]));
  if (got.size !== plan.hosts.length) problems.push(`lanwatch saw ${got.size} hosts, the fill made ${plan.hosts.length}`);
  if (bySrc.size !== plan.hosts.length) problems.push(`conntrack -L shows ${bySrc.size} sources, the fill made ${plan.hosts.length}`);
  for (const h of plan.hosts) {
    const row = got.get(h.ip);
    const want = expected(h);
    if (!row) {
      problems.push(`${h.ip}: missing in lanwatch`);
      continue;
    }
    for (const [key, value] of Object.entries(want)) {
      if (row[key] !== value) problems.push(`${h.ip} ${key}: lanwatch ${row[key]}, fill ${value}`);
    }
    if (bySrc.get(h.ip) !== h.entries) problems.push(`${h.ip}: conntrack -L ${bySrc.get(h.ip) ?? 0}, fill ${h.entries}`);
  }
  return problems;
}

type Contender = 'ctl' | 'c' | ChildMode;
const ORDER: readonly Contender[] = ['ctl', 'c', 'hal', 'hal-loop', 'mini', 'recv'];

function runOne(who: Contender, bin: { dump: string; time: string }, runs: Runs): void {
  if (who === 'ctl') {
    const r = jsonLines<TimeResult>(inNs(bin.time, ['conntrack', '-L']))[0]!;
    if (r.status !== 0) throw new Error(`conntrack -L exited ${r.status}`);
    runs.ctl.push(r);
  } else if (who === 'c') {
    const lines = jsonLines<CDump & { maxRssKb?: number }>(inNs(bin.dump, [String(DUMPS)]));
    runs.c.push({ dumps: lines.filter((l) => l.maxRssKb === undefined), maxRssKb: lines.at(-1)?.maxRssKb ?? NaN });
  } else {
    const r = jsonLines<ChildResult>(inNs(process.execPath, ['--import', 'tsx', childScript, String(DUMPS), who])).at(-1)!;
    runs[who].push(r);
  }
}

const firstOf = <T>(xs: T[][]): T[] => xs.map((d) => d[0]!).filter(Boolean);
const steadyOf = <T>(xs: T[][]): T[] => xs.flatMap((d) => d.slice(1));

/** Medians of one kind of child over the rounds. */
function childFigures(results: ChildResult[]) {
  const dumps = results.map((r) => r.dumps);
  const peak = (r: ChildResult): number => Math.max(...r.dumps.map((d) => d.hwmKb));
  return {
    dumps,
    first: median(firstOf(dumps).map((d) => d.ms)),
    steady: median(steadyOf(dumps).map((d) => d.ms)),
    firstAll: firstOf(dumps).map((d) => d.ms),
    steadyAll: steadyOf(dumps).map((d) => d.ms),
    firstByRun: firstOf(dumps).map((d) => d.ms),
    steadyByRun: dumps.map((ds) => median(ds.slice(1).map((d) => d.ms))),
    handlerFirst: median(firstOf(dumps).map((d) => d.handlerMs)),
    handlerSteady: median(steadyOf(dumps).map((d) => d.handlerMs)),
    peakKb: median(results.map(peak)),
    peakMaxKb: Math.max(...results.map(peak)),
    beforeKb: median(results.map((r) => r.dumps[0]!.rssBeforeKb)),
    lifetimeKb: median(results.map((r) => r.lifetimeHwmKb)),
  };
}

function measureAll(): number {
  const started = performance.now();
  const bin = build();
  const maxNote = ensureMax();
  exec('ip', ['netns', 'add', ns]);
  nsBuilt = true;
  exec('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const plan = fill(bin);
  const bySrc = oracle();

  const runs: Runs = { ctl: [], c: [], hal: [], 'hal-loop': [], mini: [], recv: [] };
  for (let run = 0; run < RUNS; run++) {
    for (let k = 0; k < ORDER.length; k++) runOne(ORDER[(run + k) % ORDER.length]!, bin, runs);
  }
  const countAfter = countInNs();

  // ---- figures ----
  const ctlMs = median(runs.ctl.map((r) => r.ms));
  const ctlByRun = runs.ctl.map((r) => r.ms);
  const ctlRss = median(runs.ctl.map((r) => r.maxRssKb));
  const cDumps = runs.c.map((r) => r.dumps);
  const cFirst = median(firstOf(cDumps).map((d) => d.ms));
  const cSteady = median(steadyOf(cDumps).map((d) => d.ms));
  const cFirstByRun = firstOf(cDumps).map((d) => d.ms);
  const cSteadyByRun = cDumps.map((ds) => median(ds.slice(1).map((d) => d.ms)));
  const cRss = median(runs.c.map((r) => r.maxRssKb));
  const lw = childFigures(runs.hal);
  const lwLoop = childFigures(runs['hal-loop']);
  const mini = childFigures(runs.mini);
  const recv = childFigures(runs.recv);
  const c0 = runs.c[0]!.dumps[0]!;
  const lw0 = runs.hal[0]!;
  const allChildDumps = [...lw.dumps, ...mini.dumps, ...recv.dumps].flat();
  const intr = [...cDumps.flat().map((d) => !!d.dumpIntr), ...allChildDumps.map((d) => d.dumpIntr)].filter(Boolean).length;
  const wrongEntries = [...cDumps.flat().map((d) => d.messages), ...allChildDumps.map((d) => d.entries)].filter((n) => n !== ENTRIES).length;
  /** Median over rounds of the ratio within the round (the runs of a round are adjacent). */
  const paired = (num: number[], den: number[]): number => median(num.map((x, i) => x / den[i]!));

  const snat = plan.hosts.reduce((n, h) => n + h.snat, 0);
  console.log(`conntrack dump: ${thousands(ENTRIES)} entries in namespace ${ns}, ${RUNS} rounds interleaved (order rotated), ${DUMPS} dumps per C/lanwatch process, medians; node ${lw0.node}`);
  console.log(`  table: ${plan.hosts.length} LAN hosts 10.77.0.2–${plan.hosts.at(-1)!.ip}, ${thousands(snat)} SNAT'd (${plan.mode} mode), filled by ctfill in ${fmt(plan.ms)} ms; ${maxNote}`);
  console.log(`  dump: ${thousands(c0.bytes)} bytes in ${thousands(c0.datagrams)} datagrams (${fmt(c0.bytes / ENTRIES)} B/entry)`);
  console.log(`  lanwatch = ${lw0.dumper}`);
  console.log('');
  console.log('                                  entries  median ms  min–max ms   handler ms  peak RSS MB');
  const row = (name: string, entries: number, ms: number, all: number[], handler: number, rss: string): void => {
    const fin = all.filter(Number.isFinite);
    const range = fin.length ? `${fmt(Math.min(...fin))}–${fmt(Math.max(...fin))}` : 'n/a';
    const h = Number.isFinite(handler) ? fmt(handler, 1) : '';
    console.log(`${name.padEnd(31)} ${fmt(entries).padStart(9)}  ${fmt(ms).padStart(9)}  ${range.padEnd(11)}  ${h.padStart(10)}  ${rss}`);
  };
  const listed = [...bySrc.values()].reduce((a, b) => a + b, 0);
  const cEntries = median(cDumps.flat().map((d) => d.messages));
  const entriesOf = (f: ReturnType<typeof childFigures>): number => median(f.dumps.flat().map((d) => d.entries));
  row('conntrack -L > /dev/null', listed, ctlMs, ctlByRun, NaN, `${mb(ctlRss)} (fork → exit; entries: the oracle listing)`);
  row('C floor, first dump', cEntries, cFirst, cFirstByRun, NaN, `${mb(cRss)} (send → DONE, 32 KiB reads)`);
  row('C floor, steady dumps', cEntries, cSteady, steadyOf(cDumps).map((d) => d.ms), NaN, '');
  row('lanwatch, first dump', entriesOf(lw), lw.first, lw.firstAll, lw.handlerFirst, `${mb(lw.peakKb)} during dumps (max ${mb(lw.peakMaxKb)}); ${mb(lw.beforeKb)} before`);
  row('lanwatch, steady dumps', entriesOf(lw), lw.steady, lw.steadyAll, lw.handlerSteady, `process lifetime peak ${mb(lw.lifetimeKb)}`);
  row('  ref: no receive thread, first', entriesOf(lwLoop), lwLoop.first, lwLoop.firstAll, lwLoop.handlerFirst, `${mb(lwLoop.peakKb)} during dumps; ${mb(lwLoop.beforeKb)} before`);
  row('  ref: no receive thread, steady', entriesOf(lwLoop), lwLoop.steady, lwLoop.steadyAll, lwLoop.handlerSteady, '');
  row('  ref: mini parser, first', entriesOf(mini), mini.first, mini.firstAll, mini.handlerFirst, `${mb(mini.peakKb)} during dumps; ${mb(mini.beforeKb)} before`);
  row('  ref: mini parser, steady', entriesOf(mini), mini.steady, mini.steadyAll, mini.handlerSteady, '');
  row('  ref: receive only, first', entriesOf(recv), recv.first, recv.firstAll, recv.handlerFirst, `${mb(recv.peakKb)} during dumps; ${mb(recv.beforeKb)} before`);
  row('  ref: receive only, steady', entriesOf(recv), recv.steady, recv.steadyAll, recv.handlerSteady, '');
  console.log('  handler ms: time inside our datagram handlers (parse + aggregate); the rest is the kernel, the addon and the event loop');
  console.log('');

  const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  const speedSteady = ctlMs / lw.steady;
  const speedFirst = ctlMs / lw.first;
  const floorSteady = lw.steady / cSteady;
  const floorFirst = lw.first / cFirst;
  console.log(`conntrack -L / lanwatch: steady ${fmt(speedSteady, 2)}x, first ${fmt(speedFirst, 2)}x (per-round medians ${fmt(paired(ctlByRun, lw.steadyByRun), 2)}x, ${fmt(paired(ctlByRun, lw.firstByRun), 2)}x)  target ≥ 2x: ${verdict(speedSteady >= 2)} (steady), ${verdict(speedFirst >= 2)} (first)`);
  console.log(`lanwatch / C floor:      steady ${fmt(floorSteady, 2)}x, first ${fmt(floorFirst, 2)}x (per-round medians ${fmt(paired(lw.steadyByRun, cSteadyByRun), 2)}x, ${fmt(paired(lw.firstByRun, cFirstByRun), 2)}x)  target ≤ 1.25x: ${verdict(floorSteady <= 1.25)} (steady), ${verdict(floorFirst <= 1.25)} (first)`);
  console.log(`  (conntrack -L / C floor: ${fmt(ctlMs / cSteady, 2)}x, so the 2x target asks lanwatch for ≤ ${fmt(ctlMs / cSteady / 2, 2)}x the floor on this table; mini parser / C floor: steady ${fmt(mini.steady / cSteady, 2)}x)`);
  console.log(`lanwatch peak RSS during the dump: ${mb(lw.peakKb)} MB (median of runs; ${mb(lw.beforeKb)} MB before it)  target ≤ 100 MB: ${verdict(lw.peakKb <= 100 * 1024)}`);
  console.log(`  receive only: ${mb(recv.beforeKb)} → ${mb(recv.peakKb)} MB for ${fmt(c0.bytes / 1048576, 1)} MB received: one reused 32 KiB buffer per socket`);

  let code = 0;
  console.log('');
  for (const [name, results] of [['lanwatch', runs.hal], ['lanwatch without receive thread', runs['hal-loop']], ['mini parser', runs.mini]] as const) {
    const problems = checkHosts(results[0]!.hosts, plan, bySrc);
    const differing = results.slice(1).filter((r) => JSON.stringify(r.hosts) !== JSON.stringify(results[0]!.hosts)).length;
    if (problems.length === 0 && differing === 0) {
      console.log(`aggregation (${name}): per-host counts of all ${plan.hosts.length} hosts, every column = the fill plan = conntrack -L grouped by source, in every run`);
    } else {
      code = 1;
      console.log(`aggregation (${name}) MISMATCH: ${problems.length} differences, ${differing} runs differing from the first:`);
      for (const p of problems.slice(0, 10)) console.log(`  ${p}`);
    }
  }
  if (lw0.ipv6 > 0) console.log(`  (${lw0.ipv6} entries with an IPv6 source: the namespace should have none)`);
  console.log('top hosts (lanwatch)       entries  tcp est  tcp closing  tcp other    udp   icmp  unreplied   snat   conntrack -L');
  for (const h of lw0.hosts.slice(0, 8)) {
    const n = (k: string, w: number): string => String(h[k]).padStart(w);
    console.log(`  ${h.ip.padEnd(22)} ${n('entries', 9)} ${n('tcpEstablished', 8)} ${n('tcpClosing', 12)} ${n('tcpOther', 10)} ${n('udp', 6)} ${n('icmp', 6)} ${n('unreplied', 10)} ${n('snat', 6)} ${String(bySrc.get(h.ip) ?? 0).padStart(14)}`);
  }
  if (countAfter !== ENTRIES) {
    code = 1;
    console.log(`warning: the table changed during the run (conntrack -C ${countAfter}, expected ${ENTRIES})`);
  }
  if (intr > 0) console.log(`warning: ${intr} dumps flagged NLM_F_DUMP_INTR`);
  if (wrongEntries > 0) {
    code = 1;
    console.log(`warning: ${wrongEntries} dumps did not return ${ENTRIES} entries`);
  }
  console.log(`(section took ${fmt((performance.now() - started) / 1000, 1)} s)`);
  return code;
}
