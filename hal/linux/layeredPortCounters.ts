/**
 * Port counters from two sources at once: a primary that counts every PORT_* field in software
 * (nftables) and a hardware source that counts broadcast and multicast in the NIC's or switch
 * chip's MIB (ethtool eth-mac). For a port both count, the hardware's PORT_BCAST/PORT_MCAST
 * replace the primary's: a DSA switch chip floods frames between its ports without the CPU, so
 * only its MIB sees all a port receives (notes/loop-storm.md §2.4); the protocol split and the
 * own-source count still come from the primary. Either source may be absent.
 *
 * Each source reads into a scratch sink of its own (rows in plan order, sized at apply()) and
 * the rows are merged into the caller's sink when both are done; writing both into one sink
 * would let whichever finishes last overwrite the other (nftables fills whole rows). Both reads
 * run in parallel; `done` is called once, after both. A port is marked read only if every
 * source counting it finished without error and delivered the row: mixing a software count
 * into a hardware series (or back) for one tick would make a bogus delta.
 *
 * Errors: one source failing does not hide the other's rows. `done` gets the primary's error
 * when it has one, else the hardware's; the error objects pass through unchanged, so the
 * nftables 'ENOENT' (table deleted: apply again) always reaches the agent, even while the
 * hardware source fails too.
 *
 * Superseding, as the contract says: a read (or apply) while a read is pending completes the
 * pending one first with 'ESUPERSEDED'. The sources are read again at once; their completions
 * of the older read are recognised by count (each source completes its reads in order) and
 * ignored. The read path allocates nothing: callbacks are created once, state is in typed arrays.
 */
import type { PortCounterPlan, PortCounterSink, PortCounterSource, ReadDone, SourceStatus } from '../index.ts';
import { PORT_BCAST, PORT_FIELDS, PORT_MCAST } from '../index.ts';
import { KernelSourceError, supersededError } from './errors.ts';

export interface LayeredPortCountersOptions {
  /** Counts every PORT_* field (nftables). */
  primary?: PortCounterSource | null;
  /** Counts PORT_BCAST/PORT_MCAST in hardware for the ports it supports (ethtool eth-mac). */
  hardware?: PortCounterSource | null;
  /** One line when the hardware source is left out of a plan because its apply() failed. */
  log?: (line: string) => void;
}

/** A sink over rows in plan order, for one source; merged into the caller's sink per read. */
class ScratchSink implements PortCounterSink {
  values = new Float64Array(0);
  marked = new Uint8Array(0);
  private rowOf: ReadonlyMap<string, number> = new Map();

  setPorts(ports: readonly string[]): void {
    this.values = new Float64Array(ports.length * PORT_FIELDS).fill(NaN);
    this.marked = new Uint8Array(ports.length);
    this.rowOf = new Map(ports.map((port, row) => [port, row]));
  }

  slotOfPort(name: string): number {
    return this.rowOf.get(name) ?? -1;
  }

  markPortRead(slot: number): void {
    this.marked[slot] = 1;
  }
}

export class LayeredPortCounters implements PortCounterSource {
  readonly status: SourceStatus;
  private readonly primary: PortCounterSource | null;
  private readonly hardware: PortCounterSource | null;
  private readonly log: (line: string) => void;
  private readonly primaryRows = new ScratchSink();
  private readonly hardwareRows = new ScratchSink();

  // The applied plan, in plan order: which source counts each port, and what sourceOf() says.
  private portNames: readonly string[] = [];
  private primaryCounts = new Uint8Array(0);
  private hardwareCounts = new Uint8Array(0);
  private sources: ReadonlyMap<string, string> = new Map();
  private readPrimary = false;
  private readHardware = false;
  private hardwareOff: string | null = null;

  private applied = false;
  private applying = 0;
  private closed = false;
  private closing: Promise<void> | null = null;
  private queue: Promise<void> = Promise.resolve();

  // Reads issued to each source and not yet completed (older reads complete first).
  private primaryOutstanding = 0;
  private hardwareOutstanding = 0;
  /** Sources the current read still waits for. */
  private waiting = 0;
  private primaryError: Error | null = null;
  private hardwareError: Error | null = null;
  private sink: PortCounterSink | null = null;
  private done: ReadDone | null = null;
  private readonly onPrimaryDone: ReadDone;
  private readonly onHardwareDone: ReadDone;

  constructor(options: LayeredPortCountersOptions) {
    this.primary = options.primary ?? null;
    this.hardware = options.hardware ?? null;
    if (!this.primary && !this.hardware) throw new Error('layered port counters: no source');
    this.log = options.log ?? (() => {});
    const main = (this.primary ?? this.hardware)!;
    this.status = { backend: main.status.backend, detail: this.describe() };
    this.onPrimaryDone = (error) => {
      if (--this.primaryOutstanding > 0 || !this.done) return; // an older read's completion
      this.primaryError = error;
      this.sourceDone();
    };
    this.onHardwareDone = (error) => {
      if (--this.hardwareOutstanding > 0 || !this.done) return;
      this.hardwareError = error;
      this.sourceDone();
    };
  }

  sourceOf(port: string): string | null {
    return this.applied ? (this.sources.get(port) ?? null) : null;
  }

  apply(plan: PortCounterPlan): Promise<void> {
    if (this.done) this.supersede('plan changed');
    this.applying++;
    const run = this.queue.then(() => this.install(plan)).finally(() => this.applying--);
    this.queue = run.catch(() => {});
    return run;
  }

