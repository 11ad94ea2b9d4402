// The real agent, a real Mosquitto and an MQTT recorder, all inside one lab namespace (the
// switch namespace of a loop or bridge lab), for end-to-end tests and the loop bench.
//
// Why everything in the namespace: the agent must see the lab's bridge, and a broker on the
// host's loopback is not reachable from there; linking the namespace to the host would put lab
// addresses on the host, which the lab rules forbid. The status socket is a filesystem path,
// which works across network namespaces, so the test reads `agent status` directly.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestStatus } from '../../src/status/client.ts';
import type { StatusSnapshot } from '../../src/status/types.ts';
import { startInNs, type BackgroundProcess } from './background.ts';
import { mosquittoBinary } from '../broker/mosquitto.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const AGENT = join(ROOT, 'bin', 'agent.js');
const RECORDER = join(ROOT, 'test', 'lab', 'mqttRecorder.mjs');
/** Fresh namespace, so the standard port is free and nothing outside can reach it. */
export const LAB_BROKER_URL = 'mqtt://127.0.0.1:1883';
/** The agents' topic root in the lab tests (their config sets mqtt.nodeId 'lab'). */
export const LAB_TOPIC_ROOT = 'lanwatch/lab';

export interface RecordedMqtt {
  /** Wall-clock ms at receipt (Date.now() in the recorder). */
  at: number;
  topic: string;
  payload: string;
  retain: boolean;
}

/** Matches the alarm's ON or OFF message received at or after `after` (epoch ms). */
export const isAlarm = (name: string, payload: 'ON' | 'OFF', after: number) => (m: RecordedMqtt): boolean =>
  m.topic === `${LAB_TOPIC_ROOT}/alarm/${name}` && m.payload === payload && m.at >= after;

export interface LabStack {
  readonly dir: string;
  readonly statusSocket: string;
  readonly agent: BackgroundProcess;
  readonly messages: readonly RecordedMqtt[];
  /** The first message (past or future) matching `match`, or a rejection after `timeoutMs`. */
  waitFor(match: (m: RecordedMqtt) => boolean, timeoutMs?: number, what?: string): Promise<RecordedMqtt>;
  snapshot(): Promise<StatusSnapshot>;
  /** The agent's log lines (JSON), parsed. */
  logs(): { msg: string; level: number; [key: string]: unknown }[];
  /** SIGTERM the agent and wait for it; returns its exit code. */
  stopAgent(): Promise<number | string>;
  /** Stops everything and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface LabStackOptions {
  /** Agent config (merged over the lab's own: broker, status socket, JSON logs). */
  config: Record<string, unknown>;
  /** Topics the recorder subscribes to. Default everything under lanwatch/ and the discovery prefix. */
  topics?: string[];
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value) && prev !== null && typeof prev === 'object' && !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

export async function startLabStack(ns: string, options: LabStackOptions): Promise<LabStack> {
  const mosquitto = mosquittoBinary();
  if (mosquitto === null) throw new Error('mosquitto is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'lanwatch-e2e-'));
  const statusSocket = join(dir, 'status.sock');
  writeFileSync(join(dir, 'mosquitto.conf'), ['listener 1883 127.0.0.1', 'allow_anonymous true', 'persistence false', 'log_dest stderr'].join('\n') + '\n');
  const config = deepMerge(
    { mqtt: { url: LAB_BROKER_URL }, statusSocket, log: { level: 'debug', format: 'json' } },
    options.config,
  );
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));

  const started: BackgroundProcess[] = [];
  const messages: RecordedMqtt[] = [];
  const waiters: { match: (m: RecordedMqtt) => boolean; resolve(m: RecordedMqtt): void }[] = [];
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      for (const p of started.reverse()) {
        p.kill('SIGTERM');
        await p.stop(3000);
      }
      rmSync(dir, { recursive: true, force: true });
    })());

  try {
    const broker = startInNs(ns, mosquitto, ['-c', join(dir, 'mosquitto.conf')]);
    started.push(broker);
    const recorder = startInNs(ns, process.execPath, [RECORDER, LAB_BROKER_URL, ...(options.topics ?? ['lanwatch/#', 'homeassistant/#'])]);
    started.push(recorder);
    let partial = 0;
    // The recorder prints JSON lines; pick up new ones as they come.
    const poll = setInterval(() => {
      const lines = recorder.stdoutLines;
      for (; partial < lines.length; partial++) {
        const parsed = JSON.parse(lines[partial]!) as RecordedMqtt & { ready?: boolean };
        if (parsed.ready) continue;
        messages.push(parsed);
        for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.match(parsed)) waiters.splice(i, 1)[0]!.resolve(parsed);
      }
    }, 10);
    poll.unref();
    started.push({ ...recorder, kill: () => clearInterval(poll), stop: async () => clearInterval(poll) });
    await recorder.waitForLine(/"ready":true/, 10_000);
    const agent = startInNs(ns, process.execPath, [AGENT, 'run', '--config', join(dir, 'config.json')]);
    started.push(agent);
    await agent.waitForLine(/sampling every/, 20_000);

    return {
      dir,
      statusSocket,
      agent,
      messages,
      waitFor(match, timeoutMs = 10_000, what = 'an MQTT message') {
        const seen = messages.find(match);
        if (seen) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
          const waiter = {
            match,
            resolve: (m: RecordedMqtt) => {
              clearTimeout(timer);
              resolve(m);
            },
          };
          const timer = setTimeout(() => {
            waiters.splice(waiters.indexOf(waiter), 1);
            reject(new Error(`no ${what} within ${timeoutMs} ms`));
          }, timeoutMs);
          waiters.push(waiter);
        });
      },
      snapshot: () => requestStatus(statusSocket),
      logs: () =>
        [...agent.stdoutLines, ...agent.stderrLines].flatMap((line) => {
          try {
            return [JSON.parse(line) as { msg: string; level: number }];
          } catch {
            return [];
          }
        }),
      async stopAgent() {
        agent.kill('SIGTERM');
        const code = await Promise.race([agent.exit, new Promise<string>((r) => setTimeout(() => r('timeout'), 10_000))]);
        return code;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
