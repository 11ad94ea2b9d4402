/** Starts fdbProbe.ts inside a namespace and asks it for reports. */
import { fileURLToPath } from 'node:url';
import type { FdbEventCounts } from '../../hal/linux/fdbEvents.ts';
import { startInNs, type BackgroundProcess } from '../lab/background.ts';

const probeScript = fileURLToPath(new URL('./fdbProbe.ts', import.meta.url));

export interface FdbProbeEvent {
  mac: string;
  port: number;
  /** 0 for updates. */
  fromPort: number;
  master: number;
  vlan: number;
  /** The probe's performance.now(); add timeOrigin for wall-clock ms. */
  atMs: number;
}

export interface FdbProbeReport {
  seq: number;
  timeOrigin: number;
  counts: FdbEventCounts;
  tracked: { size: number; evictions: number };
  /** The first 200 of each. */
  updates: FdbProbeEvent[];
  moves: FdbProbeEvent[];
  updatesByMac: Record<string, number>;
  movesByMac: Record<string, number>;
  /** "mac from->to" → count, over all moves. */
  moveEdges: Record<string, number>;
  warnings: string[];
}

export interface FdbProbe {
  report(): Promise<FdbProbeReport>;
  /** Polls reports until `done` holds or `timeoutMs` passes; returns the last report. */
  until(done: (r: FdbProbeReport) => boolean, timeoutMs: number): Promise<FdbProbeReport>;
  stop(): Promise<void>;
}

/** `asUser` runs it as that uid with no capabilities (setpriv), as an unprivileged agent would. */
export async function startFdbProbe(ns: string, asUser?: number): Promise<FdbProbe> {
  const node = [process.execPath, '--import', 'tsx', probeScript];
  const child: BackgroundProcess = asUser === undefined
    ? startInNs(ns, node[0]!, node.slice(1))
    : startInNs(ns, 'setpriv', [`--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', ...node]);
  await child.waitForLine(/"ready":true/, 20_000);
  let seq = 0;
  const probe: FdbProbe = {
    async report() {
      seq++;
      child.write(`report ${seq}`);
      return JSON.parse(await child.waitForLine(new RegExp(`^\\{"seq":${seq},`), 5_000)) as FdbProbeReport;
    },
    async until(done, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await probe.report();
        if (done(r) || Date.now() > deadline) return r;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    stop: () => child.stop(),
  };
  return probe;
}
