// Flow generator for the lab; runs inside a LAN namespace via `ip netns exec`.
// usage: node flowClient.mjs HOST TCP_PORT UDP_PORT N_TCP N_UDP LIFETIME_MS KEEPALIVE_MS
// Opens N_TCP connections (each echoes one byte, so the handshake has fully crossed
// the router) and N_UDP sockets with distinct source ports (each gets one echoed
// datagram): one conntrack entry per flow. Then prints
//   ready {"tcp":[srcPorts],"udp":[srcPorts]}
// and holds everything open until stdin closes or LIFETIME_MS passes. UDP sockets
// re-send every KEEPALIVE_MS (0 = never) because an idle UDP conntrack entry
// expires after 30 s. Bounded: at most N_TCP + N_UDP flows, at most LIFETIME_MS.
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';

const [host, tcpPortA, udpPortA, nTcpA, nUdpA, lifetimeA, keepaliveA] = process.argv.slice(2);
const tcpPort = Number(tcpPortA);
const udpPort = Number(udpPortA);
const nTcp = Number(nTcpA);
const nUdp = Number(nUdpA);
const lifetimeMs = Math.min(Number(lifetimeA) || 120000, 600000);
const keepaliveMs = Number(keepaliveA) || 0;
const tcpSocks = [];
const udpSocks = [];
const CONCURRENCY = 128;
const UDP_TRIES = 5;
const UDP_RETRY_MS = 300;

function exit(code, msg) {
  if (msg) process.stderr.write(`${msg}\n`);
  for (const s of tcpSocks) s.destroy();
  for (const s of udpSocks) s.close();
  process.exit(code);
}

setTimeout(() => exit(0), lifetimeMs);
process.stdin.on('end', () => exit(0));
process.stdin.on('close', () => exit(0));
process.stdin.on('error', () => exit(0));
process.stdin.resume();

function openTcp() {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port: tcpPort });
    tcpSocks.push(s);
    s.once('error', reject);
    s.once('connect', () => s.write('t'));
    s.once('data', () => {
      s.removeListener('error', reject);
      s.on('error', () => {});
      resolve(s.localPort);
    });
  });
}

function openUdp() {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    udpSocks.push(s);
    let tries = 0;
    let timer;
    const send = () => {
      if (++tries > UDP_TRIES) return reject(new Error(`udp: no echo after ${UDP_TRIES} tries`));
      s.send('u', udpPort, host);
      timer = setTimeout(send, UDP_RETRY_MS);
    };
    s.on('error', reject);
    s.once('message', () => {
      clearTimeout(timer);
      resolve(s.address().port);
    });
    s.bind(0, send);
  });
}

async function pool(n, open) {
  const ports = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      ports.push(await open());
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
  return ports.sort((a, b) => a - b);
}

try {
  const [tcp, udp] = await Promise.all([pool(nTcp, openTcp), pool(nUdp, openUdp)]);
  if (keepaliveMs > 0 && udpSocks.length > 0) {
    setInterval(() => { for (const s of udpSocks) s.send('k', udpPort, host); }, keepaliveMs);
  }
  process.stdout.write(`ready ${JSON.stringify({ tcp, udp })}\n`);
} catch (err) {
  exit(1, `flowClient: ${err instanceof Error ? err.message : String(err)}`);
}
