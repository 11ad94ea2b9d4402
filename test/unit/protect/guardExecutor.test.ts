import { describe, expect, it } from 'vitest';
import { FakeGuard } from '../../../hal/fake/fakeGuard.ts';
import { GuardExecutor } from '../../../src/protect/guardExecutor.ts';
import type { ProtectionAction } from '../../../src/protect/loopProtection.ts';

const block = (port: string): ProtectionAction => ({ kind: 'block', port, reason: `loop on ${port}`, untilMs: 0, blocks: 1 });
const unblock = (port: string): ProtectionAction => ({ kind: 'unblock', port, reason: `quiet on ${port}` });

function setup() {
  const guard = new FakeGuard();
  const executor = new GuardExecutor(guard);
  return { guard, executor };
}

describe('GuardExecutor', () => {
  it('installs at start, then blocks and unblocks as the planner says', async () => {
    const { guard, executor } = setup();
    expect(await executor.start(0)).toEqual([{ op: 'install', port: null, ok: true, error: null, reason: null }]);
    expect(await executor.execute([block('lan3')], 1_000)).toEqual([{ op: 'block', port: 'lan3', ok: true, error: null, reason: 'loop on lan3' }]);
    expect(guard.blockedNow).toEqual(['lan3']);
    expect(await executor.execute([unblock('lan3')], 2_000)).toEqual([
      { op: 'unblock', port: 'lan3', ok: true, error: null, reason: 'quiet on lan3' },
    ]);
    expect(guard.summary).toEqual(['install', 'block lan3', 'unblock lan3']);
  });

  it('makes no guard call for extend and refuse, and none on a quiet tick', async () => {
    const { guard, executor } = setup();
    await executor.start(0);
    const quiet = executor.execute([], 1_000);
    expect(executor.execute([{ kind: 'refuse', port: 'lan1', reason: 'uplink' }], 1_000)).toBe(quiet);
    expect(await executor.execute([{ kind: 'extend', port: 'lan1', reason: 'still', untilMs: 9 }], 1_000)).toEqual([]);
    expect(guard.summary).toEqual(['install']);
  });

  it('reports a failed block without throwing and retries it no sooner than 10 s later', async () => {
    const { guard, executor } = setup();
    await executor.start(0);
    guard.failNext('block', 'blocking port lan3: nft needs CAP_NET_ADMIN', 2);
    expect(await executor.execute([block('lan3')], 1_000)).toEqual([
      { op: 'block', port: 'lan3', ok: false, error: 'blocking port lan3: nft needs CAP_NET_ADMIN', reason: 'loop on lan3' },
    ]);
    expect(executor.failures).toEqual([{ op: 'block', port: 'lan3', error: 'blocking port lan3: nft needs CAP_NET_ADMIN', retryAtMs: 11_000 }]);
    expect(executor.retryDue(10_999)).toBe(false);
    expect(await executor.execute([], 10_999)).toEqual([]);
    expect(executor.retryDue(11_000)).toBe(true);
    expect((await executor.execute([], 11_000))[0]).toMatchObject({ op: 'block', ok: false });
    expect((await executor.execute([], 21_000))[0]).toMatchObject({ op: 'block', port: 'lan3', ok: true });
    expect(executor.failures).toEqual([]);
    expect(executor.blocked).toEqual(['lan3']);
    expect(guard.summary).toEqual(['install', 'block lan3 (failed)', 'block lan3 (failed)', 'block lan3']);
  });

  it('drops a failed block that the planner has since lifted, instead of applying it late', async () => {
    const { guard, executor } = setup();
    await executor.start(0);
    guard.failNext('block', 'nft failed');
    await executor.execute([block('lan3')], 1_000);
    expect(await executor.execute([unblock('lan3')], 2_000)).toEqual([]);
    expect(executor.retryDue(60_000)).toBe(false);
    expect(guard.summary).toEqual(['install', 'block lan3 (failed)']);
  });

  it('installs lazily when the start-up install failed, and blocks only once it worked', async () => {
    const { guard, executor } = setup();
    guard.failNext('install', 'nft not found: install the nftables package for loop protection', 2);
    expect((await executor.start(0))[0]).toMatchObject({ op: 'install', ok: false });
    // Within the retry time: the install is not tried again, the block fails with its error.
    expect(await executor.execute([block('lan3')], 1_000)).toEqual([
      { op: 'block', port: 'lan3', ok: false, error: 'nft not found: install the nftables package for loop protection', reason: 'loop on lan3' },
    ]);
    expect((await executor.execute([], 11_000)).map((o) => `${o.op} ${o.ok}`)).toEqual(['install false', 'block false']);
    expect((await executor.execute([], 21_000)).map((o) => `${o.op} ${o.ok}`)).toEqual(['install true', 'block true']);
    expect(guard.summary).toEqual(['install (failed)', 'install (failed)', 'install', 'block lan3']);
  });

  it('runs overlapping calls one at a time, each applying the latest intent', async () => {
    const { guard, executor } = setup();
    void executor.start(0);
    const a = executor.execute([block('lan3')], 1_000);
    const b = executor.execute([unblock('lan3'), block('lan4')], 1_000);
    // By the time the first run starts, lan3 is no longer wanted: it is never blocked.
    expect(await a).toEqual([{ op: 'block', port: 'lan4', ok: true, error: null, reason: 'loop on lan4' }]);
    expect(await b).toEqual([]);
    await executor.execute([unblock('lan4'), block('lan3')], 2_000);
    expect(guard.summary).toEqual(['install', 'block lan4', 'unblock lan4', 'block lan3']);
    expect(guard.blockedNow).toEqual(['lan3']);
  });

  it('verify() rewrites the guard when the kernel lost it (a firewall reload), and is quiet otherwise', async () => {
    const { guard, executor } = setup();
    await executor.start(0);
    await executor.execute([block('lan3'), block('lan4')], 1_000);
    expect(await executor.verify(2_000)).toEqual([]);
    await guard.install(); // `nft flush ruleset` + someone's empty table: our blocks are gone
    const outcomes = await executor.verify(3_000);
    expect(outcomes.map((o) => `${o.op} ${o.port ?? ''} ${o.ok}`)).toEqual(['verify  false', 'install  true', 'block lan3 true', 'block lan4 true']);
    expect(outcomes[0]!.error).toBe('the kernel blocks [], expected [lan3, lan4]: guard rewritten');
    expect(guard.blockedNow).toEqual(['lan3', 'lan4']);
    guard.failNext('blocked', 'nft needs CAP_NET_ADMIN');
    expect(await executor.verify(4_000)).toEqual([{ op: 'verify', port: null, ok: false, error: 'nft needs CAP_NET_ADMIN', reason: null }]);
  });

  it('removes the guard on close and reports a failure instead of rejecting', async () => {
    const { guard, executor } = setup();
    await executor.start(0);
    await executor.execute([block('lan3')], 1_000);
    guard.failNext('close', 'removing table bridge lanwatch_guard: nft failed');
    expect(await executor.close()).toEqual({
      op: 'close',
      port: null,
      ok: false,
      error: 'removing table bridge lanwatch_guard: nft failed',
      reason: null,
    });
    expect(await executor.close()).toEqual({ op: 'close', port: null, ok: true, error: null, reason: null });
    expect(guard.installed).toBe(false);
    expect(executor.blocked).toEqual([]);
  });
});
