// A switching-loop lab in network namespaces, for real-kernel loop and storm tests:
//
//   lw<id>-hK:   eth0 10.89.0.(10+K)/24, MAC 02:89:<id>:01:0K
//        |  veth
//   lw<id>-sw:   lanK ── br0 10.89.0.1/24, MAC 02:89:<id>:00:01, STP off
//                loopa, loopb ── br0   (only while a loop is closed; names are arguments)
//        |  two veths                                     (tbf on both ends of each)
//   lw<id>-dumb: upa, upb ── br1 (a "dumb switch": STP off, no address) ── selfa ⟲ selfb
//
// closeLoop() builds the field story: the router's LAN bridge is cabled to a dumb switch
// twice, and a loose cable is plugged with both ends into the dumb switch, so every
// broadcast multiplies instead of merely circling. Every looping link carries a tbf qdisc
// on both ends, so the storm is bounded (2 Mbit/s per link direction by default) and
// cannot eat the machine. openLoop() removes the looping links.
//
// Safety: only namespaces this run creates (unique lw<id>- names, ownership records, exit
// hooks and sweeping as in natLab, see cleanup.ts); addresses only inside 10.89.0.0/24;
// no default route anywhere, so nothing can leave the lab. IPv6 is off so the lab stays
// quiet: the bridge learns only what a test sends.
import { performance } from 'node:perf_hooks';
import { claimRunId, labNamespaces, sweepStaleLabs } from './cleanup.ts';
import { inNs, run, type RunOptions, type RunResult } from './exec.ts';
import { waitOperUp } from './natLab.ts';

export interface LoopLabOptions {
  /** Host namespaces h0..h(N-1), each cabled to port lanK of br0 (1..16). Default 2. */
  hosts?: number;
  /**
   * tbf rate of every looping link end. Default '2mbit': at 10mbit one storm kept 90 % of a
   * 2-core VM busy (5mbit 34 %, 2mbit 12 %), and test files run two at a time.
   */
  loopRate?: string;
  /** Remove labs of dead runs first. Default true. */
  sweep?: boolean;
}

export interface LoopHost {
  ns: string;
  ifname: 'eth0';
  /** Lower-case colon MAC, fixed per run so a move can be recognised after re-cabling. */
  mac: string;
  addr: string;
  /** The br0 port it is cabled to now (recable() changes it). */
  port: string;
}

export interface LoopLinks {
  /** The two br0 ports of the loop. */
  swPorts: [string, string];
  /** Every looping interface, by namespace, each with a tbf root qdisc. */
  ends: { ns: string; ifname: string }[];
  /** Wall-clock ms (performance.timeOrigin + now) when the last link came up. */
  closedAt: number;
}

export type LoopNsKey = 'sw' | 'dumb' | `h${number}`;

