/**
 * `agent run --demo`: a Raspberry Pi 4 router with a USB NIC for the LAN, a WireGuard
 * tunnel, and a home's worth of traffic and connections that drift over time, so the
 * status view, Home Assistant and the docs can be shown without touching the kernel.
 */
import {
  LINK_MULTICAST,
  LINK_RX_BYTES,
  LINK_RX_PACKETS,
  LINK_TX_BYTES,
  LINK_TX_PACKETS,
} from '../index.ts';
import type { HostIdentity } from '../index.ts';
import { HostTable } from '../linux/conntrackHostTable.ts';
import { createDemoConntrackHosts, DEMO_CONNTRACK_HOSTS, hostEntryTotal, type FakeHostEntries } from './fakeConntrackHosts.ts';
import { FakeHal } from './fakeHal.ts';

export const DEMO_BOARD_MODEL = 'Raspberry Pi 4 Model B Rev 1.4';

interface DemoLink {
  index: number;
  name: string;
  kind: string;
  mac: string | null;
  mtu: number;
  /** Typical packets per second received, sent, and multicast received. */
  rxPps: number;
  txPps: number;
  mcastPps: number;
  /** Mean packet size in bytes. */
  packetBytes: number;
}

const DEMO_LINKS: DemoLink[] = [
  { index: 1, name: 'lo', kind: 'loopback', mac: '00:00:00:00:00:00', mtu: 65536, rxPps: 4, txPps: 4, mcastPps: 0, packetBytes: 120 },
  { index: 2, name: 'eth0', kind: 'ethernet', mac: 'dc:a6:32:00:5e:01', mtu: 1500, rxPps: 1800, txPps: 1100, mcastPps: 2, packetBytes: 900 },
  { index: 3, name: 'eth1', kind: 'ethernet', mac: '00:e0:4c:68:00:02', mtu: 1500, rxPps: 1100, txPps: 1800, mcastPps: 24, packetBytes: 900 },
  { index: 4, name: 'wg0', kind: 'wireguard', mac: null, mtu: 1420, rxPps: 40, txPps: 35, mcastPps: 0, packetBytes: 600 },
];

/** Who the demo's hosts are, as the neighbour cache and the DHCP leases would say. */
const DEMO_HOST_IDENTITIES = new Map<string, HostIdentity>([
  ['192.168.1.23', { mac: '7c:bb:8a:12:34:56', name: 'playstation' }],
  ['192.168.1.40', { mac: 'a4:83:e7:0a:1b:2c', name: 'macbook-anna' }],
  ['192.168.1.12', { mac: '3c:22:fb:9e:01:77', name: 'iphone-tom' }],
  ['192.168.1.57', { mac: 'b8:27:eb:44:10:0f', name: 'nas' }],
  ['fd00::1c4e:8aff:fe21:7b02', { mac: '1e:4e:8a:21:7b:02', name: null }],
  ['192.168.1.1', { mac: 'dc:a6:32:00:5e:02', name: null }],
]);

/** The demo hosts' entries before scaling; the scale makes them add up to the conntrack count. */
const DEMO_HOSTS_TOTAL = DEMO_CONNTRACK_HOSTS.reduce((sum, [, entries]) => sum + hostEntryTotal(entries), 0);

/** A host's demo entries scaled by `factor`, rounded per class. */
function scaled(entries: FakeHostEntries, factor: number): FakeHostEntries {
  const out: FakeHostEntries = {};
  for (const [key, value] of Object.entries(entries) as [keyof FakeHostEntries, number][]) out[key] = Math.round(value * factor);
  // Rounding must not leave the flags above the host's total.
  const sum = hostEntryTotal({ ...out, unreplied: 0, snat: 0 });
  out.unreplied = Math.min(out.unreplied ?? 0, sum);
  out.snat = Math.min(out.snat ?? 0, sum);
  return out;
}

/** A smooth, repeatable wobble around 1 (period in seconds). */
function wobble(seconds: number, period: number, depth: number): number {
  return 1 + depth * Math.sin((2 * Math.PI * seconds) / period);
}

export class DemoHal extends FakeHal {
  /** The hosts behind the conntrack count: their entries follow its drift. */
  readonly conntrackHosts = createDemoConntrackHosts();
  readonly hostTable = new HostTable(1024);
  readonly hostIdentities = async (): Promise<Map<string, HostIdentity>> => new Map(DEMO_HOST_IDENTITIES);
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt = performance.now();

  constructor() {
    super();
    for (const link of DEMO_LINKS) {
      this.addLink({ index: link.index, name: link.name, kind: link.kind, mac: link.mac, mtu: link.mtu });
    }
    this.conntrack.status = { backend: 'fake', detail: 'demo data' };
    this.linkStats.status.detail = 'demo data';
    this.inventory.status.detail = 'demo data';
    this.conntrack.sample.max = 65536;
    this.conntrack.sample.count = 1900;
    this.drift();
    // Not the hot path: the scenario changes its rates every few seconds.
    this.timer = setInterval(() => this.drift(), 2000);
    this.timer.unref();
  }

  private drift(): void {
    const t = (performance.now() - this.startedAt) / 1000;
    for (const link of DEMO_LINKS) {
      const load = wobble(t + link.index * 17, 300, 0.35);
      const rx = link.rxPps * load;
      const tx = link.txPps * load;
      this.setRate(link.index, LINK_RX_PACKETS, rx);
      this.setRate(link.index, LINK_TX_PACKETS, tx);
      this.setRate(link.index, LINK_RX_BYTES, rx * link.packetBytes);
      this.setRate(link.index, LINK_TX_BYTES, tx * link.packetBytes);
      this.setRate(link.index, LINK_MULTICAST, link.mcastPps * wobble(t, 45, 0.5));
    }
    const sample = this.conntrack.sample;
    const target = Math.round(1900 * wobble(t, 600, 0.4));
    const inserted = Math.max(0, target - sample.count) + 25;
    sample.count = target;
    sample.found += inserted * 40;
    // drift() runs every 2 s: `inserted` entries per 2 s is the new-entry rate.
    this.conntrackHosts.noteNew(inserted, inserted / 2);
    for (const [address, entries] of DEMO_CONNTRACK_HOSTS) this.conntrackHosts.set(address, scaled(entries, target / DEMO_HOSTS_TOTAL));
  }

  override close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.conntrackHosts.close();
  }
}
