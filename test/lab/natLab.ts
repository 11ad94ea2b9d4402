// A home-router NAT lab in network namespaces (twin of scripts/lab/natlab.sh):
//
//   lw<id>-lanK: eth0 10.77.0.(K+2)/24, default via 10.77.0.1
//        |  veth
//   lw<id>-rtr:  lanK (port of br-lan 10.77.0.1/24)   wan 192.0.2.2/24, masquerade out of "wan"
//        |  veth
//   lw<id>-wan:  eth0 192.0.2.1/24 (the whole "internet"; no default route); rtr routes default to it
//
// mode 'bridge': the same namespaces as a transparent bridge (a Pi between the ISP router and the
// LAN): rtr has no NAT and routes nothing, "wan" is one more port of br-lan, lw<id>-wan is the
// upstream router at 10.77.0.254 on the LAN subnet (every host's default route), and conntrack
// in rtr tracks the bridged flows (bridgeConntrack.ts). br-lan keeps 10.77.0.1 as the bridge's
// management address.
//
// Interface names are fixed ("br-lan", "wan", "eth0") to look like the appliance;
// they can't clash because each run's interfaces live only in that run's namespaces.
// One LAN host or many: the LAN side of rtr is always a bridge, so both are alike.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { inNs, run, type RunOptions, type RunResult } from './exec.ts';
import { claimNames, labNamespaces, listNamespaces, sweepStaleLabs } from './cleanup.ts';
import { BRIDGE_CT_TABLE, trackBridgedFlows, type BridgeConntrackHook } from './bridgeConntrack.ts';

export type LanKey = `lan${number}`;
/** 'lan' is an alias of 'lan0', the first LAN host. */
export type NsKey = 'rtr' | 'wan' | 'lan' | LanKey;

export interface NatLabOptions {
  /** Number of LAN host namespaces (1..200). Default 1. */
  lanHosts?: number;
  /** Keep IPv6 on. Default off, so link counters and conntrack stay quiet. */
  ipv6?: boolean;
  /**
   * IGMP snooping on br-lan. Default off, as on OpenWrt: with it on, the bridge
   * joins 224.0.0.106 and rtr sends IGMPv3 reports ~1 s after bring-up, which
   * conntrack in rtr tracks as an extra "unknown" (proto 2) entry for 600 s.
   */
  igmpSnooping?: boolean;
  /** Remove labs of dead runs first. Default true. */
  sweep?: boolean;
  /** 'nat' (default): rtr routes and masquerades. 'bridge': rtr is a transparent bridge (see the header). */
  mode?: 'nat' | 'bridge';
}

/** One veth whose rtr end is `name`; enough to (re)create it from scratch. */
export interface PortSpec {
  name: string;
  peerNs: string;
  peerIf: string;
  peerCidr: string;
  peerGateway?: string;
  master?: string;
  rtrCidr?: string;
}

export interface LanHost {
  key: LanKey;
  ns: string;
  ifname: string;
  addr: string;
  rtrPort: string;
}

