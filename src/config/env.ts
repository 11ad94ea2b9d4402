/**
 * LANWATCH_* environment variables: one per settable key, named from its path in the schema
 * (alarms.natTable.warnPct → LANWATCH_ALARMS_NAT_TABLE_WARN_PCT), so a new key gets its
 * variable without anyone keeping a list.
 */
import { isArrayNode, leavesOf, type ArrayNode, type ScalarNode } from './nodes.ts';
import { gotClause } from './redact.ts';
import { CONFIG_SCHEMA } from './schema.ts';
import { envNameOf, suggestVariable } from './suggest.ts';
import type { ConfigProblem } from './types.ts';
import { validateLayer, type LayerResult, type Naming } from './validate.ts';

export const ENV_SOURCE = 'environment';
export const ENV_PREFIX = 'LANWATCH_';

/** The path of the config file. Read by the agent, not a setting, so never "unknown". */
export const CONFIG_PATH_VARIABLE = 'LANWATCH_CONFIG';
/** Reserved for test harnesses. */
export const TEST_VARIABLE_PREFIX = 'LANWATCH_TEST_';

export interface EnvVariable {
  name: string;
  path: readonly string[];
  node: ArrayNode | ScalarNode;
}

export const ENV_VARIABLES: readonly EnvVariable[] = leavesOf(CONFIG_SCHEMA).map(({ path, node }) => ({
  name: envNameOf(path.join('.')),
  path,
  node,
}));

const BY_NAME = new Map(ENV_VARIABLES.map((v) => [v.name, v]));
const BY_PATH = new Map(ENV_VARIABLES.map((v) => [v.path.join('.'), v.name]));

export function envVariableName(path: readonly string[]): string | undefined {
  return BY_PATH.get(path.join('.'));
}

/** Errors inside a list name the list's variable and the item: "LANWATCH_INTERFACES_LAN: item 2 …". */
const envNaming: Naming = (path) => {
  for (let n = path.length; n > 0; n--) {
    const name = BY_PATH.get(path.slice(0, n).join('.'));
    if (name === undefined) continue;
    const index = path[n];
    return index === undefined ? { path: name } : { path: name, prefix: `item ${Number(index) + 1}` };
  }
  return { path: envNameOf(path.join('.')) };
};

const TRUE = new Set(['true', '1', 'yes']);
const FALSE = new Set(['false', '0', 'no']);

type Coerced = { ok: true; value: unknown } | { ok: false; message: string };

/** Environment values are strings; turn one into what its key holds. The schema checks the rest. */
function coerce(raw: string, v: EnvVariable): Coerced {
  const { node } = v;
  const text = raw.trim();
  // An empty list means "not set" (see mergeConfig), so an empty variable keeps the profile's ports.
  if (isArrayNode(node)) {
    const items = text === '' ? [] : text.split(',').map((s) => s.trim());
    // A list of numbers (loop.sshPorts=22,2222): numerals become numbers; anything else stays
    // a string, which the schema then reports with the item's position.
    const numeric = node.items.type === 'integer';
    return { ok: true, value: numeric ? items.map((s) => (/^[+-]?\d+$/.test(s) ? Number(s) : s)) : items };
  }
  const types = Array.isArray(node.type) ? node.type : [node.type];
  if (types.includes('null') && (text === '' || text.toLowerCase() === 'null')) return { ok: true, value: null };
  const bad = (): Coerced => ({ ok: false, message: `must be ${node.expected ?? types[0]} ${gotClause(raw, v.path)}` });
  switch (types[0]) {
    case 'integer':
      return /^[+-]?\d+$/.test(text) ? { ok: true, value: Number(text) } : bad();
    case 'number': {
      const n = Number(text);
      return text !== '' && Number.isFinite(n) ? { ok: true, value: n } : bad();
    }
    case 'boolean': {
      const word = text.toLowerCase();
      if (TRUE.has(word)) return { ok: true, value: true };
      if (FALSE.has(word)) return { ok: true, value: false };
      return { ok: false, message: `must be true or false (also 1/0, yes/no) ${gotClause(raw, v.path)}` };
    }
    default:
      // Strings are taken as they are: spaces may belong to a password.
      if (raw === '') return { ok: false, message: 'is empty; unset the variable to use the default' };
      return { ok: true, value: raw };
  }
}

function setAt(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next !== null && typeof next === 'object' && !Array.isArray(next)) node = next as Record<string, unknown>;
    else {
      const created: Record<string, unknown> = {};
      node[key] = created;
      node = created;
    }
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

function isReserved(name: string): boolean {
  return name === CONFIG_PATH_VARIABLE || name.startsWith(TEST_VARIABLE_PREFIX);
}

/** The config layer set by LANWATCH_* variables, and a problem for each bad or unknown one. */
export function configFromEnv(env: NodeJS.ProcessEnv): LayerResult {
  const raw: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  const rejected: string[] = [];
  const names = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !isReserved(name))
    .sort();
  for (const name of names) {
    const value = env[name];
    if (value === undefined) continue;
    const variable = BY_NAME.get(name);
    if (variable === undefined) {
      problems.push({ source: ENV_SOURCE, path: name, message: `unknown variable${suggestVariable(name, BY_PATH)}` });
      continue;
    }
    const coerced = coerce(value, variable);
    if (coerced.ok) setAt(raw, variable.path, coerced.value);
    else {
      problems.push({ source: ENV_SOURCE, path: name, message: coerced.message });
      rejected.push(variable.path.join('.'));
    }
  }
  const checked = validateLayer(raw, ENV_SOURCE, envNaming);
  const all = [...problems, ...checked.problems].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { layer: checked.layer, problems: all, rejected: [...rejected, ...checked.rejected] };
}
