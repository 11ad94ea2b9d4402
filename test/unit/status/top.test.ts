import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { renderTop, runTop, type TopInput } from '../../../src/status/top.ts';
import type { ConntrackHostStatus, StatusSnapshot } from '../../../src/status/types.ts';

const NOW = Date.parse('2026-01-01T02:03:05.000Z');

function host(ip: string, entries: number, extra: Partial<ConntrackHostStatus> = {}): ConntrackHostStatus {
  return { ip, mac: null, name: null, entries, tcpEstablished: entries, tcpClosing: 0, tcpOther: 0, udp: 0, icmp: 0, other: 0, unreplied: 0, snat: entries, ...extra };
}

function snapshot(hosts: ConntrackHostStatus[]): StatusSnapshot {
  return {
    agent: {
      version: '9.9.9', pid: 1, uptimeS: 65, startedAt: '2026-01-01T00:00:00.000Z',
      board: { id: 'pi-router', name: 'Raspberry Pi router', role: 'router', model: null, reasons: [] },
      backends: { inventory: { backend: 'netlink', detail: '' }, links: { backend: 'netlink', detail: '' }, conntrack: { backend: 'netlink', detail: '' } },
      health: { links: { ok: true, lastError: null, failures: 0 }, conntrack: { ok: true, lastError: null, failures: 0 } },
      demo: false, configFile: null, sampleIntervalMs: 1000, ticks: 65, overruns: 0, stalls: 0, lastTickMs: 0.1,
    },
    conntrack: {
      count: 4200, max: 16384, pct: 25.6, found: 0, invalid: 0, insertFailed: 0, drop: 0, earlyDrop: 0, error: 0, searchRestart: 0,
      dropPerS: 0, earlyDropPerS: 0, insertFailedPerS: 0, newPerS: 120, growthPerS: 40, secondsToFull: 304, refused10s: 0, hosts,
      upstream: { budget: 2000, used: 1850, pct: 92.5, basis: 'router', secondsToFull: 9 },
    },
    interfaces: [],
    alarms: [
      { name: 'nat_upstream', title: 'Upstream NAT table almost full', active: true, severity: 'warning', since: null, value: 92.5, peak: 92.5, reason: 'upstream NAT table ~93 % full', raisedCount: 1, lastRaisedAt: null, lastClearedAt: null, attributes: {} },
    ],
    portWatch: { bridge: null, counted: [], watched: [], source: null, countingError: null, health: { ok: true, lastError: null, failures: 0 }, fdb: null, probe: null, protection: null },
    mqtt: { enabled: false, broker: '', state: 'disabled', since: '', nodeId: '', connects: 0, messagesSent: 0, bytesSent: 0, lastPublishAt: null, lastError: null, nextAttemptAt: null },
    prometheus: { url: null, error: null },
  };
}

describe('renderTop', () => {
  const hosts = [host('10.77.0.2', 3000, { name: 'gaming-pc', udp: 10 }), host('10.77.0.3', 1000, { mac: '02:00:00:00:00:03' }), host('10.77.0.4', 200)];

  it('shows the table, its growth and forecast, the upstream budget, NAT alarms and the hosts ranked', () => {
    const lines = renderTop(snapshot(hosts), 120, 40, NOW);
    expect(lines[0]).toBe('lanwatch top · 02:03:05 UTC · up 1m 05s · q quits');
    expect(lines[1]).toBe('table 4,200 / 16,384 (25.6 %) · new 120/s · growth 40/s · full in ~5m 04s · refused 0 in 10 s');
    expect(lines[2]).toBe('upstream 1,850 / 2,000 (93 %) of the declared budget (through our NAT) · full in ~9s');
    expect(lines[3]).toBe('WARNING nat_upstream: upstream NAT table ~93 % full');
    const rows = lines.slice(lines.findIndex((l) => l.startsWith('host')) + 1);
    expect(rows.map((r) => r.split(/\s+/).slice(0, 3).join(' '))).toEqual(['10.77.0.2 gaming-pc 3.0k', '10.77.0.3 02:00:00:00:00:03 1.0k', '10.77.0.4 200 200']);
  });

  it('fits the terminal: no more lines than rows, none wider than columns', () => {
    const many = Array.from({ length: 100 }, (_, i) => host(`10.77.1.${i}`, 1000 - i));
    const lines = renderTop(snapshot(many), 60, 12, NOW);
    expect(lines).toHaveLength(12);
    expect(lines.every((l) => l.length <= 60)).toBe(true);
  });
});

class FakeKeys extends EventEmitter implements TopInput {
  readonly isTTY = true;
  raw: boolean[] = [];
  setRawMode(raw: boolean): void {
    this.raw.push(raw);
  }
  resume(): void {}
  pause(): void {}
  override on(event: 'data', listener: (chunk: Buffer) => void): this {
    return super.on(event, listener);
  }
  override off(event: 'data', listener: (chunk: Buffer) => void): this {
    return super.off(event, listener);
  }
}

describe('runTop', () => {
  it('redraws until q, in raw mode, and restores the terminal', async () => {
    const written: string[] = [];
    const keys = new FakeKeys();
    let fetches = 0;
    const done = runTop(
      async () => {
        fetches++;
        return snapshot([host('10.77.0.2', 5)]);
      },
      { isTTY: true, columns: 100, rows: 20, write: (t) => void written.push(t) },
      keys,
      10,
    );
    await new Promise((r) => setTimeout(r, 60));
    keys.emit('data', Buffer.from('q'));
    expect(await done).toBe(0);
    expect(fetches).toBeGreaterThan(2);
    expect(keys.raw).toEqual([true, false]);
    expect(written.at(-1)).toContain('\x1b[?25h');
    expect(written.some((t) => t.includes('10.77.0.2'))).toBe(true);
  });

  it('prints one screen and exits without a terminal, for pipes', async () => {
    const written: string[] = [];
    const code = await runTop(async () => snapshot([host('10.77.0.2', 5)]), { isTTY: false, columns: 0, rows: 0, write: (t) => void written.push(t) }, new FakeKeys());
    expect(code).toBe(0);
    expect(written.join('')).toMatch(/^lanwatch top/);
    expect(written.join('')).not.toContain('\x1b[');
  });

  it('keeps going when the agent goes away for a moment', async () => {
    const written: string[] = [];
    const keys = new FakeKeys();
    const done = runTop(
      async () => {
        throw new Error('agent not running');
      },
      { isTTY: true, columns: 100, rows: 20, write: (t) => void written.push(t) },
      keys,
      10,
    );
    await new Promise((r) => setTimeout(r, 30));
    keys.emit('data', Buffer.from([0x03]));
    await done;
    expect(written.some((t) => t.includes('agent not running · retrying'))).toBe(true);
  });
});
