// UDP frames out of a tcpdump capture (pcap, Ethernet link type), parsed by hand: an oracle
// for what a probe put on the wire that shares no code with lanwatch. IPv4 and IPv6 (UDP as
// the first next header), one optional 802.1Q tag.
export interface UdpFrame {
  /** Lower-case colon MACs. */
  ethSrc: string;
  ethDst: string;
  family: 4 | 6;
  /** Canonical text form (IPv6 compressed, as the URL parser writes it). */
  ipSrc: string;
  ipDst: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

const LINKTYPE_ETHERNET = 1;
const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const UDP = 17;

function mac(frame: Buffer, at: number): string {
  return Array.from(frame.subarray(at, at + 6), (byte) => byte.toString(16).padStart(2, '0')).join(':');
}

function ipv6(frame: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(frame.readUInt16BE(at + i).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function udpFrame(frame: Buffer): UdpFrame | null {
  let at = 12;
  let etherType = frame.readUInt16BE(at);
  if (etherType === ETH_VLAN) {
    at += 4;
    etherType = frame.readUInt16BE(at);
  }
  at += 2;
  let family: 4 | 6;
  let ipSrc: string;
  let ipDst: string;
  if (etherType === ETH_IPV4) {
    if (frame[at + 9] !== UDP) return null;
    family = 4;
    ipSrc = Array.from(frame.subarray(at + 12, at + 16)).join('.');
    ipDst = Array.from(frame.subarray(at + 16, at + 20)).join('.');
    at += (frame[at]! & 0x0f) * 4;
  } else if (etherType === ETH_IPV6) {
    if (frame[at + 6] !== UDP) return null;
    family = 6;
    ipSrc = ipv6(frame, at + 8);
    ipDst = ipv6(frame, at + 24);
    at += 40;
  } else {
    return null;
  }
  const udpLength = frame.readUInt16BE(at + 4);
  return {
    ethDst: mac(frame, 0),
    ethSrc: mac(frame, 6),
    family,
    ipSrc,
    ipDst,
    srcPort: frame.readUInt16BE(at),
    dstPort: frame.readUInt16BE(at + 2),
    payload: frame.subarray(at + 8, at + udpLength),
  };
}

/** Every UDP frame of a classic pcap file, in capture order. */
export function udpFramesOf(pcap: Buffer): UdpFrame[] {
  if (pcap.length < 24) return [];
  const magic = pcap.readUInt32LE(0);
  const littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!littleEndian && pcap.readUInt32BE(0) !== 0xa1b2c3d4 && pcap.readUInt32BE(0) !== 0xa1b23c4d) throw new Error('not a pcap file');
  const u32 = (at: number): number => (littleEndian ? pcap.readUInt32LE(at) : pcap.readUInt32BE(at));
  if (u32(20) !== LINKTYPE_ETHERNET) throw new Error(`pcap link type ${u32(20)}, expected Ethernet`);
  const frames: UdpFrame[] = [];
  for (let at = 24; at + 16 <= pcap.length;) {
    const captured = u32(at + 8);
    const frame = pcap.subarray(at + 16, at + 16 + captured);
    at += 16 + captured;
    if (frame.length < 14) continue;
    const udp = udpFrame(frame);
    if (udp) frames.push(udp);
  }
  return frames;
}
