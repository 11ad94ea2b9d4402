/**
 * `agent status` for a person: one screen, read in one glance. Throughput is shown in
 * bits per second (what ISPs and link speeds are quoted in); the JSON keeps bytes.
 */
import type { SourceStatus } from '../../hal/index.ts';
import type { InterfaceStatus, StatusSnapshot } from './types.ts';

const DASH = '–';

export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds)}s`;
}

/** 1234 → "1.2k"; keeps columns narrow for pps figures. */
export function formatCount(value: number | null): string {
  if (value === null) return DASH;
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${Math.round(value / 1e3)}k`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  if (abs >= 100 || Number.isInteger(value)) return String(Math.round(value));
  return value.toFixed(1);
}

/** Bytes per second → "12.3 Mb/s". */
export function formatBitrate(bytesPerSecond: number | null): string {
  if (bytesPerSecond === null) return DASH;
  const bits = bytesPerSecond * 8;
  if (bits >= 1e9) return `${(bits / 1e9).toFixed(2)} Gb/s`;
  if (bits >= 1e6) return `${(bits / 1e6).toFixed(1)} Mb/s`;
  if (bits >= 1e3) return `${(bits / 1e3).toFixed(1)} kb/s`;
  return `${Math.round(bits)} b/s`;
}

function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

function backend(source: SourceStatus): string {
  return source.backend;
}

function interfaceRow(link: InterfaceStatus): string[] {
  return [
    link.name,
    link.role ?? '',
    link.kind + (link.master ? ` (${link.master})` : ''),
    link.operState,
    String(link.mtu),
    formatCount(link.rxPps),
    formatCount(link.txPps),
    formatBitrate(link.rxBps),
    formatBitrate(link.txBps),
    formatCount(link.multicastPps),
    link.errorsPerS || link.dropsPerS ? `${formatCount(link.errorsPerS)}/${formatCount(link.dropsPerS)}` : '',
  ];
}

export function renderStatus(snapshot: StatusSnapshot): string {
  const { agent, conntrack } = snapshot;
  const lines: string[] = [];
  const demo = agent.demo ? ' · DEMO DATA' : '';
  lines.push(
    `lanwatch ${agent.version} · up ${formatDuration(agent.uptimeS)} · ${agent.board.name} (${agent.board.id})` +
      `${agent.board.model ? ` · ${agent.board.model}` : ''}${demo}`,
  );
  const late = agent.overruns + agent.stalls;
  lines.push(
    `sampling every ${agent.sampleIntervalMs >= 1000 ? `${agent.sampleIntervalMs / 1000} s` : `${agent.sampleIntervalMs} ms`}` +
      ` · ${agent.ticks} ticks${late ? ` · ${late} late` : ''}` +
      ` · sources: links ${backend(agent.backends.links)}, inventory ${backend(agent.backends.inventory)}, conntrack ${backend(agent.backends.conntrack)}`,
  );
  for (const [name, source] of Object.entries(agent.backends) as [string, SourceStatus][]) {
    if (source.backend !== 'netlink' && source.backend !== 'fake') lines.push(`  ${name}: ${source.backend} — ${source.detail}`);
  }
  for (const [name, health] of Object.entries(agent.health)) {
    if (!health.ok) lines.push(`  ${name}: FAILING — ${health.lastError ?? 'unknown error'}`);
  }
  lines.push('');
  if (conntrack.count === null) {
    lines.push(`conntrack  unavailable — ${agent.backends.conntrack.detail}`);
  } else {
    const pct = conntrack.pct === null ? '' : ` (${conntrack.pct.toFixed(1)} %)`;
    const drops =
      conntrack.drop === null
        ? ''
        : ` · drop ${conntrack.drop} · early_drop ${conntrack.earlyDrop} · insert_failed ${conntrack.insertFailed}`;
    lines.push(`conntrack  ${conntrack.count.toLocaleString('en')} / ${conntrack.max?.toLocaleString('en') ?? DASH}${pct}${drops}`);
  }
  lines.push('');
  const shown = snapshot.interfaces.filter((link) => link.kind !== 'loopback');
  lines.push(
    ...table([
      ['interface', 'role', 'kind', 'state', 'mtu', 'rx pps', 'tx pps', 'rx', 'tx', 'mcast pps', 'err/drop /s'],
      ...shown.map(interfaceRow),
    ]),
  );
  lines.push('');
  const active = snapshot.alarms.filter((alarm) => alarm.active);
  if (active.length === 0) lines.push('alarms: none');
  else for (const alarm of active) lines.push(`ALARM ${alarm.name} (${alarm.severity ?? 'active'}) since ${alarm.since ?? '?'}`);
  return `${lines.join('\n')}\n`;
}
