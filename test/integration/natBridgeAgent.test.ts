// The upstream estimate of the whole agent on a transparent bridge (issue 5): a Pi between the
// ISP router and the LAN does no NAT, so the table that overflows is the ISP router's, and every
// flow the bridge forwards is one session there. The agent (board pi-bridge, whose default budget
// is 2,000), a Mosquitto and an MQTT recorder run in the bridge namespace of a bridge-mode lab
// (natLab.ts); conntrack there tracks the bridged flows (bridgeConntrack.ts says how). The oracle
// is `conntrack -L` in the bridge namespace, without the bridge's own entries (its MQTT over
// loopback is tracked too, as a Pi's own connections would be).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireMosquitto } from '../broker/mosquitto.ts';
import { isAlarm } from '../lab/agentLab.ts';
import { bridgeConntrackSkipReason } from '../lab/bridgeConntrack.ts';
import { requireLab, requirePrerequisite } from '../lab/exec.ts';
import type { HostFlowPlan } from '../lab/flows.ts';
import { startNatAgentLab, type NatAgentLab } from '../lab/natAgentLab.ts';
import { rankingsWhenAgreeing, sumOf } from '../lab/natAgentOracle.ts';
import { conntrackEntries } from '../lab/oracle.ts';

const skip = requireLab(['conntrack']) ?? requireMosquitto() ?? requirePrerequisite(bridgeConntrackSkipReason(), 'bridge conntrack', 'transparent-bridge tests');
const T = 60_000;
/** 1,800 forwarded flows: 90 % of the pi-bridge profile's 2,000, a warning. */
const PLAN: readonly HostFlowPlan[] = [
  { key: 'lan0', tcp: 200, udp: 1000 },
  { key: 'lan1', tcp: 100, udp: 500 },
];
const FORWARDED = 1800;

describe.skipIf(skip)('upstream NAT estimate, agent on a transparent bridge, real Mosquitto', () => {
  let nat: NatAgentLab;

  beforeAll(async () => {
    // No nat.upstreamBudget: the pi-bridge profile's 2,000 applies.
    nat = await startNatAgentLab({ lanHosts: 2, mode: 'bridge' }, {
      board: 'pi-bridge',
      interfaces: { bridge: 'br-lan' },
      alarms: { natUpstream: { holdMs: 1000 } },
    });
  }, T);

  afterAll(() => nat?.destroy(), T);

  it('counts nothing against the upstream budget while nothing is forwarded, its own connections aside', async () => {
    const { lab, stack } = nat;
    expect(stack.logs().some((l) => l.msg.includes('assuming the device upstream tracks at most 2000 sessions (the pi-bridge profile'))).toBe(true);
    const own = (await conntrackEntries(lab.names.rtr)).filter((e) => e.orig.src === '127.0.0.1');
    // The agent's and the recorder's connections to the broker: the bridge's own, not forwarded.
    expect(own.length).toBeGreaterThanOrEqual(2);
    const { agent, kernel, snapshot } = await rankingsWhenAgreeing(stack.snapshot, lab, (k, s) => k.length === 0 && s.conntrack.upstream?.used === 0, 10_000);
    expect(kernel).toEqual([]);
    expect(agent).toEqual([]);
    expect(snapshot.conntrack.upstream).toMatchObject({ budget: 2000, used: 0, pct: 0, basis: 'bridge' });
  }, T);

  it('follows the forwarded flows up, and raises nat_upstream naming the host that holds most', async () => {
    const { lab, stack } = nat;
    const from = Date.now();
    await nat.open(PLAN);
    const { agent, kernel, snapshot } = await rankingsWhenAgreeing(
      stack.snapshot,
      lab,
      (k, s) => sumOf(k, 'entries') === FORWARDED && s.conntrack.upstream?.used === FORWARDED,
    );
    expect(agent).toEqual(kernel);
    const hosts = lab.hosts.map((h) => h.addr);
    expect(kernel.map((r) => [r.ip, r.entries, r.snat])).toEqual([[hosts[0], 1200, 0], [hosts[1], 600, 0]]);
    expect(snapshot.conntrack.upstream).toMatchObject({ budget: 2000, used: FORWARDED, pct: 90, basis: 'bridge' });

    await stack.waitFor(isAlarm('nat_upstream', 'ON', from), 10_000, 'nat_upstream ON');
    const alarm = (await stack.snapshot()).alarms.find((a) => a.name === 'nat_upstream')!;
    expect(alarm).toMatchObject({ active: true, severity: 'warning' });
    expect(alarm.attributes).toMatchObject({ budget: 2000, basis: 'bridge' });
    expect((alarm.attributes.top_hosts as { ip: string }[]).map((h) => h.ip)).toEqual(hosts);
  }, T);

  it('follows them down as they end and expire, and clears nat_upstream', async () => {
    const closedAt = Date.now();
    const { agent, kernel, snapshot } = await nat.closeAndExpire();
    expect(kernel).toEqual([]);
    expect(agent).toEqual([]);
    expect(snapshot.conntrack.upstream).toMatchObject({ used: 0, pct: 0, basis: 'bridge' });
    await nat.stack.waitFor(isAlarm('nat_upstream', 'OFF', closedAt), 10_000, 'nat_upstream OFF');
  }, T);
});
