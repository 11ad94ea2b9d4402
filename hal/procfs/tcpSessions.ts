/**
 * Established inbound TCP sessions on given local ports, from /proc/net/tcp and
 * /proc/net/tcp6: the loop protection must never cut off the port an ssh session comes in on.
 *
 * Line format: "sl local_address rem_address st …", addresses as "HEX:PORT" (address bytes in
 * host order per 32-bit word, see procAddress.ts; port hex). st 01 is TCP_ESTABLISHED
 * (include/net/tcp_states.h). Inbound = our local port is the listening one; an outbound
 * connection from a random local port to someone's port 22 is not a session into this box.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostWordsToNet, isLoopback, unmapIpv4 } from './procAddress.ts';

const TCP_ESTABLISHED = '01';

export interface TcpSession {
  localPort: number;
  /** The peer, network-order hex; an IPv4 peer of a tcp6 socket is unmapped to IPv4. */
  peer: string;
  peerPort: number;
}

/** Sessions in ESTABLISHED state whose local port is in `localPorts`, loopback peers left out. */
export function parseTcpSessions(text: string, localPorts: ReadonlySet<number>, littleEndian?: boolean): TcpSession[] {
  const sessions: TcpSession[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== TCP_ESTABLISHED) continue;
    const local = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(f[1]!);
    const remote = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(f[2]!);
    if (!local || !remote) continue;
    const localPort = parseInt(local[2]!, 16);
    if (!localPorts.has(localPort)) continue;
    const peer = unmapIpv4(hostWordsToNet(remote[1]!, littleEndian));
    if (isLoopback(peer)) continue;
    sessions.push({ localPort, peer, peerPort: parseInt(remote[2]!, 16) });
  }
  return sessions;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** IPv4 and IPv6 sessions under `root`; a missing file (no IPv6) gives none. */
export async function readTcpSessions(root: string, localPorts: readonly number[], littleEndian?: boolean): Promise<TcpSession[]> {
  const ports = new Set(localPorts);
  const [v4, v6] = await Promise.all([readText(join(root, 'proc/net/tcp')), readText(join(root, 'proc/net/tcp6'))]);
  return [
    ...(v4 === null ? [] : parseTcpSessions(v4, ports, littleEndian)),
    ...(v6 === null ? [] : parseTcpSessions(v6, ports, littleEndian)),
  ];
}
