/**
 * Conntrack table history: size, usage and per-second rates of the per-CPU counters.
 */
import type { ConntrackSample } from '../../hal/index.ts';
import { copyConntrackSample, emptyConntrackSample } from '../../hal/index.ts';
import { counterDelta } from './counterDelta.ts';
import { SeriesBlock } from './ring.ts';

export const CT_COUNT = 0;
export const CT_MAX = 1;
/** count / max in percent. */
export const CT_PCT = 2;
export const CT_DROP_PS = 3;
export const CT_EARLY_DROP_PS = 4;
export const CT_INSERT_FAILED_PS = 5;
export const CT_INVALID_PS = 6;
export const CT_SEARCH_RESTART_PS = 7;
export const CT_SERIES = 8;

export class ConntrackHistory {
  readonly history: SeriesBlock;
  /** Latest successful read; NaN fields when never read or unavailable. */
  readonly latest: ConntrackSample = emptyConntrackSample();
  private readonly previous: ConntrackSample = emptyConntrackSample();
  private hasPrevious = false;

  constructor(capacity: number) {
    this.history = new SeriesBlock(CT_SERIES, capacity);
  }

  commit(at: number, sample: ConntrackSample, ok: boolean, seconds: number): void {
    const history = this.history;
    if (!ok) {
      for (let series = 0; series < CT_SERIES; series++) history.set(series, at, NaN);
      this.hasPrevious = false;
      return;
    }
    history.set(CT_COUNT, at, sample.count);
    history.set(CT_MAX, at, sample.max);
    history.set(CT_PCT, at, sample.max > 0 ? (sample.count / sample.max) * 100 : NaN);
    const rates = this.hasPrevious && seconds > 0;
    const previous = this.previous;
    history.set(CT_DROP_PS, at, rates ? counterDelta(previous.drop, sample.drop) / seconds : NaN);
    history.set(CT_EARLY_DROP_PS, at, rates ? counterDelta(previous.earlyDrop, sample.earlyDrop) / seconds : NaN);
    history.set(CT_INSERT_FAILED_PS, at, rates ? counterDelta(previous.insertFailed, sample.insertFailed) / seconds : NaN);
    history.set(CT_INVALID_PS, at, rates ? counterDelta(previous.invalid, sample.invalid) / seconds : NaN);
    history.set(CT_SEARCH_RESTART_PS, at, rates ? counterDelta(previous.searchRestart, sample.searchRestart) / seconds : NaN);
    copyConntrackSample(sample, previous);
    copyConntrackSample(sample, this.latest);
    this.hasPrevious = true;
  }
}

