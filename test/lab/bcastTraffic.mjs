// Broadcast/multicast generator for the bridge lab; runs inside a host namespace via
// `ip netns exec`. usage: node bcastTraffic.mjs '<json spec>'
//   { "kind": "mdns4" | "mdns6" | "ssdp" | "dhcp" | "arp" | "nd" | "unicast",
//     "count": N, "pps": R, "ifname": "eth0", "addr": "10.88.0.10", "peer": "10.88.0.1" }
// Sends N datagrams at R per second, then prints {"sent":N,"errors":E} and exits.
//   mdns4  224.0.0.251:5353 from addr     mdns6  [ff02::fb%ifname]:5353
//   ssdp   239.255.255.250:1900 (M-SEARCH) dhcp   DHCPDISCOVER 68 -> 255.255.255.255:67
//   arp    UDP to 10.88.0.200-249 in turn: nobody has them, so each datagram makes the
//          kernel broadcast one ARP request (the lab sets mcast_solicit 1, retrans 10 ms)
//   nd     the same over IPv6 to fe80::88:1:0-49%ifname: one neighbour solicitation each
//   unicast UDP to `peer` port 9 (discard): frames the counters must not count; with
//          "ports": N, to N distinct ports from 20000 on in turn: through a router or a
//          tracking bridge, one conntrack entry per port (filling the table)
// Every destination is inside the lab (its /24 or link-local on the lab link).
// Bounded: at most 20,000 datagrams, 5,000 per second, 30 s.
import { createSocket } from 'node:dgram';

const spec = JSON.parse(process.argv[2] ?? '{}');
const count = Math.min(Math.max(Number(spec.count) || 0, 0), 20000);
const pps = Math.min(Math.max(Number(spec.pps) || 100, 1), 5000);
const ifname = String(spec.ifname ?? 'eth0');
const addr = String(spec.addr ?? '');
setTimeout(() => finish(2, 'time limit'), 30000).unref();

function dnsQuery() {
  // Header: id 0, flags 0, 1 question; QNAME _lanwatch-lab._tcp.local, type PTR, class IN.
  const labels = ['_lanwatch-lab', '_tcp', 'local'];
  const parts = [Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'ascii'));
  parts.push(Buffer.from([0, 0, 12, 0, 1]));
  return Buffer.concat(parts);
}

function dhcpDiscover() {
  const b = Buffer.alloc(300);
  b[0] = 1; // BOOTREQUEST
  b[1] = 1; // Ethernet
  b[2] = 6;
  b.writeUInt32BE(0x6c616e77, 4); // xid "lanw"
  b.writeUInt16BE(0x8000, 10); // broadcast flag
  Buffer.from([0x02, 0x88, 0, 0, 0, 0x99]).copy(b, 28);
  b.writeUInt32BE(0x63825363, 236); // magic cookie
  Buffer.from([53, 1, 1, 255]).copy(b, 240); // DHCPDISCOVER, end
  return b;
}

const SSDP = Buffer.from('M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n');

/** { socket, payload, target(i) -> [port, host] } per kind. */
async function setup() {
  const bind = (socket, options) => new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  switch (spec.kind) {
    case 'mdns4': {
      const s = createSocket({ type: 'udp4', reuseAddr: true });
      await bind(s, { address: addr, port: 5353 });
      s.setMulticastInterface(addr);
      s.setMulticastTTL(255);
      return { s, payload: dnsQuery(), target: () => [5353, '224.0.0.251'] };
    }
    case 'mdns6': {
      const s = createSocket({ type: 'udp6', reuseAddr: true });
      await bind(s, { address: '::', port: 5353 });
      s.setMulticastInterface(`::%${ifname}`);
      return { s, payload: dnsQuery(), target: () => [5353, `ff02::fb%${ifname}`] };
    }
    case 'ssdp': {
      const s = createSocket('udp4');
      await bind(s, { address: addr, port: 0 });
      s.setMulticastInterface(addr);
      return { s, payload: SSDP, target: () => [1900, '239.255.255.250'] };
    }
    case 'dhcp': {
      // Bound to the host's address: with no default route, 255.255.255.255 leaves by the
      // interface that owns the source address.
      const s = createSocket({ type: 'udp4', reuseAddr: true });
      await bind(s, { address: addr, port: 68 });
      s.setBroadcast(true);
      return { s, payload: dhcpDiscover(), target: () => [67, '255.255.255.255'] };
    }
    case 'arp': {
      const s = createSocket('udp4');
      await bind(s, { address: addr, port: 0 });
      const prefix = addr.slice(0, addr.lastIndexOf('.') + 1);
      return { s, payload: Buffer.from('arp'), target: (i) => [9, `${prefix}${200 + (i % 50)}`] };
    }
    case 'nd': {
      const s = createSocket('udp6');
      await bind(s, { address: '::', port: 0 });
      return { s, payload: Buffer.from('nd'), target: (i) => [9, `fe80::88:1:${(i % 50).toString(16)}%${ifname}`] };
    }
    case 'unicast': {
      const s = createSocket('udp4');
      await bind(s, { address: addr, port: 0 });
      const ports = Math.min(Math.max(Number(spec.ports) || 0, 0), 20000);
      const port = ports > 0 ? (i) => 20000 + (i % ports) : () => 9;
      return { s, payload: Buffer.from('unicast'), target: (i) => [port(i), String(spec.peer)] };
    }
    default:
      throw new Error(`unknown kind ${spec.kind}`);
  }
}

let sent = 0;
let errors = 0;
let acked = 0;
let socket = null;

function finish(code, why) {
  if (why) process.stderr.write(`${why}\n`);
  process.stdout.write(`${JSON.stringify({ sent, errors })}\n`);
  socket?.close();
  process.exit(code);
}

try {
  const { s, payload, target } = await setup();
  socket = s;
  const start = performance.now();
  const onSent = (error) => {
    if (error) errors++;
    if (++acked === count) finish(0);
  };
  if (count === 0) finish(0);
  const timer = setInterval(() => {
    const due = Math.min(count, Math.floor(((performance.now() - start) / 1000) * pps) + 1);
    while (sent < due) {
      const [port, host] = target(sent);
      sent++;
      s.send(payload, port, host, onSent);
    }
    if (sent === count) clearInterval(timer);
  }, 2);
} catch (error) {
  finish(1, error instanceof Error ? error.message : String(error));
}
