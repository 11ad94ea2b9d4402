// Ownership records, exit hooks and stale-lab sweeping for lab namespaces.
//
// Every lab namespace gets /run/lanwatch-lab/<ns>.pid holding "<pid> <starttime>"
// of its creator (starttime guards against pid reuse), or "manual" when a person
// built it with scripts/lab/natlab.sh and wants it kept. The record is written
// BEFORE the namespace exists and removed AFTER it is gone, so a namespace that
// matches our naming but has no record is always an orphan.
import { randomBytes } from 'node:crypto';
import { isMainThread } from 'node:worker_threads';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runSyncQuiet } from './exec.ts';

export const PID_DIR = '/run/lanwatch-lab';
// Run ids are [0-9a-z]{1,8}; probe namespaces carry the creator pid in hex.
// natLab: rtr, wan, lanK; loopLab: sw, dumb, hK.
export const LAB_NS_RE = /^lw[0-9a-z]{1,8}-(rtr|wan|lan[0-9]+|sw|dumb|h[0-9]+)$/;
const PROBE_NS_RE = /^lwprobe([0-9a-f]+)$/;

function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; comm (field 2) may contain spaces, so count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export function ownerRecord(): string {
  return `${process.pid} ${startTimeOf(process.pid) ?? '0'}`;
}

function removeOwner(ns: string): void {
  rmSync(join(PID_DIR, `${ns}.pid`), { force: true });
}

/**
 * Atomically claims namespace names by creating their records exclusively.
 * False (and nothing left behind) if any record already exists, e.g. another
 * process picked the same run id at the same moment.
 */
export function claimNames(names: readonly string[]): boolean {
  mkdirSync(PID_DIR, { recursive: true });
  const rec = `${ownerRecord()}\n`;
  const done: string[] = [];
  for (const ns of names) {
    try {
      writeFileSync(join(PID_DIR, `${ns}.pid`), rec, { flag: 'wx' });
      done.push(ns);
    } catch (err) {
      for (const d of done) removeOwner(d);
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }
  return true;
}

/**
 * Picks a fresh random run id whose namespaces (`namesOf(id)`) neither exist nor are
 * claimed, and claims them, before any namespace is created.
 */
export async function claimRunId(namesOf: (id: string) => string[]): Promise<string> {
  const existing = await listNamespaces();
  for (let attempt = 0; attempt < 100; attempt++) {
    const id = randomBytes(2).toString('hex');
    if (existing.some((ns) => ns.startsWith(`lw${id}-`))) continue;
    if (claimNames(namesOf(id))) return id;
  }
  throw new Error('could not claim a free lab run id');
}

type OwnerState = 'alive' | 'dead' | 'manual';

function ownerState(ns: string): OwnerState {
  const probe = PROBE_NS_RE.exec(ns);
  if (probe?.[1] !== undefined) return startTimeOf(parseInt(probe[1], 16)) === null ? 'dead' : 'alive';
  let rec: string;
  try {
    rec = readFileSync(join(PID_DIR, `${ns}.pid`), 'utf8').trim();
  } catch {
    return 'dead';
  }
  if (rec === 'manual') return 'manual';
  const [pid, start] = rec.split(' ');
  const pidNum = Number(pid);
  if (!Number.isInteger(pidNum) || pidNum <= 0) return 'dead';
  const actual = startTimeOf(pidNum);
  return actual !== null && (start === undefined || start === '0' || actual === start) ? 'alive' : 'dead';
}

// A namespace outlives `ip netns del` while any process still runs in it, keeping
// its veths and conntrack alive; those processes are the lab's own helpers.
function killNsProcesses(pidsOutput: string): void {
  for (const tok of pidsOutput.split(/\s+/)) {
    const pid = Number(tok);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export async function removeNamespace(ns: string): Promise<void> {
  const pids = await run('ip', ['netns', 'pids', ns], { okCodes: [0, 1, 255] });
  killNsProcesses(pids.stdout);
  await run('ip', ['netns', 'del', ns], { okCodes: [0, 1, 255] });
  removeOwner(ns);
}

function removeNamespaceSync(ns: string): void {
  killNsProcesses(runSyncQuiet('ip', ['netns', 'pids', ns]).stdout);
  runSyncQuiet('ip', ['netns', 'del', ns]);
  removeOwner(ns);
}

export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  // Lines look like "name" or "name (id: 3)".
  return stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

export interface SweepOptions {
  /** Also remove labs made by hand with natlab.sh (record "manual"). */
  includeManual?: boolean;
}

/** Removes lab namespaces whose creator process is gone. Returns the removed names. */
export async function sweepStaleLabs(opts: SweepOptions = {}): Promise<string[]> {
  const removed: string[] = [];
  const present = await listNamespaces();
  for (const ns of present) {
    if (!LAB_NS_RE.test(ns) && !PROBE_NS_RE.test(ns)) continue;
    const state = ownerState(ns);
    if (state === 'alive' || (state === 'manual' && opts.includeManual !== true)) continue;
    await removeNamespace(ns);
    removed.push(ns);
  }
  // Records without a namespace are left by a crash between del and rm.
  let files: string[] = [];
  try {
    files = readdirSync(PID_DIR);
  } catch {
    // no directory yet
  }
  for (const f of files) {
    const ns = f.replace(/\.pid$/, '');
    if (f.endsWith('.pid') && !present.includes(ns) && ownerState(ns) === 'dead') removeOwner(ns);
  }
  return removed;
}

const owned = new Set<string>();
/** Synchronous undo steps of state outside our namespaces (a global sysctl), run before them. */
const exitTasks = new Set<() => void>();
let hooksInstalled = false;

function cleanupOwnedSync(): void {
  for (const task of exitTasks) {
    try {
      task();
    } catch {
      // An exit hook has nobody to report to; the other steps still run.
    }
  }
  exitTasks.clear();
  for (const ns of owned) removeNamespaceSync(ns);
  owned.clear();
}

function onSignal(sig: NodeJS.Signals): void {
  cleanupOwnedSync();
  // If nobody else handles the signal, restore the default (terminate) behaviour
  // that adding our listener suppressed.
  if (process.listenerCount(sig) === 1) {
    process.removeAllListeners(sig);
    process.kill(process.pid, sig);
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupOwnedSync);
  // Signals are only delivered to the main thread.
  if (isMainThread) {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  }
}

/** Registers namespaces for removal if this process exits before destroy(). */
export function trackNamespaces(names: readonly string[]): void {
  installHooks();
  for (const ns of names) owned.add(ns);
}

/**
 * Runs `task` (synchronous: no event loop is left in an exit hook) if this process exits or is
 * signalled before the returned function is called.
 */
export function onLabExit(task: () => void): () => void {
  installHooks();
  exitTasks.add(task);
  return () => void exitTasks.delete(task);
}

export function untrackNamespaces(names: readonly string[]): void {
  for (const ns of names) owned.delete(ns);
}

/**
 * The namespaces of one lab: tracked before any exists (so a crash at any later point is
 * cleaned by the exit hook or the next sweep), created in one `ip -batch`, and removed at
 * most once however often destroy() is called.
 */
export function labNamespaces(names: readonly string[]): { create(): Promise<void>; destroy(): Promise<void> } {
  let destroying: Promise<void> | undefined;
  return {
    create: async () => {
      trackNamespaces(names);
      await run('ip', ['-batch', '-'], { input: names.map((ns) => `netns add ${ns}\n`).join('') });
    },
    destroy: () => {
      destroying ??= (async () => {
        await Promise.all(names.map((ns) => removeNamespace(ns)));
        untrackNamespaces(names);
      })();
      return destroying;
    },
  };
}
