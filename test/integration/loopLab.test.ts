// Tests of the loop lab itself (test/lab/loopLab.ts): layout and addressing, the loop and
// its bounds, and teardown after success, failure and crashes. Needs root; skipped with a
// printed reason otherwise, but fails under CI=true (see requireLab()).
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PID_DIR, listNamespaces, sweepStaleLabs } from '../lab/cleanup.ts';
import { inNs, requireLab, run } from '../lab/exec.ts';
import { createLoopLab, type LoopLab } from '../lab/loopLab.ts';
import { runCrashProbe } from '../lab/crashRun.ts';

const skip = requireLab(['tc', 'bridge', 'ping']);
const T = 30_000;

async function rootLinks(): Promise<string> {
  return (await run('ip', ['-o', 'link', 'show'])).stdout.split('\n').map((l) => l.split(':')[1]?.trim() ?? '').sort().join(',');
}

function labNamespaces(lab: LoopLab): string[] {
  return [lab.names.sw, lab.names.dumb, ...lab.hosts.map((h) => h.ns)];
}

interface TbfStats {
  kind: string;
  bytes: number;
  drops: number;
  rate?: number;
}

async function rootQdisc(ns: string, ifname: string): Promise<TbfStats> {
  const [q] = JSON.parse((await inNs(ns, 'tc', ['-s', '-j', 'qdisc', 'show', 'dev', ifname, 'root'])).stdout) as {
    kind: string; bytes: number; drops: number; options?: { rate?: number };
  }[];
  if (q === undefined) throw new Error(`no root qdisc on ${ifname} in ${ns}`);
  return { kind: q.kind, bytes: q.bytes, drops: q.drops, rate: q.options?.rate };
}

async function txPackets(ns: string, ifname: string): Promise<number> {
  const [l] = JSON.parse((await run('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', ifname])).stdout) as {
    stats64: { tx: { packets: number } };
  }[];
  return l!.stats64.tx.packets;
}

describe.skipIf(skip)('loopLab: layout', () => {
  let lab: LoopLab;
  let before: string;
  beforeAll(async () => {
    before = await rootLinks();
    lab = await createLoopLab({ hosts: 2 });
  }, T);
  afterAll(() => lab?.destroy(), T);

  it('names everything per run and creates nothing in the root namespace', async () => {
    expect(lab.runId).toMatch(/^[0-9a-f]{4}$/);
    expect(labNamespaces(lab)).toEqual([`lw${lab.runId}-sw`, `lw${lab.runId}-dumb`, `lw${lab.runId}-h0`, `lw${lab.runId}-h1`]);
    const present = await listNamespaces();
    for (const ns of labNamespaces(lab)) {
      expect(present).toContain(ns);
      expect(existsSync(`${PID_DIR}/${ns}.pid`)).toBe(true);
    }
    expect(await rootLinks()).toBe(before);
  });

  it('uses addresses inside 10.89.0.0/24 only, with no route out and no IPv6', async () => {
    for (const ns of labNamespaces(lab)) {
      const addrs = JSON.parse((await run('ip', ['-n', ns, '-j', 'addr', 'show'])).stdout) as {
        ifname: string; addr_info: { family: string; local: string }[];
      }[];
      for (const a of addrs.flatMap((l) => l.addr_info.map((i) => ({ ...i, ifname: l.ifname })))) {
        if (a.ifname === 'lo') continue;
        expect(a.family, `${ns} ${a.ifname}`).toBe('inet');
        expect(a.local, `${ns} ${a.ifname}`).toMatch(/^10\.89\.0\.\d+$/);
      }
      expect((await run('ip', ['-n', ns, 'route', 'show', 'default'])).stdout.trim()).toBe('');
      expect((await inNs(ns, 'sysctl', ['-n', 'net.ipv6.conf.all.disable_ipv6'])).stdout.trim()).toBe('1');
    }
    expect(lab.hosts.map((h) => h.addr)).toEqual(['10.89.0.10', '10.89.0.11']);
  });

  it('builds br0 with STP off and its own MAC, hosts on lanK, and a dumb switch br1 with STP off', async () => {
    const detail = async (ns: string, dev: string) => {
      const [l] = JSON.parse((await run('ip', ['-n', ns, '-d', '-j', 'link', 'show', 'dev', dev])).stdout) as {
        address: string; linkinfo: { info_data: { stp_state: number } };
      }[];
      return l!;
    };
    const br0 = await detail(lab.names.sw, 'br0');
    expect(br0.address).toBe(lab.bridgeMac);
    expect(br0.linkinfo.info_data.stp_state).toBe(0);
    expect((await detail(lab.names.dumb, 'br1')).linkinfo.info_data.stp_state).toBe(0);
    const ports = JSON.parse((await lab.exec('sw', 'bridge', ['-j', 'link'])).stdout) as { ifname: string; master: string }[];
    expect(ports.map((p) => `${p.ifname}@${p.master}`).sort()).toEqual(['lan0@br0', 'lan1@br0']);
    for (const [k, host] of lab.hosts.entries()) {
      expect((await detail(host.ns, 'eth0')).address).toBe(host.mac);
      expect(host.port).toBe(`lan${k}`);
    }
    expect((await lab.exec('h0', 'ping', ['-c', '1', '-W', '1', lab.hosts[1]!.addr])).stdout).toContain('1 received');
  });

  it('recable() moves a host to a new port with its MAC and address', async () => {
    const old = await lab.ifindex('sw', 'lan1');
    await lab.recable(1, 'lan9');
    expect(lab.hosts[1]!.port).toBe('lan9');
    await expect(lab.ifindex('sw', 'lan1')).rejects.toThrow();
    expect(await lab.ifindex('sw', 'lan9')).not.toBe(old);
    expect((await lab.exec('h0', 'ping', ['-c', '1', '-W', '1', lab.hosts[1]!.addr])).stdout).toContain('1 received');
  }, T);
});

