/**
 * Per-port storm state with hysteresis, in typed arrays: raise at once when a score passes 100;
 * clear once the score has stayed under 50 for `clearHoldMs` without a break (a quiet run). This
 * is where it differs from ThresholdAlarm, whose holdMs is a least time at a severity counted
 * from the raise: a storm that ebbs and flows must stay raised until it has really been quiet.
 */
import { RULE_ABSOLUTE, RULE_BASELINE } from './stormInput.ts';

export class StormLatch {
  private readonly storm: Uint8Array;
  private readonly rules: Uint8Array;
  /** Start of the current quiet run; NaN when not in one. */
  private readonly quietSince: Float64Array;
  /** Ports entering or leaving storm so far. */
  changes = 0;

  constructor(
    ports: number,
    private readonly clearHoldMs: number,
  ) {
    this.storm = new Uint8Array(ports);
    this.rules = new Uint8Array(ports);
    this.quietSince = new Float64Array(ports).fill(NaN);
  }

  inStorm(port: number): boolean {
    return this.storm[port] === 1;
  }

  /** RULE_* bits of the rules that raised the current storm; 0 when not in storm. */
  raisedBy(port: number): number {
    return this.rules[port]!;
  }

  /** One tick's scores (levelScore) of the two rules. */
  update(port: number, absolute: number, relative: number, monoMs: number): void {
    const score = absolute > relative ? absolute : relative;
    if (this.storm[port] === 0) {
      if (score > 100) {
        this.storm[port] = 1;
        this.rules[port] = (absolute > 100 ? RULE_ABSOLUTE : 0) | (relative > 100 ? RULE_BASELINE : 0);
        this.quietSince[port] = NaN;
        this.changes++;
      }
    } else if (score < 50) {
      if (this.quietSince[port] !== this.quietSince[port]) this.quietSince[port] = monoMs;
      if (monoMs - this.quietSince[port]! >= this.clearHoldMs) this.reset(port);
    } else {
      this.quietSince[port] = NaN;
    }
  }

  /** An unknown tick: the state stays, but it cannot prove a quiet run. */
  unknown(port: number): void {
    this.quietSince[port] = NaN;
  }

  reset(port: number): void {
    if (this.storm[port] === 1) this.changes++;
    this.storm[port] = 0;
    this.rules[port] = 0;
    this.quietSince[port] = NaN;
  }
}
