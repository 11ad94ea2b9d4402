import { describe, expect, it } from 'vitest';
import { formatPretty, resolveLogFormat } from '../../src/log.ts';

describe('log formatting', () => {
  it('turns a pino JSON line into one readable line with its fields', () => {
    const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 12, 3, 4), pid: 9, msg: 'link counters: boom', source: 'links', n: 3 });
    const text = formatPretty(line, false);
    expect(text).toMatch(/^\d\d:\d\d:\d\d WARN  link counters: boom source=links n=3\n$/);
  });

  it('passes through what is not JSON', () => {
    expect(formatPretty('plain', false)).toBe('plain');
  });

  it('is JSON under a supervisor and pretty only on a terminal', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream;
    const pipe = { isTTY: false } as NodeJS.WriteStream;
    const saved = process.env.JOURNAL_STREAM;
    delete process.env.JOURNAL_STREAM;
    expect(resolveLogFormat('auto', tty)).toBe('pretty');
    expect(resolveLogFormat('auto', pipe)).toBe('json');
    process.env.JOURNAL_STREAM = '8:1234';
    expect(resolveLogFormat('auto', tty)).toBe('json');
    expect(resolveLogFormat('pretty', pipe)).toBe('pretty');
    if (saved === undefined) delete process.env.JOURNAL_STREAM;
    else process.env.JOURNAL_STREAM = saved;
  });
});
