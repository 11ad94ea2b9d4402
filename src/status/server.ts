/**
 * The daemon's status endpoint: a unix socket (never TCP: nothing listens on the network
 * unless configured). A client sends one JSON line {"request":"status"} and gets one JSON
 * line back. Mode 0660 so members of the daemon's group can read it without root.
 */
import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';

export type StatusProvider = () => unknown;

const MAX_REQUEST_BYTES = 4096;

export class StatusServerError extends Error {}

/** True when something answers on the socket (another agent), false when it is stale. */
function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

export async function startStatusServer(path: string, provide: StatusProvider): Promise<Server> {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  } catch (error) {
    throw new StatusServerError(`cannot create ${dirname(path)}: ${(error as Error).message}`);
  }
  if (await socketAlive(path)) {
    throw new StatusServerError(`another agent is already serving ${path}`);
  }
  try {
    unlinkSync(path); // stale socket of an agent that did not shut down cleanly
  } catch {
    // absent: fine
  }
  const server = createServer((socket) => serve(socket, provide));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new StatusServerError(`cannot listen on ${path}: ${error.message}`)));
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o660);
  server.on('close', () => {
    try {
      unlinkSync(path);
    } catch {
      // already removed
    }
  });
  return server;
}

function serve(socket: Socket, provide: StatusProvider): void {
  let request = '';
  socket.setEncoding('utf8');
  socket.setTimeout(2000, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    request += chunk;
    if (request.length > MAX_REQUEST_BYTES) {
      socket.end(`${JSON.stringify({ error: 'request too large' })}\n`);
      return;
    }
    const newline = request.indexOf('\n');
    if (newline < 0) return;
    let reply: unknown;
    try {
      const parsed = JSON.parse(request.slice(0, newline)) as { request?: unknown };
      reply = parsed.request === 'status' ? provide() : { error: `unknown request ${JSON.stringify(parsed.request)}` };
    } catch {
      reply = { error: 'request is not JSON' };
    }
    socket.end(`${JSON.stringify(reply)}\n`);
  });
}
