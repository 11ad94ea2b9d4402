// The loop probe against the real kernel. The probe runs in the switch namespace
// (broadcastProbeRunner.ts); the oracle is tcpdump on every host's eth0 (what the host
// received) and on a stand-in WAN link, parsed by hand (test/lab/pcapFrames.ts) and counted
// with BPF filters. With the loop lab, the oracle for "the probe comes back" is the nftables
// own-source counter of the looping ports (nftPortProbe.ts), which is what the agent reads.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PORT_OWN_SOURCE } from '../../hal/index.ts';
import { createBridgeLab, type BridgeLab } from '../lab/bridgeLab.ts';
import { requireLab } from '../lab/exec.ts';
import { createLoopLab, type LoopLab } from '../lab/loopLab.ts';
import { udpFramesOf, type UdpFrame } from '../lab/pcapFrames.ts';
import { countFrames, startCapture, type Capture } from '../lab/tcpdump.ts';
import { startProbeRunner, type ProbeRunner, type ProbeRunnerOptions } from './broadcastProbeClient.ts';
import { startNftPortProbe, type NftPortProbe, type PortRead } from './nftPortProbeClient.ts';

const skip = requireLab(['tcpdump', 'tc', 'ss']);
const T = 90_000;
const PROBE_RE = /^lanwatch loop probe v1 ([0-9a-f]{16}) ([0-9]{10})$/;
/** Probes in a row: over the 100 ms rate limit, so none is skipped. */
const GAP_MS = 150;

function probesIn(frames: UdpFrame[]): { frame: UdpFrame; nonce: string; seq: number }[] {
  return frames.flatMap((frame) => {
    const match = PROBE_RE.exec(frame.payload.toString('latin1'));
    return frame.dstPort === 9 && match ? [{ frame, nonce: match[1]!, seq: Number(match[2]) }] : [];
  });
}

async function sendSpaced(probe: ProbeRunner, count: number): Promise<number[]> {
  const sent: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await sleep(GAP_MS);
    sent.push(await probe.send());
  }
  return sent;
}

