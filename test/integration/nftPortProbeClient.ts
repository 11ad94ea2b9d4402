/** Starts nftPortProbe.ts inside a namespace and sends it requests. */
import { fileURLToPath } from 'node:url';
import type { PortCounterPlan, SourceStatus } from '../../hal/index.ts';
import { startInNs, type BackgroundProcess } from '../lab/background.ts';

const probeScript = fileURLToPath(new URL('./nftPortProbe.ts', import.meta.url));

export interface PortRead {
  error: string | null;
  code: string | null;
  /** PORT_* values per port; null where NaN. */
  rows: Record<string, (number | null)[]>;
  /** Ports marked read. */
  read: string[];
}

export interface NftPortProbe {
  status: SourceStatus;
  /** Resolves, or rejects with the source's message. */
  apply(plan: PortCounterPlan): Promise<void>;
  read(ports: readonly string[]): Promise<PortRead>;
  close(): Promise<void>;
  /** Ends the process without close(): the table stays, as after a crash. */
  exit(): Promise<void>;
}

/** `asUser` runs it as that uid with no capabilities (setpriv), as an unprivileged agent would. */
export async function startNftPortProbe(ns: string, asUser?: number): Promise<NftPortProbe> {
  const node = [process.execPath, '--import', 'tsx', probeScript];
  const child: BackgroundProcess = asUser === undefined
    ? startInNs(ns, node[0]!, node.slice(1))
    : startInNs(ns, 'setpriv', [`--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', ...node]);
  const ready = JSON.parse(await child.waitForLine(/"ready":true/, 20_000)) as { status: SourceStatus };
  let seq = 0;
  const ask = async (request: object, timeoutMs = 15_000): Promise<Record<string, unknown>> => {
    seq++;
    child.write(JSON.stringify({ seq, ...request }));
    return JSON.parse(await child.waitForLine(new RegExp(`^\\{"seq":${seq},`), timeoutMs)) as Record<string, unknown>;
  };
  const okOrThrow = (reply: Record<string, unknown>): void => {
    if (typeof reply.error === 'string') throw new Error(reply.error);
  };
  return {
    status: ready.status,
    apply: async (plan) => okOrThrow(await ask({ op: 'apply', plan })),
    read: async (ports) => (await ask({ op: 'read', ports })) as unknown as PortRead,
    close: async () => okOrThrow(await ask({ op: 'close' })),
    exit: () => child.stop(),
  };
}
