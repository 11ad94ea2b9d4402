/**
 * The `loop` alarm: one alarm for all ports; the ports and the signals that fired on each go in
 * the attributes. Warning = suspected (MAC flapping only); critical = own frames came back,
 * which nothing but a loop does. Reports are built only when the engine asks, on a change.
 */
import type { AlarmInput, Severity, ThresholdAlarmSpec } from '../alarms/types.ts';
import {
  LOOP_CERTAIN,
  LOOP_NONE,
  SIGNAL_BCAST_GROWTH,
  SIGNAL_MAC_FLAP,
  SIGNAL_OWN_FRAMES,
  type LoopDetector,
} from './loopDetector.ts';
import { round1 } from './text.ts';

export type LoopSignal = 'own_frames' | 'mac_flap' | 'bcast_growth';

export interface LoopPortReport {
  port: string;
  signals: LoopSignal[];
  /** Own frames per second of the latest tick that had any; 0 when that signal is off. */
  ownFramesPerS: number;
  /** Up to 5 MACs flapping through this port, newest first. */
  flappingMacs: string[];
  /** Broadcast growth per second (≥ 2 by default); null when that signal is off. */
  growth: number | null;
}

/**
 * Levels that make the engine follow the detector's value (LOOP_NONE / LOOP_SUSPECTED /
 * LOOP_CERTAIN): no hold and no raise delay, the detector already waits quietMs to clear.
 */
export function loopAlarmSpec(): ThresholdAlarmSpec {
  return {
    name: 'loop',
    title: 'Switching loop',
    warning: { raise: 0.5, clear: 0.5 },
    critical: { raise: 1.5, clear: 1.5 },
    holdMs: 0,
    raiseAfterMs: 0,
  };
}

function portReport(detector: LoopDetector, port: number): LoopPortReport {
  const bits = detector.signals(port);
  const signals: LoopSignal[] = [];
  if (bits & SIGNAL_OWN_FRAMES) signals.push('own_frames');
  if (bits & SIGNAL_MAC_FLAP) signals.push('mac_flap');
  if (bits & SIGNAL_BCAST_GROWTH) signals.push('bcast_growth');
  return {
    port: detector.portName(port),
    signals,
    ownFramesPerS: bits & SIGNAL_OWN_FRAMES ? round1(detector.ownFramesPerS(port)) : 0,
    flappingMacs: bits & SIGNAL_MAC_FLAP ? detector.flappingMacs(port) : [],
    growth: bits & SIGNAL_BCAST_GROWTH ? round1(detector.growthFactor(port)) : null,
  };
}

/**
 * Ports with any signal while the alarm stands (growth alone is listed only next to a port
 * with own frames or flaps), worst first: more own frames per second, then more flapping MACs,
 * then faster growth, then port order. ownFramesPerS is 0 and flappingMacs empty unless that
 * signal is on, so this puts own frames first, flaps next and growth-only ports last.
 */
export function loopReport(detector: LoopDetector): LoopPortReport[] {
  if (!(detector.value > LOOP_NONE)) return [];
  const ports: number[] = [];
  for (let port = 0; port < detector.portCount; port++) if (detector.signals(port) !== 0) ports.push(port);
  const reports = new Map(ports.map((port) => [port, portReport(detector, port)]));
  ports.sort((a, b) => {
    const ra = reports.get(a)!;
    const rb = reports.get(b)!;
    return (
      rb.ownFramesPerS - ra.ownFramesPerS ||
      rb.flappingMacs.length - ra.flappingMacs.length ||
      (rb.growth ?? 0) - (ra.growth ?? 0) ||
      a - b
    );
  });
  return ports.map((port) => reports.get(port)!);
}

const HUMAN: Record<LoopSignal, string> = {
  own_frames: 'own frames returning',
  mac_flap: 'MAC flapping',
  bcast_growth: 'broadcast growing',
};

/**
 * What loop protection adds to the alarm: whether it blocked a port or refused to, so the alarm
 * that says "loop on loopb" also says "loopb blocked until 12:05". Called on change only,
 * except revision(), which is called every tick and must not allocate.
 */
export interface LoopAlarmExtras {
  revision(): number;
  attributes(): Record<string, unknown>;
  /** One clause for the reason ("loopb blocked by loop protection"), or null. */
  note(): string | null;
}

class LoopAlarmInput implements AlarmInput {
  constructor(
    private readonly detector: LoopDetector,
    private readonly extras: LoopAlarmExtras | null,
  ) {}

  /** Every tick: a typed-array read, allocation-free. */
  value(): number {
    return this.detector.value;
  }

  /** Moves when a port's state or signals change, so the engine re-describes the alarm. */
  revision(): number {
    return this.extras === null ? this.detector.revision : this.detector.revision + this.extras.revision();
  }

  reason(severity: Severity | null, value: number): string {
    if (severity === null) return `no own frames and no MAC flapping for ${this.detector.options.quietMs / 1000} s`;
    const looped = loopReport(this.detector).filter((p) => p.signals.some((s) => s !== 'bcast_growth'));
    const signals = [...new Set(looped.flatMap((p) => p.signals))].map((s) => HUMAN[s]);
    const what = value >= LOOP_CERTAIN ? 'switching loop' : 'switching loop suspected';
    const note = this.extras?.note() ?? null;
    return `${what} on ${looped.map((p) => p.port).join(', ')} (${signals.join(', ')})${note === null ? '' : `; ${note}`}`;
  }

  attributes(): Record<string, unknown> {
    return { ports: loopReport(this.detector), ...this.extras?.attributes() };
  }
}

/** The loop detector as the engine's input; register it with loopAlarmSpec(). */
export function loopAlarmInput(detector: LoopDetector, extras: LoopAlarmExtras | null = null): AlarmInput {
  return new LoopAlarmInput(detector, extras);
}
