// The dgram-as-promised adapter on loopback only (127.0.0.0/8 has a broadcast address,
// 127.255.255.255, on lo): no root, no traffic beyond this machine.
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProbeTarget } from '../../../hal/linux/probeAddress.ts';
import { openDgramProbeSocket, type ProbeSocket } from '../../../hal/linux/probeSocket.ts';

const LOOPBACK_BROADCAST = '127.255.255.255';

function target(port: number, bindAddress = '127.0.0.1'): ProbeTarget {
  return { via: 'ipv4-broadcast', family: 4, bindAddress, destination: LOOPBACK_BROADCAST, port, label: `${LOOPBACK_BROADCAST}:${port}` };
}

/** A receiver of loopback broadcasts only: bound to the broadcast address itself. */
async function receiver(): Promise<{ socket: Socket; port: number; next(): Promise<{ msg: Buffer; from: string }> }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK_BROADCAST, resolve));
  const queue: { msg: Buffer; from: string }[] = [];
  const waiting: ((item: { msg: Buffer; from: string }) => void)[] = [];
  socket.on('message', (msg, rinfo) => {
    const item = { msg, from: `${rinfo.address}:${rinfo.port}` };
    const waiter = waiting.shift();
    if (waiter) waiter(item);
    else queue.push(item);
  });
  return {
    socket,
    port: socket.address().port,
    next: () => {
      const item = queue.shift();
      return item ? Promise.resolve(item) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

describe('openDgramProbeSocket (dgram-as-promised)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('binds to the given address, sends to the broadcast destination, and is connected (not listening)', async () => {
    const rx = await receiver();
    cleanups.push(() => void rx.socket.close());
    const socket: ProbeSocket = await openDgramProbeSocket(target(rx.port));
    cleanups.push(() => socket.close());
    expect(await socket.send(Buffer.from('lanwatch loop probe v1 test'))).toBe(27);
    const got = await rx.next();
    expect(got.msg.toString()).toBe('lanwatch loop probe v1 test');
    expect(got.from).toMatch(/^127\.0\.0\.1:\d+$/);
    // The same socket again: it stays open between sends.
    expect(await socket.send(Buffer.from('again'))).toBe(5);
    expect((await rx.next()).msg.toString()).toBe('again');
  });

  it('close() is idempotent, and a send after it rejects', async () => {
    const socket = await openDgramProbeSocket(target(9));
    await socket.close();
    await expect(socket.close()).resolves.toBeUndefined();
    await expect(socket.send(Buffer.from('x'))).rejects.toThrow(/closed/);
  });

  it('rejects with the errno when the address is not ours (EADDRNOTAVAIL at bind)', async () => {
    // TEST-NET-1: on no interface of this machine; bind fails before anything is sent.
    await expect(openDgramProbeSocket(target(9, '192.0.2.1'))).rejects.toMatchObject({ code: 'EADDRNOTAVAIL', syscall: 'bind' });
  });
});
