// The PORT_* row (hal/index.ts) as tcpdump counts it in a capture of one port's received
// frames: an oracle for per-port counters that shares no code with lanwatch.
import { PORT_ARP, PORT_BCAST, PORT_DHCP, PORT_FIELDS, PORT_MCAST, PORT_MDNS, PORT_ND, PORT_OWN_SOURCE, PORT_SSDP } from '../../hal/index.ts';
import { countFrames } from './tcpdump.ts';

// Protocols count only flooded frames (group bit set: multicast, broadcast included).
// A single 802.1Q tag is counted by the inner protocol, as the agent does: each protocol
// filter runs once plain and once after `vlan` (which shifts the offsets that follow it).
const FLOODED = 'ether multicast';
const PROTOCOLS: [number, string][] = [
  [PORT_ARP, 'arp'],
  [PORT_ND, 'icmp6 and ip6[40] >= 133 and ip6[40] <= 137'],
  [PORT_MDNS, 'udp dst port 5353'],
  [PORT_SSDP, 'udp dst port 1900'],
  [PORT_DHCP, 'udp and (dst port 67 or dst port 68 or dst port 546 or dst port 547)'],
];

/** Frame counts in PORT_* order; own-source NaN when `bridgeMac` is null. */
export async function portRowFromPcap(pcap: Buffer, bridgeMac: string | null): Promise<number[]> {
  const row = new Array<number>(PORT_FIELDS).fill(NaN);
  const jobs: Promise<void>[] = [
    countFrames(pcap, 'ether broadcast').then((n) => void (row[PORT_BCAST] = n)),
    countFrames(pcap, 'ether multicast and not ether broadcast').then((n) => void (row[PORT_MCAST] = n)),
    ...PROTOCOLS.map(async ([field, filter]) => {
      const [plain, tagged] = await Promise.all([
        countFrames(pcap, `${FLOODED} and ${filter}`),
        countFrames(pcap, `${FLOODED} and vlan and ${filter}`),
      ]);
      row[field] = plain + tagged;
    }),
  ];
  if (bridgeMac !== null) jobs.push(countFrames(pcap, `ether src ${bridgeMac}`).then((n) => void (row[PORT_OWN_SOURCE] = n)));
  await Promise.all(jobs);
  return row;
}
