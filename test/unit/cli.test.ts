// The command line as a user meets it: exit codes, messages without stack traces, and a
// demo agent answering `agent status` over its socket. Needs no privileges.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/status/types.ts';

const agentBin = fileURLToPath(new URL('../../bin/agent.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lanwatch-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function agent(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [agentBin, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('agent CLI', () => {
  it('prints its version', () => {
    const { code, stdout } = agent(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('refuses to start on a bad config: every problem with its path, exit 2, no stack trace', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ sampleIntervalMs: 5, mqtt: { url: 1883, password: 'hunter2' }, board: 'pi-ruter' }));
    const { code, stderr } = agent(['run', '--config', file]);
    expect(code).toBe(2);
    expect(stderr).toContain('sampleIntervalMs: must be between 100 and 60000 (got 5)');
    expect(stderr).toContain('mqtt.url:');
    expect(stderr).toContain('board: must be one of auto, pi-router');
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr).not.toContain('hunter2');
  });

  it('names a bad environment variable as the source of the problem', () => {
    const file = join(dir, 'empty.json');
    writeFileSync(file, '{}');
    expect(agent(['config', 'check', file]).code).toBe(0);
    const { code, stderr } = agent(['config', 'check', file], { LANWATCH_SAMPLE_INTERVAL_MS: 'fast' });
    expect(code).toBe(2);
    expect(stderr).toContain('environment (LANWATCH_* variables):');
    expect(stderr).toContain('LANWATCH_SAMPLE_INTERVAL_MS');
  });

  it('says the agent is not running and exits 1', () => {
    const { code, stderr } = agent(['status', '--socket', join(dir, 'nobody-here.sock')]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/not running/);
  });

  it('explains bad usage with exit 2', () => {
    const { code, stderr } = agent(['status', '--colour']);
    expect(code).toBe(2);
    expect(stderr).toContain('usage:');
  });

  it('runs the demo and answers status in both forms, then stops on SIGTERM', async () => {
    const socket = join(dir, 'demo.sock');
    const config = join(dir, 'demo.json');
    writeFileSync(config, JSON.stringify({ sampleIntervalMs: 200, statusSocket: socket, log: { format: 'json' } }));
    const child = spawn(process.execPath, [agentBin, 'run', '--demo', '--config', config], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      let snapshot: StatusSnapshot | null = null;
      for (let i = 0; i < 50 && !(snapshot && snapshot.agent.ticks >= 3); i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const { code, stdout } = agent(['status', '--json', '--socket', socket]);
        if (code === 0) snapshot = JSON.parse(stdout) as StatusSnapshot;
      }
      expect(snapshot?.agent.demo).toBe(true);
      expect(snapshot?.agent.board.id).toBe('pi-router');
      const eth0 = snapshot!.interfaces.find((i) => i.name === 'eth0')!;
      expect(eth0.role).toBe('wan');
      expect(eth0.rxPps).toBeGreaterThan(500);
      expect(snapshot!.conntrack.count).toBeGreaterThan(0);
      const text = agent(['status', '--socket', socket]);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('DEMO DATA');
      expect(text.stdout).toMatch(/eth0\s+wan\s+ethernet/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);
});
