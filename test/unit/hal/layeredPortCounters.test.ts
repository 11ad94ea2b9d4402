import { describe, expect, it } from 'vitest';
import {
  PORT_ARP,
  PORT_BCAST,
  PORT_FIELDS,
  PORT_MCAST,
  PORT_MDNS,
  type PortCounterPlan,
  type PortCounterSink,
  type PortCounterSource,
  type ReadDone,
  type SourceStatus,
} from '../../../hal/index.ts';
import { FakePortCounters } from '../../../hal/fake/fakePorts.ts';
import { KernelSourceError, supersededError } from '../../../hal/linux/errors.ts';
import { LayeredPortCounters } from '../../../hal/linux/layeredPortCounters.ts';

/**
 * A hardware source as EthtoolMacStats behaves: counts PORT_BCAST/PORT_MCAST of the ports it
 * supports, other fields NaN. Reads are held until release(), to test ordering.
 */
class FakeHardware implements PortCounterSource {
  readonly status: SourceStatus = { backend: 'ethtool', detail: 'eth-mac on lan1' };
  counts = new Map<string, [bcast: number, mcast: number]>();
  failApply: Error | null = null;
  hold = false;
  reads = 0;
  closed = false;
  private supported: string[] = [];
  private pending: { sink: PortCounterSink; done: ReadDone } | null = null;

  constructor(private readonly capable: string[]) {}

  async apply(plan: PortCounterPlan): Promise<void> {
    if (this.failApply) throw this.failApply;
    this.supported = plan.ports.filter((port) => this.capable.includes(port));
  }

  read(sink: PortCounterSink, done: ReadDone): void {
    this.reads++;
    if (this.pending) this.release(supersededError('fake hardware'));
    this.pending = { sink, done };
    if (!this.hold) this.release();
  }

  /** Completes the pending read, writing the counts unless `error`. */
  release(error: Error | null = null): void {
    const pending = this.pending;
    if (!pending) throw new Error('no read pending');
    this.pending = null;
    if (!error) {
      for (const port of this.supported) {
        const slot = pending.sink.slotOfPort(port);
        if (slot < 0) continue;
        pending.sink.values.fill(NaN, slot * PORT_FIELDS, (slot + 1) * PORT_FIELDS);
        const [bcast, mcast] = this.counts.get(port) ?? [0, 0];
        pending.sink.values[slot * PORT_FIELDS + PORT_BCAST] = bcast;
        pending.sink.values[slot * PORT_FIELDS + PORT_MCAST] = mcast;
        pending.sink.markPortRead(slot);
      }
    }
    pending.done(error);
  }

