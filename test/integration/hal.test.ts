// The Linux HAL against the real kernel in a NAT router namespace, checked against
// independent oracles run in the same namespace: `conntrack -C` and `ip -s -j link`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINK_FIELDS } from '../../hal/index.ts';
import { requireLab, run } from '../lab/exec.ts';
import { openFlows } from '../lab/flows.ts';
import { createNatLab, type NatLab } from '../lab/natLab.ts';
import { conntrackCount, linkStats, type LinkStats } from '../lab/oracle.ts';
import { probeHal } from './probe.ts';

const skip = requireLab();
const T = 60_000;

/** Oracle fields in our LINK_* row order (hal/index.ts). */
const ORACLE_FIELDS: (keyof LinkStats)[] = [
  'rxPackets', 'txPackets', 'rxBytes', 'txBytes', 'rxErrors', 'txErrors', 'rxDropped', 'txDropped', 'multicast',
];

describe.skipIf(skip)('Linux HAL in a NAT router namespace', () => {
  let lab: NatLab;

  beforeAll(async () => {
    lab = await createNatLab({ lanHosts: 2 });
    await lab.exec('rtr', 'conntrack', ['-F']).catch(() => {});
  }, T);
  afterAll(() => lab?.destroy(), T);

  it('uses netlink for every source when it has CAP_NET_ADMIN', async () => {
    const probe = await probeHal(lab.names.rtr);
    expect(probe.backends.links.backend).toBe('netlink');
    expect(probe.backends.inventory.backend).toBe('netlink');
    expect(probe.backends.conntrack.backend).toBe('netlink');
    expect(probe.linkError).toBeNull();
    expect(probe.conntrackError).toBeNull();
  }, T);

  it('counts the conntrack table exactly as `conntrack -C` does, with TCP and UDP flows open', async () => {
    const flows = await openFlows(lab, { tcp: 120, udp: 80 });
    const more = await openFlows(lab, { tcp: 30, udp: 20, fromNs: 'lan1' });
    try {
      const before = await conntrackCount(lab.names.rtr);
      const probe = await probeHal(lab.names.rtr);
      const after = await conntrackCount(lab.names.rtr);
      expect(before).toBe(250);
      expect(after).toBe(before);
      expect(probe.conntrack.count).toBe(before);
      // nf_conntrack_max is one value for all namespaces; read it where it lives.
      const { stdout } = await run('cat', ['/proc/sys/net/netfilter/nf_conntrack_max']);
      expect(probe.conntrack.max).toBe(Number(stdout.trim()));
      expect(probe.conntrack.drop).toBe(0);
      expect(probe.conntrack.insertFailed).toBe(0);
    } finally {
      await flows.close();
      await more.close();
    }
  }, T);

  it('lists every link of the namespace with its kind, master, MTU, state and MAC', async () => {
    const probe = await probeHal(lab.names.rtr);
    const oracle = await linkStats(lab.names.rtr);
    expect(probe.links.map((l) => l.name).sort()).toEqual(oracle.map((l) => l.name).sort());
    const byName = new Map(probe.links.map((l) => [l.name, l]));
    const bridge = byName.get('br-lan')!;
    expect(bridge.kind).toBe('bridge');
    for (const port of lab.links.rtrLanPorts) {
      expect(byName.get(port)!.kind).toBe('veth');
      expect(byName.get(port)!.masterIndex).toBe(bridge.index);
      expect(byName.get(port)!.operState).toBe('up');
    }
    for (const link of oracle) {
      expect(byName.get(link.name)!.index).toBe(link.ifindex);
    }
  }, T);

  it('reads the same interface counters as `ip -s -j link`, one request for all links', async () => {
    // Traffic first, so the counters are not all zero; then a quiet read between two oracle reads.
    await lab.exec('lan', 'ping', ['-c', '5', '-i', '0.2', '-W', '1', lab.addrs.wan]);
    const before = await linkStats(lab.names.rtr);
    const probe = await probeHal(lab.names.rtr);
    const after = await linkStats(lab.names.rtr);
    const afterByName = new Map(after.map((l) => [l.name, l]));
    let nonZero = 0;
    for (const link of before) {
      const ours = probe.links.find((l) => l.name === link.name)!;
      expect(ours.read).toBe(true);
      expect(ours.counters).toHaveLength(LINK_FIELDS);
      ORACLE_FIELDS.forEach((field, i) => {
        const low = link[field] as number;
        const high = afterByName.get(link.name)![field] as number;
        expect(ours.counters[i], `${link.name} ${String(field)}`).toBeGreaterThanOrEqual(low);
        expect(ours.counters[i], `${link.name} ${String(field)}`).toBeLessThanOrEqual(high);
        if (low > 0) nonZero++;
      });
    }
    expect(nonZero).toBeGreaterThan(8);
  }, T);

  it('without CAP_NET_ADMIN falls back to procfs for conntrack and says why; links stay on netlink', async () => {
    const flows = await openFlows(lab, { tcp: 10, udp: 5 });
    try {
      const probe = await probeHal(lab.names.rtr, 65534);
      expect(probe.backends.conntrack.backend).toBe('procfs');
      expect(probe.backends.conntrack.detail).toContain('CAP_NET_ADMIN');
      expect(probe.backends.links.backend).toBe('netlink');
      expect(probe.conntrack.count).toBe(await conntrackCount(lab.names.rtr));
      expect(probe.links.length).toBeGreaterThan(2);
    } finally {
      await flows.close();
    }
  }, T);
});
