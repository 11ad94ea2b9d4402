/**
 * `agent config check [FILE]` and the agent's start-up gate: load, validate, merge, cross-check,
 * and list every problem at once. The agent refuses to start while there is any.
 */
import path from 'node:path';
import { CONFIG_PATH_VARIABLE, ENV_SOURCE, configFromEnv, envVariableName } from './env.ts';
import { loadConfigFile } from './load.ts';
import { mergeConfig } from './merge.ts';
import { HIDDEN, redactUrl } from './redact.ts';
import { crossFieldProblems, fileProblems, type SourcedLayer } from './rules.ts';
import { DEFAULT_CONFIG, DEFAULT_CONFIG_PATH } from './schema.ts';
import type { Config, ConfigLayer, ConfigProblem } from './types.ts';
import { dottedNaming, validateConfig } from './validate.ts';

/** Exit code of the agent and of `config check` when the configuration has problems. */
export const CONFIG_PROBLEM_EXIT_CODE = 2;

export interface CheckResult {
  /** The merged configuration (without a board profile), or null when there is any problem. */
  config: Config | null;
  problems: ConfigProblem[];
  /** The file that was read (or looked for). */
  path: string;
  found: boolean;
  /**
   * The validated layers, for merging in the board profile once it is known:
   * `mergeConfig(DEFAULT_CONFIG, profile.defaults, layers.file, layers.env)`.
   */
  layers: { file: ConfigLayer; env: ConfigLayer };
}

/**
 * The config file to read: the argument, else LANWATCH_CONFIG, else /etc/lanwatch/config.json.
 * `explicit` is true for the first two: someone named that file, so its absence is a problem
 * (a typo in a path must not silently run the agent on defaults).
 */
export function resolveConfigPath(file: string | undefined, env: NodeJS.ProcessEnv): { path: string; explicit: boolean } {
  if (file !== undefined && file !== '') return { path: file, explicit: true };
  const fromEnv = env[CONFIG_PATH_VARIABLE];
  if (fromEnv !== undefined && fromEnv !== '') return { path: fromEnv, explicit: true };
  return { path: DEFAULT_CONFIG_PATH, explicit: false };
}

export function checkConfig(file: string | undefined, env: NodeJS.ProcessEnv): CheckResult {
  const target = resolveConfigPath(file, env);
  const loaded = loadConfigFile(target.path);
  const fromEnv = configFromEnv(env);
  const problems = [...loaded.problems, ...fromEnv.problems];
  if (!loaded.found && target.explicit) problems.push({ source: target.path, path: '', message: 'does not exist' });

  const layers: SourcedLayer[] = [
    { source: 'built-in defaults', layer: DEFAULT_CONFIG, name: (p) => p.join('.') },
    { source: target.path, layer: loaded.layer, name: (p) => dottedNaming(p).path },
    { source: ENV_SOURCE, layer: fromEnv.layer, name: (p) => envVariableName(p) ?? p.join('.') },
  ];
  const config = mergeConfig(DEFAULT_CONFIG, loaded.layer, fromEnv.layer);
  const rejected = new Set([...loaded.rejected, ...fromEnv.rejected]);
  problems.push(
    ...crossFieldProblems(config, layers, rejected),
    ...fileProblems(config, layers),
    // Each layer was valid on its own, so this only fires on a bug in merging or in the schema.
    ...validateConfig(config, 'merged configuration'),
  );
  return {
    config: problems.length === 0 ? config : null,
    problems: groupBySource(problems),
    path: target.path,
    found: loaded.found,
    layers: { file: loaded.layer, env: fromEnv.layer },
  };
}

/** Stable grouping: sources in first-seen order, problems in their order within each source. */
function groupBySource(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const groups = new Map<string, ConfigProblem[]>();
  for (const p of problems) {
    const group = groups.get(p.source);
    if (group === undefined) groups.set(p.source, [p]);
    else group.push(p);
  }
  return [...groups.values()].flat();
}

function describeSource(source: string): string {
  return source === ENV_SOURCE ? 'the environment' : source;
}

function plural(n: number): string {
  return n === 1 ? '1 problem' : `${n} problems`;
}

/**
 * For a person: a header per source, one indented line per problem, and a one-line summary:
 *
 *   /etc/lanwatch/config.json:
 *     mqtt.url: must be a string like mqtt://host:1883 or mqtts://host:8883 (got 1883)
 *   1 problem in /etc/lanwatch/config.json; the agent will not start until it is fixed.
 */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  if (problems.length === 0) return 'No problems found.\n';
  const grouped = groupBySource(problems);
  const lines: string[] = [];
  const counts = new Map<string, number>();
  for (const p of grouped) {
    if (!counts.has(p.source)) lines.push(`${p.source === ENV_SOURCE ? 'environment (LANWATCH_* variables)' : p.source}:`);
    counts.set(p.source, (counts.get(p.source) ?? 0) + 1);
    // A problem with the file as a whole (unreadable, not JSON) has no key path; name the file.
    lines.push(`  ${p.path === '' ? path.basename(p.source) : p.path}: ${p.message}`);
  }
  const where =
    counts.size === 1
      ? `${plural(grouped.length)} in ${describeSource(grouped[0]?.source ?? '')}`
      : `${plural(grouped.length)} (${[...counts].map(([s, n]) => `${n} in ${describeSource(s)}`).join(', ')})`;
  const fixed = grouped.length === 1 ? 'it is fixed' : 'they are fixed';
  lines.push(`${where}; the agent will not start until ${fixed}.`);
  return `${lines.join('\n')}\n`;
}

/** A copy safe to print (`agent config show`, logs): secrets become "(hidden)". */
export function redactConfig(config: Config): Config {
  return {
    ...structuredClone(config),
    mqtt: {
      ...structuredClone(config.mqtt),
      url: redactUrl(config.mqtt.url),
      password: config.mqtt.password === null ? null : HIDDEN,
    },
  };
}
