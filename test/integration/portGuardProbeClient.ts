/** Starts portGuardProbe.ts inside a namespace and sends it requests. */
import { fileURLToPath } from 'node:url';
import type { ProtectedPort } from '../../hal/index.ts';
import type { UplinkPorts } from '../../hal/linux/uplinkPorts.ts';
import type { GuardFailure } from '../../src/protect/guardExecutor.ts';
import type { ProtectionStatus } from '../../src/protect/loopProtection.ts';
import type { LoopProtectionOptions } from '../../src/protect/protectionOptions.ts';
import { startInNs, type BackgroundProcess } from '../lab/background.ts';

const probeScript = fileURLToPath(new URL('./portGuardProbe.ts', import.meta.url));

export interface ProtectSettings {
  bridge: string;
  bridgeMac: string;
  ports: string[];
  tickMs: number;
  options: Partial<LoopProtectionOptions>;
  wan: string | null;
  sshPorts: number[];
  probeTo: string;
}

/** One line the agent loop printed. */
export interface ProbeEvent {
  event: 'protected' | 'action' | 'outcome' | 'error';
  kind?: string;
  op?: string;
  port?: string | null;
  ok?: boolean;
  reason?: string;
  error?: string | null;
  ports?: ProtectedPort[];
  mode?: string;
  message?: string;
}

export interface AgentStatus {
  status: ProtectionStatus;
  failures: GuardFailure[];
  own: Record<string, number | null>;
  kernel: string[];
}

export interface GuardProbe {
  install(): Promise<void>;
  block(port: string): Promise<void>;
  unblock(port: string): Promise<void>;
  blocked(): Promise<string[]>;
  close(): Promise<void>;
  resolve(bridge: string, wan: string | null, sshPorts?: number[]): Promise<UplinkPorts>;
  protect(settings: ProtectSettings): Promise<void>;
  status(): Promise<AgentStatus>;
  stop(): Promise<void>;
  /** Every event line printed so far. */
  events(): ProbeEvent[];
  /** Resolves with the first event (past or future) whose line matches `re`. */
  waitForEvent(re: RegExp, timeoutMs?: number): Promise<ProbeEvent>;
  /** Ends the process without cleaning up: the tables stay, as after a crash. */
  exit(): Promise<void>;
}

export async function startGuardProbe(ns: string): Promise<GuardProbe> {
  const child: BackgroundProcess = startInNs(ns, process.execPath, ['--import', 'tsx', probeScript]);
  await child.waitForLine(/"ready":true/, 20_000);
  let seq = 0;
  const ask = async (request: object, timeoutMs = 15_000): Promise<Record<string, unknown>> => {
    seq++;
    child.write(JSON.stringify({ seq, ...request }));
    const reply = JSON.parse(await child.waitForLine(new RegExp(`^\\{"seq":${seq},`), timeoutMs)) as Record<string, unknown>;
    if (typeof reply.error === 'string') throw new Error(reply.error);
    return reply;
  };
  return {
    install: async () => void (await ask({ op: 'install' })),
    block: async (port) => void (await ask({ op: 'block', port })),
    unblock: async (port) => void (await ask({ op: 'unblock', port })),
    blocked: async () => (await ask({ op: 'blocked' })).ports as string[],
    close: async () => void (await ask({ op: 'close' })),
    resolve: async (bridge, wan, sshPorts) => (await ask({ op: 'resolve', bridge, wan, sshPorts })).result as UplinkPorts,
    protect: async (settings) => void (await ask({ op: 'protect', ...settings }, 30_000)),
    status: async () => (await ask({ op: 'status' })) as unknown as AgentStatus,
    stop: async () => void (await ask({ op: 'stop' })),
    events: () => child.stdoutLines.filter((l) => l.startsWith('{"event"')).map((l) => JSON.parse(l) as ProbeEvent),
    waitForEvent: async (re, timeoutMs = 15_000) => JSON.parse(await child.waitForLine(re, timeoutMs)) as ProbeEvent,
    exit: () => child.stop(),
  };
}
