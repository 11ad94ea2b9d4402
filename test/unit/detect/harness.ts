/** Runs a detector and the real alarm engine the way the agent will: detector tick, then evaluate. */
import { AlarmEngine } from '../../../src/alarms/engine.ts';
import type { AlarmEvent, AlarmInput, ThresholdAlarmSpec } from '../../../src/alarms/types.ts';

export const EPOCH = 1_700_000_000_000;

export interface Ticking {
  tick(monoMs: number): void;
}

export function withEngine(detector: Ticking, spec: ThresholdAlarmSpec, input: AlarmInput) {
  const engine = new AlarmEngine({ warn: () => {} });
  engine.add(spec, input);
  const events: AlarmEvent[] = [];
  engine.onEvent((e) => events.push(e));
  let mono = 0;
  /** One tick 1 s after the previous; `write` fills the detector's input first. */
  const step = (write: (mono: number) => void = () => {}) => {
    mono += 1000;
    write(mono);
    detector.tick(mono);
    engine.evaluate(mono, EPOCH + mono);
  };
  return {
    engine,
    events,
    step,
    now: () => mono,
    /** "<mono ms> <kind> <severity after>" for every event so far. */
    summary: () => events.map((e) => `${e.at - EPOCH} ${e.kind} ${e.to}`),
  };
}

/** Deterministic noise in [-1, 1) (mulberry32), so every run sees the same "random" traffic. */
export function noise(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}
