/**
 * The sampling loop: every tick it asks the HAL for all link counters and the conntrack
 * statistics, turns counter deltas into per-second rates over the measured (monotonic)
 * interval and appends them to the history rings.
 *
 * Steady state allocates nothing of its own: the timer is one setInterval, the read
 * callbacks are created once, counters land in typed arrays. Timer jitter does not bias
 * rates because each rate divides by the time actually elapsed between the two reads.
 */
import type { ConntrackSample, Hal, LinkEvent, LinkInfo, ReadDone } from '../../hal/index.ts';
import { emptyConntrackSample } from '../../hal/index.ts';
import { ConntrackHistory } from './conntrackHistory.ts';
import { LinkTable } from './linkTable.ts';
import { PortTable } from './portTable.ts';
import { RingClock } from './ring.ts';
import { SourceHealth, type HealthLogger } from './sourceHealth.ts';

export const HISTORY_MS = 10 * 60 * 1000;

export interface SamplerOptions {
  intervalMs: number;
  /** How much history to keep (default 10 minutes). */
  historyMs?: number;
  /** Most interfaces tracked at once; rows of vanished ones are reused. */
  maxInterfaces?: number;
  /** Most bridge ports counted at once. */
  maxPorts?: number;
  log: HealthLogger;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
}

export type SampleListener = () => void;

export class Sampler {
  readonly intervalMs: number;
  readonly clock: RingClock;
  readonly links: LinkTable;
  readonly conntrack: ConntrackHistory;
  readonly linkHealth: SourceHealth;
  readonly conntrackHealth: SourceHealth;
  /** Bridge ports' broadcast/multicast rates, when the HAL has a port-counter source. */
  readonly ports: PortTable;
  readonly portHealth: SourceHealth;
  /** Completed ticks. */
  ticks = 0;
  /** Ticks skipped because the previous one had not finished. */
  overruns = 0;
  /** Reads abandoned because the kernel never answered. */
  stalls = 0;
  /** Duration of the last tick, from request to last reply, in ms. */
  lastTickMs = NaN;
  /**
   * Monotonic ms (performance.now()) at which the latest committed sample was requested. For
   * listeners: reading it costs nothing, where another performance.now() allocates a double.
   */
  sampledAt = NaN;

  private readonly hal: Hal;
  private readonly log: HealthLogger;
  private readonly now: () => number;
  private readonly listeners: SampleListener[] = [];
  private readonly conntrackSample: ConntrackSample = emptyConntrackSample();
  private readonly onLinksDone: ReadDone;
  private readonly onConntrackDone: ReadDone;
  private readonly onPortsDone: ReadDone;
  /** Whether port counters are read: there is a source and a plan with ports. */
  private portsActive = false;
  private timer: NodeJS.Timeout | null = null;
  private pending = 0;
  private tickStartedAt = 0;
  private lastCommitAt = NaN;
  /** Interfaces refused a row because the table was full, each reported once. */
  private readonly untrackedReported = new Set<string>();
  private readonly onLinkEvent = (event: LinkEvent, link: LinkInfo): void => {
    if (this.links.onLinkEvent(event, link) || event === 'removed' || this.untrackedReported.has(link.name)) return;
    this.untrackedReported.add(link.name);
    this.log.warn(`${link.name}: not sampled: the agent tracks at most ${this.links.capacity} interfaces at once`);
  };

  constructor(hal: Hal, options: SamplerOptions) {
    this.hal = hal;
    this.intervalMs = options.intervalMs;
    this.now = options.now ?? (() => performance.now());
    const capacity = Math.ceil((options.historyMs ?? HISTORY_MS) / options.intervalMs);
    this.clock = new RingClock(capacity);
    this.links = new LinkTable(options.maxInterfaces ?? 64, capacity, this.now);
    this.conntrack = new ConntrackHistory(capacity);
    this.log = options.log;
    this.linkHealth = new SourceHealth('link counters', options.log);
    this.conntrackHealth = new SourceHealth('conntrack', options.log);
    this.ports = new PortTable(options.maxPorts ?? 32, capacity);
    this.portHealth = new SourceHealth('port counters', options.log);
    // Created once: handing these to the HAL every tick allocates nothing.
    this.onLinksDone = (error) => this.readDone(error, this.linkHealth);
    this.onConntrackDone = (error) => this.readDone(error, this.conntrackHealth);
    this.onPortsDone = (error) => this.readDone(error, this.portHealth);
    for (const link of hal.inventory.links.values()) this.onLinkEvent('added', link);
    hal.inventory.onChange(this.onLinkEvent);
  }

  /** Called after every completed tick. Listeners must not allocate per call either. */
  onSample(listener: SampleListener): void {
    this.listeners.push(listener);
  }

  /**
   * The bridge ports to read from now on (after the HAL's port source applied the same plan).
   * Ports the source does not count fall back to their interface multicast counter. An empty
   * list stops reading ports. Returns the ports refused for lack of rows.
   */
  setPortPlan(ports: readonly string[]): string[] {
    const source = this.hal.ports;
    const refused = this.ports.setPorts(ports, (name) => source?.sourceOf(name) ?? null);
    this.portsActive = source !== undefined && ports.some((name) => source.sourceOf(name) !== null && !refused.includes(name));
    return refused;
  }

  start(): void {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Starts one tick now. Public for benchmarks and tests that drive the clock. */
  tick(): void {
    const now = this.now();
    if (this.pending > 0) {
      // The kernel normally answers in microseconds; give it three intervals (at least
      // 2 s) before abandoning the reads, so a slow moment is not mistaken for a loss.
      if (now - this.tickStartedAt < Math.max(3 * this.intervalMs, 2000)) {
        this.overruns++;
        return;
      }
      this.stalls++;
    }
    this.tickStartedAt = now;
    const ports = this.portsActive ? this.hal.ports : undefined;
    this.pending = ports ? 3 : 2;
    this.links.beginRead();
    this.ports.beginRead();
    this.hal.linkStats.read(this.links, this.onLinksDone);
    this.hal.conntrack.read(this.conntrackSample, this.onConntrackDone);
    if (ports) ports.read(this.ports, this.onPortsDone);
  }

  private readDone(error: Error | null, health: SourceHealth): void {
    // A superseded read is the previous tick's, already written off by tick().
    if (error && (error as { code?: string }).code === 'ESUPERSEDED') return;
    health.report(error);
    if (--this.pending === 0) this.commit();
  }

  private commit(): void {
    const at = this.tickStartedAt;
    const seconds = (at - this.lastCommitAt) / 1000;
    const index = this.clock.advance(at);
    this.links.commit(index, Number.isNaN(seconds) ? 0 : seconds);
    this.conntrack.commit(index, this.conntrackSample, this.conntrackHealth.ok, seconds);
    this.ports.commit(index, Number.isNaN(seconds) ? 0 : seconds, this.links);
    this.lastCommitAt = at;
    this.sampledAt = at;
    this.lastTickMs = this.now() - at;
    this.ticks++;
    for (let i = 0; i < this.listeners.length; i++) this.listeners[i]!();
  }
}
