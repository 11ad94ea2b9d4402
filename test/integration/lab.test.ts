// Tests of the namespace lab itself (test/lab/). Needs root; skipped with a
// printed reason otherwise, but fails under CI=true (see requireLab()).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync } from 'node:fs';
import { requireLab, run } from '../lab/exec.ts';
import { createNatLab, type NatLab } from '../lab/natLab.ts';
import { openFlows } from '../lab/flows.ts';
import { conntrackCount, conntrackEntries, linkStats } from '../lab/oracle.ts';
import { removeAndReAddLink } from '../lab/linkCycle.ts';
import { PID_DIR, listNamespaces, sweepStaleLabs } from '../lab/cleanup.ts';
import { runCrashProbe } from '../lab/crashRun.ts';

const skip = requireLab();
const T = 30_000;

async function rootLinks(): Promise<string[]> {
  const { stdout } = await run('ip', ['-o', 'link', 'show']);
  return stdout.split('\n').map((l) => l.split(':')[1]?.trim() ?? '').filter(Boolean).sort();
}

async function rootVeths(): Promise<string> {
  return (await run('ip', ['-o', 'link', 'show', 'type', 'veth'])).stdout;
}

async function labNamespacesOf(runId: string): Promise<string[]> {
  return (await listNamespaces()).filter((ns) => ns.startsWith(`lw${runId}-`));
}

