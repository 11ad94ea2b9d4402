// End to end on the real kernel: the agent runs inside the switch namespace of a loop lab,
// counts the bridge ports with its nftables table, and publishes to a real Mosquitto in the
// same namespace; a recorder there timestamps every message. The lab's looping links are
// cabled from the start (no carrier) and tbf-bounded, so closing the loop is plugging a cable in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlarm, LAB_TOPIC_ROOT, startLabStack, type LabStack } from '../lab/agentLab.ts';
import { sendTraffic } from '../lab/bcastTraffic.ts';
import { requireLab } from '../lab/exec.ts';
import { createLoopLab, type LoopLab } from '../lab/loopLab.ts';
import { requireMosquitto } from '../broker/mosquitto.ts';

const skip = requireLab(['nft', 'tc']) ?? requireMosquitto();
const ROOT = LAB_TOPIC_ROOT;
const LOOP_PORTS = ['loopa', 'loopb'];

interface LoopAttributes {
  ports: { port: string; signals: string[] }[];
}
interface StormAttributes {
  ports: { port: string; pps: number; dominant: string | null; sharePct: number; rules: string[] }[];
}

/**
 * Ordinary home chatter from every host for `seconds`: mDNS and SSDP announcements, ARP, a DHCP
 * discover now and then, and unicast. Rates of a quiet home LAN (notes/loop-storm.md §2.10:
 * ~10 pps of broadcast/multicast in all), sent in chunks because the generator caps a run at 30 s.
 */
async function homeTraffic(lab: LoopLab, seconds: number): Promise<void> {
  const chunk = 20;
  for (let done = 0; done < seconds; done += chunk) {
    const s = Math.min(chunk, seconds - done);
    await Promise.all(
      lab.hosts.flatMap((host, k) => {
        const ns = host.ns;
        const addr = host.addr;
        return [
          sendTraffic(ns, { kind: 'mdns4', count: 2 * s, pps: 2, addr }),
          sendTraffic(ns, { kind: 'arp', count: s, pps: 1, addr }),
          sendTraffic(ns, { kind: 'ssdp', count: Math.ceil(s / 2), pps: 0.5, addr }),
          ...(k === 0 ? [sendTraffic(ns, { kind: 'dhcp', count: Math.ceil(s / 10), pps: 0.1, addr: '0.0.0.0' })] : []),
          sendTraffic(ns, { kind: 'unicast', count: 50 * s, pps: 50, addr, peer: lab.bridgeAddr }),
        ];
      }),
    );
  }
}

