/**
 * Logging: pino, JSON lines when a supervisor collects them (systemd's journal, procd's
 * logd) and one readable line per record on a terminal. The terminal formatter is a few
 * lines of ours rather than pino-pretty and its thirteen dependencies, which a router's
 * flash would carry for a cosmetic feature.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogFormat, LogLevel } from './config/types.ts';

export type { Logger };

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL',
};
const LEVEL_COLOURS: Record<number, string> = { 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[31m' };
const RESET = '\x1b[0m';
const HIDDEN_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Formats one pino JSON record as "12:03:04 WARN  message key=value". */
export function formatPretty(line: string, colour: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof record.level === 'number' ? record.level : 30;
  const time = typeof record.time === 'number' ? new Date(record.time).toTimeString().slice(0, 8) : '';
  let name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  if (colour && LEVEL_COLOURS[level]) name = `${LEVEL_COLOURS[level]}${name}${RESET}`;
  let out = `${time} ${name} ${String(record.msg ?? '')}`;
  for (const [key, value] of Object.entries(record)) {
    if (HIDDEN_KEYS.has(key)) continue;
    if (key === 'err' && value && typeof value === 'object' && 'message' in value) {
      out += ` error=${JSON.stringify((value as { message: unknown }).message)}`;
      continue;
    }
    out += ` ${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`;
  }
  return `${out}\n`;
}

function prettyStream(target: NodeJS.WriteStream): DestinationStream {
  const colour = target.isTTY === true;
  return { write: (line: string) => void target.write(formatPretty(line, colour)) };
}

/**
 * "auto" is pretty only on an interactive terminal; under systemd (JOURNAL_STREAM) or
 * procd (no TTY) it is JSON, which `journalctl -o cat | jq` and log shippers can read.
 */
export function resolveLogFormat(format: LogFormat, stream: NodeJS.WriteStream = process.stderr): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  return stream.isTTY && !process.env.JOURNAL_STREAM ? 'pretty' : 'json';
}

export function createLogger(level: LogLevel, format: LogFormat, stream: NodeJS.WriteStream = process.stderr): Logger {
  const destination = resolveLogFormat(format, stream) === 'pretty' ? prettyStream(stream) : pino.destination({ fd: (stream as { fd?: number }).fd ?? 2, sync: true });
  return pino(
    {
      level,
      base: { pid: process.pid },
      // Credentials must never reach a log line, whatever object gets logged.
      redact: { paths: ['password', '*.password', 'mqtt.password', 'url.password'], censor: '(hidden)' },
    },
    destination,
  );
}
