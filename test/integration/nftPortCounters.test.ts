// The nftables per-port counters against the real kernel, in a switch namespace whose bridge
// br0 has three host namespaces on ports with nft-hostile names (lan1, eth0.10, wlan0-1).
// The source runs in the switch namespace (nftPortProbe.ts); the oracle is tcpdump on each
// port over the same interval (capture started before the first read, stopped after the last).
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  PORT_ARP,
  PORT_BCAST,
  PORT_DHCP,
  PORT_FIELDS,
  PORT_MCAST,
  PORT_MDNS,
  PORT_ND,
  PORT_OWN_SOURCE,
  PORT_SSDP,
  type PortCounterPlan,
} from '../../hal/index.ts';
import { sendRawFrames, sendTraffic } from '../lab/bcastTraffic.ts';
import { createBridgeLab, type BridgeLab } from '../lab/bridgeLab.ts';
import { requireLab } from '../lab/exec.ts';
import { portRowFromPcap } from '../lab/portOracle.ts';
import { startCapture } from '../lab/tcpdump.ts';
import { startNftPortProbe, type NftPortProbe, type PortRead } from './nftPortProbeClient.ts';

const skip = requireLab(['tcpdump', 'python3']);
const T = 90_000;
const FIELD_NAMES = ['bcast', 'mcast', 'arp', 'nd', 'mdns', 'ssdp', 'dhcp', 'own'];

interface Listing {
  chains: string[];
  counters: Record<string, number>;
  /** iifname vmap elements: port name → chain (nft lists them in its own order). */
  dispatch: Record<string, string>;
}

