/** Starts broadcastProbeRunner.ts inside a namespace and sends it requests. */
import { fileURLToPath } from 'node:url';
import type { ProbeBridgeStatus } from '../../hal/linux/broadcastProbe.ts';
import { startInNs, type BackgroundProcess } from '../lab/background.ts';

const runnerScript = fileURLToPath(new URL('./broadcastProbeRunner.ts', import.meta.url));

export interface ProbeRunnerOptions {
  bridges: string[];
  minIntervalMs?: number;
  addressCheckMs?: number;
}

export interface ProbeLogLine {
  level: 'warn' | 'info' | 'debug';
  msg: string;
}

export interface ProbeRunner {
  nonce: string;
  /** Resolves with how many probes the kernel accepted. */
  send(bridge?: string): Promise<number>;
  status(): Promise<ProbeBridgeStatus[]>;
  refresh(): Promise<void>;
  close(): Promise<void>;
  /** Every log line of the probe so far. */
  logs(): ProbeLogLine[];
  /** Ends the process (stdin closed: the probe closes its sockets first). */
  exit(): Promise<void>;
}

export async function startProbeRunner(ns: string, options: ProbeRunnerOptions): Promise<ProbeRunner> {
  const child: BackgroundProcess = startInNs(ns, process.execPath, ['--import', 'tsx', runnerScript, JSON.stringify(options)]);
  const ready = JSON.parse(await child.waitForLine(/"ready":true/, 20_000)) as { nonce: string };
  let seq = 0;
  const ask = async (request: object): Promise<Record<string, unknown>> => {
    seq++;
    child.write(JSON.stringify({ seq, ...request }));
    return JSON.parse(await child.waitForLine(new RegExp(`^\\{"seq":${seq},`), 15_000)) as Record<string, unknown>;
  };
  return {
    nonce: ready.nonce,
    send: async (bridge) => (await ask({ op: 'send', bridge })).sent as number,
    status: async () => (await ask({ op: 'status' })).status as ProbeBridgeStatus[],
    refresh: async () => void (await ask({ op: 'refresh' })),
    close: async () => void (await ask({ op: 'close' })),
    logs: () => child.stdoutLines.flatMap((line) => {
      if (!line.startsWith('{"log":')) return [];
      const parsed = JSON.parse(line) as { log: ProbeLogLine['level']; msg: string };
      return [{ level: parsed.log, msg: parsed.msg }];
    }),
    exit: () => child.stop(),
  };
}
