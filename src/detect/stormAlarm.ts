/**
 * The `storm` alarm: one alarm for all ports (the engine holds one alarm per name); the ports in
 * storm, worst first, go in the attributes. Reports are built only when the engine asks, on a
 * change.
 */
import type { AlarmInput, Severity, ThresholdAlarmSpec } from '../alarms/types.ts';
import type { StormDetector } from './stormDetector.ts';
import { RULE_ABSOLUTE, RULE_BASELINE, STORM_ARP, STORM_PROTOCOLS, STORM_TOTAL, type StormProtocol } from './stormInput.ts';
import { grouped, round1 } from './text.ts';

export type StormRule = 'absolute' | 'baseline';

export interface StormPortReport {
  port: string;
  /** Broadcast + multicast pps of the latest tick. */
  pps: number;
  /** The protocol with the most pps in the latest tick; null when there was no traffic. */
  dominant: StormProtocol | null;
  /** Its share of `pps`, in whole percent. */
  sharePct: number;
  /** The baseline (frozen while in storm); null while it is still warming up. */
  baselinePps: number | null;
  /** The rules that raised this port's storm. */
  rules: StormRule[];
}

/**
 * Levels that make the engine follow the detector: its value (percent of the worst port's raise
 * level, see levelScore) is > 100 on the tick a port raises and stays ≥ 50 while any port is in
 * storm, so no hold and no raise delay here; the detector already holds the clear for
 * clearHoldMs. The alarm's peak then reads as "612 % of the raise level".
 */
export function stormAlarmSpec(): ThresholdAlarmSpec {
  return {
    name: 'storm',
    title: 'Broadcast storm',
    warning: { raise: 100, clear: 50 },
    critical: null,
    holdMs: 0,
    raiseAfterMs: 0,
  };
}

const HUMAN: Record<StormProtocol, string> = {
  arp: 'ARP',
  nd: 'ND',
  mdns: 'mDNS',
  ssdp: 'SSDP',
  dhcp: 'DHCP',
  other: 'other',
};

function portReport(detector: StormDetector, port: number): StormPortReport {
  const total = detector.latestRate(port, STORM_TOTAL);
  let dominant: StormProtocol | null = null;
  let most = 0;
  let named = 0;
  for (let i = 0; i < STORM_PROTOCOLS.length; i++) {
    let pps = detector.latestRate(port, STORM_ARP + i);
    // "other" not given: what the named counters did not match (hal/index.ts PORT_* note).
    if (STORM_PROTOCOLS[i] === 'other' && !(pps >= 0)) pps = Math.max(0, total - named);
    if (!(pps >= 0)) continue;
    if (STORM_PROTOCOLS[i] !== 'other') named += pps;
    if (pps > most) {
      most = pps;
      dominant = STORM_PROTOCOLS[i]!;
    }
  }
  const rules: StormRule[] = [];
  const raisedBy = detector.raisedBy(port);
  if (raisedBy & RULE_ABSOLUTE) rules.push('absolute');
  if (raisedBy & RULE_BASELINE) rules.push('baseline');
  return {
    port: detector.portName(port),
    pps: round1(total),
    dominant,
    sharePct: total > 0 ? Math.round((100 * most) / total) : 0,
    baselinePps: detector.warmedUp(port) ? round1(detector.baseline(port)) : null,
    rules,
  };
}

/** The ports in storm, worst (highest score) first; ties in port order. */
export function stormReport(detector: StormDetector): StormPortReport[] {
  const ports: number[] = [];
  for (let port = 0; port < detector.portCount; port++) if (detector.inStorm(port)) ports.push(port);
  ports.sort((a, b) => detector.score(b) - detector.score(a) || a - b);
  return ports.map((port) => portReport(detector, port));
}

function describe(report: StormPortReport): string {
  const share = report.dominant === null ? '' : ` (${report.sharePct} % ${HUMAN[report.dominant]})`;
  return `${report.port}: ${grouped(report.pps)} pps${share}`;
}

class StormAlarmInput implements AlarmInput {
  constructor(private readonly detector: StormDetector) {}

  /** Every tick: a typed-array read, allocation-free. */
  value(): number {
    return this.detector.value;
  }

  /** Moves when a port's state or signals change, so the engine re-describes the alarm. */
  revision(): number {
    return this.detector.revision;
  }

  reason(severity: Severity | null): string {
    if (severity === null) return 'broadcast and multicast back to normal on every port';
    const ports = stormReport(this.detector);
    return `broadcast storm on ${ports.map(describe).join('; ')}`;
  }

  attributes(): Record<string, unknown> {
    return { ports: stormReport(this.detector) };
  }
}

/** The storm detector as the engine's input; register it with stormAlarmSpec(). */
export function stormAlarmInput(detector: StormDetector): AlarmInput {
  return new StormAlarmInput(detector);
}
