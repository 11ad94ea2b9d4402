/**
 * A scripted backend: links and counters that a test (or `agent run --demo`) drives.
 * Counters advance by per-second rates over the time the injected clock says has passed,
 * so the sampler's rate math sees what a kernel would give it. Tests can also jump a
 * counter (wrap, reset), add and remove links, and make a source fail.
 */
import type {
  ConntrackSample,
  ConntrackStatsSource,
  Hal,
  LinkCounterSink,
  LinkEvent,
  LinkInfo,
  LinkInventory,
  LinkListener,
  LinkStatsSource,
  ReadDone,
  SourceStatus,
} from '../index.ts';
import { FakePortCounters } from './fakePorts.ts';
import { CounterAdvancer, type RateCounterState } from './rateCounters.ts';
import { copyConntrackSample, LINK_FIELDS } from '../index.ts';

export type FakeClock = () => number;

interface FakeLinkState extends RateCounterState {
  info: LinkInfo;
}

export class FakeInventory implements LinkInventory {
  readonly status: SourceStatus = { backend: 'fake', detail: 'scripted links' };
  readonly current = new Map<number, LinkInfo>();
  private readonly listeners: LinkListener[] = [];

  get links(): ReadonlyMap<number, LinkInfo> {
    return this.current;
  }

  async start(): Promise<void> {}

  onChange(listener: LinkListener): void {
    this.listeners.push(listener);
  }

  close(): void {}

  emit(event: LinkEvent, link: LinkInfo): void {
    if (event === 'removed') this.current.delete(link.index);
    else this.current.set(link.index, link);
    for (const listener of this.listeners) listener(event, link);
  }
}

export class FakeLinkStats implements LinkStatsSource {
  readonly status: SourceStatus = { backend: 'fake', detail: 'scripted counters' };
  readonly states = new Map<number, FakeLinkState>();
  /** When set, the next read fails with this error (then it is cleared). */
  failNext: Error | null = null;
  reads = 0;
  private readonly advancer: CounterAdvancer;

  constructor(clock: FakeClock) {
    this.advancer = new CounterAdvancer(clock);
  }

  read(sink: LinkCounterSink, done: ReadDone): void {
    this.reads++;
    this.advance();
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      done(error);
      return;
    }
    for (const state of this.states.values()) {
      const slot = sink.slotOfIndex(state.info.index);
      if (slot < 0) continue;
      sink.values.set(state.counters, slot * LINK_FIELDS);
      sink.markRead(slot);
    }
    done(null);
  }

  close(): void {}

  /** Moves every counter forward by its rate over the clock time since the last call. */
  advance(): void {
    this.advancer.advance(this.states.values());
  }
}

export class FakeConntrackStats implements ConntrackStatsSource {
  status: SourceStatus = { backend: 'fake', detail: 'scripted conntrack table' };
  readonly sample: ConntrackSample = {
    count: 0, max: 65536, found: 0, invalid: 0, insertFailed: 0,
    drop: 0, earlyDrop: 0, error: 0, searchRestart: 0,
  };
  failNext: Error | null = null;

  read(out: ConntrackSample, done: ReadDone): void {
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      done(error);
      return;
    }
    copyConntrackSample(this.sample, out);
    done(null);
  }

  close(): void {}
}

export class FakeHal implements Hal {
  readonly inventory = new FakeInventory();
  readonly linkStats: FakeLinkStats;
  readonly conntrack = new FakeConntrackStats();
  readonly ports: FakePortCounters;

  constructor(clock: FakeClock = () => performance.now()) {
    this.linkStats = new FakeLinkStats(clock);
    this.ports = new FakePortCounters(clock);
  }

  /** Adds a link with per-second rates for some LINK_* fields. */
  addLink(info: Partial<LinkInfo> & Pick<LinkInfo, 'index' | 'name'>, rates: Partial<Record<number, number>> = {}): LinkInfo {
    const link: LinkInfo = {
      kind: 'ethernet', masterIndex: 0, mtu: 1500, operState: 'up', mac: null, ...info,
    };
    const rateArray = new Float64Array(LINK_FIELDS);
    for (const [field, rate] of Object.entries(rates)) rateArray[Number(field)] = rate ?? 0;
    this.linkStats.advance();
    this.linkStats.states.set(link.index, { info: link, counters: new Float64Array(LINK_FIELDS), rates: rateArray });
    this.inventory.emit('added', link);
    return link;
  }

  removeLink(index: number): void {
    const state = this.linkStats.states.get(index);
    if (!state) return;
    this.linkStats.states.delete(index);
    this.inventory.emit('removed', state.info);
  }

  setRate(index: number, field: number, perSecond: number): void {
    this.linkStats.advance();
    const state = this.linkStats.states.get(index);
    if (state) state.rates[field] = perSecond;
  }

  setCounter(index: number, field: number, value: number): void {
    this.linkStats.advance();
    const state = this.linkStats.states.get(index);
    if (state) state.counters[field] = value;
  }

  close(): void {}
}
