/**
 * Picks the best backend for each source on this machine, probing the kernel once at
 * start. What can't be used degrades one source, with the reason kept in its status:
 * - netlink addon not loadable (musl without a build): sysfs inventory, /proc/net/dev
 *   counters, procfs conntrack;
 * - ctnetlink refused (no CAP_NET_ADMIN) or missing: procfs conntrack;
 * - nf_conntrack not loaded at all: conntrack off ("none"), the rest unaffected.
 * RTM_GETLINK and RTM_GETSTATS need no privileges, so links always use netlink when the
 * addon loads.
 */
import type {
  ConntrackSample,
  ConntrackStatsSource,
  FdbMoveSource,
  Hal,
  LinkInventory,
  LinkStatsSource,
  LoopProbe,
  PortCounterSink,
  PortGuard,
  ProtectedPortResolver,
  PortCounterSource,
  ReadDone,
  SourceStatus,
} from '../index.ts';
import { emptyConntrackSample, fillConntrackCounters } from '../index.ts';
import { loadNetlinkBinding, openRawNetlink } from '../netlink/rawSocket.ts';
import type { NetlinkTransportFactory } from '../netlink/transport.ts';
import { ProcfsConntrackStats } from '../procfs/conntrackStats.ts';
import { SysfsInventory } from '../procfs/inventory.ts';
import { ProcNetDevLinkStats } from '../procfs/linkStats.ts';
import { NetlinkConntrackStats } from './conntrackStats.ts';
import { NetlinkFdbEvents } from './fdbEvents.ts';
import { BroadcastProbe } from './broadcastProbe.ts';
import { LinuxConntrackHosts } from './conntrackHosts.ts';
import { HostTable } from './conntrackHostTable.ts';
import { openEthtoolMacStats } from './ethtoolMacStats.ts';
import { readHostIdentities } from './hostNames.ts';
import { LayeredPortCounters } from './layeredPortCounters.ts';
import { NftPortGuard } from './portGuard.ts';
import { resolveUplinkPorts } from './uplinkPorts.ts';
import { openNftPortCounters } from './nftPortCounters.ts';
import { KernelSourceError } from './errors.ts';
import { NetlinkInventory, type InventoryLogger } from './inventory.ts';
import { NetlinkLinkStats } from './linkStats.ts';

export interface LinuxHalOptions {
  /** info/debug are optional: the loop probe reports recoveries and repeats there. */
  log: InventoryLogger & { info?(message: string): void; debug?(message: string): void };
  /** Root of /proc and /sys, for fixture trees in tests. */
  root?: string;
  /** Injected transport (tests); default the real netlink socket. */
  transport?: NetlinkTransportFactory;
  /** How long the conntrack probe waits for the kernel. */
  probeTimeoutMs?: number;
  /** Full conntrack dump at least this often (the per-host ranking); events keep it current. */
  conntrackResyncIntervalMs?: number;
  /**
   * Count broadcast/multicast per bridge port (our nftables table) and follow FDB moves.
   * Default true; tests of other sources turn it off so they install nothing.
   */
  ports?: boolean;
}

/** Port counters when nothing can count them: says why; every port falls back (sampler). */
class NoPortCounters implements PortCounterSource {
  constructor(readonly status: SourceStatus) {}
  async apply(): Promise<void> {}
  read(_sink: PortCounterSink, done: ReadDone): void {
    done(null);
  }
  sourceOf(): string | null {
    return null;
  }
  async close(): Promise<void> {}
}

/** Conntrack when nf_conntrack is not loaded: every read reports "unknown". */
class NoConntrack implements ConntrackStatsSource {
  constructor(readonly status: SourceStatus) {}
  read(out: ConntrackSample, done: ReadDone): void {
    out.count = NaN;
    out.max = NaN;
    fillConntrackCounters(out, NaN);
    done(null);
  }
  close(): void {}
}

function probe(source: ConntrackStatsSource, timeoutMs: number): Promise<Error | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(new KernelSourceError('no answer from ctnetlink', 'ETIMEDOUT')), timeoutMs);
    source.read(emptyConntrackSample(), (error) => {
      clearTimeout(timer);
      resolve(error);
    });
  });
}

