// Per-host conntrack counts (hal/linux/conntrackHosts.ts) on a real kernel: a NAT router namespace
// with three LAN hosts opening 3,000 / 1,000 / 200 flows through the masquerade. The probe runs
// the real source inside the router namespace (dump + events); the oracle is `conntrack -L` in
// the same namespace, grouped by original source address. Timeouts are shortened inside the
// router namespace (they are per-netns) so the flows expire within the test once closed.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_ENTRIES } from '../../hal/index.ts';
import { requireLab } from '../lab/exec.ts';
import { openFlowPlan, THREE_HOST_PLAN, type Flows } from '../lab/flows.ts';
import { createNatLab, shortenConntrackTimeouts, type NatLab } from '../lab/natLab.ts';
import { conntrackCount, conntrackEntries } from '../lab/oracle.ts';
import { groupByHost, type OracleRow } from '../helpers/conntrackMessages.ts';
import { startConntrackHostsProbe, type ConntrackHostsProbe, type ConntrackHostsReport } from './conntrackHostsProbeClient.ts';

const skip = requireLab(['conntrack']);
const T = 120_000;

/** Per host: TCP and UDP flows (3,000 / 1,000 / 200 in all). */
const PLAN = THREE_HOST_PLAN;

/** A probe report's rows in the oracle's shape. */
function probeRows(report: ConntrackHostsReport): Map<string, OracleRow> {
  const out = new Map<string, OracleRow>();
  for (const [address, f] of Object.entries(report.rows)) {
    out.set(address, {
      entries: f[0]!,
      tcpEstablished: f[1]!,
      tcpClosing: f[2]!,
      tcpOther: f[3]!,
      udp: f[4]!,
      icmp: f[5]!,
      otherProto: f[6]!,
      unreplied: f[7]!,
      snat: f[8]!,
    });
  }
  return out;
}

async function oracle(lab: NatLab): Promise<Map<string, OracleRow>> {
  return groupByHost(await conntrackEntries(lab.names.rtr));
}

describe.skipIf(skip)('per-host conntrack counts in a NAT router namespace', () => {
  let lab: NatLab;
  let probe: ConntrackHostsProbe | undefined;
  const flows: Flows[] = [];

  const closeFlows = async (): Promise<void> => {
    await Promise.all(flows.splice(0).map((f) => f.close()));
  };

  beforeAll(async () => {
    lab = await createNatLab({ lanHosts: 3 });
    // Per-netns timeouts: closed TCP flows and idle UDP flows leave within seconds.
    await shortenConntrackTimeouts(lab.names.rtr);
    await lab.exec('rtr', 'conntrack', ['-F']).catch(() => {});
  }, T);
  afterAll(async () => {
    try {
      await probe?.stop();
      await closeFlows();
    } finally {
      await lab?.destroy();
    }
  }, T);

  async function openPlan(): Promise<void> {
    flows.push(...(await openFlowPlan(lab, PLAN, { udpKeepaliveMs: 2_000, maxLifetimeMs: 110_000 })));
  }

  /** Waits until the probe's total equals `conntrack -C` and the kernel table holds `expected`. */
  async function settled(p: ConntrackHostsProbe, expected: number): Promise<ConntrackHostsReport> {
    return p.until(async (r) => r.totals[HOST_ENTRIES] === expected && !r.dirty && !r.dumping && (await conntrackCount(lab.names.rtr)) === expected, 20_000, 200);
  }

  it('ranks the hosts exactly as `conntrack -L` groups them, per protocol and state, from events and from a dump', async () => {
    probe = await startConntrackHostsProbe(lab.names.rtr, { resyncIntervalMs: 0 });
    expect(probe.first.dumps).toBe(1);
    expect(probe.first.status.backend).toBe('netlink');
    expect(probe.first.status.detail).toContain('NEW/UPDATE/DESTROY');
    await openPlan();
    const before = await settled(probe, 4200);
    // Quiet now (UDP keepalives change no field we count): events alone must be exact.
    const fromEvents = await probe.report();
    const truth = await oracle(lab);
    expect(probeRows(fromEvents)).toEqual(truth);
    const hosts = lab.hosts.map((h) => h.addr);
    expect(fromEvents.top.slice(0, 3)).toEqual(hosts);
    PLAN.forEach((p, i) => {
      expect(truth.get(hosts[i]!)).toEqual({
        entries: p.tcp + p.udp, tcpEstablished: p.tcp, tcpClosing: 0, tcpOther: 0, udp: p.udp, icmp: 0, otherProto: 0, unreplied: 0, snat: p.tcp + p.udp,
      });
    });
    expect(before.counts.newEntries).toBeGreaterThanOrEqual(4200);
    expect(before.counts.lost).toBe(0);
    // A full dump (the resync path, in place) agrees too, and finds nothing to correct.
    const dumped = await probe.dump();
    expect(dumped.error).toBeNull();
    expect(dumped.lastDump.entries).toBe(4200);
    expect(probeRows(dumped)).toEqual(await oracle(lab));
    expect(dumped.indexSize).toBe(4200);
  }, T);

  it('moves TCP flows to closing as they close and counts every host down as the flows expire', async () => {
    const p = probe!;
    await closeFlows();
    // The closes cross the router at once: FIN_WAIT … TIME_WAIT (2 s), then UDP idles out (5 s).
    const closing = await p.until((r) => (r.totals[2] ?? 0) > 0, 10_000, 50);
    expect(closing.totals[2]).toBeGreaterThan(0);
    await sleep(6_000);
    // The kernel reaps expired entries lazily (its gc worker, or a dump that meets them); a
    // listing makes it do so now, and each removal is a DESTROY event.
    await conntrackEntries(lab.names.rtr);
    const empty = await p.until((r) => r.size === 0, 30_000, 200);
    expect(empty.size).toBe(0);
    expect(empty.totals.every((v) => v === 0)).toBe(true);
    expect(empty.indexSize).toBe(0);
    expect(await conntrackCount(lab.names.rtr)).toBe(0);
    expect(empty.counts.destroys).toBeGreaterThanOrEqual(4200);
    await p.stop();
    probe = undefined;
  }, T);

  it('when events overflow a tiny receive buffer: ENOBUFS seen, resync done, exact again', async () => {
    // SO_RCVBUF 4 KiB (the kernel doubles it): a few events fit. The probe stalls its event loop
    // while the flows open, so thousands of NEW/UPDATE events meet a full queue; epoll then
    // reports EPOLLERR, the case that aborted the process with the `netlink` npm addon.
    probe = await startConntrackHostsProbe(lab.names.rtr, { eventRecvBufferSize: 4096, resyncIntervalMs: 0, minResyncGapMs: 200 });
    const stall = probe.stall(2_500);
    await openPlan();
    await stall;
    const after = await settled(probe, 4200);
    expect(after.counts.lost).toBeGreaterThan(0);
    expect(after.counts.resyncs).toBeGreaterThan(0);
    expect(after.warnings.some((w) => w.includes('conntrack events lost (ENOBUFS'))).toBe(true);
    expect(after.status.detail).toMatch(/event buffer 8 KiB/);
    const report = await probe.report();
    expect(probeRows(report)).toEqual(await oracle(lab));
    expect(report.top.slice(0, 3)).toEqual(lab.hosts.map((h) => h.addr));
  }, T);
});