describe.skipIf(skip)('storm and loop detection, agent in a loop lab, real Mosquitto', () => {
  let lab: LoopLab;
  let stack: LabStack;

  beforeAll(async () => {
    lab = await createLoopLab({ hosts: 3 });
    await lab.prepareLoop('loopa', 'loopb');
    stack = await startLabStack(lab.names.sw, {
      config: {
        mqtt: { nodeId: 'lab', stateIntervalMs: 2000 },
        interfaces: { bridge: 'br0' },
        // A short warm-up so the baseline rule is in force within the test; the baseline still
        // learns from the home traffic below.
        alarms: { storm: { baselineWarmupMs: 15_000 } },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await lab?.destroy();
  }, 60_000);

  it('counts every bridge port with nftables and says so, and announces the storm and loop alarms to HA', async () => {
    await stack.waitFor((m) => m.topic === `${ROOT}/state`, 10_000, 'a state document');
    const discovery = await stack.waitFor((m) => m.topic === 'homeassistant/device/lab/config', 10_000, 'discovery');
    const cmps = (JSON.parse(discovery.payload) as { cmps: Record<string, { p: string; dev_cla?: string }> }).cmps;
    expect(cmps.alarm_storm).toMatchObject({ p: 'binary_sensor', dev_cla: 'problem' });
    expect(cmps.alarm_loop).toMatchObject({ p: 'binary_sensor', dev_cla: 'problem' });
    expect(cmps.loopa_broadcast).toBeDefined();
    const snapshot = await stack.snapshot();
    const sources = Object.fromEntries(snapshot.interfaces.filter((i) => i.master === 'br0').map((i) => [i.name, i.portCounterSource]));
    expect(sources).toEqual({ lan0: 'nftables', lan1: 'nftables', lan2: 'nftables', loopa: 'nftables', loopb: 'nftables' });
    expect(snapshot.alarms.map((a) => a.name)).toEqual(expect.arrayContaining(['storm', 'loop']));
  });

  it('raises nothing over 60 s of ordinary home traffic', async () => {
    const from = Date.now();
    await homeTraffic(lab, 60);
    const raised = stack.messages.filter((m) => m.at >= from && /\/alarm\/[a-z_]+$/.test(m.topic) && m.payload === 'ON');
    expect(raised).toEqual([]);
    const snapshot = await stack.snapshot();
    expect(snapshot.alarms.filter((a) => a.active)).toEqual([]);
    // The traffic was seen: the ports' counters moved.
    const lan1 = snapshot.interfaces.find((i) => i.name === 'lan1')!;
    expect(lan1.bcastMcastLast60s!.filter((v) => v !== null && v > 0).length).toBeGreaterThan(30);
  }, 120_000);

  it('calls a 300 pps mDNS burst from one host a storm on its port, mostly mDNS, and no loop', async () => {
    const from = Date.now();
    const burst = sendTraffic(lab.hosts[1]!.ns, { kind: 'mdns4', count: 300 * 20, pps: 300, addr: lab.hosts[1]!.addr });
    const on = await stack.waitFor(isAlarm('storm', 'ON', from), 20_000, 'storm ON');
    const attributes = await stack.waitFor((m) => m.topic === `${ROOT}/alarm/storm/attributes` && m.at >= from && m.payload.includes('lan1'));
    const ports = (JSON.parse(attributes.payload) as StormAttributes).ports;
    expect(ports[0]).toMatchObject({ port: 'lan1', dominant: 'mdns', rules: ['baseline'] });
    expect(ports[0]!.sharePct).toBeGreaterThan(90);
    expect(ports[0]!.pps).toBeGreaterThan(200);
    await burst;
    await stack.waitFor(isAlarm('storm', 'OFF', on.at), 30_000, 'storm OFF');
    expect(stack.messages.filter(isAlarm('loop', 'ON', from))).toEqual([]);
  }, 90_000);

  it('raises the loop alarm within 2 s of the loop closing, naming the looping ports, and clears it once unplugged', async () => {
    const links = await lab.closeLoop();
    const on = await stack.waitFor(isAlarm('loop', 'ON', links.closedAt), 5_000, 'loop ON');
    expect(on.at - links.closedAt).toBeLessThanOrEqual(2000);
    const attributes = await stack.waitFor(
      (m) => m.topic === `${ROOT}/alarm/loop/attributes` && m.at >= links.closedAt && m.payload.includes('own_frames'),
      5_000,
      'loop attributes with own frames',
    );
    const ports = (JSON.parse(attributes.payload) as LoopAttributes).ports;
    const withOwnFrames = ports.filter((p) => p.signals.includes('own_frames')).map((p) => p.port);
    expect(withOwnFrames.length).toBeGreaterThan(0);
    expect(LOOP_PORTS).toEqual(expect.arrayContaining(withOwnFrames));
    const snapshot = await stack.snapshot();
    const loop = snapshot.alarms.find((a) => a.name === 'loop')!;
    expect(loop).toMatchObject({ active: true, severity: 'critical' });
    expect(loop.reason).toMatch(/switching loop on .*loop[ab]/);

    const unplugged = Date.now();
    await lab.unplugLoop();
    const off = await stack.waitFor(isAlarm('loop', 'OFF', unplugged), 30_000, 'loop OFF');
    // The loop detector's quiet time (10 s): the alarm does not clear on the first quiet tick.
    expect(off.at - unplugged).toBeGreaterThanOrEqual(8_000);
  }, 90_000);

  it('removes its nftables table on SIGTERM', async () => {
    expect(await stack.stopAgent()).toBe(0);
    const { stdout } = await lab.exec('sw', 'nft', ['list', 'tables']);
    expect(stdout).not.toMatch(/table bridge lanwatch\b/);
  }, 30_000);
});

describe.skipIf(skip)('loop protection, agent in a loop lab', () => {
  let lab: LoopLab;
  let stack: LabStack;
  const GATEWAY = '10.89.0.254';

  beforeAll(async () => {
    lab = await createLoopLab({ hosts: 2 });
    // loopa leads to the dumb switch, where the router's uplink (a gateway address on the dumb
    // switch itself) lives: loopa carries the default route's traffic. loopb is cabled to the
    // same switch but not plugged in yet: plugging it in is the loop.
    await lab.prepareLoop('loopa', 'loopb');
    await lab.exec('dumb', 'ip', ['addr', 'add', `${GATEWAY}/24`, 'dev', 'br1']);
    await lab.exec('dumb', 'ip', ['link', 'set', 'dev', 'upa', 'up']);
    await lab.exec('sw', 'ip', ['route', 'add', 'default', 'via', GATEWAY]);
    await lab.exec('sw', 'ping', ['-c', '3', '-i', '0.2', '-W', '2', GATEWAY]);
    stack = await startLabStack(lab.names.sw, {
      config: {
        mqtt: { nodeId: 'lab', stateIntervalMs: 2000 },
        interfaces: { bridge: 'br0' },
        loop: { protect: true, holdDownMs: 10_000 },
        alarms: { loop: { quietMs: 3000 } },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await lab?.destroy();
  }, 60_000);

  it('spares the uplink port, blocks the looping one, and the network recovers', async () => {
    const spared = async () => (await stack.snapshot()).portWatch.protection?.protectedPorts.map((p) => p.port) ?? [];
    for (let i = 0; i < 50 && !(await spared()).includes('loopa'); i++) await new Promise((r) => setTimeout(r, 200));
    expect(await spared()).toContain('loopa');

    // The loose cable: loopb's other end goes into the dumb switch.
    const closedAt = Date.now();
    await lab.exec('dumb', 'ip', ['link', 'set', 'dev', 'upb', 'up']);
    await stack.waitFor(isAlarm('loop', 'ON', closedAt), 5_000, 'loop ON');
    const blocked = await stack.waitFor(
      (m) => m.topic === `${ROOT}/alarm/loop/attributes` && m.at >= closedAt && m.payload.includes('"blocked":[{'),
      15_000,
      'loop attributes with a blocked port',
    );
    const protection = (JSON.parse(blocked.payload) as { protection: { blocked: { port: string }[] } }).protection;
    expect(protection.blocked.map((b) => b.port)).toEqual(['loopb']);
    // The alarm carries the decision; the guard's nft run lands a few ms later.
    let guardTable = '';
    for (let i = 0; i < 20 && !guardTable.includes('loopb'); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      guardTable = (await lab.exec('sw', 'nft', ['list', 'table', 'bridge', 'lanwatch_guard'])).stdout;
    }
    expect(guardTable).toContain('loopb');
    expect(guardTable).not.toContain('loopa');

    // Recovered: the storm is gone from the uplink port, hosts reach the bridge and the gateway.
    await new Promise((r) => setTimeout(r, 3000));
    const loopa = (await stack.snapshot()).interfaces.find((i) => i.name === 'loopa')!;
    expect((loopa.bcastPps ?? 0) + (loopa.mcastPps ?? 0)).toBeLessThan(50);
    await lab.exec('h0', 'ping', ['-c', '3', '-i', '0.2', '-W', '2', lab.bridgeAddr]);
    await lab.exec('sw', 'ping', ['-c', '3', '-i', '0.2', '-W', '2', GATEWAY]);
    const status = await stack.snapshot();
    expect(status.portWatch.protection!.blocked.map((b) => b.port)).toEqual(['loopb']);
    expect(status.alarms.find((a) => a.name === 'loop')!.reason).toMatch(/loopb blocked by loop protection/);
  }, 60_000);

  it('keeps the port blocked while the loop is cabled, unblocks after the hold-down once unplugged, and clears', async () => {
    // Still cabled at the end of the first hold-down: extended (own frames keep arriving on loopb).
    await new Promise((r) => setTimeout(r, 11_000));
    expect((await stack.snapshot()).portWatch.protection!.blocked.map((b) => b.port)).toEqual(['loopb']);
    const unplugged = Date.now();
    await lab.exec('dumb', 'ip', ['link', 'set', 'dev', 'upb', 'down']);
    await stack.waitFor(isAlarm('loop', 'OFF', unplugged), 30_000, 'loop OFF');
    for (let i = 0; i < 100 && (await stack.snapshot()).portWatch.protection!.blocked.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const protection = (await stack.snapshot()).portWatch.protection!;
    expect(protection.blocked).toEqual([]);
    expect(protection.recent.map((e) => `${e.kind} ${e.port}`)).toEqual(expect.arrayContaining(['block loopb', 'extend loopb', 'unblock loopb']));
    expect(protection.recent.some((e) => e.kind === 'block' && e.port === 'loopa')).toBe(false);
    const logs = stack.logs().map((l) => l.msg);
    expect(logs.some((m) => /loop protection: blocking loopb/.test(m))).toBe(true);
  }, 60_000);

  it('removes the guard table on SIGTERM: no port stays blocked after the agent', async () => {
    expect(await stack.stopAgent()).toBe(0);
    const { stdout } = await lab.exec('sw', 'nft', ['list', 'tables']);
    expect(stdout).not.toMatch(/lanwatch/);
  }, 30_000);
});
