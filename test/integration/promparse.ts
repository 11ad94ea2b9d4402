// Runs promparse.py: our exposition read by the official Python client's parser, a parser
// we did not write, so a formatting mistake cannot hide behind a matching mistake in a test.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ciIsSet, run } from '../lab/exec.ts';

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  /** NaN and the infinities come as the strings 'NaN', '+Inf', '-Inf'. */
  value: number | string;
}

export interface ParsedFamily {
  /** Counters lose their _total suffix here; their samples keep it. */
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const SCRIPT = fileURLToPath(new URL('./promparse.py', import.meta.url));
const PROBE = 'from prometheus_client.parser import text_string_to_metric_families';

// pyenv and venvs shadow the system python3 that the Debian package installs into.
function candidates(): string[] {
  const fromEnv = process.env.LANWATCH_PYTHON;
  return [...(fromEnv ? [fromEnv] : []), 'python3', '/usr/bin/python3'];
}

let found: { python: string } | { reason: string } | undefined;

function find(): { python: string } | { reason: string } {
  let sawPython = false;
  for (const python of candidates()) {
    const probe = spawnSync(python, ['-c', PROBE], { encoding: 'utf8', timeout: 10_000 });
    if (probe.error) continue;
    sawPython = true;
    if (probe.status === 0) return { python };
  }
  return {
    reason: sawPython
      ? 'python3 lacks prometheus_client (apt-get install python3-prometheus-client)'
      : 'python3 not found (apt-get install python3-prometheus-client)',
  };
}

/**
 * Gate as requireLab(): the python3 that has the parser, or null after printing why the
 * suite is skipped. Under CI it throws instead: CI must run these tests.
 */
export function requirePromParser(): string | null {
  found ??= find();
  if ('python' in found) return found.python;
  if (ciIsSet()) throw new Error(`Prometheus parser missing under CI: ${found.reason}`);
  console.warn(`[metrics] skipping exposition parser tests: ${found.reason}`);
  return null;
}

export async function parseExposition(python: string, text: string): Promise<ParsedFamily[]> {
  const { stdout } = await run(python, [SCRIPT], { input: text, timeoutMs: 20_000 });
  return JSON.parse(stdout) as ParsedFamily[];
}
