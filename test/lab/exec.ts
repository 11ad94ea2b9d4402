// Process helpers for the namespace lab: no shell, bounded in time, loud on failure.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface RunOptions {
  /** Kill the child (SIGKILL) and reject after this long. Default 10 s. */
  timeoutMs?: number;
  /** Written to stdin, which is then closed. */
  input?: string;
  /** Exit codes that count as success. Default [0]. */
  okCodes?: number[];
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

// ip/nft/conntrack live in sbin, which a non-login PATH may lack.
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];
export const labEnv: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN].join(delimiter),
  LC_ALL: 'C',
};

function describeCmd(cmd: string, args: string[]): string {
  return [cmd, ...args].join(' ');
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const okCodes = opts.okCodes ?? [0];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: labEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${describeCmd(cmd, args)}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new Error(`${describeCmd(cmd, args)}: timed out after ${timeoutMs} ms; stderr: ${stderr.trim()}`));
      } else if (code === null || !okCodes.includes(code)) {
        const how = code === null ? `signal ${signal}` : `exit code ${code}`;
        reject(new Error(`${describeCmd(cmd, args)}: ${how}; stderr: ${stderr.trim() || '(empty)'}`));
      } else {
        resolve({ stdout, stderr, code });
      }
    });
    // EPIPE when the child exits without reading stdin is not our failure.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** `ip netns exec NS cmd args...` */
export function inNs(ns: string, cmd: string, args: string[], opts?: RunOptions): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

/** Synchronous variant for exit hooks, where no event loop is left. Never throws. */
export function runSyncQuiet(cmd: string, args: string[]): { code: number | null; stdout: string } {
  const r = spawnSync(cmd, args, { env: labEnv, encoding: 'utf8', timeout: 5_000 });
  return { code: r.status, stdout: r.stdout ?? '' };
}

function findOnPath(tool: string): string | null {
  for (const dir of (labEnv.PATH ?? '').split(delimiter)) {
    const p = join(dir, tool);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return null;
}

// CapEff bits: CAP_NET_ADMIN=12, CAP_SYS_ADMIN=21 (netns add mounts a bind under /run/netns).
function missingCaps(): string[] {
  let hex: string | undefined;
  try {
    hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  } catch {
    return ['(cannot read /proc/self/status)'];
  }
  const eff = BigInt(`0x${hex ?? '0'}`);
  const missing: string[] = [];
  if ((eff & (1n << 12n)) === 0n) missing.push('CAP_NET_ADMIN');
  if ((eff & (1n << 21n)) === 0n) missing.push('CAP_SYS_ADMIN');
  return missing;
}

let cachedReason: string | null | undefined;

/**
 * One line saying why the namespace lab cannot run here, or null when it can.
 * Synchronous so it can feed `describe.skipIf(...)` at module top level.
 * Actually creates and deletes a probe namespace, because capabilities alone
 * do not prove it works (seccomp, read-only /run, nested containers).
 */
export function labSkipReason(extraTools: readonly string[] = []): string | null {
  if (cachedReason === undefined) cachedReason = computeSkipReason();
  if (cachedReason !== null) return cachedReason;
  const missing = extraTools.filter((t) => findOnPath(t) === null);
  return missing.length > 0 ? `lab needs ${missing.join(', ')} on PATH` : null;
}

function computeSkipReason(): string | null {
  if (process.platform !== 'linux') return `lab needs Linux network namespaces (platform is ${process.platform})`;
  const caps = missingCaps();
  if (caps.length > 0) return `lab needs root or ${caps.join(' + ')} (uid ${process.getuid?.() ?? '?'})`;
  const tools = ['ip', 'nft', 'conntrack'].filter((t) => findOnPath(t) === null);
  if (tools.length > 0) return `lab needs ${tools.join(', ')} on PATH (install iproute2, nftables, conntrack)`;
  const probe = `lwprobe${process.pid.toString(16)}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { env: labEnv, encoding: 'utf8', timeout: 5_000 });
  if (add.status !== 0) {
    const why = (add.stderr ?? '').trim().split('\n')[0] ?? '';
    return `cannot create a network namespace: ${why || `exit ${String(add.status)}`}`;
  }
  spawnSync('ip', ['netns', 'del', probe], { env: labEnv, timeout: 5_000 });
  return null;
}

export function ciIsSet(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/**
 * Gate for lab test files: `const skip = requireLab(); describe.skipIf(skip)(...)`.
 * `extraTools`: what else the file runs (e.g. ['tc', 'tcpdump']). Returns null when the
 * lab can run. Otherwise prints the reason and returns it so
 * the suite is skipped - except when CI is set (CI=true): then it throws, failing
 * the test file, because CI must actually exercise the lab.
 */
export function requireLab(extraTools: readonly string[] = []): string | null {
  return requirePrerequisite(labSkipReason(extraTools), 'lab', 'namespace tests');
}

/**
 * The same gate for any other prerequisite (a kernel feature, a writable sysctl): null passes;
 * a reason is printed and returned, so the caller skips, except under CI, where it throws.
 */
export function requirePrerequisite(reason: string | null, what: string, tests: string): string | null {
  if (reason === null) return null;
  if (ciIsSet()) throw new Error(`${what} prerequisites missing under CI: ${reason}`);
  console.warn(`[lab] skipping ${tests}: ${reason}`);
  return reason;
}