describe.skipIf(skip)('nftables per-port counters on a real bridge', () => {
  let lab: BridgeLab;
  let ports: string[];
  let plan: PortCounterPlan;
  const probes: NftPortProbe[] = [];

  const start = async (asUser?: number): Promise<NftPortProbe> => {
    const probe = await startNftPortProbe(lab.sw, asUser);
    probes.push(probe);
    return probe;
  };

  /** `nft -j list table bridge lanwatch` in the switch namespace, or null when there is none. */
  const listTable = async (): Promise<Listing | null> => {
    const result = await lab.exec('sw', 'nft', ['-j', 'list', 'table', 'bridge', 'lanwatch'], { okCodes: [0, 1] });
    if (result.code !== 0) return null;
    const items = (JSON.parse(result.stdout) as { nftables: Record<string, { name?: string; packets?: number }>[] }).nftables;
    const chains = items.flatMap((item) => (item.chain?.name ? [item.chain.name] : []));
    const counters: Record<string, number> = {};
    for (const item of items) if (item.counter?.name) counters[item.counter.name] = item.counter.packets ?? NaN;
    const text = await lab.exec('sw', 'nft', ['list', 'chain', 'bridge', 'lanwatch', 'prerouting'], { okCodes: [0, 1] });
    const vmap = /iifname vmap \{([^}]*)\}/.exec(text.stdout)?.[1] ?? '';
    const dispatch = Object.fromEntries([...vmap.matchAll(/"([^"]+)" : jump (\S+?)(?:,|\s|$)/g)].map((m) => [m[1]!, m[2]!]));
    return { chains, counters, dispatch };
  };

  /** Captures every port, reads before and after `traffic`, returns ours and tcpdump's deltas. */
  const measure = async (probe: NftPortProbe, readPorts: string[], traffic: () => Promise<unknown>) => {
    const captures = await Promise.all(readPorts.map((port) => startCapture(lab.sw, port)));
    const stopAll = () => Promise.all(captures.map((capture) => capture.stop()));
    let before: PortRead;
    let after: PortRead;
    try {
      before = await probe.read(readPorts);
      await traffic();
      // Neighbour resolution gives up 10 ms after the last datagram; the rest is in flight.
      await sleep(300);
      after = await probe.read(readPorts);
    } catch (error) {
      await stopAll();
      throw error;
    }
    const pcaps = await stopAll();
    expect(before.error).toBeNull();
    expect(after.error).toBeNull();
    const result: Record<string, { ours: number[]; oracle: number[]; dropped: number }> = {};
    for (const [i, port] of readPorts.entries()) {
      const b = before.rows[port]!;
      const a = after.rows[port]!;
      result[port] = {
        ours: a.map((v, f) => (v === null || b[f] === null ? NaN : v - b[f]!)),
        oracle: await portRowFromPcap(pcaps[i]!.pcap, plan.bridgeMac),
        dropped: pcaps[i]!.dropped,
      };
    }
    return { result, before, after };
  };

  /** ±2 % (at least 1 frame) per field; prints both rows so the agreement is on record. */
  const expectAgreement = (result: Record<string, { ours: number[]; oracle: number[]; dropped: number }>) => {
    for (const [port, { ours, oracle, dropped }] of Object.entries(result)) {
      console.log(`[nft vs tcpdump] ${port.padEnd(8)} ${FIELD_NAMES.map((n, f) => `${n} ${ours[f]}/${oracle[f]}`).join('  ')}`);
      expect(dropped, `${port}: tcpdump dropped frames`).toBe(0);
      for (let field = 0; field < PORT_FIELDS; field++) {
        const want = oracle[field]!;
        expect(Math.abs(ours[field]! - want), `${port} ${FIELD_NAMES[field]}: ours ${ours[field]}, tcpdump ${want}`)
          .toBeLessThanOrEqual(Math.max(1, 0.02 * want));
      }
    }
  };

  beforeAll(async () => {
    lab = await createBridgeLab();
    ports = lab.hosts.map((h) => h.port);
    plan = { bridge: lab.bridge, bridgeMac: lab.bridgeMac, ports };
    await lab.waitQuiet();
  }, T);
  afterEach(async () => {
    await Promise.all(probes.splice(0).map((probe) => probe.exit()));
  });
  afterAll(() => lab?.destroy(), T);

  it('probes nftables at start and reports the backend', async () => {
    const probe = await start();
    expect(probe.status).toEqual({ backend: 'nftables', detail: 'table bridge lanwatch, one NFT_MSG_GETOBJ dump per tick' });
    // The probe only checked (nft -c): nothing installed.
    expect(await listTable()).toBeNull();
  }, T);

  it('replaces a leftover table from a crashed run, in one transaction', async () => {
    await lab.exec('sw', 'nft', ['-f', '-'], {
      input: 'table bridge lanwatch {\n\tcounter p0_bcast {}\n\tchain stale {\n\t\ttype filter hook prerouting priority 0; policy accept;\n\t\tcounter name "p0_bcast"\n\t}\n}\n',
    });
    await sendTraffic(lab.nsName('h0'), { kind: 'mdns4', count: 20, pps: 200, addr: lab.hosts[0]!.addr });
    expect((await listTable())!.counters.p0_bcast).toBeGreaterThan(0);

    const probe = await start();
    await probe.apply(plan);
    const listing = (await listTable())!;
    expect(listing.chains.sort()).toEqual(['port_0', 'port_1', 'port_2', 'prerouting']);
    expect(Object.keys(listing.counters)).toHaveLength(ports.length * PORT_FIELDS);
    expect(listing.counters.p0_bcast).toBe(0);
    expect(listing.dispatch).toEqual({ lan1: 'port_0', 'eth0.10': 'port_1', 'wlan0-1': 'port_2' });
    const read = await probe.read(ports);
    expect(read.error).toBeNull();
    expect(read.read).toEqual(ports);
    for (const port of ports) expect(read.rows[port]).toEqual(new Array(PORT_FIELDS).fill(0));

    // A crash (exit without close) leaves the table; the next agent replaces it again.
    await probe.exit();
    expect(await listTable()).not.toBeNull();
    const next = await start();
    await next.apply(plan);
    expect((await listTable())!.chains.sort()).toEqual(['port_0', 'port_1', 'port_2', 'prerouting']);
  }, T);

  it('counts per port, field by field, what tcpdump sees on that port (untagged and 802.1Q-tagged)', async () => {
    const probe = await start();
    await probe.apply(plan);
    const [h0, h1, h2] = lab.hosts as [typeof lab.hosts[0], typeof lab.hosts[0], typeof lab.hosts[0]];
    const { result } = await measure(probe, ports, () => Promise.all([
      // lan1: broadcast ARP, DHCP discovers, and unicast that must count nowhere.
      sendTraffic(h0.ns, { kind: 'arp', count: 300, pps: 300, addr: h0.addr }),
      sendTraffic(h0.ns, { kind: 'dhcp', count: 20, pps: 100, addr: h0.addr }),
      sendTraffic(h0.ns, { kind: 'unicast', count: 200, pps: 400, addr: h0.addr, peer: lab.bridgeAddr }),
      // eth0.10: an mDNS burst over IPv4 and IPv6, and tagged ARP (VLAN 10).
      sendTraffic(h1.ns, { kind: 'mdns4', count: 400, pps: 400, addr: h1.addr }),
      sendTraffic(h1.ns, { kind: 'mdns6', count: 400, pps: 400, ifname: 'eth0' }),
      sendRawFrames(h1.ns, { kind: 'vlan-arp', ifname: 'eth0', src: h1.mac, vid: 10, count: 50, pps: 200 }),
      // wlan0-1: neighbour solicitations, SSDP, tagged mDNS.
      sendTraffic(h2.ns, { kind: 'nd', count: 150, pps: 300, ifname: 'eth0' }),
      sendTraffic(h2.ns, { kind: 'ssdp', count: 200, pps: 400, addr: h2.addr }),
      sendRawFrames(h2.ns, { kind: 'vlan-mdns4', ifname: 'eth0', src: h2.mac, vid: 10, count: 100, pps: 200 }),
    ]));
    expectAgreement(result);

    // And the traffic is what the test meant to send, so the agreement is not vacuous.
    const lan1 = result.lan1!.ours;
    const eth = result['eth0.10']!.ours;
    const wlan = result['wlan0-1']!.ours;
    expect(lan1[PORT_ARP]).toBeGreaterThanOrEqual(100);
    expect(lan1[PORT_DHCP]).toBe(20);
    expect(lan1[PORT_BCAST]).toBe(lan1[PORT_ARP]! + lan1[PORT_DHCP]!); // the 200 unicast frames: not counted
    expect(lan1[PORT_MCAST]).toBe(0);
    expect(eth[PORT_MDNS]).toBe(800);
    expect(eth[PORT_MCAST]).toBe(800);
    expect(eth[PORT_ARP]).toBe(50); // tagged, counted by the inner protocol
    expect(wlan[PORT_ND]).toBeGreaterThanOrEqual(100);
    expect(wlan[PORT_SSDP]).toBe(200);
    expect(wlan[PORT_MDNS]).toBe(100); // tagged
    for (const port of ports) expect(result[port]!.ours[PORT_OWN_SOURCE]).toBe(0);
  }, T);

  it("counts frames carrying the bridge's own MAC as source, as tcpdump does", async () => {
    const probe = await start();
    await probe.apply(plan);
    const addr = await lab.addOwnMacSender(2);
    await lab.waitQuiet(500);
    const { result } = await measure(probe, ports, () => sendTraffic(lab.nsName('h2'), { kind: 'arp', count: 60, pps: 200, addr }));
    expectAgreement(result);
    expect(result['wlan0-1']!.ours[PORT_OWN_SOURCE]).toBeGreaterThanOrEqual(30);
    expect(result['wlan0-1']!.ours[PORT_OWN_SOURCE]).toBe(result['wlan0-1']!.ours[PORT_ARP]);
    expect(result.lan1!.ours[PORT_OWN_SOURCE]).toBe(0);
  }, T);

  it('re-plans on a second apply with other ports', async () => {
    const probe = await start();
    await probe.apply(plan);
    await probe.apply({ ...plan, ports: ['wlan0-1', 'lan1'] });
    const listing = (await listTable())!;
    expect(listing.dispatch).toEqual({ 'wlan0-1': 'port_0', lan1: 'port_1' });
    expect(listing.chains.sort()).toEqual(['port_0', 'port_1', 'prerouting']);
    expect(Object.keys(listing.counters)).toHaveLength(2 * PORT_FIELDS);

    const { result, after } = await measure(probe, ports, () => Promise.all([
      sendTraffic(lab.nsName('h2'), { kind: 'ssdp', count: 50, pps: 200, addr: lab.hosts[2]!.addr }),
      sendTraffic(lab.nsName('h1'), { kind: 'mdns4', count: 40, pps: 200, addr: lab.hosts[1]!.addr }),
    ]));
    expect(after.read.sort()).toEqual(['lan1', 'wlan0-1']);
    expect(result['wlan0-1']!.ours[PORT_SSDP]).toBe(50);
    expect(result['wlan0-1']!.oracle[PORT_SSDP]).toBe(50);
    expect(result.lan1!.ours[PORT_SSDP]).toBe(0);
    // eth0.10 left the plan: its row is not written (the sink's zeros stay), though it saw 40 frames.
    expect(after.rows['eth0.10']).toEqual(new Array(PORT_FIELDS).fill(0));
    expect(result['eth0.10']!.oracle[PORT_MDNS]).toBe(40);
  }, T);

  it('close() removes the table; reads then fail', async () => {
    const probe = await start();
    await probe.apply(plan);
    expect(await listTable()).not.toBeNull();
    await probe.close();
    expect(await listTable()).toBeNull();
    const read = await probe.read(ports);
    expect(read.code).toBe('ENOPLAN');
  }, T);

  it('notices a table deleted behind its back, and recovers with apply()', async () => {
    const probe = await start();
    await probe.apply(plan);
    await lab.exec('sw', 'nft', ['delete', 'table', 'bridge', 'lanwatch']);
    const read = await probe.read(ports);
    expect(read.code).toBe('ENOENT');
    expect(read.read).toEqual([]);
    await probe.apply(plan);
    expect((await probe.read(ports)).error).toBeNull();
  }, T);

  it('without CAP_NET_ADMIN: no source, and the status says why', async () => {
    const probe = await start(65534);
    expect(probe.status.backend).toBe('none');
    expect(probe.status.detail).toContain('CAP_NET_ADMIN');
    expect(probe.status.detail).toContain('Operation not permitted');
  }, T);
});
