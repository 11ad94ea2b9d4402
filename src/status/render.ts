/**
 * `agent status` for a person: one screen, read in one glance. Throughput is shown in
 * bits per second (what ISPs and link speeds are quoted in); the JSON keeps bytes.
 */
import type { SourceStatus } from '../../hal/index.ts';
import type { AlarmStatus, InterfaceStatus, MqttStatus, PortWatchStatus, StatusSnapshot } from './types.ts';

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

const SPARK = '▁▂▃▄▅▆▇█';

/**
 * One character per value, scaled to the largest; a blank for an unknown second. Scaled to
 * the window's own peak, so the shape shows a burst; the peak is printed beside it.
 */
export function sparkline(values: readonly (number | null)[]): string {
  const peak = Math.max(0, ...values.map((v) => v ?? 0));
  return values
    .map((v) => {
      if (v === null) return ' ';
      if (peak === 0) return SPARK[0]!;
      return SPARK[Math.min(SPARK.length - 1, Math.floor((v / peak) * (SPARK.length - 1) + 0.5))]!;
    })
    .join('');
}

const PROTOCOL_NAMES: Record<string, string> = { arp: 'ARP', nd: 'ND', mdns: 'mDNS', ssdp: 'SSDP', dhcp: 'DHCP', other: 'other' };

/** "mDNS 71 %": the protocol with the most broadcast + multicast frames, and its share. */
export function topProtocol(link: InterfaceStatus): string {
  if (link.protocols === null) return '';
  const entries = Object.entries(link.protocols).filter((e): e is [string, number] => e[1] !== null);
  const total = entries.reduce((sum, [, v]) => sum + v, 0);
  if (total <= 0) return '';
  const [name, value] = entries.reduce((best, e) => (e[1] > best[1] ? e : best));
  return `${PROTOCOL_NAMES[name] ?? name} ${Math.round((value / total) * 100)} %`;
}

