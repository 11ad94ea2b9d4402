// Home Assistant's view of our templates: haTemplate.py renders them with Jinja2, the engine
// HA uses, against a message the broker delivered. A wrong key or a template HA would render
// differently then fails a test instead of leaving an entity `unknown` in someone's HA.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { requirePrerequisite, run } from '../lab/exec.ts';

export type Rendered = { value: string } | { error: string };

const SCRIPT = fileURLToPath(new URL('./haTemplate.py', import.meta.url));

/** The system python3 first: the Debian package python3-jinja2 installs there (.ci/run). */
function pythonWithJinja(): { python: string } | { reason: string } {
  const candidates = [...(process.env.LANWATCH_PYTHON ? [process.env.LANWATCH_PYTHON] : []), '/usr/bin/python3', 'python3'];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import jinja2.sandbox'], { timeout: 10_000 });
    if (probe.status === 0) return { python };
  }
  return { reason: 'no python3 with jinja2 (apt-get install python3-jinja2)' };
}

/** The python3 to render with, or null after saying why the tests skip; throws under CI. */
export function requireJinja(): string | null {
  const found = pythonWithJinja();
  if ('python' in found) return found.python;
  requirePrerequisite(found.reason, 'Jinja2', 'Home Assistant template tests');
  return null;
}

/** Renders each template against `payload` (the message text) as HA would. */
export async function renderHaTemplates(python: string, payload: string, templates: Record<string, string>): Promise<Record<string, Rendered>> {
  const { stdout } = await run(python, [SCRIPT], { input: JSON.stringify({ payload, templates }), timeoutMs: 20_000 });
  return JSON.parse(stdout) as Record<string, Rendered>;
}
