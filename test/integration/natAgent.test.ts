// The NAT intelligence of the whole agent on a real kernel (issue 5): the agent, a Mosquitto and
// an MQTT recorder run in the router namespace of a NAT lab (natAgentLab.ts); three LAN hosts
// open 3,000 / 1,000 / 200 flows through its masquerade. What is checked is what people see:
// `agent status --json` (over its socket) and the MQTT messages; the oracle is `conntrack -L` /
// `-S` in the router namespace. Conntrack timeouts are shortened there (per-netns sysctls) so
// closed flows leave within the test; alarms hold 1 s instead of 60 s so they clear within it too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../broker/until.ts';
import { requireMosquitto } from '../broker/mosquitto.ts';
import { isAlarm, LAB_TOPIC_ROOT } from '../lab/agentLab.ts';
import { sendTraffic } from '../lab/bcastTraffic.ts';
import { fillableLimit, lowerConntrackMax } from '../lab/conntrackMax.ts';
import { requireLab, requirePrerequisite } from '../lab/exec.ts';
import { THREE_HOST_PLAN } from '../lab/flows.ts';
import { startNatAgentLab, type NatAgentLab } from '../lab/natAgentLab.ts';
import { rankingsWhenAgreeing, sumOf } from '../lab/natAgentOracle.ts';
import { shortenConntrackTimeouts } from '../lab/natLab.ts';
import { conntrackCount, conntrackRefused } from '../lab/oracle.ts';

const skip = requireLab(['conntrack']) ?? requireMosquitto();
const T = 60_000;
const TOTAL = 4200;
/** The flood sends the limit + 1,000 datagrams; bcastTraffic.mjs sends at most 20,000. */
const MOST_FILLABLE = 19_000;

interface UpstreamAttributes {
  budget: number;
  used: number | null;
  basis: string;
  top_hosts: { ip: string; entries: number }[];
}

