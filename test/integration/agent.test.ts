// The agent process itself, started inside a NAT router namespace, answering
// `agent status --json`; checked against `conntrack -C` and `ip -s -j link` in the same
// namespace, and kept alive while an interface is pulled and plugged back.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/status/types.ts';
import { labEnv, requireLab, run } from '../lab/exec.ts';
import { openFlows } from '../lab/flows.ts';
import { removeAndReAddLink } from '../lab/linkCycle.ts';
import { createNatLab, type NatLab } from '../lab/natLab.ts';
import { conntrackCount, linkStats } from '../lab/oracle.ts';
import { repoRoot } from './probe.ts';

const skip = requireLab();
const T = 60_000;
const agentBin = join(repoRoot, 'bin', 'agent.js');

async function status(socket: string): Promise<StatusSnapshot> {
  const { stdout } = await run(process.execPath, [agentBin, 'status', '--json', '--socket', socket]);
  return JSON.parse(stdout) as StatusSnapshot;
}

/** Polls `agent status` until `accept` holds (the agent samples every 200 ms). */
async function statusWhen(socket: string, accept: (s: StatusSnapshot) => boolean, timeoutMs = 10_000): Promise<StatusSnapshot> {
  const deadline = Date.now() + timeoutMs;
  let last: StatusSnapshot | null = null;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    try {
      last = await status(socket);
      if (accept(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`status never matched; last: ${JSON.stringify(last)?.slice(0, 600)} ${String(lastError ?? '')}`);
}

describe.skipIf(skip)('agent run inside a router namespace', () => {
  let lab: NatLab;
  let dir: string;
  let socket: string;
  let agent: ChildProcess;
  let stderr = '';
  let exited: Promise<number | null>;

  beforeAll(async () => {
    lab = await createNatLab({ lanHosts: 2 });
    await lab.exec('rtr', 'conntrack', ['-F']).catch(() => {});
    dir = mkdtempSync(join(tmpdir(), 'lanwatch-agent-'));
    socket = join(dir, 'status.sock');
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ sampleIntervalMs: 200, statusSocket: socket, log: { format: 'json' } }));
    agent = spawn('ip', ['netns', 'exec', lab.names.rtr, process.execPath, agentBin, 'run', '--config', config], {
      env: labEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    agent.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    exited = new Promise((resolve) => agent.once('exit', (code) => resolve(code)));
    await statusWhen(socket, (s) => s.agent.ticks >= 3, 20_000);
  }, T);

  afterAll(async () => {
    if (agent && agent.exitCode === null) agent.kill('SIGKILL');
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, T);

  it('reports the router board, netlink backends and every interface of the namespace', async () => {
    const snapshot = await status(socket);
    expect(snapshot.agent.backends.conntrack.backend).toBe('netlink');
    expect(snapshot.agent.backends.links.backend).toBe('netlink');
    expect(snapshot.agent.sampleIntervalMs).toBe(200);
    const oracle = await linkStats(lab.names.rtr);
    expect(snapshot.interfaces.map((i) => i.name).sort()).toEqual(oracle.map((l) => l.name).sort());
    const wan = snapshot.interfaces.find((i) => i.name === 'wan')!;
    expect(wan.role).toBe('wan');
    expect(snapshot.interfaces.find((i) => i.name === 'lan0')!.master).toBe('br-lan');
    expect(snapshot.interfaces.find((i) => i.name === 'br-lan')!.kind).toBe('bridge');
  }, T);

  it('shows the conntrack count that `conntrack -C` shows, as flows open and close', async () => {
    const flows = await openFlows(lab, { tcp: 60, udp: 40 });
    try {
      const expected = await conntrackCount(lab.names.rtr);
      expect(expected).toBe(100);
      const snapshot = await statusWhen(socket, (s) => s.conntrack.count === expected);
      expect(snapshot.conntrack.max).toBeGreaterThan(0);
      expect(snapshot.conntrack.pct).toBeCloseTo((100 / snapshot.conntrack.max!) * 100, 1);
      expect(snapshot.conntrack.drop).toBe(0);
    } finally {
      await flows.close();
    }
  }, T);

  it('reports per-interface packet rates that follow real traffic', async () => {
    // 20 pings a second for 3 s from a LAN host through the router: about 20 pps in on
    // its bridge port (echo requests) and 20 pps out of the WAN.
    const pinging = lab.exec('lan', 'ping', ['-c', '60', '-i', '0.05', '-W', '1', lab.addrs.wan]);
    try {
      const snapshot = await statusWhen(socket, (s) => {
        const port = s.interfaces.find((i) => i.name === 'lan0');
        return port?.rxPps != null && port.rxPps >= 12;
      });
      const port = snapshot.interfaces.find((i) => i.name === 'lan0')!;
      const wan = snapshot.interfaces.find((i) => i.name === 'wan')!;
      expect(port.rxPps).toBeLessThan(40);
      expect(wan.txPps).toBeGreaterThan(5);
      expect(port.rxBps).toBeGreaterThan(port.rxPps! * 84); // ICMP echo: 98-byte frames
    } finally {
      await pinging;
    }
  }, T);

  it('keeps running while an interface is pulled and plugged back, and follows it', async () => {
    const before = await status(socket);
    const old = before.interfaces.find((i) => i.name === 'lan1')!;
    const cycle = await removeAndReAddLink(lab, 'lan1', { downMs: 600 });
    expect(cycle.newIfindex).not.toBe(old.index);
    const after = await statusWhen(socket, (s) => s.interfaces.find((i) => i.name === 'lan1')?.index === cycle.newIfindex);
    expect(after.interfaces.find((i) => i.name === 'lan1')!.master).toBe('br-lan');
    expect(after.agent.ticks).toBeGreaterThan(before.agent.ticks);
    expect(after.agent.health.links.ok).toBe(true);
    expect(agent.exitCode).toBeNull();
    expect(stderr).toMatch(/interface lan1 removed/);
    expect(stderr).toMatch(/interface lan1 added/);
  }, T);

  it('stops cleanly on SIGTERM: exit 0, socket removed', async () => {
    agent.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(socket)).toBe(false);
    const { code, stderr: message } = await run(process.execPath, [agentBin, 'status', '--socket', socket], { okCodes: [1] });
    expect(code).toBe(1);
    expect(message).toMatch(/not running/);
  }, T);
});