  sourceOf(port: string): string | null {
    return this.supported.includes(port) ? 'ethtool eth-mac' : null;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** FakePortCounters that counts only some of the planned ports (as nft would a subset). */
class PartialSoftware extends FakePortCounters {
  constructor(clock: () => number, private readonly only: string[]) {
    super(clock);
  }
  override apply(plan: PortCounterPlan): Promise<void> {
    return super.apply({ ...plan, ports: plan.ports.filter((port) => this.only.includes(port)) });
  }
}

const PLAN: PortCounterPlan = { bridge: 'br0', bridgeMac: '02:00:00:00:00:01', ports: ['lan1', 'lan2', 'lan3'] };

function sinkFor(ports: string[]) {
  const read = new Set<number>();
  return {
    values: new Float64Array(ports.length * PORT_FIELDS),
    slotOfPort: (name: string) => ports.indexOf(name),
    markPortRead: (slot: number) => void read.add(slot),
    read,
  };
}

function rowOf(values: Float64Array, slot: number): number[] {
  return Array.from(values.subarray(slot * PORT_FIELDS, (slot + 1) * PORT_FIELDS));
}

function startRead(source: PortCounterSource, sink: PortCounterSink) {
  const result: { calls: number; error: (Error & { code?: string }) | null | undefined } = { calls: 0, error: undefined };
  source.read(sink, (error) => {
    result.calls++;
    result.error = error;
  });
  return result;
}

async function layered(options: { capable?: string[]; partial?: string[] } = {}) {
  let now = 0;
  const software = options.partial ? new PartialSoftware(() => now, options.partial) : new FakePortCounters(() => now);
  const hardware = new FakeHardware(options.capable ?? ['lan1', 'lan2']);
  const lines: string[] = [];
  const source = new LayeredPortCounters({ primary: software, hardware, log: (line) => lines.push(line) });
  await source.apply(PLAN);
  // After 1 s, field f of the plan's port i stands at softwareRow(i)[f] = 100 × (f + 1) × (i + 1).
  for (const [i, port] of PLAN.ports.entries()) {
    for (let field = 0; field < PORT_FIELDS; field++) software.setRate(port, field, 100 * (field + 1) * (i + 1));
  }
  now += 1000;
  hardware.counts.set('lan1', [5_000_000_000, 7]);
  hardware.counts.set('lan2', [11, 13]);
  return { source, software, hardware, lines };
}

const softwareRow = (i: number) => Array.from({ length: PORT_FIELDS }, (_, field) => 100 * (field + 1) * (i + 1));

describe('LayeredPortCounters', () => {
  it('names the sources of each port', async () => {
    const { source } = await layered({ capable: ['lan1'] });
    expect(source.sourceOf('lan1')).toBe('ethtool eth-mac + fake');
    expect(source.sourceOf('lan2')).toBe('fake');
    expect(source.sourceOf('other')).toBeNull();
    expect(source.status.backend).toBe('fake');
    expect(source.status.detail).toBe('fake: scripted port counters + ethtool: eth-mac on lan1');
  });

  it('takes broadcast/multicast from hardware where it counts, everything else from the primary', async () => {
    const { source } = await layered();
    const sink = sinkFor(['lan3', 'lan1', 'lan2']);
    const result = startRead(source, sink);
    expect(result).toEqual({ calls: 1, error: null });
    expect([...sink.read].sort()).toEqual([0, 1, 2]);
    const lan1 = rowOf(sink.values, 1);
    expect(lan1[PORT_BCAST]).toBe(5_000_000_000);
    expect(lan1[PORT_MCAST]).toBe(7);
    expect(lan1.slice(PORT_ARP)).toEqual(softwareRow(0).slice(PORT_ARP));
    expect(rowOf(sink.values, 2).slice(0, 3)).toEqual([11, 13, softwareRow(1)[PORT_ARP]]);
    expect(rowOf(sink.values, 0)).toEqual(softwareRow(2)); // lan3: primary only
  });

  it('calls done once, after both sources finished', async () => {
    const { source, hardware } = await layered();
    hardware.hold = true;
    const sink = sinkFor(PLAN.ports as string[]);
    const result = startRead(source, sink);
    expect(result.calls).toBe(0); // the primary finished at once, the hardware has not
    hardware.release();
    expect(result).toEqual({ calls: 1, error: null });
    expect(sink.read.size).toBe(3);
  });

  it('on a hardware error keeps the primary-only rows, unmarks the others and reports it', async () => {
    const { source, hardware } = await layered();
    hardware.hold = true;
    const sink = sinkFor(PLAN.ports as string[]);
    const result = startRead(source, sink);
    const failure = new KernelSourceError('ethtool STATS_GET dump: kernel answered EPERM', 'EPERM');
    hardware.release(failure);
    expect(result.error).toBe(failure);
    expect([...sink.read]).toEqual([2]);
    expect(rowOf(sink.values, 2)).toEqual(softwareRow(2));
    // Never a software broadcast count standing in for the hardware one.
    expect(rowOf(sink.values, 0)[PORT_BCAST]).toBeNaN();
  });

  it("passes the primary's ENOENT through unchanged, even when the hardware fails too", async () => {
    const { source, software, hardware } = await layered({ capable: ['lan1'], partial: ['lan2', 'lan3'] });
    const enoent = new KernelSourceError('nftables table bridge lanwatch: 16 of 16 counters missing', 'ENOENT');
    software.failNext = enoent;
    hardware.hold = true;
    const sink = sinkFor(PLAN.ports as string[]);
    const result = startRead(source, sink);
    hardware.release(new KernelSourceError('ethtool: socket error', 'ENOBUFS'));
    expect(result.error).toBe(enoent);
    expect((result.error as KernelSourceError).code).toBe('ENOENT');
    expect(sink.read.size).toBe(0);
  });

  it('keeps hardware-only rows when the primary fails', async () => {
    const { source, software } = await layered({ capable: ['lan1'], partial: ['lan2', 'lan3'] });
    expect(source.sourceOf('lan1')).toBe('ethtool eth-mac');
    expect(source.sourceOf('lan2')).toBe('fake');
    const enoent = new KernelSourceError('table gone', 'ENOENT');
    software.failNext = enoent;
    const sink = sinkFor(PLAN.ports as string[]);
    const result = startRead(source, sink);
    expect(result.error).toBe(enoent);
    expect([...sink.read]).toEqual([0]);
    const lan1 = rowOf(sink.values, 0);
    expect(lan1.slice(0, 2)).toEqual([5_000_000_000, 7]);
    expect(lan1[PORT_MDNS]).toBeNaN();
  });

  it('supersedes a pending read: the old done gets ESUPERSEDED, late completions are ignored', async () => {
    const { source, hardware } = await layered();
    hardware.hold = true;
    const sink = sinkFor(PLAN.ports as string[]);
    const first = startRead(source, sink);
    const second = startRead(source, sink);
    expect(first).toMatchObject({ calls: 1, error: { code: 'ESUPERSEDED' } });
    // The fake hardware superseded its own first read inside the second read() call: that
    // completion must not count as the second read's.
    expect(second.calls).toBe(0);
    hardware.counts.set('lan1', [42, 43]);
    hardware.release();
    expect(second).toEqual({ calls: 1, error: null });
    expect(first.calls).toBe(1);
    expect(rowOf(sink.values, 0).slice(0, 2)).toEqual([42, 43]);
    expect(sink.read.size).toBe(3);
  });

  it('supersedes a pending read on apply(), marks nothing while applying, and reads the new plan', async () => {
    const { source, hardware } = await layered();
    hardware.hold = true;
    const first = startRead(source, sinkFor(PLAN.ports as string[]));
    const applying = source.apply({ ...PLAN, ports: ['lan2'] });
    expect(first.error?.code).toBe('ESUPERSEDED');
    const during = sinkFor(['lan2']);
    expect(startRead(source, during)).toEqual({ calls: 1, error: null });
    expect(during.read.size).toBe(0);
    await applying;
    hardware.release(); // the first read's late completion: ignored
    const sink = sinkFor(['lan1', 'lan2']);
    const next = startRead(source, sink);
    hardware.release();
    expect(next).toEqual({ calls: 1, error: null });
    expect([...sink.read]).toEqual([1]);
    expect(source.sourceOf('lan1')).toBeNull();
  });

  it('runs on without the hardware when its apply() fails, saying so once', async () => {
    const { source, hardware, lines } = await layered();
    hardware.failApply = new Error('generic netlink family "ethtool" is not registered');
    await source.apply(PLAN);
    expect(lines).toEqual(['port counters: hardware source off for this plan: generic netlink family "ethtool" is not registered']);
    expect(source.sourceOf('lan1')).toBe('fake');
    expect(source.status.detail).toContain('ethtool: off for this plan (generic netlink family "ethtool" is not registered)');
    const reads = hardware.reads;
    const sink = sinkFor(PLAN.ports as string[]);
    expect(startRead(source, sink)).toEqual({ calls: 1, error: null });
    expect(hardware.reads).toBe(reads);
    expect(sink.read.size).toBe(3);
  });

  it("rejects apply() with the primary's error", async () => {
    const { source, software } = await layered();
    const failure = new Error('nft: Operation not permitted');
    software.failApply = failure;
    await expect(source.apply(PLAN)).rejects.toBe(failure);
  });

  it('works with the hardware source alone', async () => {
    const hardware = new FakeHardware(['lan1']);
    hardware.counts.set('lan1', [3, 4]);
    const source = new LayeredPortCounters({ hardware });
    await source.apply(PLAN);
    expect(source.status.backend).toBe('ethtool');
    expect(source.sourceOf('lan1')).toBe('ethtool eth-mac');
    expect(source.sourceOf('lan2')).toBeNull();
    const sink = sinkFor(PLAN.ports as string[]);
    sink.values.fill(9);
    expect(startRead(source, sink)).toEqual({ calls: 1, error: null });
    expect([...sink.read]).toEqual([0]);
    expect(rowOf(sink.values, 0).slice(0, 3)).toEqual([3, 4, NaN]);
    expect(rowOf(sink.values, 1)).toEqual(new Array(PORT_FIELDS).fill(9)); // counted by nobody: untouched
    hardware.failApply = new Error('no ethtool');
    await expect(source.apply(PLAN)).rejects.toThrow('no ethtool');
  });

  it('needs a source, a plan before reads, and closes both', async () => {
    expect(() => new LayeredPortCounters({})).toThrow('no source');
    const software = new FakePortCounters(() => 0);
    const hardware = new FakeHardware(['lan1']);
    const source = new LayeredPortCounters({ primary: software, hardware });
    expect(startRead(source, sinkFor(['lan1'])).error?.code).toBe('ENOPLAN');
    await source.apply(PLAN);
    hardware.hold = true;
    const pending = startRead(source, sinkFor(['lan1']));
    await source.close();
    expect(pending).toEqual({ calls: 1, error: null });
    expect(hardware.closed).toBe(true);
    expect(software.plan).toBeNull();
    expect(startRead(source, sinkFor(['lan1'])).error?.code).toBe('ENOPLAN');
    expect(source.sourceOf('lan1')).toBeNull();
  });
});
