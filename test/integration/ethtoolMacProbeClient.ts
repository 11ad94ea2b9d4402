/** Starts ethtoolMacProbe.ts inside a namespace and sends it requests. */
import { fileURLToPath } from 'node:url';
import type { PortCounterPlan, SourceStatus } from '../../hal/index.ts';
import { startInNs, type BackgroundProcess } from '../lab/background.ts';

const probeScript = fileURLToPath(new URL('./ethtoolMacProbe.ts', import.meta.url));

export interface EthMacRead {
  error: string | null;
  code: string | null;
  /** PORT_* values per port; null where NaN. */
  rows: Record<string, (number | null)[]>;
  /** Ports marked read. */
  read: string[];
}

export interface EthMacApplied {
  sources: Record<string, string | null>;
  unsupported: Record<string, string>;
  status: SourceStatus;
}

export interface DumpedDevice {
  name: string;
  ifindex: number;
  hasGroup: boolean;
  multicast: number | null;
  broadcast: number | null;
}

export interface EthMacProbe {
  status: SourceStatus;
  family: { id: number; statsGetFlags: number | null } | null;
  /** Resolves, or rejects with the source's message. */
  apply(plan: PortCounterPlan): Promise<EthMacApplied>;
  read(ports: readonly string[]): Promise<EthMacRead>;
  probe(ports: readonly string[]): Promise<string[]>;
  dump(): Promise<DumpedDevice[]>;
  close(): Promise<void>;
  exit(): Promise<void>;
}

/**
 * `mode` 'layered' wraps the real nftables source and the ethtool one in LayeredPortCounters.
 * `asUser` runs it as that uid with no capabilities (setpriv), as an unprivileged agent would.
 */
export async function startEthMacProbe(ns: string, mode: 'ethtool' | 'layered' = 'ethtool', asUser?: number): Promise<EthMacProbe> {
  const node = [process.execPath, '--import', 'tsx', probeScript, mode];
  const child: BackgroundProcess = asUser === undefined
    ? startInNs(ns, node[0]!, node.slice(1))
    : startInNs(ns, 'setpriv', [`--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', ...node]);
  const ready = JSON.parse(await child.waitForLine(/"ready":true/, 20_000)) as Pick<EthMacProbe, 'status' | 'family'>;
  let seq = 0;
  const ask = async (request: object, timeoutMs = 15_000): Promise<Record<string, unknown>> => {
    seq++;
    child.write(JSON.stringify({ seq, ...request }));
    const reply = JSON.parse(await child.waitForLine(new RegExp(`^\\{"seq":${seq},`), timeoutMs)) as Record<string, unknown>;
    return reply;
  };
  const okOrThrow = (reply: Record<string, unknown>): Record<string, unknown> => {
    if (typeof reply.error === 'string') throw new Error(reply.error);
    return reply;
  };
  return {
    status: ready.status,
    family: ready.family,
    apply: async (plan) => okOrThrow(await ask({ op: 'apply', plan })) as unknown as EthMacApplied,
    read: async (ports) => (await ask({ op: 'read', ports })) as unknown as EthMacRead,
    probe: async (ports) => okOrThrow(await ask({ op: 'probe', ports })).supported as string[],
    dump: async () => okOrThrow(await ask({ op: 'dump' })).devices as DumpedDevice[],
    close: async () => void okOrThrow(await ask({ op: 'close' })),
    exit: () => child.stop(),
  };
}
