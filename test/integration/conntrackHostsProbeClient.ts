/** Starts conntrackHostsProbe.ts inside a namespace and asks it for reports. */
import { fileURLToPath } from 'node:url';
import type { ConntrackHostCounts, SourceStatus } from '../../hal/index.ts';
import type { DumpStats } from '../../hal/linux/conntrackDump.ts';
import type { LinuxConntrackHostsOptions } from '../../hal/linux/conntrackHosts.ts';
import { startInNs, type BackgroundProcess } from '../lab/background.ts';

const probeScript = fileURLToPath(new URL('./conntrackHostsProbe.ts', import.meta.url));

export interface ConntrackHostsReport {
  seq: number;
  error: string | null;
  /** address → the HOST_* fields. */
  rows: Record<string, number[]>;
  totals: number[];
  size: number;
  overflow: number;
  dumps: number;
  /** The five hosts with the most entries, first first. */
  top: string[];
  counts: ConntrackHostCounts;
  dirty: boolean;
  dumping: boolean;
  indexSize: number;
  lastDump: DumpStats;
  status: SourceStatus;
  warnings: string[];
}

export interface ConntrackHostsProbe {
  readonly first: ConntrackHostsReport;
  report(): Promise<ConntrackHostsReport>;
  /** A full dump, then a report. */
  dump(): Promise<ConntrackHostsReport>;
  /** Blocks the probe's event loop for `ms`. Resolves once it answers again. */
  stall(ms: number): Promise<void>;
  /** Polls reports until `done` holds or `timeoutMs` passes; returns the last report. */
  until(done: (r: ConntrackHostsReport) => boolean | Promise<boolean>, timeoutMs: number, everyMs?: number): Promise<ConntrackHostsReport>;
  stop(): Promise<void>;
}

export async function startConntrackHostsProbe(ns: string, options: Omit<LinuxConntrackHostsOptions, 'log'> = {}): Promise<ConntrackHostsProbe> {
  const child: BackgroundProcess = startInNs(ns, process.execPath, ['--import', 'tsx', probeScript, JSON.stringify(options)]);
  const first = JSON.parse(await child.waitForLine(/"ready":true/, 20_000)) as ConntrackHostsReport;
  let seq = 0;
  const ask = async (command: string, timeoutMs: number): Promise<ConntrackHostsReport> => {
    seq++;
    child.write(`${command} ${seq}`);
    return JSON.parse(await child.waitForLine(new RegExp(`^\\{"seq":${seq},`), timeoutMs)) as ConntrackHostsReport;
  };
  const probe: ConntrackHostsProbe = {
    first,
    report: () => ask('report', 5_000),
    dump: () => ask('dump', 20_000),
    async stall(ms) {
      seq++;
      child.write(`stall ${ms} ${seq}`);
      await child.waitForLine(new RegExp(`^\\{"stalled":${seq}\\}`), ms + 5_000);
    },
    async until(done, timeoutMs, everyMs = 100) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await probe.report();
        if ((await done(r)) || Date.now() > deadline) return r;
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
    },
    stop: () => child.stop(),
  };
  return probe;
}
