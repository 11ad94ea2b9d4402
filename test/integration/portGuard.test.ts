// Loop protection against the real kernel, in the loop lab (test/lab/loopLab.ts): the nft
// guard (hal/linux/portGuard.ts) cutting ports off a bridge with a storm running, the uplink
// resolver (hal/linux/uplinkPorts.ts) naming the gateway's and an ssh session's ports, and
// the pieces together (portGuardProbe.ts) blocking the looping port, never the uplink, with
// the network recovering. The guard, the resolver and the agent loop run in the switch
// namespace (portGuardProbe.ts); the test watches with ip, nft and ping. Every looping link
// carries tbf on both ends; every namespace goes in afterAll, also on failure.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPortRuleset } from '../../hal/linux/nftPortRuleset.ts';
import { until } from '../broker/until.ts';
import { startInNs, type BackgroundProcess } from '../lab/background.ts';
import { inNs, requireLab, run } from '../lab/exec.ts';
import { createLoopLab, type LoopLab } from '../lab/loopLab.ts';
import { waitOperUp } from '../lab/natLab.ts';
import { startGuardProbe, type GuardProbe, type ProbeEvent } from './portGuardProbeClient.ts';

const skip = requireLab(['tc', 'ping', 'python3']);
const T = 90_000;
/** Ports counted by our `table bridge lanwatch`, in plan order (counter p<i>_own is port i). */
const COUNTED = ['lan0', 'lan1', 'loopa', 'loopb', 'loopc', 'loopd'];
/** A storm at the lab's 2 Mbit/s tbf bound floods ~5,000 frames/s to every host port. */
const STORM_PPS = 1_000;
/** The probe broadcast (1/s) plus pings: what a quiet host port sees. */
const QUIET_PPS = 50;

