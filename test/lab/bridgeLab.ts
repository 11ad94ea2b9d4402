// A switch lab in network namespaces, for counting what floods into each bridge port:
//
//   lw<id>-hK:  eth0 10.88.0.(10+K)/24 (+ IPv6 link-local), MAC 02:88:<id>:01:0K
//       |  veth
//   lw<id>-sw:  <port K> ── br0 10.88.0.1/24, MAC 02:88:<id>:00:01, STP off, snooping off
//
// Port names are arguments (default lan1, eth0.10, wlan0-1: names nft identifiers can't hold),
// so tests exercise the backend's name handling. Each host sends only what a test asks for
// (bcastTraffic.mjs); the lab is otherwise quiet once waitQuiet() returns: no DAD, no router
// solicitations, IPv6 off in the switch namespace.
//
// Host neighbour settings make address resolution a broadcast generator: one ARP request
// (or ND neighbour solicitation) per datagram to an address nobody has (mcast_solicit 1,
// retrans 10 ms), at a rate the generator controls. iputils arping can't go below 1 per s.
//
// Safety: only namespaces this run creates (unique lw<id>- names, ownership records, exit
// hooks and sweeping, see cleanup.ts); addresses only inside 10.88.0.0/16 (the hosts' /24,
// 10.88.<vid>.x in tagged frames, the own-MAC sender's 10.88.99.x) and link-local; no default route anywhere, so nothing can leave the lab.
import { setTimeout as sleep } from 'node:timers/promises';
import { claimRunId, labNamespaces, sweepStaleLabs } from './cleanup.ts';
import { inNs, run, type RunOptions, type RunResult } from './exec.ts';
import { waitOperUp } from './natLab.ts';
import { linkStats } from './oracle.ts';

export interface BridgeLabOptions {
  /** br0 port name of each host, in host order (1..8 ports). */
  ports?: readonly string[];
  /** Remove labs of dead runs first. Default true. */
  sweep?: boolean;
}

export interface BridgeHost {
  ns: string;
  ifname: 'eth0';
  mac: string;
  addr: string;
  /** Its br0 port in the switch namespace. */
  port: string;
}

export type BridgeNsKey = 'sw' | `h${number}`;

