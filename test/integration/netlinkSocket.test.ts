// The netlink addon (native/netlink) on the real kernel, each case in a child process in a
// private network namespace (`unshare -n`: nameless, gone when the child exits).
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { requireLab, run } from '../lab/exec.ts';

const skip = requireLab(['unshare']);
const child = fileURLToPath(new URL('./netlinkSocketChild.ts', import.meta.url));

async function inPrivateNamespace<T>(...args: string[]): Promise<T> {
  const { stdout } = await run('unshare', ['-n', process.execPath, '--import', 'tsx', child, ...args], { timeoutMs: 30_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}

describe.skipIf(skip)('netlink socket addon', () => {
  it('survives a receive-queue overrun: ENOBUFS is reported and events keep coming', async () => {
    const r = await inPrivateNamespace<{ errors: string[]; errorsAfterOverrun: number; eventsBefore: number; eventsAfter: number; sawAfterOverrun: boolean }>('overrun');
    expect(r.errorsAfterOverrun).toBeGreaterThanOrEqual(1);
    expect(new Set(r.errors)).toEqual(new Set(['ENOBUFS']));
    // Some of the 60 fit before the overrun, fewer than all of them.
    expect(r.eventsBefore).toBeGreaterThan(0);
    expect(r.eventsBefore).toBeLessThan(60);
    expect(r.eventsAfter).toBeGreaterThanOrEqual(1);
    expect(r.sawAfterOverrun).toBe(true);
  });

  interface DumpReport { datagrams: number; messages: number; buffers: number; offsets: number; maxLength: number; chunk: number; callsAfterClose: number; inOrder: boolean }

  it('receives a multi-datagram dump into one reused buffer; no datagram after a close inside the handler', async () => {
    const r = await inPrivateNamespace<DumpReport>('dump', '0');
    expect(r.messages).toBe(121); // 120 bridges + lo
    expect(r.datagrams).toBeGreaterThan(1);
    expect(r.buffers).toBe(1);
    expect(r.offsets).toBe(1);
    expect(r.inOrder).toBe(true);
    expect(r.maxLength).toBeLessThanOrEqual(r.chunk);
    expect(r.callsAfterClose).toBe(0);
  });

  it('a ring socket (receive thread, 4 slots) delivers the same dump in order through its slots', async () => {
    const r = await inPrivateNamespace<DumpReport>('dump', '4');
    expect(r.messages).toBe(121);
    expect(r.buffers).toBe(1);
    // More datagrams than slots: the slots were reused, round the ring.
    expect(r.datagrams).toBeGreaterThan(4);
    expect(r.offsets).toBe(4);
    expect(r.inOrder).toBe(true); // the kernel dumps links by ifindex
    expect(r.callsAfterClose).toBe(0);
  });

  it('throws a coded error for a protocol the kernel does not have', async () => {
    const r = await inPrivateNamespace<{ threw: boolean; code?: string }>('badProtocol');
    expect(r).toMatchObject({ threw: true, code: 'EPROTONOSUPPORT' });
  });

  it("sends a handler's exception to process 'uncaughtException', not to abort()", async () => {
    const r = await inPrivateNamespace<{ caught: string; alive: boolean }>('throwingHandler');
    expect(r).toEqual({ caught: 'handler bug', alive: true });
  });
});