async function pickConntrack(root: string, transport: NetlinkTransportFactory | null, timeoutMs: number): Promise<ConntrackStatsSource> {
  let reason = 'netlink addon not loaded';
  if (transport) {
    try {
      const netlink = new NetlinkConntrackStats(transport);
      const error = await probe(netlink, timeoutMs);
      if (!error) return netlink;
      netlink.close();
      const code = error instanceof KernelSourceError ? error.code : '';
      reason =
        code === 'EPERM' ? 'ctnetlink needs CAP_NET_ADMIN'
          : code === 'EOPNOTSUPP' || code === 'ENOENT' ? 'ctnetlink not available (nf_conntrack_netlink missing)'
            : `ctnetlink failed: ${error.message}`;
    } catch (error) {
      reason = `ctnetlink socket failed: ${(error as Error).message}`;
    }
  }
  const procfs = new ProcfsConntrackStats(root, reason);
  if (procfs.available()) return procfs;
  procfs.close();
  return new NoConntrack({ backend: 'none', detail: 'nf_conntrack not loaded (no /proc/sys/net/netfilter/nf_conntrack_count)' });
}

export async function createLinuxHal(options: LinuxHalOptions): Promise<Hal> {
  const root = options.root ?? '/';
  let transport: NetlinkTransportFactory | null = options.transport ?? null;
  let noNetlinkReason = '';
  if (!transport) {
    const loaded = loadNetlinkBinding();
    if (loaded.ok) transport = openRawNetlink;
    else noNetlinkReason = loaded.reason;
  }

  let inventory: LinkInventory;
  let linkStats: LinkStatsSource;
  if (transport) {
    inventory = new NetlinkInventory(transport, options.log);
    linkStats = new NetlinkLinkStats(transport);
  } else {
    inventory = new SysfsInventory(root, noNetlinkReason);
    linkStats = new ProcNetDevLinkStats(root, noNetlinkReason);
  }
  const conntrack = await pickConntrack(root, transport, options.probeTimeoutMs ?? 1000);

  // The ranking needs what the counts need: ctnetlink (CAP_NET_ADMIN). Sockets open here; the
  // first dump runs when the agent asks for it.
  const conntrackHosts =
    transport && conntrack.status.backend === 'netlink'
      ? new LinuxConntrackHosts(transport, { resyncIntervalMs: options.conntrackResyncIntervalMs, log: options.log, root })
      : undefined;
  const hostTable = conntrackHosts ? new HostTable() : undefined;

  let ports: PortCounterSource | undefined;
  let fdb: FdbMoveSource | undefined;
  let probe: LoopProbe | undefined;
  let guard: PortGuard | undefined;
  let protectedPorts: ProtectedPortResolver | undefined;
  if (options.ports ?? true) {
    // Nothing touches the kernel until the agent installs the guard (loop.protect on).
    guard = new NftPortGuard({ root });
    protectedPorts = (query) => resolveUplinkPorts({ root, ...query });
    // Bridges are named later, with the port plan; until then it sends nothing.
    probe = new BroadcastProbe([], {
      log: { warn: (m) => options.log.warn(m), info: (m) => options.log.info?.(m), debug: (m) => options.log.debug?.(m) },
    });
    if (transport) {
      // nftables counts every field of a bridge port; the NIC's own eth-mac MIB, where the driver
      // has one (DSA ports, the Pi 5's macb), also sees frames a switch chip floods without the
      // CPU, so its broadcast/multicast counts win for the ports it covers.
      const [nft, ethtool] = await Promise.all([openNftPortCounters({ transport }), openEthtoolMacStats({ transport })]);
      if (nft.source === null) options.log.warn(`port counters: ${nft.status.detail}`);
      ports =
        nft.source !== null || ethtool.source !== null
          ? new LayeredPortCounters({ primary: nft.source, hardware: ethtool.source, log: (line) => options.log.warn(line) })
          : new NoPortCounters(nft.status);
      // RTNLGRP_NEIGH needs no privilege: moves are followed even when nft can't count.
      fdb = new NetlinkFdbEvents(transport, { log: options.log });
    } else {
      ports = new NoPortCounters({ backend: 'none', detail: `port counters off: ${noNetlinkReason}` });
    }
  }

  return {
    inventory,
    linkStats,
    conntrack,
    ports,
    fdb,
    probe,
    guard,
    protectedPorts,
    conntrackHosts,
    hostTable,
    hostIdentities: () => readHostIdentities(root),
    close() {
      conntrackHosts?.close();
      inventory.close();
      linkStats.close();
      conntrack.close();
      fdb?.close();
      void probe?.close();
      // ports.close() closes its sockets at once and then removes our nft table, which takes an
      // nft run: the agent awaits it before close(); here it only must not keep the process alive.
      void ports?.close().catch(() => {});
    },
  };
}
