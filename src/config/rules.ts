/**
 * Checks that need more than one key, or the filesystem. They run on the merged config (the
 * values the agent would really use) and blame the source that set the offending value last.
 */
import fs from 'node:fs';
import { layerSets } from './merge.ts';
import type { Config, ConfigLayer, ConfigProblem } from './types.ts';

/** One layer that went into the merged config, and how its paths are named in problems. */
export interface SourcedLayer {
  source: string;
  layer: ConfigLayer;
  name: (path: readonly string[]) => string;
}

type Path = readonly string[];

type Candidate = readonly [path: Path, message: string];

/**
 * Where to report a problem: the highest-precedence layer that set any of the candidate keys,
 * at the first candidate it set (list the key most likely to be wrong first). Each candidate
 * carries the message that fits when it is the one blamed.
 */
function blame(layers: readonly SourcedLayer[], candidates: readonly Candidate[]): ConfigProblem {
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i];
    if (l === undefined) continue;
    const hit = candidates.find(([p]) => layerSets(l.layer, p));
    if (hit !== undefined) return { source: l.source, path: l.name(hit[0]), message: hit[1] };
  }
  // Only reachable if the built-in defaults break a rule; a test guards against that.
  const [p, message] = candidates[0] ?? [[], 'is not valid'];
  return { source: 'built-in defaults', path: p.join('.'), message };
}

const mqtt = (key: string): Path => ['mqtt', key];

/**
 * `rejected` holds dotted paths whose value a layer had wrong (already reported): a rule that
 * involves one would judge a default the user never chose, so it waits for the next check.
 */
export function crossFieldProblems(
  config: Config,
  layers: readonly SourcedLayer[],
  rejected: ReadonlySet<string> = new Set(),
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const report = (...candidates: Candidate[]): void => {
    if (candidates.some(([p]) => rejected.has(p.join('.')))) return;
    problems.push(blame(layers, candidates));
  };

  // Percent levels with hysteresis, the same rules for every alarm that has them.
  const percentLevels = (
    key: string,
    n: { warnPct: number; warnClearPct: number; critPct: number; critClearPct: number },
  ): void => {
    const at = (leaf: string): Path => ['alarms', key, leaf];
    if (!(n.warnClearPct < n.warnPct)) {
      const why = 'or the warning could never clear';
      report(
        [at('warnClearPct'), `must be below warnPct (${n.warnPct}), ${why} (got ${n.warnClearPct})`],
        [at('warnPct'), `must be above warnClearPct (${n.warnClearPct}), ${why} (got ${n.warnPct})`],
      );
    }
    if (!(n.warnPct <= n.critPct)) {
      report(
        [at('warnPct'), `must not be above critPct (${n.critPct}) (got ${n.warnPct})`],
        [at('critPct'), `must not be below warnPct (${n.warnPct}) (got ${n.critPct})`],
      );
    }
    if (!(n.critClearPct < n.critPct)) {
      const why = 'or the critical alarm could never clear';
      report(
        [at('critClearPct'), `must be below critPct (${n.critPct}), ${why} (got ${n.critClearPct})`],
        [at('critPct'), `must be above critClearPct (${n.critClearPct}), ${why} (got ${n.critPct})`],
      );
    }
  };
  percentLevels('natTable', config.alarms.natTable);
  percentLevels('natUpstream', config.alarms.natUpstream);
  const f = config.alarms.natFull;
  if (!(f.warnRefused <= f.critRefused)) {
    report(
      [['alarms', 'natFull', 'warnRefused'], `must not be above critRefused (${f.critRefused}) (got ${f.warnRefused})`],
      [['alarms', 'natFull', 'critRefused'], `must not be below warnRefused (${f.warnRefused}) (got ${f.critRefused})`],
    );
  }

  const m = config.mqtt;
  if (m.password !== null && m.passwordFile !== null) {
    report(
      [mqtt('passwordFile'), 'cannot be used together with password; keep one of them'],
      [mqtt('password'), 'cannot be used together with passwordFile; keep one of them'],
    );
  }
  if (m.cert !== null && m.key === null) {
    report([mqtt('cert'), 'needs key as well: a client certificate is useless without its private key']);
  }
  if (m.key !== null && m.cert === null) {
    report([mqtt('key'), 'needs cert as well: a private key is useless without its client certificate']);
  }
  return problems;
}

/** Files the agent will read at start: missing or unreadable ones are problems now, not later. */
export function fileProblems(config: Config, layers: readonly SourcedLayer[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const key of ['passwordFile', 'ca', 'cert', 'key'] as const) {
    const file = config.mqtt[key];
    if (file === null) continue;
    const message = unreadableFile(file);
    if (message !== undefined) problems.push(blame(layers, [[mqtt(key), message]]));
  }
  return problems;
}

function unreadableFile(file: string): string | undefined {
  try {
    if (fs.statSync(file).isDirectory()) return `${file} is a directory; expected a file`;
    fs.accessSync(file, fs.constants.R_OK);
    return undefined;
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    if (code === 'ENOENT') return `file ${file} does not exist`;
    if (code === 'EACCES' || code === 'EPERM') return `file ${file} cannot be read: permission denied`;
    if (code === 'ENOTDIR') return `file ${file} does not exist (a parent is not a directory)`;
    return `file ${file} cannot be read: ${String(code ?? error)}`;
  }
}