function portLines(interfaces: readonly InterfaceStatus[]): string[] {
  const ports = interfaces.filter((link) => link.portCounterSource !== null);
  if (ports.length === 0) return [];
  const rows = ports.map((link) => {
    const last = link.bcastMcastLast60s ?? [];
    const peak = Math.max(0, ...last.map((v) => v ?? 0));
    return [
      link.name,
      formatCount(link.bcastPps),
      formatCount(link.mcastPps),
      topProtocol(link),
      link.ownFramesPerS ? formatCount(link.ownFramesPerS) : '',
      `${sparkline(last)} ${formatCount(peak)}`,
      link.portCounterSource ?? '',
    ];
  });
  return ['', ...table([['port', 'bcast/s', 'mcast/s', 'top protocol', 'own/s', 'bcast+mcast, last 60 s (peak)', 'source'], ...rows])];
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

function protectionLines(watch: PortWatchStatus, now: number): string[] {
  const p = watch.protection;
  if (p === null) return [];
  if (!p.enabled) return ['protect    off (loop.protect is false): loops are reported, never blocked'];
  const spared = p.protectedPorts.map((port) => `${port.port} (${port.reason})`).join(', ');
  const lines = [`protect    on · never blocks ${p.protectedKnown ? spared || 'nothing found to spare' : '(not resolved yet: nothing is blocked until it is)'}`];
  for (const b of p.blocked) {
    const until = formatDuration(Math.max(0, (b.until - now) / 1000));
    lines.push(`           BLOCKED ${b.port} since ${ago(new Date(b.since).toISOString(), now)}, ${until} left (block #${b.blocks}): ${b.reason}`);
  }
  // The planner's sentence: "loop on upl: not blocked, it carries the uplink via …".
  for (const r of p.refused) lines.push(`           ${r.reason}`);
  for (const f of p.failures) lines.push(`           FAILING ${f.op}${f.port === null ? '' : ` ${f.port}`}: ${f.error}`);
  return lines;
}

/** How the ports are counted and probed: the lines under the port table. */
export function portWatchLines(watch: PortWatchStatus, now: number): string[] {
  const lines: string[] = [];
  if (watch.watched.length === 0) {
    lines.push(`ports      none watched (no LAN ports; set interfaces.bridge or interfaces.lan)`);
    return lines;
  }
  const counted = watch.counted.length > 0 ? `${watch.counted.join(', ')} on ${watch.bridge}` : 'no bridge ports';
  const source = watch.source === null ? 'no port counters' : `${watch.source.backend} (${watch.source.detail})`;
  const moves = watch.fdb === null ? '' : ` · ${watch.fdb.moves} MAC moves${watch.fdb.lost > 0 ? `, ${watch.fdb.lost} notification bursts lost` : ''}`;
  lines.push(`ports      ${counted} · ${source}${moves}`);
  const fallback = watch.watched.filter((name) => !watch.counted.includes(name));
  if (fallback.length > 0) lines.push(`           ${fallback.join(', ')}: interface multicast counter only (not a bridge port)`);
  if (watch.countingError !== null) lines.push(`           NOT COUNTING: ${watch.countingError}`);
  if (!watch.health.ok) lines.push(`           port counters FAILING — ${watch.health.lastError ?? 'unknown error'}`);
  lines.push(...protectionLines(watch, now));
  const probe = watch.probe;
  if (probe === null) return lines;
  if (probe.intervalMs === 0) {
    lines.push('probe      off (loop.probeIntervalMs is 0): loops show only by MAC flapping and the bridge\'s own traffic');
    return lines;
  }
  for (const bridge of probe.bridges) {
    if (bridge.via === null) {
      lines.push(`probe      ${bridge.bridge}: ${bridge.detail ?? 'off'}`);
      continue;
    }
    const failed = bridge.failed > 0 ? ` · ${bridge.failed} failed (${bridge.lastError ?? 'unknown'})` : '';
    const last = bridge.lastSentAt === null ? 'never' : ago(new Date(bridge.lastSentAt).toISOString(), now);
    lines.push(`probe      every ${seconds(probe.intervalMs)} to ${bridge.destination} · ${bridge.sent} sent, last ${last}${failed} · nonce ${probe.nonce}`);
  }
  return lines;
}

/** Growth, forecast, the upstream budget and the top hosts under the conntrack line. */
function natLines(ct: StatusSnapshot['conntrack']): string[] {
  const lines: string[] = [];
  const parts: string[] = [];
  if (ct.newPerS !== undefined && ct.newPerS !== null) parts.push(`new ${formatCount(ct.newPerS)}/s`);
  if (ct.growthPerS !== undefined && ct.growthPerS !== null) parts.push(`growth ${formatCount(ct.growthPerS)}/s`);
  if (ct.secondsToFull !== undefined && ct.secondsToFull !== null) parts.push(`full in ~${formatDuration(ct.secondsToFull)} at this rate`);
  if (parts.length > 0) lines.push(`           ${parts.join(' · ')}`);
  const up = ct.upstream;
  if (up) {
    const used = up.used === null ? DASH : up.used.toLocaleString('en');
    const when = up.secondsToFull === null ? '' : ` · full in ~${formatDuration(up.secondsToFull)}`;
    lines.push(`upstream   ${used} / ${up.budget.toLocaleString('en')} sessions declared (${up.basis === 'router' ? 'through our NAT' : 'forwarded flows'})${up.pct === null ? '' : ` ${up.pct.toFixed(0)} %`}${when}`);
  }
  const hosts = (ct.hosts ?? []).slice(0, 5);
  if (hosts.length > 0) {
    const top = hosts.map((h) => `${h.name ?? h.ip} ${formatCount(h.entries)}`).join(', ');
    lines.push(`top hosts  ${top} (agent top for the live view)`);
  }
  return lines;
}

/** "3 s ago", "5m 02s ago": how old an ISO time is, for a person. */
export function ago(iso: string | null, now: number): string {
  if (iso === null) return 'never';
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  return `${formatDuration(seconds)} ago`;
}

/** 1536 → "1.5 kB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

function alarmLines(alarms: readonly AlarmStatus[], now: number): string[] {
  const active = alarms.filter((alarm) => alarm.active);
  const lines: string[] = [];
  if (active.length === 0) {
    const past = alarms.filter((alarm) => alarm.raisedCount > 0);
    const history = past.map((a) => `${a.name} raised ${a.raisedCount}× since start, cleared ${ago(a.lastClearedAt, now)}`);
    lines.push(`alarms     none${history.length ? ` (${history.join('; ')})` : ''}`);
    return lines;
  }
  lines.push('alarms');
  for (const alarm of active) {
    const peak = alarm.peak !== null ? ` · peak ${alarm.peak}` : '';
    lines.push(`  ${(alarm.severity ?? 'active').toUpperCase()} ${alarm.name}: ${alarm.reason} · since ${ago(alarm.since, now)}${peak}`);
  }
  return lines;
}

function mqttLine(mqtt: MqttStatus, now: number): string {
  if (!mqtt.enabled) return 'mqtt       off (mqtt.enabled is false)';
  const traffic = `${mqtt.messagesSent} messages, ${formatBytes(mqtt.bytesSent)} · last publish ${ago(mqtt.lastPublishAt, now)}`;
  switch (mqtt.state) {
    case 'connected':
      return `mqtt       connected to ${mqtt.broker} as ${mqtt.nodeId} · ${traffic}`;
    case 'waiting': {
      const next = mqtt.nextAttemptAt === null ? '' : `; next attempt in ${formatDuration(Math.max(0, (Date.parse(mqtt.nextAttemptAt) - now) / 1000))}`;
      return `mqtt       NOT CONNECTED to ${mqtt.broker}: ${mqtt.lastError ?? 'unknown error'}${next} · ${traffic}`;
    }
    default:
      return `mqtt       ${mqtt.state} ${mqtt.broker} · ${traffic}`;
  }
}

export function renderStatus(snapshot: StatusSnapshot, now = Date.now()): string {
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
    lines.push(...natLines(conntrack));
  }
  lines.push('');
  const shown = snapshot.interfaces.filter((link) => link.kind !== 'loopback');
  lines.push(
    ...table([
      ['interface', 'role', 'kind', 'state', 'mtu', 'rx pps', 'tx pps', 'rx', 'tx', 'mcast pps', 'err/drop /s'],
      ...shown.map(interfaceRow),
    ]),
  );
  lines.push(...portLines(shown));
  lines.push('');
  const watchLines = portWatchLines(snapshot.portWatch, now);
  if (watchLines.length > 0) lines.push(...watchLines, '');
  lines.push(...alarmLines(snapshot.alarms, now));
  lines.push(mqttLine(snapshot.mqtt, now));
  if (snapshot.prometheus.url !== null) lines.push(`metrics    ${snapshot.prometheus.url}`);
  else if (snapshot.prometheus.error !== null) lines.push(`metrics    NOT SERVING: ${snapshot.prometheus.error}`);
  return `${lines.join('\n')}\n`;
}
