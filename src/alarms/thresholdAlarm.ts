/**
 * One threshold alarm as a pure state machine: values and times in, at most one change out.
 * No clock reads and no I/O, so every timing rule can be tested by feeding numbers.
 *
 * Rules (levels are strict: a value equal to a level changes nothing):
 * - Up: above a severity's `raise` for `raiseAfterMs` (monotonic) → that severity, the highest
 *   one that qualifies. Applies to raising and escalating alike; `holdMs` never delays going up,
 *   because a worse condition must be reported at once.
 * - Down: once the current severity has lasted `holdMs`, below its `clear` → warning if the value
 *   is still at or above warning.clear, else cleared. A drop is re-judged on every update with the
 *   value of that update, so a value that rose again during the hold cancels it.
 * - NaN (unknown): keeps the state and the hold running, but breaks every "continuously above"
 *   run: an unknown value cannot prove the condition lasted.
 *
 * Steady state (no change) allocates nothing: every field that changes per update is a number
 * initialised as a double (NaN rather than null), so V8 stores into it in place.
 */
import type { AlarmEvent, AlarmLevel, Severity, ThresholdAlarmSpec } from './types.ts';

/** What the threshold machine itself can report; 'updated' comes from the engine. */
export type AlarmChange = Exclude<AlarmEvent['kind'], 'updated'>;

/** Epoch ms, or a clock returning it (read only when the alarm changes). */
export type EpochTime = number | (() => number);

const NAME = /^[a-z0-9_]+$/;

function checkLevel(name: string, severity: Severity, level: AlarmLevel | null): void {
  if (level === null) return;
  if (!Number.isFinite(level.raise) || !Number.isFinite(level.clear)) {
    throw new RangeError(`alarm ${name}: ${severity} levels must be finite numbers`);
  }
  // clear == raise is allowed (no hysteresis); clear above raise would raise and clear on one value.
  if (level.clear > level.raise) {
    throw new RangeError(`alarm ${name}: ${severity} clear (${level.clear}) is above its raise (${level.raise})`);
  }
}

/** Throws on a spec that could not behave as documented; config validation should catch these first. */
function checkSpec(spec: ThresholdAlarmSpec): void {
  const { name, warning, critical } = spec;
  if (!NAME.test(name)) throw new RangeError(`alarm name ${JSON.stringify(name)} must be [a-z0-9_]+`);
  if (warning === null && critical === null) throw new RangeError(`alarm ${name}: no warning or critical level`);
  checkLevel(name, 'warning', warning);
  checkLevel(name, 'critical', critical);
  if (warning !== null && critical !== null && critical.raise < warning.raise) {
    throw new RangeError(`alarm ${name}: critical raise (${critical.raise}) is below warning raise (${warning.raise})`);
  }
  for (const key of ['holdMs', 'raiseAfterMs'] as const) {
    if (!(spec[key] >= 0) || !Number.isFinite(spec[key])) {
      throw new RangeError(`alarm ${name}: ${key} must be a finite number ≥ 0 (got ${spec[key]})`);
    }
  }
}

/** Monotonic ms a run of values strictly above `level.raise` began; NaN when not in such a run. */
function runStart(start: number, level: AlarmLevel | null, value: number, monoMs: number): number {
  if (level === null || !(value > level.raise)) return NaN;
  return Number.isNaN(start) ? monoMs : start;
}

export class ThresholdAlarm {
  readonly spec: Readonly<ThresholdAlarmSpec>;
  private current: Severity | null = null;
  private sinceEpoch: number | null = null;
  /** Monotonic start of the current severity: the hold is measured on it, immune to clock steps. */
  private sinceMono = NaN;
  private latest = NaN;
  private highest = NaN;
  private raised = 0;
  private raisedAt: number | null = null;
  private clearedAt: number | null = null;
  private aboveWarningSince = NaN;
  private aboveCriticalSince = NaN;

  constructor(spec: ThresholdAlarmSpec) {
    checkSpec(spec);
    // A private frozen copy: a caller editing its config object must not change a running alarm.
    this.spec = Object.freeze({
      ...spec,
      warning: spec.warning && Object.freeze({ ...spec.warning }),
      critical: spec.critical && Object.freeze({ ...spec.critical }),
    });
  }

  get name(): string {
    return this.spec.name;
  }
  get severity(): Severity | null {
    return this.current;
  }
  get active(): boolean {
    return this.current !== null;
  }
  /** Epoch ms the current severity (or the cleared state) began; null before the first change. */
  get since(): number | null {
    return this.sinceEpoch;
  }
  get value(): number {
    return this.latest;
  }
  get peak(): number {
    return this.highest;
  }
  get raisedCount(): number {
    return this.raised;
  }
  get lastRaisedAt(): number | null {
    return this.raisedAt;
  }
  get lastClearedAt(): number | null {
    return this.clearedAt;
  }

  /**
   * Feeds one value. `monoMs` (performance.now()) drives the hold and raise-after timers;
   * `epochMs` (Date.now()) only stamps changes for people, so it may be a clock that is read
   * only when something changes: Date.now() returns a heap-allocated double, which the tick
   * path must not pay for on every sample. Returns the change, or null.
   */
  update(value: number, monoMs: number, epochMs: EpochTime): AlarmChange | null {
    this.latest = value;
    if (Number.isNaN(value)) {
      this.aboveWarningSince = NaN;
      this.aboveCriticalSince = NaN;
      return null;
    }
    this.aboveWarningSince = runStart(this.aboveWarningSince, this.spec.warning, value, monoMs);
    this.aboveCriticalSince = runStart(this.aboveCriticalSince, this.spec.critical, value, monoMs);
    if (this.current !== null && value > this.highest) this.highest = value;
    const target = this.target(value, monoMs);
    if (target === this.current) return null;
    return this.change(target, value, monoMs, typeof epochMs === 'number' ? epochMs : epochMs());
  }

  /** The severity the rules call for now; the current one when nothing should change. */
  private target(value: number, monoMs: number): Severity | null {
    const { warning, critical, raiseAfterMs, holdMs } = this.spec;
    const current = this.current;
    // NaN run starts compare false, so "not above" never qualifies.
    if (current !== 'critical' && monoMs - this.aboveCriticalSince >= raiseAfterMs) return 'critical';
    if (current === null) return monoMs - this.aboveWarningSince >= raiseAfterMs ? 'warning' : null;
    if (monoMs - this.sinceMono < holdMs) return current;
    const level = current === 'critical' ? critical : warning;
    if (level === null || !(value < level.clear)) return current;
    if (current === 'critical' && warning !== null && value >= warning.clear) return 'warning';
    return null;
  }

  private change(to: Severity | null, value: number, monoMs: number, epochMs: number): AlarmChange {
    const from = this.current;
    this.current = to;
    this.sinceEpoch = epochMs;
    this.sinceMono = monoMs;
    if (from === null) {
      this.raised++;
      this.raisedAt = epochMs;
      this.highest = value;
      return 'raised';
    }
    if (to === null) {
      this.clearedAt = epochMs;
      return 'cleared';
    }
    return to === 'critical' ? 'escalated' : 'deescalated';
  }
}
