// Long-lived TCP/UDP flows from a LAN namespace through the NAT to the WAN
// namespace, so conntrack in rtr holds a known number of entries.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { labEnv } from './exec.ts';
import type { LanKey, NatLab, NsKey } from './natLab.ts';

export interface FlowOptions {
  tcp: number;
  udp: number;
  /** LAN host to open flows from. Default 'lan'. */
  fromNs?: NsKey;
  /** Helpers exit by themselves after this long, even if close() is never called. Default 120 s. */
  maxLifetimeMs?: number;
  /** UDP re-send interval keeping UDP conntrack entries (30 s idle timeout) alive; 0 = off. Default 10 s. */
  udpKeepaliveMs?: number;
  /** Reject if not all flows are up within this time. Default 30 s. */
  readyTimeoutMs?: number;
}

export interface Flows {
  /** Source ports on the LAN host (before NAT) of each flow. */
  tcpSourcePorts: number[];
  udpSourcePorts: number[];
  /** Server ports on the WAN host (192.0.2.1). */
  serverPorts: { tcp: number; udp: number };
  /** Ends both helpers; idempotent. conntrack entries outlive this (see lab.test.ts). */
  close(): Promise<void>;
}

type Helper = ChildProcessByStdio<Writable, Readable, Readable>;

const MAX_FLOWS = 10_000;
const script = (name: string): string => fileURLToPath(new URL(name, import.meta.url));

function startHelper(ns: string, file: string, args: string[]): Helper {
  // `ip netns exec` execs node in place, so child.pid is node's pid.
  return spawn('ip', ['netns', 'exec', ns, process.execPath, script(file), ...args], {
    env: labEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Resolves with the first stdout line starting with "ready". */
function waitReady(child: Helper, what: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`${what}: ${why}; stderr: ${err.trim() || '(empty)'}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('ready'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.on('error', (e) => fail(e.message));
    child.on('exit', (code, sig) => fail(`exited early (${code ?? sig})`));
  });
}

function stopHelper(child: Helper): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // Closing stdin is the polite stop; SIGKILL by pid if it lingers.
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.stdin.on('error', () => {});
    child.stdin.end();
  });
}

function isPortList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((p) => typeof p === 'number');
}

export async function openFlows(lab: NatLab, opts: FlowOptions): Promise<Flows> {
  const { tcp, udp } = opts;
  for (const [k, n] of [['tcp', tcp], ['udp', udp]] as const) {
    if (!Number.isInteger(n) || n < 0 || n > MAX_FLOWS) throw new Error(`openFlows: ${k} must be 0..${MAX_FLOWS}, got ${n}`);
  }
  const lifetime = String(opts.maxLifetimeMs ?? 120_000);
  const readyMs = opts.readyTimeoutMs ?? 30_000;
  const from = lab.nsName(opts.fromNs ?? 'lan');
  if (from === lab.names.rtr || from === lab.names.wan) throw new Error('openFlows: fromNs must be a LAN host');

  const server = startHelper(lab.names.wan, 'flowServer.mjs', [lab.addrs.wan, lifetime]);
  let client: Helper | undefined;
  const close = async (): Promise<void> => {
    await Promise.all([client !== undefined ? stopHelper(client) : undefined, stopHelper(server)]);
  };
  try {
    const sline = await waitReady(server, 'flow server', readyMs);
    const m = /tcp=(\d+) udp=(\d+)/.exec(sline);
    if (m?.[1] === undefined || m[2] === undefined) throw new Error(`flow server: bad ready line ${sline}`);
    const serverPorts = { tcp: Number(m[1]), udp: Number(m[2]) };
    client = startHelper(from, 'flowClient.mjs', [
      lab.addrs.wan, m[1], m[2], String(tcp), String(udp), lifetime, String(opts.udpKeepaliveMs ?? 10_000),
    ]);
    const cline = await waitReady(client, 'flow client', readyMs);
    const ports = JSON.parse(cline.slice('ready'.length)) as { tcp?: unknown; udp?: unknown };
    const tcpPorts = ports.tcp;
    const udpPorts = ports.udp;
    if (!isPortList(tcpPorts) || !isPortList(udpPorts)) throw new Error(`flow client: bad ready line ${cline}`);
    let closing: Promise<void> | undefined;
    return {
      tcpSourcePorts: tcpPorts,
      udpSourcePorts: udpPorts,
      serverPorts,
      close: () => (closing ??= close()),
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** One LAN host's share of a plan. */
export interface HostFlowPlan {
  key: LanKey;
  tcp: number;
  udp: number;
}

/** Issue 5's lab plan: three LAN hosts holding 3,000 / 1,000 / 200 flows, 4,200 entries in all. */
export const THREE_HOST_PLAN: readonly HostFlowPlan[] = [
  { key: 'lan0', tcp: 400, udp: 2600 },
  { key: 'lan1', tcp: 150, udp: 850 },
  { key: 'lan2', tcp: 50, udp: 150 },
];

/** Opens every host's flows at once; when one fails, closes the others and rethrows. */
export async function openFlowPlan(lab: NatLab, plan: readonly HostFlowPlan[], opts: Omit<FlowOptions, 'tcp' | 'udp' | 'fromNs'> = {}): Promise<Flows[]> {
  const opened = await Promise.allSettled(plan.map((p) => openFlows(lab, { ...opts, tcp: p.tcp, udp: p.udp, fromNs: p.key })));
  const flows = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed === undefined) return flows;
  await Promise.all(flows.map((f) => f.close()));
  throw failed.reason;
}
