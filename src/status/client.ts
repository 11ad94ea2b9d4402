/**
 * `agent status` side of the socket: asks the daemon for its snapshot.
 */
import { connect } from 'node:net';
import type { StatusSnapshot } from './types.ts';

export class DaemonUnreachable extends Error {
  constructor(
    message: string,
    /** ENOENT/ECONNREFUSED = not running; EACCES = running but not ours to read. */
    readonly code: string,
  ) {
    super(message);
  }
}

export function requestStatus(path: string, timeoutMs = 3000): Promise<StatusSnapshot> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DaemonUnreachable(`${path}: no answer within ${timeoutMs} ms`, 'ETIMEDOUT'));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${JSON.stringify({ request: 'status' })}\n`));
    socket.on('data', (chunk: string) => {
      reply += chunk;
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new DaemonUnreachable(`${path}: ${error.code ?? error.message}`, error.code ?? 'EIO'));
    });
    socket.once('end', () => {
      clearTimeout(timer);
      try {
        const parsed = JSON.parse(reply) as StatusSnapshot & { error?: string };
        if (parsed.error) reject(new DaemonUnreachable(`daemon answered: ${parsed.error}`, 'EPROTO'));
        else resolve(parsed);
      } catch {
        reject(new DaemonUnreachable(`${path}: reply is not JSON`, 'EPROTO'));
      }
    });
  });
}

/** Tries each candidate socket; the first daemon that answers wins. */
export async function findDaemon(candidates: readonly string[]): Promise<{ path: string; snapshot: StatusSnapshot }> {
  const failures: DaemonUnreachable[] = [];
  for (const path of candidates) {
    try {
      return { path, snapshot: await requestStatus(path) };
    } catch (error) {
      failures.push(error instanceof DaemonUnreachable ? error : new DaemonUnreachable(String(error), 'EIO'));
    }
  }
  const denied = failures.find((failure) => failure.code === 'EACCES');
  if (denied) {
    throw new DaemonUnreachable(
      `${denied.message}: the agent is running but this user may not read its socket (run with sudo, or join the socket's group)`,
      'EACCES',
    );
  }
  throw new DaemonUnreachable(`lanwatch agent is not running (no answer on ${candidates.join(', ')})`, 'ENOENT');
}
