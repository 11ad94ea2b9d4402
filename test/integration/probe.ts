/** Runs halProbe.ts inside a namespace and parses its output. */
import { fileURLToPath } from 'node:url';
import type { ConntrackSample, LinkInfo, SourceStatus } from '../../hal/index.ts';
import { inNs, run } from '../lab/exec.ts';

const probeScript = fileURLToPath(new URL('./halProbe.ts', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface ProbeResult {
  backends: { inventory: SourceStatus; links: SourceStatus; conntrack: SourceStatus };
  linkError: string | null;
  conntrackError: string | null;
  links: (LinkInfo & { read: boolean; counters: number[] })[];
  conntrack: ConntrackSample;
}

/** `asUser` runs it as that uid with no capabilities (setpriv), as an unprivileged agent would. */
export async function probeHal(ns: string, asUser?: number): Promise<ProbeResult> {
  const node = [process.execPath, '--import', 'tsx', probeScript];
  const args = asUser === undefined
    ? node
    : ['setpriv', `--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', ...node];
  const { stdout } = asUser === undefined
    ? await inNs(ns, args[0]!, args.slice(1), { timeoutMs: 20_000 })
    : await run('ip', ['netns', 'exec', ns, ...args], { timeoutMs: 20_000 });
  return JSON.parse(stdout) as ProbeResult;
}
