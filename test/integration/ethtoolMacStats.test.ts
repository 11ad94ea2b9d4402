// The ethtool eth-mac source against the real kernel, in a namespace of its own (lw<id>-sw:
// bridge br0 with port lan1, a veth whose peer lan1p stays in the namespace). The source runs
// inside the namespace (ethtoolMacProbe.ts), as the agent would.
//
// What this can and cannot show on the dev VM (6.18): the family resolves, STATS_GET dumps,
// and a driver without MAC counters (veth, bridge, lo; virtio_net too, seen in the VM's own
// namespace) answers with an empty eth-mac group, so those ports are unsupported with a
// reason. Real counts need a driver with get_eth_mac_stats; netdevsim would be the candidate,
// but it implements none (drivers/net/netdevsim/ethtool.c has pause and FEC stats only) and
// this kernel is built without it (CONFIG_NETDEVSIM unset, no modprobe), so counts are covered
// by the unit tests' hand-built replies.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PORT_FIELDS, type PortCounterPlan } from '../../hal/index.ts';
import { claimRunId, labNamespaces } from '../lab/cleanup.ts';
import { inNs, requireLab } from '../lab/exec.ts';
import { startEthMacProbe, type EthMacProbe } from './ethtoolMacProbeClient.ts';

const skip = requireLab();
const T = 60_000;
const EMPTY_GROUP = 'the driver has no IEEE 802.3 MAC counters (empty eth-mac group: no get_eth_mac_stats)';

describe.skipIf(skip)('ethtool eth-mac counters on the real kernel', () => {
  let ns: string;
  let lab: ReturnType<typeof labNamespaces> | undefined;
  const plan: PortCounterPlan = { bridge: 'br0', bridgeMac: '02:77:00:00:00:01', ports: ['lan1', 'nosuch0'] };
  const probes: EthMacProbe[] = [];

  const start = async (mode: 'ethtool' | 'layered' = 'ethtool', asUser?: number): Promise<EthMacProbe> => {
    const probe = await startEthMacProbe(ns, mode, asUser);
    probes.push(probe);
    return probe;
  };

  beforeAll(async () => {
    const id = await claimRunId((runId) => [`lw${runId}-sw`]);
    ns = `lw${id}-sw`;
    lab = labNamespaces([ns]);
    await lab.create();
    const ip = (...args: string[]) => inNs(ns, 'ip', args);
    await ip('link', 'set', 'lo', 'up');
    await ip('link', 'add', 'br0', 'address', plan.bridgeMac!, 'type', 'bridge', 'stp_state', '0');
    await ip('link', 'add', 'lan1', 'type', 'veth', 'peer', 'name', 'lan1p');
    await ip('link', 'set', 'lan1', 'master', 'br0');
    for (const link of ['br0', 'lan1', 'lan1p']) await ip('link', 'set', link, 'up');
  }, T);
  afterEach(async () => {
    await Promise.all(probes.splice(0).map((probe) => probe.exit()));
  });
  afterAll(() => lab?.destroy(), T);

  it('resolves the ethtool family, whose STATS_GET can dump', async () => {
    const probe = await start();
    expect(probe.status).toEqual({ backend: 'ethtool', detail: 'ethtool netlink STATS_GET eth-mac (hardware MIB), one dump per tick' });
    expect(probe.family!.id).toBeGreaterThan(16); // dynamically assigned, above GENL_ID_CTRL
    expect(probe.family!.statsGetFlags! & 0x6).toBe(0x6); // GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP
  }, T);

  it('dumps every netdev of the namespace; veth, bridge and lo answer with an empty eth-mac group', async () => {
    const probe = await start();
    const devices = await probe.dump();
    expect(devices.map((d) => d.name).sort()).toEqual(['br0', 'lan1', 'lan1p', 'lo']);
    for (const device of devices) {
      expect(device, device.name).toMatchObject({ hasGroup: true, multicast: null, broadcast: null });
      expect(device.ifindex).toBeGreaterThan(0);
    }
  }, T);

  it('reports the veth as unsupported because its group is empty, and a missing port by ENODEV', async () => {
    const probe = await start();
    const applied = await probe.apply(plan);
    expect(applied.sources).toEqual({ lan1: null, nosuch0: null });
    expect(applied.unsupported).toEqual({
      lan1: EMPTY_GROUP,
      nosuch0: 'no such interface in this network namespace (kernel answered ENODEV)',
    });
    expect(applied.status.detail).toBe(`eth-mac on no port; not on lan1: ${EMPTY_GROUP}; nosuch0: no such interface in this network namespace (kernel answered ENODEV)`);
    expect(await probe.probe(['lan1', 'br0', 'lo'])).toEqual([]);
    // Nothing to count: the read completes at once, marks nothing and leaves the rows alone.
    const read = await probe.read(['lan1']);
    expect(read).toMatchObject({ error: null, code: null, rows: { lan1: new Array(PORT_FIELDS).fill(0) }, read: [] });
    await probe.close();
    expect((await probe.read(['lan1'])).code).toBe('ENOPLAN');
  }, T);

  it('needs no privileges', async () => {
    const probe = await start('ethtool', 65534);
    expect(probe.status.backend).toBe('ethtool');
    const applied = await probe.apply(plan);
    expect(applied.unsupported.lan1).toBe(EMPTY_GROUP);
  }, T);

  it('layered over nftables: the veth port stays on nftables, and the table-deleted ENOENT comes through', async () => {
    const probe = await start('layered');
    expect(probe.status.backend).toBe('nftables');
    const applied = await probe.apply({ ...plan, ports: ['lan1'] });
    expect(applied.sources).toEqual({ lan1: 'nftables' });
    expect(applied.status.detail).toContain('ethtool: eth-mac on no port');
    const read = await probe.read(['lan1']);
    expect(read.error).toBeNull();
    expect(read.read).toEqual(['lan1']);
    expect(read.rows.lan1!.every((v) => v !== null)).toBe(true); // all 8 fields from nftables
    await inNs(ns, 'nft', ['delete', 'table', 'bridge', 'lanwatch']);
    const gone = await probe.read(['lan1']);
    expect(gone.code).toBe('ENOENT');
    expect(gone.read).toEqual([]);
    await probe.apply({ ...plan, ports: ['lan1'] });
    expect((await probe.read(['lan1'])).error).toBeNull();
    await probe.close();
  }, T);
});
