// The bridge FDB event source (hal/linux/fdbEvents.ts) on a real kernel, in the loop lab
// (test/lab/loopLab.ts): a re-cabled host is one move; a closed loop makes a host's MAC
// flap between its port and the loop ports within a second; the bridge's own MAC coming
// back through the loop is visible on the wire and in the kernel log, but not as an event.
// Loops stay closed only as long as an assertion needs; afterAll tears the lab down
// whatever happened, and the exit hooks / next sweep catch what a crash leaves.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInNs, type BackgroundProcess } from '../lab/background.ts';
import { requireLab, run } from '../lab/exec.ts';
import { createLoopLab, type LoopLab, type LoopNsKey } from '../lab/loopLab.ts';
import { startFdbProbe, type FdbProbe, type FdbProbeEvent, type FdbProbeReport } from './fdbProbeClient.ts';

const skip = requireLab(['tc', 'bridge', 'tcpdump', 'ping', 'setpriv']);
const T = 60_000;

const wallNow = (): number => performance.timeOrigin + performance.now();

describe.skipIf(skip)('bridge FDB events on a real kernel (loop lab)', () => {
  let lab: LoopLab;
  let probe: FdbProbe;
  let br0: number;

  beforeAll(async () => {
    lab = await createLoopLab({ hosts: 2 });
    br0 = await lab.ifindex('sw', 'br0');
    probe = await startFdbProbe(lab.names.sw);
  }, T);
  afterAll(async () => {
    try {
      await probe?.stop();
    } finally {
      await lab?.destroy();
    }
  }, T);

  /** One ICMP echo to the lab's broadcast address: hosts ignore it, the bridge floods it. */
  async function broadcastFrom(key: LoopNsKey): Promise<void> {
    await lab.exec(key, 'ping', ['-b', '-c', '1', '-W', '0.2', lab.broadcast], { okCodes: [0, 1] });
  }

  async function learnedOn(mac: string, port: number): Promise<void> {
    const r = await probe.until((x) => x.updates.some((u) => u.mac === mac && u.port === port), 2_000);
    expect(r.updates.filter((u) => u.mac === mac).map((u) => u.port)).toContain(port);
  }

  it('needs no privileges: an unprivileged process sees the bridge learn a MAC', async () => {
    const unprivileged = await startFdbProbe(lab.names.sw, 65534);
    try {
      const host = lab.hosts[1]!;
      const lan1 = await lab.ifindex('sw', 'lan1');
      await broadcastFrom('h1');
      const r = await unprivileged.until((x) => x.updates.some((u) => u.mac === host.mac), 2_000);
      expect(r.updates.find((u) => u.mac === host.mac)).toMatchObject({ port: lan1, master: br0, vlan: 0 });
    } finally {
      await unprivileged.stop();
    }
  }, T);

  it('without a loop, a host re-cabled to another port once is exactly one move', async () => {
    const host = lab.hosts[0]!;
    const lan0 = await lab.ifindex('sw', 'lan0');
    await broadcastFrom('h0');
    await learnedOn(host.mac, lan0);

    await lab.recable(0, 'lan5');
    const lan5 = await lab.ifindex('sw', 'lan5');
    await broadcastFrom('h0');
    await learnedOn(host.mac, lan5);
    await sleep(300); // anything late would show up now
    const r = await probe.report();
    expect(r.moves).toEqual([{ mac: host.mac, port: lan5, fromPort: lan0, master: br0, vlan: 0, atMs: expect.any(Number) }]);
    expect(r.counts.moves).toBe(1);
    expect(r.counts.deletes).toBe(1); // lan0's entries went with the port
    expect(r.counts.lost).toBe(0);
  }, T);

  it('with a loop closed, one broadcast makes the host MAC flap between its port and the loop ports within 1 s', async () => {
    const host = lab.hosts[1]!;
    const lan1 = await lab.ifindex('sw', 'lan1');
    await broadcastFrom('h1');
    await learnedOn(host.mac, lan1);
    const movesBefore = (await probe.report()).counts.moves;

    let closedAt = NaN;
    let sentAt = NaN;
    let loopPorts: number[] = [];
    let firstMove: FdbProbeEvent | undefined;
    let edges: Record<string, number> = {};
    let report: FdbProbeReport | undefined;
    try {
      const loop = await lab.closeLoop('loopa', 'loopb');
      closedAt = loop.closedAt;
      loopPorts = await Promise.all(loop.swPorts.map((p) => lab.ifindex('sw', p)));
      sentAt = wallNow();
      await broadcastFrom('h1');
      report = await probe.until((r) => (r.movesByMac[host.mac] ?? 0) >= 20, 1_000);
      firstMove = report.moves.find((m) => m.mac === host.mac);
      edges = report.moveEdges;
    } finally {
      await lab.openLoop();
    }
    const openedAt = wallNow();

    expect(firstMove).toBeDefined();
    expect(firstMove).toMatchObject({ mac: host.mac, fromPort: lan1, master: br0, vlan: 0 });
    expect(loopPorts).toContain(firstMove!.port);
    const firstAt = report.timeOrigin + firstMove!.atMs;
    console.info(
      `[fdbEvents] loop closed → first MAC move ${(firstAt - closedAt).toFixed(1)} ms ` +
      `(broadcast sent → move ${(firstAt - sentAt).toFixed(1)} ms); ${report.movesByMac[host.mac]} moves of ${host.mac}, ` +
      `${report.counts.lost} overflows (ENOBUFS); loop closed for ${(openedAt - closedAt).toFixed(0)} ms; edges ${JSON.stringify(edges)}`,
    );
    expect(firstAt - closedAt).toBeLessThan(1_000);
    expect(report.counts.moves - movesBefore).toBeGreaterThanOrEqual(20);
    const [a, b] = loopPorts;
    const mine = Object.keys(edges).filter((e) => e.startsWith(`${host.mac} `));
    // Own port → loop, then loop ↔ loop as the copies circle. (Had the host spoken again,
    // its MAC would briefly return to lan1; under load that one notification may be among
    // those lost to ENOBUFS, so it is not asserted.)
    expect(mine).toContain(`${host.mac} ${lan1}->${firstMove!.port}`);
    expect(mine).toContain(`${host.mac} ${a}->${b}`);
    expect(mine).toContain(`${host.mac} ${b}->${a}`);
    for (const e of mine) {
      const [from, to] = e.split(' ')[1]!.split('->').map(Number);
      expect([lan1, a, b]).toContain(from);
      expect([lan1, a, b]).toContain(to);
    }
  }, T);

  it("the bridge's own MAC comes back on a loop port: seen on the wire and in the kernel log, never as an FDB event", async () => {
    const before = await probe.report();
    let seen: string[] = [];
    const loop = await lab.closeLoop('loopa', 'loopb');
    try {
      // Frames entering loop port A with br0's MAC as source. The lab is quiet, so nothing
      // circles the closed loop until the broadcast below.
      const capture: BackgroundProcess = startInNs(lab.names.sw, 'tcpdump', [
        '-i', loop.swPorts[0], '-Q', 'in', '-e', '-n', '-l', '--immediate-mode', '-c', '3', 'ether', 'src', lab.bridgeMac,
      ]);
      try {
        await capture.waitForLine(/listening on/, 10_000);
        await broadcastFrom('sw'); // leaves br0 with br0's MAC as source
        await capture.waitForLine(/ethertype IPv4/, 2_000);
        seen = capture.stdoutLines.filter((l) => l.includes('ethertype'));
      } finally {
        await capture.stop();
      }
    } finally {
      await lab.openLoop();
    }
    expect(seen.length).toBeGreaterThan(0);
    for (const line of seen) expect(line).toMatch(new RegExp(`^\\S+ ${lab.bridgeMac} > ff:ff:ff:ff:ff:ff, ethertype IPv4 .*${lab.bridgeAddr} > ${lab.broadcast}: ICMP echo request`));

    // The kernel refuses to learn its own address and says so in its log, through
    // net_ratelimit(): 10 lines per 5 s for the whole machine, so an earlier run (or anyone
    // else) may have used the budget. Then retry, each time closing the loop only for one
    // broadcast, until the budget refills. The MAC carries the run id: the line is ours.
    const logLine = new RegExp(`received packet on loop[ab] with own address as source address \\(addr:${lab.bridgeMac}`);
    const logged = async (): Promise<boolean> => logLine.test((await run('dmesg', [])).stdout);
    let attempts = 1;
    for (let waited = 0; !(await logged()); attempts++) {
      expect(waited, 'own-address warning in the kernel log').toBeLessThan(7_000);
      await sleep(1_000);
      waited += 1_000;
      await lab.closeLoop('loopa', 'loopb');
      try {
        await broadcastFrom('sw');
        await sleep(50);
      } finally {
        await lab.openLoop();
      }
    }
    console.info(`[fdbEvents] own-address warning in the kernel log after ${attempts} broadcast(s)`);

    // The FDB still holds br0's MAC as its own, on br0, and no notification was sent for it.
    const fdb = JSON.parse((await lab.exec('sw', 'bridge', ['-j', 'fdb', 'show', 'br', 'br0'])).stdout) as { mac: string; ifname: string; state?: string }[];
    const own = fdb.filter((e) => e.mac === lab.bridgeMac);
    expect(own.length).toBeGreaterThan(0);
    for (const e of own) expect(e).toMatchObject({ ifname: 'br0', state: 'permanent' });
    const after = await probe.report();
    expect(after.updatesByMac[lab.bridgeMac]).toBeUndefined();
    expect(after.movesByMac[lab.bridgeMac]).toBeUndefined();
    // What it did see of br0 was the loop ports' own (local) entries coming and going: skipped.
    expect(after.counts.ignored).toBeGreaterThan(before.counts.ignored);
  }, T);
});
