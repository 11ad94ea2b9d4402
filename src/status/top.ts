/**
 * `agent top`: who fills the NAT table, live, like top(1). Redraws every second from the
 * agent's status socket; q (or Ctrl-C) quits. Plain ANSI only (cursor home, clear to end), so
 * it works over ssh in any terminal. Without a terminal it prints one screen and exits, like
 * `top -b -n 1`, so it can be piped.
 */
import { formatCount, formatDuration } from './render.ts';
import type { ConntrackHostStatus, StatusSnapshot } from './types.ts';

const HOME = '\x1b[H';
const CLEAR_TO_END = '\x1b[J';
const CLEAR_LINE = '\x1b[K';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

function pad(text: string, width: number, right = false): string {
  if (text.length > width) return `${text.slice(0, Math.max(0, width - 1))}…`;
  return right ? text.padStart(width) : text.padEnd(width);
}

function seconds(value: number | null | undefined): string {
  if (value === null || value === undefined) return 'not growing';
  return value === 0 ? 'FULL' : `~${formatDuration(value)}`;
}

function hostRow(host: ConntrackHostStatus, nameWidth: number): string {
  const who = host.name ?? host.mac ?? '';
  return [
    pad(host.ip, 39).trimEnd().padEnd(15),
    pad(who, nameWidth),
    pad(formatCount(host.entries), 7, true),
    pad(formatCount(host.tcpEstablished), 6, true),
    pad(formatCount(host.tcpClosing), 6, true),
    pad(formatCount(host.udp), 6, true),
    pad(formatCount(host.icmp), 5, true),
    pad(formatCount(host.unreplied), 8, true),
    pad(formatCount(host.snat), 6, true),
  ].join(' ');
}

/** One screen, at most `rows` lines of at most `columns` characters. Pure, for tests. */
export function renderTop(snapshot: StatusSnapshot, columns: number, rows: number, now = Date.now()): string[] {
  const ct = snapshot.conntrack;
  const lines: string[] = [];
  const clock = new Date(now).toISOString().slice(11, 19);
  lines.push(`lanwatch top · ${clock} UTC · up ${formatDuration(snapshot.agent.uptimeS)} · q quits`);
  if (ct.count === null) {
    lines.push(`conntrack unavailable — ${snapshot.agent.backends.conntrack.detail}`);
  } else {
    const pct = ct.pct === null ? '' : ` (${ct.pct.toFixed(1)} %)`;
    lines.push(
      `table ${ct.count.toLocaleString('en')} / ${ct.max?.toLocaleString('en') ?? '–'}${pct}` +
        ` · new ${formatCount(ct.newPerS ?? null)}/s · growth ${formatCount(ct.growthPerS ?? null)}/s · full in ${seconds(ct.secondsToFull)}` +
        ` · refused ${ct.refused10s ?? '–'} in 10 s`,
    );
  }
  const up = ct.upstream;
  if (up) {
    const used = up.used === null ? '–' : up.used.toLocaleString('en');
    lines.push(
      `upstream ${used} / ${up.budget.toLocaleString('en')}${up.pct === null ? '' : ` (${up.pct.toFixed(0)} %)`} of the declared budget` +
        ` (${up.basis === 'router' ? 'through our NAT' : 'flows we forward'}) · full in ${seconds(up.secondsToFull)}`,
    );
  }
  const active = snapshot.alarms.filter((a) => a.active && a.name.startsWith('nat'));
  for (const alarm of active) lines.push(`${(alarm.severity ?? '').toUpperCase()} ${alarm.name}: ${alarm.reason}`);
  lines.push('');
  const nameWidth = Math.max(8, Math.min(24, columns - 80));
  lines.push(
    [
      'host'.padEnd(15),
      pad('name / mac', nameWidth),
      pad('entries', 7, true),
      pad('tcp', 6, true),
      pad('closing', 6, true),
      pad('udp', 6, true),
      pad('icmp', 5, true),
      pad('unreplied', 8, true),
      pad('nat', 6, true),
    ].join(' '),
  );
  const hosts = ct.hosts ?? [];
  if (hosts.length === 0) lines.push('(no LAN hosts in the table yet)');
  const room = Math.max(0, rows - lines.length);
  for (const host of hosts.slice(0, room)) lines.push(hostRow(host, nameWidth));
  return lines.slice(0, Math.max(1, rows)).map((line) => (line.length > columns ? line.slice(0, columns) : line));
}

export interface TopTerminal {
  readonly isTTY: boolean;
  readonly columns: number;
  readonly rows: number;
  write(text: string): void;
}

export interface TopInput {
  readonly isTTY: boolean;
  setRawMode?(raw: boolean): void;
  on(event: 'data', listener: (chunk: Buffer) => void): void;
  off(event: 'data', listener: (chunk: Buffer) => void): void;
  resume(): void;
  pause(): void;
}

/**
 * Redraws every `intervalMs` until q, Ctrl-C or Ctrl-D; resolves with the exit code. `fetch`
 * returns a snapshot or throws (the agent went away: shown on screen, retried).
 */
export async function runTop(
  fetch: () => Promise<StatusSnapshot>,
  out: TopTerminal,
  input: TopInput,
  intervalMs = 1000,
): Promise<number> {
  if (!out.isTTY || !input.isTTY) {
    out.write(`${renderTop(await fetch(), 200, 1000).join('\n')}\n`);
    return 0;
  }
  return new Promise<number>((resolve) => {
    let timer: NodeJS.Timeout | null = null;
    let stopped = false;
    const draw = async (): Promise<void> => {
      let lines: string[];
      try {
        lines = renderTop(await fetch(), out.columns, out.rows);
      } catch (error) {
        lines = [`lanwatch top · ${(error as Error).message} · retrying · q quits`];
      }
      if (stopped) return;
      out.write(`${HOME}${lines.map((line) => `${line}${CLEAR_LINE}`).join('\n')}${CLEAR_TO_END}`);
      timer = setTimeout(() => void draw(), intervalMs);
    };
    const onKey = (chunk: Buffer): void => {
      // q, Q, Ctrl-C (0x03), Ctrl-D (0x04): raw mode delivers them as bytes, not signals.
      if (chunk.includes(0x71) || chunk.includes(0x51) || chunk.includes(0x03) || chunk.includes(0x04)) stop();
    };
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      input.off('data', onKey);
      input.setRawMode?.(false);
      input.pause();
      out.write(`${SHOW_CURSOR}\n`);
      resolve(0);
    };
    input.setRawMode?.(true);
    input.resume();
    input.on('data', onKey);
    out.write(`${HIDE_CURSOR}\x1b[2J`);
    void draw();
  });
}