describe.skipIf(skip)('NAT table intelligence, agent in a NAT router lab, real Mosquitto', () => {
  let nat: NatAgentLab;

  beforeAll(async () => {
    nat = await startNatAgentLab({ lanHosts: 3 }, {
      board: 'pi-router',
      interfaces: { wan: 'wan', bridge: 'br-lan' },
      nat: { upstreamBudget: 2000 },
      alarms: { natUpstream: { holdMs: 1000 }, natFull: { holdMs: 1000 }, natTable: { holdMs: 1000 } },
    });
  }, T);

  afterAll(() => nat?.destroy(), T);

  it('ranks the LAN hosts as `conntrack -L` groups them and raises nat_upstream naming the 3,000-flow host first', async () => {
    const { lab, stack } = nat;
    const hosts = lab.hosts.map((h) => h.addr);
    const attributesSince = (after: number): UpstreamAttributes[] =>
      stack.messages
        .filter((m) => m.topic === `${LAB_TOPIC_ROOT}/alarm/nat_upstream/attributes` && m.at >= after)
        .map((m) => JSON.parse(m.payload) as UpstreamAttributes);
    // In two steps, as a home table grows: 2,000 flows (lan1 holding most) raise the alarm;
    // then lan0 opens 2,200 more and becomes the host that holds most while it stands.
    const from = Date.now();
    const [lan0, lan1, lan2] = THREE_HOST_PLAN;
    const first = { ...lan0!, tcp: 100, udp: 700 };
    await nat.open([first, lan1!, lan2!]);
    await stack.waitFor(isAlarm('nat_upstream', 'ON', from), 10_000, 'nat_upstream ON');
    // Attributes are built on a change (raise, escalation, a new leader): their counts are as of
    // then, the order of the leading hosts is as of now.
    const leadersNow = (order: string[]) => () => {
      const last = attributesSince(from).at(-1);
      return last !== undefined && last.top_hosts.map((h) => h.ip).join() === order.join() ? last : undefined;
    };
    await until('nat_upstream attributes naming lan1, lan0, lan2', leadersNow([hosts[1]!, hosts[0]!, hosts[2]!]), 10_000);

    await nat.open([{ ...lan0!, tcp: lan0!.tcp - first.tcp, udp: lan0!.udp - first.udp }]);
    // Quiet now (UDP keepalives change no field counted): the ranking must be exact.
    const { agent, kernel, snapshot } = await rankingsWhenAgreeing(
      stack.snapshot,
      lab,
      (k, s) => sumOf(k, 'entries') === TOTAL && s.conntrack.upstream?.used === sumOf(k, 'snat'),
    );
    expect(agent).toEqual(kernel);
    expect(kernel.map((r) => [r.ip, r.entries])).toEqual(THREE_HOST_PLAN.map((p, i) => [hosts[i], p.tcp + p.udp]));
    expect(snapshot.conntrack.upstream).toMatchObject({ budget: 2000, used: TOTAL, pct: 210, basis: 'router' });

    // The alarm stood throughout; its attributes follow the leaders (at most one update a
    // second), so they name the hosts as they are now, not as they were at the raise.
    const now = await until('nat_upstream attributes naming lan0, lan1, lan2', leadersNow([hosts[0]!, hosts[1]!, hosts[2]!]), 10_000);
    expect(now).toMatchObject({ budget: 2000, basis: 'router' });
    expect(now.top_hosts[0]!.entries).toBeGreaterThan(1000);
    const alarm = (await stack.snapshot()).alarms.find((a) => a.name === 'nat_upstream')!;
    expect(alarm).toMatchObject({ active: true, severity: 'critical', raisedCount: 1 });
    expect(alarm.reason).toContain(`most from ${hosts[0]} (`);
  }, T);

  it('counts every host down as the flows end and expire, and clears nat_upstream', async () => {
    const { stack } = nat;
    const closedAt = Date.now();
    const { agent, kernel, snapshot } = await nat.closeAndExpire();
    expect(kernel).toEqual([]);
    expect(agent).toEqual([]);
    expect(snapshot.conntrack.upstream).toMatchObject({ used: 0, pct: 0 });
    await stack.waitFor(isAlarm('nat_upstream', 'OFF', closedAt), 10_000, 'nat_upstream OFF');
    const alarm = (await stack.snapshot()).alarms.find((a) => a.name === 'nat_upstream')!;
    expect(alarm).toMatchObject({ active: false, raisedCount: 1 });
  }, T);

  it('raises nat_full once the full table makes the kernel refuse entries', async (ctx) => {
    const { lab, stack } = nat;
    // Other lab tests hold up to ~4,400 entries in their own namespaces at once: the limit stays
    // above that, and above any fuller table (a bench running), or the test does not run.
    const { limit, reason } = await fillableLimit(6_000, MOST_FILLABLE, lab.names.rtr);
    if (requirePrerequisite(reason, 'nf_conntrack_max', 'the table-full test') !== null) ctx.skip(reason!);
    // UDP entries live 30 s again, so the table stays full while the flood runs.
    await shortenConntrackTimeouts(lab.names.rtr, 30);
    const refusedBefore = await conntrackRefused(lab.names.rtr);
    const from = Date.now();
    const lowered = lowerConntrackMax(limit);
    let fullCount: number;
    try {
      // One unreplied UDP entry per destination port, 1,000 more than fit.
      const lan0 = lab.hosts[0]!;
      await sendTraffic(lan0.ns, { kind: 'unicast', count: limit + 1000, pps: 5000, addr: lan0.addr, peer: lab.addrs.wan, ports: limit + 1000 });
      await stack.waitFor(isAlarm('nat_full', 'ON', from), 10_000, 'nat_full ON');
      fullCount = await conntrackCount(lab.names.rtr);
    } finally {
      lowered.restore();
    }
    expect(fullCount).toBeGreaterThanOrEqual(limit - 1);
    expect(fullCount).toBeLessThanOrEqual(limit + 1);
    // A full table refuses by evicting an unreplied entry (early_drop) or, when none is near,
    // by dropping the packet (drop): both are refusals, in the kernel's counters and the agent's.
    const refused = await conntrackRefused(lab.names.rtr);
    expect(refused).toBeGreaterThan(refusedBefore);
    const snapshot = await until('the agent counting the refusals `conntrack -S` counts', async () => {
      const s = await stack.snapshot();
      const c = s.conntrack;
      return c.drop! + c.earlyDrop! + c.insertFailed! === refused ? s : undefined;
    }, 5_000);
    const alarm = snapshot.alarms.find((a) => a.name === 'nat_full')!;
    expect(alarm.active).toBe(true);
    expect(alarm.attributes.refused_10s).toBeGreaterThan(0);
    expect(alarm.reason).toMatch(/the kernel refused [\d,]+ new connections in 10 s/);

    // Once nothing is refused for 10 s, it clears. The flood's entries go (they would stay 30 s).
    const quietFrom = Date.now();
    await lab.exec('rtr', 'conntrack', ['-F']);
    await stack.waitFor(isAlarm('nat_full', 'OFF', quietFrom), 20_000, 'nat_full OFF');
  }, T);
});

