import { connect } from 'node:net';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findDaemon, requestStatus } from '../../../src/status/client.ts';
import { startStatusServer, StatusServerError } from '../../../src/status/server.ts';
import type { StatusSnapshot } from '../../../src/status/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'lanwatch-sock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function raw(path: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(path, () => socket.write(line));
    let reply = '';
    socket.on('data', (chunk) => (reply += chunk.toString()));
    socket.on('end', () => resolve(reply));
    socket.on('error', reject);
  });
}

describe('status socket', () => {
  it('serves the snapshot, mode 0660, and removes the socket on close', async () => {
    const path = join(dir, 'a', 'status.sock');
    const server = await startStatusServer(path, () => ({ agent: { ticks: 42 } }));
    expect(statSync(path).mode & 0o777).toBe(0o660);
    const snapshot = await requestStatus(path);
    expect((snapshot as unknown as { agent: { ticks: number } }).agent.ticks).toBe(42);
    await new Promise((resolve) => server.close(resolve));
    expect(() => statSync(path)).toThrow();
  });

  it('answers garbage with an error and keeps serving', async () => {
    const path = join(dir, 'garbage.sock');
    const server = await startStatusServer(path, () => ({ ok: true }));
    expect(JSON.parse(await raw(path, 'hello\n'))).toEqual({ error: 'request is not JSON' });
    expect(JSON.parse(await raw(path, '{"request":"reboot"}\n'))).toEqual({ error: 'unknown request "reboot"' });
    expect(JSON.parse(await raw(path, '{"request":"status"}\n'))).toEqual({ ok: true });
    server.close();
  });

  it('replaces a stale socket file but refuses to steal a live one', async () => {
    const path = join(dir, 'stale.sock');
    writeFileSync(path, '');
    const first = await startStatusServer(path, () => ({}));
    await expect(startStatusServer(path, () => ({}))).rejects.toBeInstanceOf(StatusServerError);
    first.close();
  });

  it('finds the first daemon that answers among candidates', async () => {
    const path = join(dir, 'second.sock');
    const server = await startStatusServer(path, () => ({ agent: { pid: 7 } }) as unknown as StatusSnapshot);
    const found = await findDaemon([join(dir, 'absent.sock'), path]);
    expect(found.path).toBe(path);
    await expect(findDaemon([join(dir, 'absent.sock')])).rejects.toThrow(/not running/);
    server.close();
  });
});
