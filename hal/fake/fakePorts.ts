/**
 * Scripted per-bridge-port counters for unit tests and `--demo`: each port's PORT_* counters
 * advance at a set rate per second of the injected clock, like FakeLinkStats.
 */
import type { PortCounterPlan, PortCounterSink, PortCounterSource, ReadDone, SourceStatus } from '../index.ts';
import { PORT_FIELDS } from '../index.ts';
import { CounterAdvancer, type RateCounterState } from './rateCounters.ts';

type FakeClock = () => number;

export class FakePortCounters implements PortCounterSource {
  readonly status: SourceStatus = { backend: 'fake', detail: 'scripted port counters' };
  plan: PortCounterPlan | null = null;
  /** When set, the next apply() rejects with it (then it is cleared). */
  failApply: Error | null = null;
  failNext: Error | null = null;
  private readonly states = new Map<string, RateCounterState>();
  private readonly advancer: CounterAdvancer;

  constructor(clock: FakeClock) {
    this.advancer = new CounterAdvancer(clock);
  }

  async apply(plan: PortCounterPlan): Promise<void> {
    if (this.failApply) {
      const error = this.failApply;
      this.failApply = null;
      throw error;
    }
    this.plan = { ...plan, ports: [...plan.ports] };
    for (const port of plan.ports) this.state(port);
  }

  /** Frames per second for one PORT_* field of a port. */
  setRate(port: string, field: number, perSecond: number): void {
    this.advance();
    this.state(port).rates[field] = perSecond;
  }

  read(sink: PortCounterSink, done: ReadDone): void {
    this.advance();
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      done(error);
      return;
    }
    for (const port of this.plan?.ports ?? []) {
      const slot = sink.slotOfPort(port);
      if (slot < 0) continue;
      sink.values.set(this.state(port).counters, slot * PORT_FIELDS);
      sink.markPortRead(slot);
    }
    done(null);
  }

  sourceOf(port: string): string | null {
    return this.plan?.ports.includes(port) ? 'fake' : null;
  }

  async close(): Promise<void> {
    this.plan = null;
  }

  private state(port: string): RateCounterState {
    let state = this.states.get(port);
    if (!state) {
      state = { counters: new Float64Array(PORT_FIELDS), rates: new Float64Array(PORT_FIELDS) };
      this.states.set(port, state);
    }
    return state;
  }

  private advance(): void {
    this.advancer.advance(this.states.values());
  }
}
