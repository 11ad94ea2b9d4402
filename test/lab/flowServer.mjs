// Echo server for lab flows; runs inside the WAN namespace via `ip netns exec`.
// usage: node flowServer.mjs HOST LIFETIME_MS
// Prints "ready tcp=PORT udp=PORT" once listening. Exits when stdin closes (its
// parent is done or died) or after LIFETIME_MS, whichever comes first.
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

const [host = '192.0.2.1', lifetimeArg = '120000'] = process.argv.slice(2);
const lifetimeMs = Math.min(Number(lifetimeArg) || 120000, 600000);
const sockets = new Set();

const tcp = createServer((sock) => {
  sockets.add(sock);
  sock.on('error', () => {});
  sock.on('close', () => sockets.delete(sock));
  sock.pipe(sock);
});
const udp = createSocket('udp4');
udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));

function exit(code) {
  for (const s of sockets) s.destroy();
  process.exit(code);
}

setTimeout(() => exit(0), lifetimeMs);
process.stdin.on('end', () => exit(0));
process.stdin.on('close', () => exit(0));
process.stdin.on('error', () => exit(0));
process.stdin.resume();

// Backlog above the default 511 so a burst of SYNs is not dropped and retried.
tcp.listen({ host, port: 0, backlog: 4096 }, () => {
  udp.bind({ address: host, port: 0 }, () => {
    process.stdout.write(`ready tcp=${tcp.address().port} udp=${udp.address().port}\n`);
  });
});
tcp.on('error', (err) => { process.stderr.write(`tcp: ${err.message}\n`); exit(1); });
udp.on('error', (err) => { process.stderr.write(`udp: ${err.message}\n`); exit(1); });