  read(sink: PortCounterSink, done: ReadDone): void {
    if (this.done) this.supersede('next read');
    if (this.closed) {
      done(new KernelSourceError('layered port counters: closed', 'ENOPLAN'));
      return;
    }
    if (this.applying > 0) {
      done(null); // the plan is changing: nothing marked, the sampler records a gap
      return;
    }
    if (!this.applied) {
      done(new KernelSourceError('layered port counters: no plan applied yet', 'ENOPLAN'));
      return;
    }
    this.sink = sink;
    this.done = done;
    this.primaryError = null;
    this.hardwareError = null;
    this.primaryRows.marked.fill(0);
    this.hardwareRows.marked.fill(0);
    this.waiting = (this.readPrimary ? 1 : 0) + (this.readHardware ? 1 : 0);
    if (this.waiting === 0) {
      this.complete();
      return;
    }
    // Counted before either read starts: a source may complete synchronously.
    if (this.readPrimary) this.primaryOutstanding++;
    if (this.readHardware) this.hardwareOutstanding++;
    if (this.readPrimary) this.primary!.read(this.primaryRows, this.onPrimaryDone);
    if (this.readHardware) this.hardware!.read(this.hardwareRows, this.onHardwareDone);
  }

  /** Closes both sources (the primary removes its table). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      const done = this.done;
      this.sink = null;
      this.done = null;
      if (done) done(null);
      await this.queue;
      this.applied = false;
      await Promise.all([this.primary?.close(), this.hardware?.close()]);
    })();
    return this.closing;
  }

  private async install(plan: PortCounterPlan): Promise<void> {
    if (this.closed) throw new Error('layered port counters: apply() after close()');
    const [primaryApplied, hardwareApplied] = await Promise.allSettled([this.primary?.apply(plan), this.hardware?.apply(plan)]);
    if (this.primary && primaryApplied.status === 'rejected') throw primaryApplied.reason;
    let hardwareOn = this.hardware !== null;
    this.hardwareOff = null;
    if (this.hardware && hardwareApplied.status === 'rejected') {
      // Without a primary there is nothing left to count with: fail the plan.
      if (!this.primary) throw hardwareApplied.reason;
      hardwareOn = false;
      this.hardwareOff = (hardwareApplied.reason as Error).message;
      this.log(`port counters: hardware source off for this plan: ${this.hardwareOff}`);
    }
    const ports = [...new Set(plan.ports)];
    const primaryCounts = new Uint8Array(ports.length);
    const hardwareCounts = new Uint8Array(ports.length);
    const sources = new Map<string, string>();
    ports.forEach((port, i) => {
      const software = this.primary?.sourceOf(port) ?? null;
      const hardware = hardwareOn ? (this.hardware!.sourceOf(port) ?? null) : null;
      primaryCounts[i] = software === null ? 0 : 1;
      hardwareCounts[i] = hardware === null ? 0 : 1;
      const source = hardware !== null && software !== null ? `${hardware} + ${software}` : (hardware ?? software);
      if (source !== null) sources.set(port, source);
    });
    this.portNames = ports;
    this.primaryCounts = primaryCounts;
    this.hardwareCounts = hardwareCounts;
    this.sources = sources;
    this.readPrimary = primaryCounts.includes(1);
    this.readHardware = hardwareCounts.includes(1);
    this.primaryRows.setPorts(ports);
    this.hardwareRows.setPorts(ports);
    this.status.detail = this.describe();
    this.applied = true;
  }

  private sourceDone(): void {
    if (--this.waiting === 0) this.complete();
  }

  /** Both sources are done: merge their rows into the caller's sink, then report. */
  private complete(): void {
    const sink = this.sink!;
    const done = this.done!;
    this.sink = null;
    this.done = null;
    const primaryOk = this.primaryError === null;
    const hardwareOk = this.hardwareError === null;
    const software = this.primaryRows;
    const hardware = this.hardwareRows;
    const values = sink.values;
    for (let i = 0; i < this.portNames.length; i++) {
      const bySoftware = this.primaryCounts[i] === 1;
      const byHardware = this.hardwareCounts[i] === 1;
      if (!bySoftware && !byHardware) continue;
      const slot = sink.slotOfPort(this.portNames[i]!);
      if (slot < 0) continue;
      const to = slot * PORT_FIELDS;
      const from = i * PORT_FIELDS;
      const softwareRow = bySoftware && primaryOk && software.marked[i] === 1;
      const hardwareRow = byHardware && hardwareOk && hardware.marked[i] === 1;
      // Field by field: subarray() would create a view object per port per read.
      for (let field = 0; field < PORT_FIELDS; field++) values[to + field] = softwareRow ? software.values[from + field]! : NaN;
      if (byHardware) {
        // Never let a software count stand in for the hardware one: NaN unless it arrived.
        values[to + PORT_BCAST] = hardwareRow ? hardware.values[from + PORT_BCAST]! : NaN;
        values[to + PORT_MCAST] = hardwareRow ? hardware.values[from + PORT_MCAST]! : NaN;
      }
      if ((!bySoftware || softwareRow) && (!byHardware || hardwareRow)) sink.markPortRead(slot);
    }
    const error = this.primaryError ?? this.hardwareError;
    this.primaryError = null;
    this.hardwareError = null;
    done(error);
  }

  /** Completes the pending read with ESUPERSEDED; the sources' late completions are ignored. */
  private supersede(why: string): void {
    const done = this.done!;
    this.sink = null;
    this.done = null;
    this.waiting = 0;
    done(supersededError(`layered port counters (${why})`));
  }

  private describe(): string {
    const parts: string[] = [];
    if (this.primary) parts.push(`${this.primary.status.backend}: ${this.primary.status.detail}`);
    if (this.hardware) {
      parts.push(this.hardwareOff === null
        ? `${this.hardware.status.backend}: ${this.hardware.status.detail}`
        : `${this.hardware.status.backend}: off for this plan (${this.hardwareOff})`);
    }
    return parts.join(' + ');
  }
}