describe.skipIf(skip)('loopLab: the loop', () => {
  let lab: LoopLab;
  beforeAll(async () => {
    lab = await createLoopLab({ hosts: 1 });
  }, T);
  afterAll(() => lab?.destroy(), T);

  it('bounds every looping link end with tbf, keeps the storm under the rate, and openLoop() ends it', async () => {
    const loop = await lab.closeLoop();
    const stats = (): Promise<TbfStats[]> => Promise.all(loop.ends.map((e) => rootQdisc(e.ns, e.ifname)));
    let before: TbfStats[] = [];
    let after: TbfStats[] = [];
    let ms = 0;
    try {
      expect(loop.ends).toHaveLength(6);
      for (const [i, q] of (await stats()).entries()) {
        expect(q.kind, `${loop.ends[i]!.ns} ${loop.ends[i]!.ifname}`).toBe('tbf');
        expect(q.rate).toBe(2_000_000 / 8); // bytes per second
      }
      const ports = JSON.parse((await lab.exec('sw', 'bridge', ['-j', 'link'])).stdout) as { ifname: string; state: string }[];
      for (const p of loop.swPorts) expect(ports.find((x) => x.ifname === p)?.state).toBe('forwarding');
      await expect(lab.closeLoop()).rejects.toThrow(/already closed/);

      await lab.exec('h0', 'ping', ['-b', '-c', '1', '-W', '0.2', lab.broadcast], { okCodes: [0, 1] });
      await sleep(200); // let it snowball up to the bound
      // From before the first read to after the last: no end's window is longer.
      const t0 = performance.now();
      before = await stats();
      await sleep(500);
      after = await stats();
      ms = performance.now() - t0;
    } finally {
      await lab.openLoop();
    }
    // A storm that multiplies (tbf drops what exceeds the rate) but is held at tbf's rate on
    // every looping end: 2 Mbit/s = 250 kB/s, plus one 4 KB burst.
    const bytes = after.map((q, i) => q.bytes - before[i]!.bytes);
    const drops = after.reduce((n, q, i) => n + q.drops - before[i]!.drops, 0);
    expect(bytes.every((b) => b > 0)).toBe(true);
    expect(drops).toBeGreaterThan(0);
    for (const b of bytes) expect(b).toBeLessThanOrEqual((250_000 * ms) / 1000 + 4096);

    for (const end of loop.ends) {
      await expect(run('ip', ['-n', end.ns, 'link', 'show', 'dev', end.ifname])).rejects.toThrow();
    }
    await sleep(100); // frames in flight die out
    const quiet1 = await txPackets(lab.names.sw, 'lan0');
    await sleep(300);
    expect(await txPackets(lab.names.sw, 'lan0')).toBe(quiet1);
    await lab.openLoop(); // no loop: no-op
  }, T);

  it('refuses a host port or a bad name as a loop port', async () => {
    await expect(lab.closeLoop('lan0', 'loopb')).rejects.toThrow(/bad loop port/);
    await expect(lab.closeLoop('loopa', 'Bad Name')).rejects.toThrow(/bad loop port/);
  });
});

describe.skipIf(skip)('loopLab: teardown', () => {
  it('destroy() with the loop closed removes every namespace and is idempotent', async () => {
    const lab = await createLoopLab({ hosts: 2 });
    await lab.closeLoop();
    await Promise.all([lab.destroy(), lab.destroy()]);
    const left = await listNamespaces();
    expect(labNamespaces(lab).filter((ns) => left.includes(ns))).toEqual([]);
    expect(existsSync(`${PID_DIR}/${lab.names.sw}.pid`)).toBe(false);
  }, T);

  let failed: LoopLab | undefined;
  describe('a failing test body', () => {
    afterAll(() => failed?.destroy(), T);
    it.fails('throws with the loop closed', async () => {
      failed = await createLoopLab({ hosts: 1 });
      await failed.closeLoop();
      throw new Error('deliberate failure');
    }, T);
  });

  it('...still had its lab torn down by afterAll', async () => {
    expect(failed).toBeDefined();
    const left = await listNamespaces();
    expect(labNamespaces(failed!).filter((ns) => left.includes(ns))).toEqual([]);
  });

  const crash = (mode: 'throw' | 'wait', signal?: NodeJS.Signals): Promise<string[]> => runCrashProbe(mode, signal, ['loop']);

  it('an uncaught exception with the loop closed removes the lab via the exit hook', async () => {
    const names = await crash('throw');
    expect(names).toHaveLength(3);
    const left = await listNamespaces();
    expect(names.filter((n) => left.includes(n))).toEqual([]);
  }, T);

  it('after SIGKILL with the loop closed, sweepStaleLabs() removes the orphaned lab', async () => {
    const names = await crash('wait', 'SIGKILL');
    expect((await listNamespaces()).filter((n) => names.includes(n))).toHaveLength(3);
    const swept = await sweepStaleLabs();
    expect(swept).toEqual(expect.arrayContaining(names));
    expect((await listNamespaces()).filter((n) => names.includes(n))).toEqual([]);
    expect(names.some((n) => existsSync(`${PID_DIR}/${n}.pid`))).toBe(false);
  }, T);
});
