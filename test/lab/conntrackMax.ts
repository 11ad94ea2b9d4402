// A lowered nf_conntrack_max, for filling a lab's table until the kernel refuses entries.
//
// On 6.18 the limit is one value for every namespace, writable only in the initial one (mode
// 0444 inside a netns; the per-netns max patch of 2025 is not in this kernel). Each namespace's
// own count is held against it (__nf_conntrack_alloc), so a limit above every other namespace's
// count fills only the lab's table (see fillableLimit). The original value comes back through
// restore() (call it in a finally) and, should the process die first, an exit hook; either way
// only if the limit is still ours, so a concurrent change is never undone.
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { listNamespaces, onLabExit } from './cleanup.ts';
import { run } from './exec.ts';

const MAX_PATH = '/proc/sys/net/netfilter/nf_conntrack_max';
/** Per namespace; read from the test runner, the initial namespace's (the host's own). */
const COUNT_PATH = '/proc/sys/net/netfilter/nf_conntrack_count';

export interface LoweredConntrackMax {
  was: number;
  set: number;
  /** Idempotent; synchronous, so it also runs from an exit hook. */
  restore(): void;
}

function readNumber(path: string): number {
  return Number(readFileSync(path, 'utf8').trim());
}

function unwritable(): string | null {
  try {
    accessSync(MAX_PATH, constants.W_OK);
    return null;
  } catch (error) {
    return `cannot write ${MAX_PATH} (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
  }
}

export interface FillableLimit {
  limit: number;
  /** One line saying why the limit cannot be lowered to something fillable, or null. */
  reason: string | null;
}

/**
 * The lowest limit that leaves the host and every other namespace alone: `floor` (above what
 * other lab tests hold at once) or the fullest other table now (the host's, a bench's 250,000)
 * plus 4,096, whichever is higher; with a reason when it is above `most` (what the caller can
 * fill) or cannot be written. Namespaces outside /run/netns (containers) are not seen.
 */
export async function fillableLimit(floor: number, most: number, except: string): Promise<FillableLimit> {
  const others = (await listNamespaces()).filter((ns) => ns !== except);
  const counts = await Promise.all(
    others.map(async (ns) => {
      const read = await run('ip', ['netns', 'exec', ns, 'cat', COUNT_PATH], { okCodes: [0, 1, 255] });
      return { ns, count: read.code === 0 ? Number(read.stdout.trim()) || 0 : 0 };
    }),
  );
  let busiest = { ns: 'the host', count: readNumber(COUNT_PATH) };
  for (const c of counts) if (c.count > busiest.count) busiest = c;
  const limit = Math.max(floor, busiest.count + 4_096);
  const reason =
    unwritable() ?? (limit > most ? `${busiest.ns} holds ${busiest.count} conntrack entries: a nf_conntrack_max low enough to fill would break it` : null);
  return { limit, reason };
}

export function lowerConntrackMax(to: number): LoweredConntrackMax {
  const was = readNumber(MAX_PATH);
  if (!(was > to)) throw new Error(`nf_conntrack_max is ${was}, not above ${to}: nothing to lower`);
  let cancelHook = (): void => {};
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    cancelHook();
    const now = readNumber(MAX_PATH);
    if (now === to) writeFileSync(MAX_PATH, `${was}\n`);
    else console.warn(`[lab] nf_conntrack_max is ${now}, not the ${to} we set; left as is (was ${was})`);
  };
  cancelHook = onLabExit(restore);
  writeFileSync(MAX_PATH, `${to}\n`);
  return { was, set: to, restore };
}