export interface BridgeLab {
  runId: string;
  sw: string;
  bridge: 'br0';
  bridgeMac: string;
  bridgeAddr: string;
  hosts: BridgeHost[];
  nsName(key: BridgeNsKey): string;
  exec(key: BridgeNsKey, cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  /**
   * Adds a macvlan `ifname` on host K's eth0 with the bridge's MAC and 10.88.99.(10+K)/24, and
   * returns that address: what a host sends from it looks like the bridge's own frames coming back.
   */
  addOwnMacSender(host: number, ifname?: string): Promise<string>;
  /** Waits until no br0 port has received a frame for `quietMs`. */
  waitQuiet(quietMs?: number, timeoutMs?: number): Promise<void>;
  /** Idempotent; also safe while createBridgeLab is still failing half-way. */
  destroy(): Promise<void>;
}

export const BRIDGE_NET = { bridgeAddr: '10.88.0.1', prefix: '10.88.0.', cidr: '10.88.0.0/24' } as const;
const OWN_NET_PREFIX = '10.88.99.';
export const DEFAULT_PORTS = ['lan1', 'eth0.10', 'wlan0-1'] as const;
// What `ip link add name X` accepts without reading X as a keyword; nft's rules are checked
// by the code under test, not here.
const PORT_RE = /^[a-z][a-z0-9._-]{0,14}$/;

function labNames(runId: string, hosts: number): string[] {
  return [`lw${runId}-sw`, ...Array.from({ length: hosts }, (_, k) => `lw${runId}-h${k}`)];
}

function ipBatch(ns: string, lines: string[]): Promise<RunResult> {
  return run('ip', ['-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function labMac(runId: string, kind: number, index: number): string {
  return `02:88:${runId.slice(0, 2)}:${runId.slice(2, 4)}:${hex2(kind)}:${hex2(index)}`;
}

// -e: skip keys that don't exist here (br_netfilter not loaded).
function sysctls(ns: string, values: string[]): Promise<RunResult> {
  return inNs(ns, 'sysctl', ['-e', '-q', '-w', ...values]);
}

const SWITCH_SYSCTLS = [
  // The switch only forwards: no IPv6 of its own, so br0 and its ports send nothing.
  'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1',
  'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0',
];

// Set on the host's eth0 after it exists and before it is up. Per device: a namespace other
// than the first has no net.ipv4.neigh.default to inherit from.
const hostSysctls = (ifname: string): string[] => [
  // Link-local address usable at once, no DAD probe and no router solicitations later.
  `net.ipv6.conf.${ifname}.accept_dad=0`,
  `net.ipv6.conf.${ifname}.router_solicitations=0`,
  // One broadcast per resolution attempt, failing after 10 ms: see the header.
  `net.ipv4.neigh.${ifname}.mcast_solicit=1`, `net.ipv4.neigh.${ifname}.retrans_time_ms=10`,
  `net.ipv6.neigh.${ifname}.mcast_solicit=1`, `net.ipv6.neigh.${ifname}.retrans_time_ms=10`,
];

export async function createBridgeLab(opts: BridgeLabOptions = {}): Promise<BridgeLab> {
  const ports = [...(opts.ports ?? DEFAULT_PORTS)];
  if (ports.length < 1 || ports.length > 8) throw new Error(`1..8 ports, got ${ports.length}`);
  for (const port of ports) if (!PORT_RE.test(port) || port === 'br0') throw new Error(`bad port name ${port}`);
  if (new Set(ports).size !== ports.length) throw new Error('port names must differ');
  if (opts.sweep !== false) await sweepStaleLabs();

  const runId = await claimRunId((id) => labNames(id, ports.length));
  const allNs = labNames(runId, ports.length);
  const sw = `lw${runId}-sw`;
  const bridgeMac = labMac(runId, 0, 1);
  const hosts: BridgeHost[] = ports.map((port, k) => ({
    ns: `lw${runId}-h${k}`,
    ifname: 'eth0',
    mac: labMac(runId, 1, k),
    addr: `${BRIDGE_NET.prefix}${10 + k}`,
    port,
  }));
  const nsName = (key: BridgeNsKey): string => {
    if (key === 'sw') return sw;
    const host = hosts[Number(key.slice(1))];
    if (host === undefined) throw new Error(`no namespace ${key} in bridge lab ${runId}`);
    return host.ns;
  };
  const hostAt = (index: number): BridgeHost => {
    const host = hosts[index];
    if (host === undefined) throw new Error(`no host ${index}`);
    return host;
  };

  const namespaces = labNamespaces(allNs);
  const lab: BridgeLab = {
    runId,
    sw,
    bridge: 'br0',
    bridgeMac,
    bridgeAddr: BRIDGE_NET.bridgeAddr,
    hosts,
    nsName,
    exec: (key, cmd, args, runOpts) => inNs(nsName(key), cmd, args, runOpts),
    async addOwnMacSender(index, ifname = 'own0') {
      const host = hostAt(index);
      await ipBatch(host.ns, [`link add link eth0 name ${ifname} address ${bridgeMac} type macvlan mode private`]);
      // No IPv6 on it, so it sends nothing by itself (no MLD report at link-up).
      await inNs(host.ns, 'sysctl', ['-q', '-w', `net.ipv6.conf.${ifname}.disable_ipv6=1`,
        `net.ipv4.neigh.${ifname}.mcast_solicit=1`, `net.ipv4.neigh.${ifname}.retrans_time_ms=10`]);
      // A subnet of its own: traffic to it leaves by this interface, with the bridge's MAC.
      const addr = `${OWN_NET_PREFIX}${10 + index}`;
      await ipBatch(host.ns, [`addr add ${addr}/24 dev ${ifname}`, `link set dev ${ifname} up`]);
      await waitOperUp(host.ns, [ifname]);
      return addr;
    },
    async waitQuiet(quietMs = 1_500, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      const snapshot = async (): Promise<string> => {
        const links = await linkStats(sw);
        return links.filter((l) => ports.includes(l.name)).map((l) => `${l.name}:${l.rxPackets}`).join(',');
      };
      let last = await snapshot();
      let since = Date.now();
      while (Date.now() - since < quietMs) {
        if (Date.now() > deadline) throw new Error(`bridge lab ${runId} not quiet after ${timeoutMs} ms (${last})`);
        await sleep(100);
        const now = await snapshot();
        if (now !== last) {
          last = now;
          since = Date.now();
        }
      }
    },
    destroy: namespaces.destroy,
  };

  // Records were written by claimRunId; tracked before anything exists, so a crash at any
  // point below is cleaned by the exit hook or the next sweep.
  try {
    await namespaces.create();
    await sysctls(sw, SWITCH_SYSCTLS);
    await Promise.all(allNs.map((ns) => ipBatch(ns, ['link set dev lo up'])));
    await ipBatch(sw, [
      `link add name br0 address ${bridgeMac} type bridge stp_state 0 mcast_snooping 0`,
      `addr add ${BRIDGE_NET.bridgeAddr}/24 dev br0`,
      'link set dev br0 up',
    ]);
    for (const host of hosts) {
      await ipBatch(sw, [
        `link add name ${host.port} type veth peer name ${host.ifname} netns ${host.ns}`,
        `link set dev ${host.port} master br0`,
        `link set dev ${host.port} up`,
      ]);
      await ipBatch(host.ns, [`link set dev ${host.ifname} address ${host.mac}`, `addr add ${host.addr}/24 dev ${host.ifname}`]);
      await inNs(host.ns, 'sysctl', ['-q', '-w', ...hostSysctls(host.ifname)]);
      await ipBatch(host.ns, [`link set dev ${host.ifname} up`]);
    }
    await Promise.all([
      waitOperUp(sw, ['br0', ...ports]),
      ...hosts.map((h) => waitOperUp(h.ns, [h.ifname])),
    ]);
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  return lab;
}