export interface LoopLab {
  runId: string;
  names: { sw: string; dumb: string };
  bridge: 'br0';
  bridgeMac: string;
  bridgeAddr: string;
  broadcast: string;
  hosts: LoopHost[];
  nsName(key: LoopNsKey): string;
  exec(key: LoopNsKey, cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  ifindex(key: LoopNsKey, ifname: string): Promise<number>;
  /**
   * Cables br0 ports `portA` and `portB` to the dumb switch with the dumb switch's ends down:
   * the ports exist, bridged and watched, without carrier, like a switch port with a cable to a
   * switch that is still off. closeLoop() then only plugs in (brings the dumb ends up).
   */
  prepareLoop(portA?: string, portB?: string): Promise<LoopLinks>;
  /**
   * Closes the loop through br0 ports `portA` and `portB` (new ports, not host ports), or
   * through the ports prepareLoop() cabled (then the port arguments are ignored).
   */
  closeLoop(portA?: string, portB?: string): Promise<LoopLinks>;
  /** Unplugs a loop closed on prepared ports: the dumb ends go down, the br0 ports stay. */
  unplugLoop(): Promise<void>;
  /** Removes every looping link; safe when no loop is closed. */
  openLoop(): Promise<void>;
  /** Moves host K's cable from its port to a new br0 port `toPort`, keeping its MAC. */
  recable(host: number, toPort: string): Promise<void>;
  /** Idempotent; also safe while createLoopLab is still failing half-way. */
  destroy(): Promise<void>;
}

export const LOOP_NET = { bridgeAddr: '10.89.0.1', cidr: '10.89.0.0/24', broadcast: '10.89.0.255' } as const;
const TBF_BURST = '32kbit';
const TBF_LATENCY = '50ms';
const IFNAME_RE = /^[a-z][a-z0-9]{0,14}$/;

function loopNames(runId: string, hosts: number): string[] {
  return [`lw${runId}-sw`, `lw${runId}-dumb`, ...Array.from({ length: hosts }, (_, k) => `lw${runId}-h${k}`)];
}

function ipBatch(ns: string, lines: string[]): Promise<RunResult> {
  return run('ip', ['-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Locally administered MACs carrying the run id, so kernel log lines name this run only. */
function labMac(runId: string, kind: number, index: number): string {
  return `02:89:${runId.slice(0, 2)}:${runId.slice(2, 4)}:${hex2(kind)}:${hex2(index)}`;
}

function quietNs(ns: string): Promise<RunResult> {
  // -e: skip keys that don't exist here (IPv6 or br_netfilter compiled out).
  return inNs(ns, 'sysctl', ['-e', '-q', '-w',
    'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1',
    // Bridged frames need not cross netfilter; in a storm that is only CPU.
    'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0',
  ]);
}

function tbf(ns: string, ifname: string, rate: string): Promise<RunResult> {
  return inNs(ns, 'tc', ['qdisc', 'add', 'dev', ifname, 'root', 'tbf', 'rate', rate, 'burst', TBF_BURST, 'latency', TBF_LATENCY]);
}

export async function createLoopLab(opts: LoopLabOptions = {}): Promise<LoopLab> {
  const hostCount = opts.hosts ?? 2;
  if (!Number.isInteger(hostCount) || hostCount < 1 || hostCount > 16) throw new Error(`hosts must be 1..16, got ${hostCount}`);
  const loopRate = opts.loopRate ?? '2mbit';
  if (!/^[0-9]+(kbit|mbit)$/.test(loopRate)) throw new Error(`loopRate must look like 10mbit, got ${loopRate}`);
  if (opts.sweep !== false) await sweepStaleLabs();

  const runId = await claimRunId((id) => loopNames(id, hostCount));
  const allNs = loopNames(runId, hostCount);
  const sw = `lw${runId}-sw`;
  const dumb = `lw${runId}-dumb`;
  const hosts: LoopHost[] = Array.from({ length: hostCount }, (_, k) => ({
    ns: `lw${runId}-h${k}`,
    ifname: 'eth0',
    mac: labMac(runId, 1, k),
    addr: `10.89.0.${10 + k}`,
    port: `lan${k}`,
  }));
  const nsName = (key: LoopNsKey): string => {
    if (key === 'sw') return sw;
    if (key === 'dumb') return dumb;
    const host = hosts[Number(key.slice(1))];
    if (host === undefined) throw new Error(`no namespace ${key} in loop lab ${runId}`);
    return host.ns;
  };
  let loop: LoopLinks | null = null;
  /** The looping links exist (prepareLoop) and whether the dumb switch's ends are up. */
  let prepared = false;
  let plugged = false;
  const namespaces = labNamespaces(allNs);

  /** Cables host K to a new br0 port `port`, with the host's fixed MAC and address. */
  const cable = async (host: LoopHost, port: string): Promise<void> => {
    await ipBatch(sw, [
      `link add name ${port} type veth peer name ${host.ifname} netns ${host.ns}`,
      `link set dev ${port} master br0`,
      `link set dev ${port} up`,
    ]);
    await ipBatch(host.ns, [
      `link set dev ${host.ifname} address ${host.mac}`,
      `addr add ${host.addr}/24 dev ${host.ifname}`,
      `link set dev ${host.ifname} up`,
    ]);
    host.port = port;
  };

  const lab: LoopLab = {
    runId,
    names: { sw, dumb },
    bridge: 'br0',
    bridgeMac: labMac(runId, 0, 1),
    bridgeAddr: LOOP_NET.bridgeAddr,
    broadcast: LOOP_NET.broadcast,
    hosts,
    nsName,
    exec: (key, cmd, args, runOpts) => inNs(nsName(key), cmd, args, runOpts),
    async ifindex(key, ifname) {
      const { stdout } = await run('ip', ['-n', nsName(key), '-j', 'link', 'show', 'dev', ifname]);
      const [link] = JSON.parse(stdout) as { ifindex?: number }[];
      if (typeof link?.ifindex !== 'number') throw new Error(`no ifindex for ${ifname} in ${nsName(key)}`);
      return link.ifindex;
    },
    async prepareLoop(portA = 'loopa', portB = 'loopb') {
      if (loop !== null) throw new Error('loop already cabled');
      for (const p of [portA, portB]) {
        if (!IFNAME_RE.test(p) || hosts.some((h) => h.port === p)) throw new Error(`bad loop port name ${p}`);
      }
      const ends = [
        { ns: sw, ifname: portA }, { ns: sw, ifname: portB },
        { ns: dumb, ifname: 'upa' }, { ns: dumb, ifname: 'upb' },
        { ns: dumb, ifname: 'selfa' }, { ns: dumb, ifname: 'selfb' },
      ];
      loop = { swPorts: [portA, portB], ends, closedAt: NaN };
      try {
        // Cables in, every end still down; bounded before anything can flow.
        await ipBatch(sw, [
          `link add name ${portA} type veth peer name upa netns ${dumb}`,
          `link add name ${portB} type veth peer name upb netns ${dumb}`,
        ]);
        await ipBatch(dumb, ['link add name selfa type veth peer name selfb']);
        await Promise.all(ends.map((e) => tbf(e.ns, e.ifname, loopRate)));
        await ipBatch(sw, [portA, portB].flatMap((p) => [`link set dev ${p} master br0`, `link set dev ${p} up`]));
        await ipBatch(dumb, ['upa', 'upb', 'selfa', 'selfb'].map((i) => `link set dev ${i} master br1`));
        prepared = true;
        return loop;
      } catch (err) {
        await lab.openLoop();
        throw err;
      }
    },
    async closeLoop(portA = 'loopa', portB = 'loopb') {
      if (loop === null) await lab.prepareLoop(portA, portB);
      else if (!prepared || plugged) throw new Error('loop already closed');
      const links = loop!;
      try {
        // Any two of the three links make a loop: bring up one whole link and one end of
        // the other two, then close both in one batch.
        await ipBatch(dumb, ['link set dev upa up', 'link set dev selfa up']);
        await ipBatch(dumb, ['link set dev upb up', 'link set dev selfb up']);
        plugged = true;
        links.closedAt = performance.timeOrigin + performance.now();
        return links;
      } catch (err) {
        await lab.openLoop();
        throw err;
      }
    },
    async unplugLoop() {
      if (loop === null || !plugged) return;
      // One batch: both loops (through br0 and through the dumb switch's own cable) break at once.
      await ipBatch(dumb, ['link set dev upb down', 'link set dev selfb down', 'link set dev upa down', 'link set dev selfa down']);
      plugged = false;
    },
    async openLoop() {
      if (loop === null) return;
      // Deleting one end of a veth deletes its peer (also across namespaces). One batch,
      // so the loop is broken at once; -force: carry on past links that never got made.
      await run('ip', ['-n', dumb, '-force', '-batch', '-'], {
        input: ['upa', 'upb', 'selfa'].map((i) => `link del dev ${i}`).join('\n') + '\n',
        okCodes: [0, 1],
      });
      loop = null;
      prepared = false;
      plugged = false;
    },
    async recable(index, toPort) {
      const host = hosts[index];
      if (host === undefined) throw new Error(`no host ${index}`);
      if (!IFNAME_RE.test(toPort)) throw new Error(`bad port name ${toPort}`);
      // The host's veth goes with its br0 end: an unplugged cable, plugged in elsewhere.
      await run('ip', ['-n', sw, 'link', 'del', 'dev', host.port]);
      await cable(host, toPort);
      await Promise.all([waitOperUp(sw, [toPort]), waitOperUp(host.ns, [host.ifname])]);
    },
    destroy: namespaces.destroy,
  };

  // Records were written by claimRunId; tracked before anything exists, so a crash at any
  // point below is cleaned by the exit hook or the next sweep.
  try {
    await namespaces.create();
    await Promise.all(allNs.map((ns) => quietNs(ns)));
    await Promise.all(allNs.map((ns) => ipBatch(ns, ['link set dev lo up'])));
    await ipBatch(sw, [
      `link add name br0 address ${lab.bridgeMac} type bridge stp_state 0 mcast_snooping 0`,
      `addr add ${LOOP_NET.bridgeAddr}/24 dev br0`,
      'link set dev br0 up',
    ]);
    await ipBatch(dumb, ['link add name br1 type bridge stp_state 0 mcast_snooping 0', 'link set dev br1 up']);
    for (const host of hosts) await cable(host, host.port);
    await Promise.all([
      waitOperUp(sw, ['br0', ...hosts.map((h) => h.port)]),
      ...hosts.map((h) => waitOperUp(h.ns, [h.ifname])),
    ]);
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  return lab;
}
