// The agent as a real process (`agent run --demo`) against a real Mosquitto: what only a
// process can show. kill -9 leaves the broker to deliver the will; SIGTERM publishes
// `offline` itself; a malformed payload is logged once; the password never reaches a log
// or `agent status`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../lab/exec.ts';
import { connectRecorder, retainedSnapshot } from '../broker/client.ts';
import { requireMosquitto, startBroker, stopAllBrokers, type Broker } from '../broker/mosquitto.ts';
import { repoRoot } from './probe.ts';

const skip = requireMosquitto();
const agentBin = join(repoRoot, 'bin', 'agent.js');
const SECRET = 'hunter2-not-for-logs';

interface AgentProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  socket: string;
}

async function waitForRetained(url: string, topic: string, payload: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await retainedSnapshot(url, topic, 100)).get(topic) === payload) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${topic} never became ${payload}`);
}

describe.skipIf(skip)('agent process and the broker', () => {
  let broker: Broker;
  let dir: string;
  const running: ChildProcess[] = [];

  function startAgentProcess(nodeId: string): AgentProcess {
    const socket = join(dir, `${nodeId}.sock`);
    const config = join(dir, `${nodeId}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        statusSocket: socket,
        mqtt: { url: broker.url, nodeId, username: 'lanwatch', password: SECRET },
        log: { level: 'info', format: 'json' },
      }),
    );
    const child = spawn(process.execPath, [agentBin, 'run', '--demo', '--config', config], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.push(child);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, output: () => output, exited, socket };
  }

  beforeAll(async () => {
    broker = await startBroker();
    dir = mkdtempSync(join(tmpdir(), 'lanwatch-mqtt-process-'));
  });

  afterEach(() => {
    for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  afterAll(async () => {
    await broker?.cleanup();
    await stopAllBrokers();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kill -9: the broker publishes the will, so Home Assistant shows the agent offline', async () => {
    const agent = startAgentProcess('lwkill');
    await waitForRetained(broker.url, 'lanwatch/lwkill/availability', 'online');
    agent.child.kill('SIGKILL');
    await agent.exited;
    await waitForRetained(broker.url, 'lanwatch/lwkill/availability', 'offline', 5000);
  });

  it('SIGTERM: publishes offline itself, exits 0, and never shows the broker password', async () => {
    const agent = startAgentProcess('lwterm');
    await waitForRetained(broker.url, 'lanwatch/lwterm/availability', 'online');
    const { stdout: statusText } = await run(process.execPath, [agentBin, 'status', '--socket', agent.socket]);
    expect(statusText).toMatch(/^mqtt {7}connected to mqtt:\/\/127\.0\.0\.1:\d+ as lwterm · \d+ messages/m);
    const { stdout: statusJson } = await run(process.execPath, [agentBin, 'status', '--json', '--socket', agent.socket]);
    expect(JSON.parse(statusJson).mqtt).toMatchObject({ state: 'connected', broker: broker.url, nodeId: 'lwterm' });

    const watcher = await connectRecorder(broker.url, ['lanwatch/lwterm/availability']);
    try {
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
      // Live, not only retained: the agent sent it before disconnecting (a will would also say
      // offline, but a clean DISCONNECT tells the broker not to send one).
      await watcher.waitFor((m) => m.payload === 'offline' && !m.retain, 3000);
    } finally {
      await watcher.end();
    }
    await waitForRetained(broker.url, 'lanwatch/lwterm/availability', 'offline', 3000);
    for (const text of [agent.output(), statusText, statusJson]) expect(text).not.toContain(SECRET);
  });

  it('logs a malformed payload on homeassistant/status once, and keeps running', async () => {
    const agent = startAgentProcess('lwjunk');
    await waitForRetained(broker.url, 'lanwatch/lwjunk/availability', 'online');
    const sender = await connectRecorder(broker.url, []);
    try {
      for (const junk of ['garbage', '{"online":true}', 'garbage again']) await sender.publish('homeassistant/status', junk);
    } finally {
      await sender.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const warnings = agent.output().split('\n').filter((line) => line.includes('ignored a message on homeassistant/status'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('"level":40');
    expect(agent.child.exitCode).toBeNull();
    const { stdout } = await run(process.execPath, [agentBin, 'status', '--json', '--socket', agent.socket]);
    expect(JSON.parse(stdout).mqtt.state).toBe('connected');
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
  });
});