describe.skipIf(skip)('natLab: one LAN host', () => {
  let lab: NatLab;
  let linksBefore: string[];

  beforeAll(async () => {
    linksBefore = await rootLinks();
    lab = await createNatLab();
  }, T);
  afterAll(() => lab?.destroy(), T);

  it('names everything per run and creates nothing in the root namespace', async () => {
    expect(lab.runId).toMatch(/^[0-9a-f]{4}$/);
    expect(lab.names).toEqual({ rtr: `lw${lab.runId}-rtr`, lan: `lw${lab.runId}-lan0`, wan: `lw${lab.runId}-wan` });
    expect(await labNamespacesOf(lab.runId)).toEqual(expect.arrayContaining(Object.values(lab.names)));
    for (const ns of Object.values(lab.names)) expect(existsSync(`${PID_DIR}/${ns}.pid`)).toBe(true);
    expect(await rootLinks()).toEqual(linksBefore);
    expect(await rootVeths()).toBe('');
    for (const l of Object.values(lab.links).flat()) expect(l.length).toBeLessThanOrEqual(15);
  });

  it('configures rtr as a NAT router with a bridged LAN', async () => {
    const addrs = JSON.parse((await lab.exec('rtr', 'ip', ['-j', '-4', 'addr', 'show'])).stdout) as Array<{
      ifname: string;
      addr_info: Array<{ local: string; prefixlen: number }>;
    }>;
    const addrOf = (ifname: string): string[] => addrs.find((a) => a.ifname === ifname)?.addr_info.map((i) => `${i.local}/${i.prefixlen}`) ?? [];
    expect(addrOf('br-lan')).toEqual(['10.77.0.1/24']);
    expect(addrOf('wan')).toEqual(['192.0.2.2/24']);
    expect((await lab.exec('rtr', 'sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('1');
    expect((await lab.exec('rtr', 'nft', ['list', 'table', 'ip', lab.nftTable])).stdout).toContain('oifname "wan" masquerade');
    expect((await lab.exec('lan', 'ip', ['route', 'show', 'default'])).stdout).toContain('via 10.77.0.1');
    // The "internet" knows only its connected net: nothing can leak out of the lab.
    expect((await lab.exec('wan', 'ip', ['route', 'show', 'default'])).stdout.trim()).toBe('');
    const stats = await linkStats(lab.names.rtr);
    expect(stats.find((s) => s.name === 'lan0')?.master).toBe('br-lan');
    expect(stats.filter((s) => s.name !== 'lo').every((s) => s.operstate === 'UP')).toBe(true);
  });

  it('LAN reaches WAN through the masquerade', async () => {
    const ping = await lab.exec('lan', 'ping', ['-c', '1', '-W', '1', lab.addrs.wan]);
    expect(ping.stdout).toContain('1 received');
    const icmp = (await conntrackEntries(lab.names.rtr)).filter((e) => e.proto === 'icmp');
    expect(icmp).toHaveLength(1);
    expect(icmp[0]?.orig).toMatchObject({ src: lab.addrs.lan, dst: lab.addrs.wan });
    // Reply addressed to rtr's WAN address = the source was NATed.
    expect(icmp[0]?.reply).toMatchObject({ src: lab.addrs.wan, dst: lab.addrs.rtrWan });
  });

  it('openFlows yields exactly tcp+udp conntrack entries in rtr', async () => {
    // The ping above left an ICMP entry (30 s timeout); start from an empty table.
    await lab.exec('rtr', 'conntrack', ['-F']);
    // Quiet lab: IPv4 only, no local services, bridged LAN<->LAN not tracked.
    expect(await conntrackCount(lab.names.rtr)).toBe(0);
    const flows = await openFlows(lab, { tcp: 25, udp: 15 });
    try {
      expect(flows.tcpSourcePorts).toHaveLength(25);
      expect(new Set(flows.udpSourcePorts).size).toBe(15);
      expect(await conntrackCount(lab.names.rtr)).toBe(40);
      const entries = await conntrackEntries(lab.names.rtr);
      const tcp = entries.filter((e) => e.proto === 'tcp');
      const udp = entries.filter((e) => e.proto === 'udp');
      expect(tcp.map((e) => e.orig.sport).sort()).toEqual([...flows.tcpSourcePorts].sort());
      expect(udp.map((e) => e.orig.sport).sort()).toEqual([...flows.udpSourcePorts].sort());
      expect(tcp.every((e) => e.state === 'ESTABLISHED' && e.orig.dport === flows.serverPorts.tcp)).toBe(true);
      expect(entries.every((e) => e.reply.dst === lab.addrs.rtrWan)).toBe(true);
    } finally {
      await flows.close();
    }
    // Entries outlive the sockets: TCP sits in TIME_WAIT (120 s), UDP until its 30 s timeout.
    expect(await conntrackCount(lab.names.rtr)).toBe(40);
  }, T);

  it('linkStats agrees with /sys counters', async () => {
    const sys = async (): Promise<number[]> => {
      const dir = '/sys/class/net/wan';
      const files = ['statistics/tx_packets', 'statistics/rx_bytes', 'ifindex'].map((f) => `${dir}/${f}`);
      return (await lab.exec('rtr', 'cat', files)).stdout.trim().split('\n').map(Number);
    };
    // Bracketed by two sysfs reads: equal in a quiet lab, yet not flaky if an ARP probe slips in.
    const before = await sys();
    const stats = await linkStats(lab.names.rtr);
    const after = await sys();
    expect(stats.map((s) => s.name)).toEqual(expect.arrayContaining(['lo', 'br-lan', 'lan0', 'wan']));
    const wan = stats.find((s) => s.name === 'wan');
    expect(wan?.txPackets).toBeGreaterThan(0);
    expect(wan?.txPackets).toBeGreaterThanOrEqual(before[0] ?? NaN);
    expect(wan?.txPackets).toBeLessThanOrEqual(after[0] ?? NaN);
    expect(wan?.rxBytes).toBeGreaterThanOrEqual(before[1] ?? NaN);
    expect(wan?.rxBytes).toBeLessThanOrEqual(after[1] ?? NaN);
    expect(wan?.ifindex).toBe(before[2]);
  });

  it('removeAndReAddLink re-creates a port with a new ifindex and working config', async () => {
    const wan = await removeAndReAddLink(lab, 'wan');
    expect(wan.newIfindex).not.toBe(wan.oldIfindex);
    const lan = await removeAndReAddLink(lab, 'lan0', { downMs: 100 });
    expect(lan.newIfindex).not.toBe(lan.oldIfindex);
    const lan0 = (await linkStats(lab.names.rtr)).find((s) => s.name === 'lan0');
    expect(lan0).toMatchObject({ master: 'br-lan', operstate: 'UP', rxPackets: 0, txPackets: 0 });
    expect((await lab.exec('lan', 'ping', ['-c', '1', '-W', '1', lab.addrs.wan])).stdout).toContain('1 received');
  }, T);
});

describe.skipIf(skip)('natLab: several LAN hosts', () => {
  let lab: NatLab;
  beforeAll(async () => {
    lab = await createNatLab({ lanHosts: 3 });
  }, T);
  afterAll(() => lab?.destroy(), T);

  it('puts every host on br-lan with its own address', async () => {
    expect(lab.hosts.map((h) => [h.ns, h.addr, h.rtrPort])).toEqual([0, 1, 2].map((k) => [`lw${lab.runId}-lan${k}`, `10.77.0.${k + 2}`, `lan${k}`]));
    expect(lab.nsName('lan')).toBe(lab.nsName('lan0'));
    const ports = (await linkStats(lab.names.rtr)).filter((s) => s.master === 'br-lan').map((s) => s.name);
    expect(ports.sort()).toEqual(['lan0', 'lan1', 'lan2']);
    expect((await lab.exec('lan2', 'ping', ['-c', '1', '-W', '1', lab.addrs.wan])).stdout).toContain('1 received');
  });

  it('opens flows from any host; LAN<->LAN traffic is not tracked', async () => {
    await lab.exec('rtr', 'conntrack', ['-F']);
    expect((await lab.exec('lan1', 'ping', ['-c', '1', '-W', '1', lab.hosts[0]?.addr ?? ''])).stdout).toContain('1 received');
    const flows = await openFlows(lab, { tcp: 3, udp: 2, fromNs: 'lan1' });
    try {
      const entries = await conntrackEntries(lab.names.rtr);
      expect(entries).toHaveLength(5);
      expect(entries.every((e) => e.orig.src === '10.77.0.3')).toBe(true);
    } finally {
      await flows.close();
    }
  }, T);
});

describe.skipIf(skip)('lab teardown', () => {
  it('destroy() removes every namespace and is idempotent', async () => {
    const lab = await createNatLab({ lanHosts: 2 });
    expect(await labNamespacesOf(lab.runId)).toHaveLength(4);
    const flows = await openFlows(lab, { tcp: 1, udp: 1 });
    // Destroy with helpers still running inside: they must not keep the namespaces alive.
    await Promise.all([lab.destroy(), lab.destroy()]);
    await lab.destroy();
    await flows.close();
    expect(await labNamespacesOf(lab.runId)).toEqual([]);
    expect(existsSync(`${PID_DIR}/${lab.names.rtr}.pid`)).toBe(false);
    expect(await rootVeths()).toBe('');
  }, T);

  let failed: NatLab | undefined;
  describe('a failing test body', () => {
    afterAll(() => failed?.destroy(), T);
    it.fails('throws after building a lab', async () => {
      failed = await createNatLab();
      throw new Error('deliberate failure');
    }, T);
  });

  it('...still had its lab torn down by afterAll', async () => {
    expect(failed).toBeDefined();
    expect(await labNamespacesOf(failed?.runId ?? 'none')).toEqual([]);
  });

  // Child processes that die with a lab up: exit hooks cover crashes and
  // signals, sweepStaleLabs() covers SIGKILL.
  const crash = (mode: 'throw' | 'wait', signal?: NodeJS.Signals): Promise<string[]> => runCrashProbe(mode, signal);

  it('an uncaught exception removes the lab via the exit hook', async () => {
    const names = await crash('throw');
    expect(names).toHaveLength(3);
    const left = await listNamespaces();
    expect(names.filter((n) => left.includes(n))).toEqual([]);
  }, T);

  it('SIGTERM removes the lab via the signal hook', async () => {
    const names = await crash('wait', 'SIGTERM');
    const left = await listNamespaces();
    expect(names.filter((n) => left.includes(n))).toEqual([]);
  }, T);

  it('after SIGKILL, sweepStaleLabs() removes the orphaned lab', async () => {
    const names = await crash('wait', 'SIGKILL');
    expect(names.every((n) => existsSync(`${PID_DIR}/${n}.pid`))).toBe(true);
    expect((await listNamespaces()).filter((n) => names.includes(n))).toHaveLength(3);
    const swept = await sweepStaleLabs();
    expect(swept).toEqual(expect.arrayContaining(names));
    expect((await listNamespaces()).filter((n) => names.includes(n))).toEqual([]);
    expect(names.some((n) => existsSync(`${PID_DIR}/${n}.pid`))).toBe(false);
  }, T);
});
