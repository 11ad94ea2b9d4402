/**
 * Where the status socket lives. Root: /run/lanwatch/status.sock (tmpfs, cleared at boot,
 * the systemd/procd convention). Others: $XDG_RUNTIME_DIR/lanwatch/status.sock, or a
 * private directory under the temp dir when there is no runtime dir (plain ssh on some
 * systems, OpenWrt).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SYSTEM_SOCKET = '/run/lanwatch/status.sock';

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function userSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'lanwatch', 'status.sock');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return join(tmpdir(), `lanwatch-${uid}`, 'status.sock');
}

/** The path the daemon listens on. */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  return isRoot() ? SYSTEM_SOCKET : userSocketPath(env);
}

/**
 * Paths `agent status` tries, in order: the one asked for, else the system socket (a
 * daemon run by systemd/procd) and then this user's (a daemon started by hand).
 */
export function clientSocketCandidates(configured: string | null, env: NodeJS.ProcessEnv = process.env): string[] {
  if (configured) return [configured];
  const candidates = [SYSTEM_SOCKET, userSocketPath(env)];
  return [...new Set(candidates)];
}