async function linkStats(ns: string, dev: string): Promise<{ rx: number; tx: number }> {
  const [link] = JSON.parse((await run('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev])).stdout) as {
    stats64: { rx: { packets: number }; tx: { packets: number } };
  }[];
  return { rx: link!.stats64.rx.packets, tx: link!.stats64.tx.packets };
}

/** Frames per second the bridge sends out of `dev` (to the host behind it), over `ms`. */
async function txPps(ns: string, dev: string, ms = 1_000): Promise<number> {
  const before = await linkStats(ns, dev);
  const t0 = performance.now();
  await sleep(ms);
  const after = await linkStats(ns, dev);
  return ((after.tx - before.tx) * 1000) / (performance.now() - t0);
}

/** Named nft counters of a table in `ns`: name → packets. */
async function counters(ns: string, table: string): Promise<Record<string, number>> {
  const out = JSON.parse((await inNs(ns, 'nft', ['-j', 'list', 'counters', 'table', 'bridge', table])).stdout) as {
    nftables: { counter?: { name: string; packets: number } }[];
  };
  return Object.fromEntries(out.nftables.flatMap((i) => (i.counter ? [[i.counter.name, i.counter.packets]] : [])));
}

/** Own frames (source = the bridge's MAC) counted on `port` so far, by our counters at -300. */
async function ownFrames(lab: LoopLab, port: string, counted: readonly string[] = COUNTED): Promise<number> {
  return (await counters(lab.names.sw, 'lanwatch'))[`p${counted.indexOf(port)}_own`] ?? NaN;
}

/** Packets dropped by the guard's prerouting and postrouting rules (anonymous counters). */
async function guardDrops(lab: LoopLab): Promise<{ in: number; out: number }> {
  const text = (await lab.exec('sw', 'nft', ['list', 'table', 'bridge', 'lanwatch_guard'])).stdout;
  const drops = [...text.matchAll(/counter packets (\d+) bytes \d+ drop/g)].map((m) => Number(m[1]));
  return { in: drops[0] ?? NaN, out: drops[1] ?? NaN };
}

async function tables(lab: LoopLab): Promise<string> {
  return (await lab.exec('sw', 'nft', ['list', 'tables'])).stdout;
}

/** Pings `to` from host namespace `from` three times; the number of replies. */
async function pings(lab: LoopLab, from: 'h0' | 'h1' | 'sw', to: string): Promise<number> {
  const { stdout } = await lab.exec(from, 'ping', ['-c', '3', '-i', '0.2', '-W', '1', to], { okCodes: [0, 1] });
  return Number(/(\d+) received/.exec(stdout)?.[1] ?? NaN);
}

/** Adds a veth `a`(nsA) ↔ `b`(nsB) with tbf on both ends, each end enslaved to its bridge and up. */
async function cable(lab: LoopLab, a: { ns: string; dev: string; br: string }, b: { ns: string; dev: string; br: string }): Promise<void> {
  const peer = a.ns === b.ns ? ['peer', 'name', b.dev] : ['peer', 'name', b.dev, 'netns', b.ns];
  await run('ip', ['-n', a.ns, 'link', 'add', 'name', a.dev, 'type', 'veth', ...peer]);
  for (const end of [a, b]) {
    await inNs(end.ns, 'tc', ['qdisc', 'add', 'dev', end.dev, 'root', 'tbf', 'rate', '2mbit', 'burst', '32kbit', 'latency', '50ms']);
  }
  for (const end of [a, b]) await run('ip', ['-n', end.ns, 'link', 'set', 'dev', end.dev, 'master', end.br, 'up']);
}

/** The agent's loop probe stand-in for the guard-only tests: one broadcast from the bridge per second. */
function bridgeProbe(lab: LoopLab): BackgroundProcess {
  return startInNs(lab.names.sw, 'ping', ['-b', '-i', '1', '-W', '1', '-q', lab.broadcast]);
}

describe.skipIf(skip)('port guard on a real bridge', () => {
  let lab: LoopLab;
  let guard: GuardProbe;
  let probe: BackgroundProcess | null = null;
  beforeAll(async () => {
    lab = await createLoopLab({ hosts: 2 });
    const plan = { bridge: 'br0', bridgeMac: lab.bridgeMac, ports: COUNTED };
    await lab.exec('sw', 'nft', ['-f', '-'], { input: buildPortRuleset(plan).text });
    guard = await startGuardProbe(lab.names.sw);
    await guard.install();
  }, T);
  afterAll(async () => {
    await probe?.stop().catch(() => {});
    await guard?.exit().catch(() => {});
    await lab?.destroy();
  }, T);

  it('cuts a port off in both directions: frames in (prerouting), forwarded and own frames out (postrouting)', async () => {
    await guard.block('lan1');
    expect(await guard.blocked()).toEqual(['lan1']);
    const before = await linkStats(lab.names.sw, 'lan1');
    const broadcast = (from: 'sw' | 'h0') =>
      lab.exec(from, 'ping', ['-b', '-c', '2', '-i', '0.2', '-W', '0.5', lab.broadcast], { okCodes: [0, 1] });
    // The bridge's own broadcast (NF_BR_LOCAL_OUT, then POST_ROUTING) ...
    const drops0 = await guardDrops(lab);
    await broadcast('sw');
    const drops1 = await guardDrops(lab);
    expect(drops1.out - drops0.out).toBeGreaterThanOrEqual(2);
    // ... and h0's, forwarded (NF_BR_FORWARD, then POST_ROUTING): both dropped at postrouting.
    await broadcast('h0');
    const drops2 = await guardDrops(lab);
    expect(drops2.out - drops1.out).toBeGreaterThanOrEqual(2);
    expect(await pings(lab, 'h0', lab.hosts[1]!.addr)).toBe(0);
    expect(await pings(lab, 'h1', lab.bridgeAddr)).toBe(0);
    const after = await linkStats(lab.names.sw, 'lan1');
    expect(after.tx - before.tx).toBe(0); // nothing left through lan1
    expect(after.rx - before.rx).toBeGreaterThan(0); // h1 kept sending: dropped on the way in
    expect((await guardDrops(lab)).in).toBeGreaterThan(drops2.in);
    // The other host port works all along.
    expect(await pings(lab, 'h0', lab.bridgeAddr)).toBe(3);

    await guard.unblock('lan1');
    expect(await guard.blocked()).toEqual([]);
    expect(await pings(lab, 'h0', lab.hosts[1]!.addr)).toBe(3);
    expect(await pings(lab, 'h1', lab.bridgeAddr)).toBe(3);
  }, T);

  it('a cable with both ends in the bridge: one block ends the storm, the other port stays up', async () => {
    const sw = lab.names.sw;
    probe = bridgeProbe(lab);
    await cable(lab, { ns: sw, dev: 'loopc', br: 'br0' }, { ns: sw, dev: 'loopd', br: 'br0' });
    try {
      await sleep(1_500);
      expect(await txPps(sw, 'lan0')).toBeGreaterThan(STORM_PPS);
      const ownC = await ownFrames(lab, 'loopc');
      const ownD = await ownFrames(lab, 'loopd');

      await guard.block('loopc');
      await sleep(300); // frames in flight die out
      expect(await txPps(sw, 'lan0')).toBeLessThan(QUIET_PPS);
      expect(await pings(lab, 'h0', lab.bridgeAddr)).toBe(3);
      expect(await pings(lab, 'h0', lab.hosts[1]!.addr)).toBe(3);
      expect(await guard.blocked()).toEqual(['loopc']);
      // The re-test: the probe leaves through loopd and comes back in on loopc, counted at
      // -300 before the guard drops it at -200. Nothing comes back on loopd any more.
      const c1 = await ownFrames(lab, 'loopc');
      const d1 = await ownFrames(lab, 'loopd');
      const loopdOut = (await linkStats(sw, 'loopd')).tx;
      expect(c1).toBeGreaterThan(ownC);
      expect(d1).toBeGreaterThan(ownD);
      await sleep(2_200);
      expect(await ownFrames(lab, 'loopc')).toBeGreaterThan(c1);
      expect(await ownFrames(lab, 'loopd')).toBe(d1);
      expect((await linkStats(sw, 'loopd')).tx).toBeGreaterThan(loopdOut); // loopd still forwards
    } finally {
      await run('ip', ['-n', sw, 'link', 'del', 'dev', 'loopc'], { okCodes: [0, 1] });
      await probe.stop();
      probe = null;
    }
    await guard.unblock('loopc');
    expect(await guard.blocked()).toEqual([]);
  }, T);

  it('a dumb switch looping on itself (closeLoop): one block is not enough, the second ends the storm', async () => {
    const sw = lab.names.sw;
    probe = bridgeProbe(lab);
    const loop = await lab.closeLoop('loopa', 'loopb');
    try {
      await sleep(1_500);
      const storm = await txPps(sw, 'lan0');
      expect(storm).toBeGreaterThan(STORM_PPS);

      await guard.block('loopa');
      await sleep(300);
      // The dumb switch's own loop keeps storming in through loopb, which still brings own
      // frames back: the planner blocks the next port after the settle time.
      const b1 = await ownFrames(lab, 'loopb');
      expect(await txPps(sw, 'lan0')).toBeGreaterThan(STORM_PPS / 2);
      expect(await ownFrames(lab, 'loopb')).toBeGreaterThan(b1);

      await guard.block('loopb');
      await sleep(300);
      expect(await txPps(sw, 'lan0')).toBeLessThan(QUIET_PPS);
      expect(await pings(lab, 'h0', lab.bridgeAddr)).toBe(3);
      expect(await guard.blocked()).toEqual(['loopa', 'loopb']);
      // No learned MAC stays behind a blocked port: flushed at the block, never re-learned.
      const fdb = (await lab.exec('sw', 'bridge', ['fdb', 'show', 'br', 'br0'])).stdout.split('\n');
      expect(fdb.filter((l) => /dev loop[ab] master br0\s*$/.test(l))).toEqual([]);
      // Own frames still circle in the dumb switch and are counted on both blocked ports.
      const a2 = await ownFrames(lab, 'loopa');
      const b2 = await ownFrames(lab, 'loopb');
      await sleep(1_000);
      expect(await ownFrames(lab, 'loopa')).toBeGreaterThan(a2);
      expect(await ownFrames(lab, 'loopb')).toBeGreaterThan(b2);
      expect(loop.swPorts).toEqual(['loopa', 'loopb']);
    } finally {
      await lab.openLoop();
      await probe.stop();
      probe = null;
    }
    // Unplugged: the veths are gone and with them any own frame on those ports.
    await expect(linkStats(sw, 'loopa')).rejects.toThrow();
    await guard.unblock('loopa');
    await guard.unblock('loopb');
    expect(await guard.blocked()).toEqual([]);
  }, T);

  it('never touches our counters, replaces a crashed run\'s table, and close() removes it', async () => {
    const before = await counters(lab.names.sw, 'lanwatch');
    await guard.block('lan1');
    await guard.exit(); // a crash: no close()
    expect(await tables(lab)).toContain('table bridge lanwatch_guard');
    expect((await lab.exec('sw', 'nft', ['list', 'set', 'bridge', 'lanwatch_guard', 'blocked'])).stdout).toContain('"lan1"');

    guard = await startGuardProbe(lab.names.sw);
    await guard.install();
    expect(await guard.blocked()).toEqual([]);
    expect(await pings(lab, 'h1', lab.bridgeAddr)).toBe(3);
    await guard.close();
    const listed = await tables(lab);
    expect(listed).not.toContain('lanwatch_guard');
    expect(listed).toContain('table bridge lanwatch');
    // The counter table was never replaced: every counter only went up.
    const after = await counters(lab.names.sw, 'lanwatch');
    for (const [name, packets] of Object.entries(before)) expect(after[name], name).toBeGreaterThanOrEqual(packets);
    expect(after.p1_bcast).toBeGreaterThan(0);
  }, T);
});

// An sshd stand-in on port 22 of the switch namespace (only inside the lab's netns), and a
// client in h0 that holds one session open.
const SSH_LISTENER = [
  'import socket',
  's = socket.socket()',
  's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
  "s.bind(('0.0.0.0', 22))",
  's.listen()',
  "print('listening', flush=True)",
  'held = []',
  'while True:',
  '    c, _ = s.accept()',
  '    held.append(c)',
  "    print('accepted', flush=True)",
].join('\n');
const SSH_CLIENT = (to: string): string =>
  ['import socket, sys', `c = socket.create_connection(('${to}', 22))`, "print('connected', flush=True)", 'sys.stdin.read()'].join('\n');

describe.skipIf(skip)('loop protection end to end: blocks the looping port, never the uplink', () => {
  // h1 is the default gateway (10.89.0.11), moved behind the dumb switch: br0 ─ upl ═ upa ─ br1 ─ gw ═ h1.
  // h0 on lan0 holds an ssh session to the bridge. Closing the loop adds loopb ═ upb.
  let lab: LoopLab;
  let agent: GuardProbe;
  const helpers: BackgroundProcess[] = [];
  const events = (): ProbeEvent[] => agent.events();

  beforeAll(async () => {
    lab = await createLoopLab({ hosts: 2 });
    const { sw, dumb } = lab.names;
    const gateway = lab.hosts[1]!;
    await run('ip', ['-n', sw, 'link', 'del', 'dev', 'lan1']);
    await run('ip', ['-n', dumb, 'link', 'add', 'name', 'gw', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', gateway.ns]);
    await run('ip', ['-n', dumb, 'link', 'set', 'dev', 'gw', 'master', 'br1', 'up']);
    await run('ip', ['-n', gateway.ns, 'link', 'set', 'dev', 'eth0', 'address', gateway.mac]);
    await run('ip', ['-n', gateway.ns, 'addr', 'add', `${gateway.addr}/24`, 'dev', 'eth0']);
    await run('ip', ['-n', gateway.ns, 'link', 'set', 'dev', 'eth0', 'up']);
    await cable(lab, { ns: sw, dev: 'upl', br: 'br0' }, { ns: dumb, dev: 'upa', br: 'br1' });
    await Promise.all([waitOperUp(sw, ['upl']), waitOperUp(dumb, ['upa', 'gw']), waitOperUp(gateway.ns, ['eth0'])]);
    // A default route inside the switch namespace only, to a lab host with no route anywhere.
    await run('ip', ['-n', sw, 'route', 'add', 'default', 'via', gateway.addr, 'dev', 'br0']);
    expect(await pings(lab, 'sw', gateway.addr)).toBe(3);

    const listener = startInNs(sw, 'python3', ['-c', SSH_LISTENER]);
    helpers.push(listener);
    await listener.waitForLine(/listening/, 10_000);
    const client = startInNs(lab.hosts[0]!.ns, 'python3', ['-c', SSH_CLIENT(lab.bridgeAddr)]);
    helpers.push(client);
    await client.waitForLine(/connected/, 10_000);
    agent = await startGuardProbe(sw);
  }, T);

  afterAll(async () => {
    for (const helper of helpers) await helper.stop(500).catch(() => {});
    await agent?.exit().catch(() => {});
    await lab?.destroy();
  }, T);

  it('the resolver names the gateway\'s port and the ssh session\'s port', async () => {
    const result = await agent.resolve('br0', null, [22]);
    expect(result).toEqual({
      ports: [
        { port: 'lan0', reason: 'the ssh session from 10.89.0.10' },
        { port: 'upl', reason: 'the uplink (default route via 10.89.0.11)' },
      ],
      notes: [],
    });
  }, T);

  it('blocks loopb when the loop closes, extends while it stays cabled, lets go after it is unplugged', async () => {
    const { sw, dumb } = lab.names;
    await agent.protect({
      bridge: 'br0',
      bridgeMac: lab.bridgeMac,
      ports: ['lan0', 'upl', 'loopb'],
      tickMs: 250,
      options: { holdDownMs: 6_000, settleMs: 1_500, quietMs: 2_000 },
      wan: null,
      sshPorts: [22],
      probeTo: lab.broadcast,
    });
    const protectedEvent = await agent.waitForEvent(/"event":"protected"/);
    expect(protectedEvent.mode).toBe('replaced');
    expect(protectedEvent.ports?.map((p) => p.port)).toEqual(['lan0', 'upl']);
    await sleep(1_000);
    expect(events().filter((e) => e.event === 'action')).toEqual([]);

    // The loose cable: a second link from br0 to the dumb switch.
    await cable(lab, { ns: sw, dev: 'loopb', br: 'br0' }, { ns: dumb, dev: 'upb', br: 'br1' });
    const block = await agent.waitForEvent(/"event":"action".*"kind":"block"/, 10_000);
    expect(block.port).toBe('loopb');
    expect(block.reason).toMatch(/^switching loop: own frames returning on loopb/);
    await agent.waitForEvent(/"event":"outcome".*"op":"block","port":"loopb","ok":true/, 5_000);

    // The network recovers: the storm is gone, the gateway (through upl) and the bridge answer,
    // the ssh session is still up.
    await sleep(300);
    expect(await txPps(sw, 'lan0')).toBeLessThan(QUIET_PPS);
    expect(await pings(lab, 'h0', lab.hosts[1]!.addr)).toBe(3);
    expect(await pings(lab, 'h0', lab.bridgeAddr)).toBe(3);
    const ssh = await lab.exec('sw', 'ss', ['-tnH', 'state', 'established', '( sport = :22 )']);
    expect(ssh.stdout).toContain('10.89.0.10');
    const status = await agent.status();
    expect(status.kernel).toEqual(['loopb']);
    expect(status.status.blocked.map((b) => `${b.port} ${b.blocks}`)).toEqual(['loopb 1']);
    expect(status.status.refused).toEqual([]);
    expect(status.failures).toEqual([]);
    // Still cabled: own frames keep coming back on loopb (counted before the drop). `own` is the
    // rate of one 250 ms tick, which a busy machine can leave empty: any tick in 3 s will do.
    await until('own frames on the blocked loopb', async () => ((await agent.status()).own.loopb! > 0 ? true : undefined), 3_000);

    await agent.waitForEvent(/"event":"action".*"kind":"extend","port":"loopb"/, 10_000);
    // Unplugged: no own frames for quietMs, and at the (extended) hold-down's end it is let go.
    await run('ip', ['-n', sw, 'link', 'del', 'dev', 'loopb']);
    const unblock = await agent.waitForEvent(/"event":"action".*"kind":"unblock","port":"loopb"/, 15_000);
    expect(unblock.reason).toMatch(/^no own frames on loopb for 2 s: hold-down over/);
    await agent.waitForEvent(/"event":"outcome".*"op":"unblock","port":"loopb","ok":true/, 5_000);
    expect((await agent.status()).kernel).toEqual([]);

    // Never the uplink, though own frames came back on it too when the loop closed; never the
    // ssh port; every guard call worked.
    expect(await ownFrames(lab, 'upl', ['lan0', 'upl', 'loopb'])).toBeGreaterThan(0);
    const acted = events().filter((e) => e.event === 'action' && (e.kind === 'block' || e.kind === 'unblock'));
    expect(acted.map((e) => `${e.kind} ${e.port}`)).toEqual(['block loopb', 'unblock loopb']);
    expect(events().filter((e) => e.event === 'outcome' && !e.ok)).toEqual([]);
    expect(events().filter((e) => e.event === 'error')).toEqual([]);

    await agent.stop();
    const listed = await tables(lab);
    expect(listed).not.toContain('lanwatch_guard');
    expect(listed).not.toContain('lanwatch');
  }, T);
});