export interface NatLab {
  runId: string;
  mode: 'nat' | 'bridge';
  /** How conntrack in rtr sees bridged flows (mode 'bridge'); null in mode 'nat'. */
  bridgeConntrack: BridgeConntrackHook | null;
  names: { rtr: string; lan: string; wan: string };
  links: { rtrLan: string; rtrWan: string; lanIf: string; wanIf: string; rtrLanPorts: string[] };
  addrs: { rtrLan: string; rtrWan: string; lan: string; wan: string; lanCidr: string; wanCidr: string };
  hosts: LanHost[];
  ports: PortSpec[];
  nftTable: string;
  nsName(key: NsKey): string;
  exec(key: NsKey, cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Idempotent; also safe while createNatLab is still failing half-way. */
  destroy(): Promise<void>;
}

export const LAB_ADDRS = {
  rtrLan: '10.77.0.1',
  rtrWan: '192.0.2.2',
  lan: '10.77.0.2',
  wan: '192.0.2.1',
  lanCidr: '10.77.0.0/24',
  wanCidr: '192.0.2.0/24',
} as const;

/** Mode 'bridge': one subnet; the bridge's one address stands for both of rtr's. */
export const BRIDGE_LAB_ADDRS = {
  rtrLan: '10.77.0.1',
  rtrWan: '10.77.0.1',
  lan: '10.77.0.2',
  wan: '10.77.0.254',
  lanCidr: '10.77.0.0/24',
  wanCidr: '10.77.0.0/24',
} as const;

const NFT_TABLE = 'lab_nat';
// oifname (not oif) matches by name, so the rule survives "wan" being re-created.
const NFT_RULES = `table ip ${NFT_TABLE} {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade
  }
}
`;

function ipBatch(ns: string, lines: string[]): Promise<RunResult> {
  return run('ip', ['-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

/**
 * Waits until every named link in `ns` reports operstate UP. The kernel's
 * linkwatch reports carrier changes up to ~1 s late (a fresh bridge reads
 * UNKNOWN meanwhile), and agent tests should not see that transient.
 */
export async function waitOperUp(ns: string, ifnames: readonly string[], timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let notUp: string[] = [...ifnames];
  while (notUp.length > 0) {
    const { stdout } = await run('ip', ['-n', ns, '-j', 'link', 'show']);
    const links: unknown = JSON.parse(stdout);
    const up = new Set<string>();
    if (Array.isArray(links)) {
      for (const l of links as Array<{ ifname?: unknown; operstate?: unknown }>) {
        if (typeof l.ifname === 'string' && l.operstate === 'UP') up.add(l.ifname);
      }
    }
    notUp = ifnames.filter((n) => !up.has(n));
    if (notUp.length === 0) return;
    if (Date.now() > deadline) throw new Error(`links not UP in ${ns} after ${timeoutMs} ms: ${notUp.join(', ')}`);
    await sleep(50);
  }
}

/** Creates the veth of `port` and configures both ends. rtr must already exist. */
export async function plugPort(rtrNs: string, port: PortSpec, settle = true): Promise<void> {
  // Always "name X": in ip's parser a bare "a"/"ad".. would mean "address".
  const rtr = [`link add name ${port.name} type veth peer name ${port.peerIf} netns ${port.peerNs}`];
  if (port.master !== undefined) rtr.push(`link set ${port.name} master ${port.master}`);
  if (port.rtrCidr !== undefined) rtr.push(`addr add ${port.rtrCidr} dev ${port.name}`);
  rtr.push(`link set ${port.name} up`);
  await ipBatch(rtrNs, rtr);
  const peer = [`addr add ${port.peerCidr} dev ${port.peerIf}`, `link set ${port.peerIf} up`];
  if (port.peerGateway !== undefined) peer.push(`route add default via ${port.peerGateway}`);
  await ipBatch(port.peerNs, peer);
  if (settle) {
    await Promise.all([
      waitOperUp(rtrNs, port.master !== undefined ? [port.name, port.master] : [port.name]),
      waitOperUp(port.peerNs, [port.peerIf]),
    ]);
  }
}

function labNames(runId: string, lanHosts: number): string[] {
  return [`lw${runId}-rtr`, `lw${runId}-wan`, ...Array.from({ length: lanHosts }, (_, k) => `lw${runId}-lan${k}`)];
}

/** Picks a fresh run id and claims its ownership records before any namespace exists. */
async function claimRunId(lanHosts: number): Promise<string> {
  const existing = await listNamespaces();
  for (let attempt = 0; attempt < 100; attempt++) {
    const id = randomBytes(2).toString('hex');
    if (existing.some((ns) => ns.startsWith(`lw${id}-`))) continue;
    if (claimNames(labNames(id, lanHosts))) return id;
  }
  throw new Error('could not claim a free lab run id');
}

/**
 * Per-netns conntrack timeouts in seconds, short enough that closed TCP flows and idle UDP flows
 * leave within the test (defaults: TIME_WAIT 120 s, UDP 30 s, 120 s once it is a stream).
 */
export async function shortenConntrackTimeouts(ns: string, udpSeconds = 5): Promise<void> {
  await inNs(ns, 'sysctl', [
    '-q', '-w',
    `net.netfilter.nf_conntrack_udp_timeout=${udpSeconds}`,
    `net.netfilter.nf_conntrack_udp_timeout_stream=${udpSeconds}`,
    'net.netfilter.nf_conntrack_tcp_timeout_time_wait=2',
    'net.netfilter.nf_conntrack_tcp_timeout_fin_wait=2',
    'net.netfilter.nf_conntrack_tcp_timeout_close_wait=2',
    'net.netfilter.nf_conntrack_tcp_timeout_last_ack=2',
    'net.netfilter.nf_conntrack_tcp_timeout_close=2',
  ]);
}

// -e: keys of absent features (br_netfilter not loaded, IPv6 compiled out) are
// fine to skip; they then need no neutralising anyway.
function sysctls(ns: string, values: string[]): Promise<RunResult> {
  return inNs(ns, 'sysctl', ['-e', '-q', '-w', ...values]);
}

export async function createNatLab(opts: NatLabOptions = {}): Promise<NatLab> {
  const lanHosts = opts.lanHosts ?? 1;
  if (!Number.isInteger(lanHosts) || lanHosts < 1 || lanHosts > 200) throw new Error(`lanHosts must be 1..200, got ${lanHosts}`);
  if (opts.sweep !== false) await sweepStaleLabs();

  const runId = await claimRunId(lanHosts);
  const rtr = `lw${runId}-rtr`;
  const wan = `lw${runId}-wan`;
  const hosts: LanHost[] = Array.from({ length: lanHosts }, (_, k) => ({
    key: `lan${k}`,
    ns: `lw${runId}-lan${k}`,
    ifname: 'eth0',
    addr: `10.77.0.${k + 2}`,
    rtrPort: `lan${k}`,
  }));
  const allNs = labNames(runId, lanHosts);
  const bridged = opts.mode === 'bridge';
  const addrs = bridged ? BRIDGE_LAB_ADDRS : LAB_ADDRS;
  // A bridge's hosts route through the upstream router, a NAT router's through rtr.
  const gateway = bridged ? addrs.wan : addrs.rtrLan;
  const ports: PortSpec[] = [
    ...hosts.map((h) => ({ name: h.rtrPort, peerNs: h.ns, peerIf: h.ifname, peerCidr: `${h.addr}/24`, peerGateway: gateway, master: 'br-lan' })),
    bridged
      ? { name: 'wan', peerNs: wan, peerIf: 'eth0', peerCidr: `${addrs.wan}/24`, master: 'br-lan' }
      : { name: 'wan', peerNs: wan, peerIf: 'eth0', peerCidr: `${addrs.wan}/24`, rtrCidr: `${addrs.rtrWan}/24` },
  ];

  const nsName = (key: NsKey): string => {
    if (key === 'rtr') return rtr;
    if (key === 'wan') return wan;
    const host = key === 'lan' ? hosts[0] : hosts.find((h) => h.key === key);
    if (host === undefined) throw new Error(`no namespace ${key} in lab ${runId}`);
    return host.ns;
  };

  const namespaces = labNamespaces(allNs);
  const lab: NatLab = {
    runId,
    mode: bridged ? 'bridge' : 'nat',
    bridgeConntrack: null,
    names: { rtr, lan: nsName('lan'), wan },
    links: { rtrLan: 'br-lan', rtrWan: 'wan', lanIf: 'eth0', wanIf: 'eth0', rtrLanPorts: hosts.map((h) => h.rtrPort) },
    addrs: { ...addrs },
    hosts,
    ports,
    nftTable: bridged ? BRIDGE_CT_TABLE : NFT_TABLE,
    nsName,
    exec: (key, cmd, args, runOpts) => inNs(nsName(key), cmd, args, runOpts),
    destroy: namespaces.destroy,
  };

  // Ownership is already recorded (claimRunId); tracking before anything exists
  // means a crash at any point below is cleaned by the exit hook or next sweep.
  try {
    await namespaces.create();
    const v6 = opts.ipv6 === true ? [] : ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'];
    // bridge-nf-call-iptables defaults to 1 in a new netns; OpenWrt-like routers
    // don't pass bridged LAN<->LAN frames through conntrack, so neither do we.
    // A transparent bridge routes nothing; trackBridgedFlows() below decides its bridge-nf.
    const rtrSysctls = bridged ? ['net.ipv4.ip_forward=0'] : ['net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=0'];
    await Promise.all([
      sysctls(rtr, [...v6, ...rtrSysctls]),
      ...allNs.filter((ns) => ns !== rtr && v6.length > 0).map((ns) => sysctls(ns, v6)),
    ]);
    await Promise.all(allNs.filter((ns) => ns !== rtr).map((ns) => ipBatch(ns, ['link set lo up'])));
    await ipBatch(rtr, [
      'link set lo up',
      `link add name br-lan type bridge stp_state 0 mcast_snooping ${opts.igmpSnooping === true ? 1 : 0}`,
      `addr add ${addrs.rtrLan}/24 dev br-lan`,
      'link set br-lan up',
    ]);
    // Plug all ports, then wait once for carrier, rather than ~1 s per port.
    for (const port of ports) await plugPort(rtr, port, false);
    await Promise.all([
      waitOperUp(rtr, ['br-lan', ...ports.map((p) => p.name)]),
      ...ports.map((p) => waitOperUp(p.peerNs, [p.peerIf])),
    ]);
    // A router's default route points upstream; the board profile finds the WAN by it.
    // Its gateway is the lab's own wan namespace, which has no route onward: nothing leaves.
    await ipBatch(rtr, [`route add default via ${addrs.wan} dev ${bridged ? 'br-lan' : 'wan'}`]);
    if (bridged) lab.bridgeConntrack = await trackBridgedFlows(rtr);
    // The nat hook is what registers conntrack in rtr; without it nothing is tracked.
    else await inNs(rtr, 'nft', ['-f', '-'], { input: NFT_RULES });
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  return lab;
}