describe.skipIf(skip)('loop probe on a real bridge', () => {
  let lab: BridgeLab;
  const runners: ProbeRunner[] = [];
  const captures: Capture[] = [];

  const start = async (options: Partial<ProbeRunnerOptions> = {}): Promise<ProbeRunner> => {
    const runner = await startProbeRunner(lab.sw, { bridges: ['br0'], ...options });
    runners.push(runner);
    return runner;
  };
  /** Captures what every host receives while `during` runs; returns each host's pcap. */
  const onHosts = async (during: () => Promise<unknown>): Promise<Buffer[]> => {
    const started = await Promise.all(lab.hosts.map((host) => startCapture(host.ns, host.ifname)));
    captures.push(...started);
    await during();
    await sleep(300);
    const stopped = await Promise.all(started.map((capture) => capture.stop()));
    for (const { dropped } of stopped) expect(dropped).toBe(0);
    return stopped.map((result) => result.pcap);
  };
  const brAddr = (action: 'add' | 'del', cidr: string) => lab.exec('sw', 'ip', ['addr', action, cidr, 'dev', 'br0']);
  const brIpv6 = (on: boolean) =>
    lab.exec('sw', 'sysctl', ['-q', '-w', 'net.ipv6.conf.br0.accept_dad=0', `net.ipv6.conf.br0.disable_ipv6=${on ? 0 : 1}`]);

  beforeAll(async () => {
    lab = await createBridgeLab();
    await lab.waitQuiet();
  }, T);
  afterEach(async () => {
    await Promise.all(captures.splice(0).map((capture) => capture.stop().catch(() => {})));
    await Promise.all(runners.splice(0).map((runner) => runner.exit()));
  }, T);
  afterAll(() => lab?.destroy(), T);

  it('each send reaches every host once: a broadcast from the bridge MAC and address to UDP 9, with the nonce and seq', async () => {
    const probe = await start();
    const pcaps = await onHosts(() => sendSpaced(probe, 5));
    for (const [k, pcap] of pcaps.entries()) {
      const probes = probesIn(udpFramesOf(pcap));
      expect(probes.map((p) => p.seq), `host ${k}`).toEqual([1, 2, 3, 4, 5]);
      for (const { frame, nonce } of probes) {
        expect(frame).toMatchObject({
          ethSrc: lab.bridgeMac, ethDst: 'ff:ff:ff:ff:ff:ff', family: 4, ipSrc: lab.bridgeAddr, ipDst: '10.88.0.255', dstPort: 9,
        });
        expect(nonce).toBe(probe.nonce);
        expect(frame.payload.length).toBe(50);
      }
      // tcpdump's own reading of the same capture agrees.
      expect(await countFrames(pcap, `ether src ${lab.bridgeMac} and ether broadcast and udp dst port 9`)).toBe(5);
    }
    const [status] = await probe.status();
    expect(status).toMatchObject({ bridge: 'br0', via: 'ipv4-broadcast', destination: '10.88.0.255:9', sent: 5, failed: 0, skipped: 0, lastError: null, detail: null });
    expect(probe.logs().filter((line) => line.level === 'warn')).toEqual([]);
  }, T);

  it('binds to the bridge address and is connected: nothing listens, nothing sent to it is taken (ss, UDP MIB)', async () => {
    const probe = await start();
    await probe.send();
    const all = (await lab.exec('sw', 'ss', ['-H', '-u', '-a', '-n'])).stdout.trim().split('\n').filter(Boolean);
    expect(all).toHaveLength(1);
    const socket = /^ESTAB\s+0\s+0\s+10\.88\.0\.1:(\d+)\s+10\.88\.0\.255:9\s*$/.exec(all[0]!);
    expect(socket, all[0]).not.toBeNull();
    expect((await lab.exec('sw', 'ss', ['-H', '-u', '-l', '-n'])).stdout.trim()).toBe('');

    // A host aims a unicast and a broadcast datagram at the probe socket's port: the kernel
    // hands neither to it (InDatagrams flat); the unicast has no port (NoPorts), the broadcast
    // no listener (IgnoredMulti).
    const udpMib = async (): Promise<Record<string, number>> => {
      const lines = (await lab.exec('sw', 'cat', ['/proc/net/snmp'])).stdout.split('\n').filter((line) => line.startsWith('Udp:'));
      const [names, values] = lines.map((line) => line.split(/\s+/).slice(1));
      return Object.fromEntries(names!.map((name, i) => [name, Number(values![i])]));
    };
    const port = socket![1]!;
    const before = await udpMib();
    await lab.exec('h0', process.execPath, ['-e', [
      "const s = require('node:dgram').createSocket('udp4');",
      "s.bind(0, () => { s.setBroadcast(true);",
      `s.send('poke', ${port}, '10.88.0.1', (e) => { if (e) throw e;`,
      `s.send('poke', ${port}, '10.88.0.255', (e) => { if (e) throw e; s.close(); }); }); });`,
    ].join(' ')]);
    await sleep(200);
    const after = await udpMib();
    expect(after.InDatagrams! - before.InDatagrams!).toBe(0);
    expect(after.NoPorts! - before.NoPorts!).toBe(1);
    expect(after.IgnoredMulti! - before.IgnoredMulti!).toBe(1);
    expect((await probe.status())[0]).toMatchObject({ sent: 1, failed: 0 });
  }, T);

  it('leaves by the bridge only, while a naive 255.255.255.255 broadcast follows the default route out of the WAN', async () => {
    // A stand-in WAN in the switch namespace: wan0 (with the default route) cabled to wan0peer
    // in the same namespace, so whatever wan0 transmits is captured and goes nowhere else.
    await lab.exec('sw', 'ip', ['link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'wan0peer']);
    try {
      await lab.exec('sw', 'ip', ['addr', 'add', '10.88.200.1/24', 'dev', 'wan0']);
      await lab.exec('sw', 'ip', ['link', 'set', 'wan0peer', 'up']);
      await lab.exec('sw', 'ip', ['link', 'set', 'wan0', 'up']);
      await lab.exec('sw', 'ip', ['route', 'add', 'default', 'via', '10.88.200.2', 'dev', 'wan0']);
      const wan = await startCapture(lab.sw, 'wan0peer');
      captures.push(wan);
      const probe = await start();
      const hostPcaps = await onHosts(() => sendSpaced(probe, 3));
      const probesOnWan = (await wan.stop()).pcap;
      expect(probesIn(udpFramesOf(probesOnWan))).toEqual([]);
      for (const pcap of hostPcaps) expect(probesIn(udpFramesOf(pcap))).toHaveLength(3);

      // The control: what the probe avoids does leave by the WAN, so the capture would see it.
      const naiveWan = await startCapture(lab.sw, 'wan0peer');
      captures.push(naiveWan);
      const naiveHosts = await onHosts(() => lab.exec('sw', process.execPath, ['-e', [
        "const s = require('node:dgram').createSocket('udp4');",
        "s.bind(0, () => { s.setBroadcast(true); s.send('naive', 9, '255.255.255.255', (e) => { if (e) throw e; s.close(); }); });",
      ].join(' ')]));
      const naive = udpFramesOf((await naiveWan.stop()).pcap).filter((frame) => frame.dstPort === 9);
      expect(naive).toHaveLength(1);
      expect(naive[0]).toMatchObject({ ipSrc: '10.88.200.1', ipDst: '255.255.255.255' });
      for (const pcap of naiveHosts) expect(udpFramesOf(pcap).filter((frame) => frame.dstPort === 9)).toEqual([]);
    } finally {
      await lab.exec('sw', 'ip', ['link', 'del', 'wan0']);
    }
  }, T);

  it('follows an address change: the send that fails is counted, the next one goes to the new broadcast address', async () => {
    const probe = await start({ addressCheckMs: 600_000 });
    expect(await probe.send()).toBe(1);
    // DHCP gave br0 another address in a /16 (the hosts' /24 still receive link broadcasts).
    await brAddr('del', '10.88.0.1/24');
    await brAddr('add', '10.88.0.2/16');
    try {
      await sleep(GAP_MS);
      expect(await probe.send()).toBe(0);
      const [failed] = await probe.status();
      console.log(`[probe] send after the address vanished: ${failed!.lastError}`);
      expect(failed).toMatchObject({ sent: 1, failed: 1, destination: '10.88.0.255:9' });
      // Linux 6.18: ENETUNREACH (the connected socket's source address is gone).
      expect(failed!.lastError).toMatch(/^send (ENETUNREACH|EADDRNOTAVAIL|EINVAL)$/);
      expect(probe.logs().filter((line) => line.level === 'warn')).toHaveLength(1);

      // A failed send makes the next send (a second after the last read) re-read the addresses.
      await sleep(1_000);
      const pcaps = await onHosts(() => probe.send());
      for (const pcap of pcaps) {
        const [only, ...more] = probesIn(udpFramesOf(pcap));
        expect(more).toEqual([]);
        expect(only!.frame).toMatchObject({ ipSrc: '10.88.0.2', ipDst: '10.88.255.255', ethSrc: lab.bridgeMac });
      }
      expect((await probe.status())[0]).toMatchObject({ sent: 2, failed: 1, destination: '10.88.255.255:9' });
    } finally {
      await brAddr('del', '10.88.0.2/16').catch(() => {});
      await brAddr('add', '10.88.0.1/24');
    }
    // refresh() (the agent calls it on address events) rebuilds the socket before any failure.
    await probe.refresh();
    await sleep(GAP_MS);
    const pcaps = await onHosts(() => probe.send());
    for (const pcap of pcaps) {
      expect(probesIn(udpFramesOf(pcap)).map((p) => [p.frame.ipSrc, p.frame.ipDst])).toEqual([['10.88.0.1', '10.88.0.255']]);
    }
    expect((await probe.status())[0]).toMatchObject({ sent: 3, failed: 1, destination: '10.88.0.255:9' });
  }, T);

  it('without IPv4 on the bridge, sends to IPv6 all-nodes from its link-local address', async () => {
    await brAddr('del', '10.88.0.1/24');
    await brIpv6(true);
    try {
      const link = JSON.parse((await lab.exec('sw', 'ip', ['-j', '-6', 'addr', 'show', 'dev', 'br0', 'scope', 'link'])).stdout) as {
        addr_info: { local: string }[];
      }[];
      const linkLocal = link[0]!.addr_info[0]!.local;
      const probe = await start();
      const pcaps = await onHosts(() => sendSpaced(probe, 3));
      for (const pcap of pcaps) {
        const probes = probesIn(udpFramesOf(pcap));
        expect(probes.map((p) => p.seq)).toEqual([1, 2, 3]);
        for (const { frame, nonce } of probes) {
          expect(frame).toMatchObject({ ethSrc: lab.bridgeMac, ethDst: '33:33:00:00:00:01', family: 6, ipSrc: linkLocal, ipDst: 'ff02::1', dstPort: 9 });
          expect(nonce).toBe(probe.nonce);
        }
      }
      expect((await probe.status())[0]).toMatchObject({ via: 'ipv6-all-nodes', destination: '[ff02::1%br0]:9', sent: 3, failed: 0 });
    } finally {
      await brIpv6(false);
      await brAddr('add', '10.88.0.1/24');
    }
  }, T);

  it('with no address at all: "no address: probe off" in status, logged once, nothing sent', async () => {
    await brAddr('del', '10.88.0.1/24');
    try {
      const probe = await start({ bridges: ['br0'] });
      const pcaps = await onHosts(async () => {
        for (let i = 0; i < 3; i++) {
          expect(await probe.send()).toBe(0);
          await probe.refresh();
          await sleep(GAP_MS);
        }
      });
      for (const pcap of pcaps) expect(probesIn(udpFramesOf(pcap))).toEqual([]);
      expect((await probe.status())[0]).toMatchObject({ via: null, destination: null, sent: 0, failed: 0, detail: 'no address: probe off' });
      const warns = probe.logs().filter((line) => line.level === 'warn');
      expect(warns).toHaveLength(1);
      expect(warns[0]!.msg).toMatch(/^loop probe on br0: no address: probe off/);
      expect((await lab.exec('sw', 'ss', ['-H', '-u', '-a', '-n'])).stdout.trim()).toBe('');
    } finally {
      await brAddr('add', '10.88.0.1/24');
    }
  }, T);
});

describe.skipIf(skip)('loop probe with a switching loop', () => {
  let lab: LoopLab;
  let counters: NftPortProbe;
  let probe: ProbeRunner;
  const ports = ['lan0', 'loopa', 'loopb'];

  /** Own-source frames each port received between two reads. */
  const ownDelta = (before: PortRead, after: PortRead): Record<string, number> => {
    expect(before.error).toBeNull();
    expect(after.error).toBeNull();
    return Object.fromEntries(ports.map((port) => [port, after.rows[port]![PORT_OWN_SOURCE]! - before.rows[port]![PORT_OWN_SOURCE]!]));
  };

  beforeAll(async () => {
    lab = await createLoopLab({ hosts: 1 });
    counters = await startNftPortProbe(lab.names.sw);
    // Counting by name: loopa/loopb are counted whenever they exist.
    await counters.apply({ bridge: lab.bridge, bridgeMac: lab.bridgeMac, ports });
    probe = await startProbeRunner(lab.names.sw, { bridges: ['br0'] });
  }, T);
  afterAll(async () => {
    try {
      await Promise.all([probe?.exit(), counters?.exit()]);
    } finally {
      await lab?.destroy();
    }
  }, T);

  it('a probe into a closed loop comes back on both looping ports; with the loop open nothing does', async () => {
    // Open: probes go out (lan0 only), nothing of the bridge's own comes back in anywhere.
    let before = await counters.read(ports);
    expect(await sendSpaced(probe, 3)).toEqual([1, 1, 1]);
    await sleep(300);
    expect(ownDelta(before, await counters.read(ports))).toEqual({ lan0: 0, loopa: 0, loopb: 0 });

    await lab.closeLoop();
    let climbed: Record<string, number>;
    try {
      // Closed but quiet: no host sends anything, so nothing of ours circulates yet.
      await sleep(300);
      before = await counters.read(ports);
      await sleep(500);
      expect(ownDelta(before, await counters.read(ports))).toEqual({ lan0: 0, loopa: 0, loopb: 0 });
      // One probe: the loop brings it back in on both looping ports (and keeps doing so).
      before = await counters.read(ports);
      expect(await probe.send()).toBe(1);
      await sleep(500);
      climbed = ownDelta(before, await counters.read(ports));
    } finally {
      await lab.openLoop();
    }
    console.log(`[probe] own-source frames 500 ms after one probe into the loop: ${JSON.stringify(climbed)}`);
    expect(climbed.loopa).toBeGreaterThan(0);
    expect(climbed.loopb).toBeGreaterThan(0);
    expect(climbed.lan0).toBe(0);

    // Open again: the storm has nowhere to circle; probes go out and stay out.
    await sleep(300);
    before = await counters.read(ports);
    expect(await sendSpaced(probe, 3)).toEqual([1, 1, 1]);
    await sleep(300);
    expect(ownDelta(before, await counters.read(ports))).toEqual({ lan0: 0, loopa: 0, loopb: 0 });
    expect((await probe.status())[0]).toMatchObject({ sent: 7, failed: 0 });
  }, T);
});
