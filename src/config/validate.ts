/**
 * Schema validation of one config layer (the file, or the environment), turning every ajv
 * error into a ConfigProblem a person can act on, and keeping the valid rest of the layer so
 * the cross-field checks can still run: one `config check` reports everything at once.
 */
import { isIP } from 'node:net';
import { Ajv, type AnySchema, type ErrorObject } from 'ajv';
import {
  allPathsOf,
  dottedPath,
  isArrayNode,
  isObjectNode,
  isRecord,
  nodeAt,
  withoutRequired,
} from './nodes.ts';
import { gotClause } from './redact.ts';
import { CONFIG_SCHEMA } from './schema.ts';
import { suggestKey } from './suggest.ts';
import type { Config, ConfigLayer, ConfigProblem } from './types.ts';

const MQTT_SCHEMES = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);
const URL_EXAMPLE = 'a URL like mqtt://host:1883 or mqtts://host:8883';

/** What is wrong with a broker URL string, or undefined when it is usable. */
export function mqttUrlProblem(url: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) return `must be ${URL_EXAMPLE}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `must be ${URL_EXAMPLE}`;
  }
  if (!MQTT_SCHEMES.has(parsed.protocol)) return 'must start with mqtt://, mqtts://, ws:// or wss://';
  if (parsed.hostname === '') return `must name a host: ${URL_EXAMPLE}`;
  return undefined;
}

// verbose: errors carry their schema node, which holds the limits and `expected` text we quote.
const ajv = new Ajv({ allErrors: true, useDefaults: false, strict: true, verbose: true });
ajv.addVocabulary(['expected']);
ajv.addFormat('mqtt-url', { type: 'string', validate: (s: string) => mqttUrlProblem(s) === undefined });
// A literal address, never a host name: binding must not depend on DNS at boot.
ajv.addFormat('ip-address', { type: 'string', validate: (s: string) => isIP(s) !== 0 });

// The schema is plain data built by objectSchema(); ajv's compile() types want its own shape.
const validateLayerShape = ajv.compile(withoutRequired(CONFIG_SCHEMA) as AnySchema);
const validateComplete = ajv.compile(CONFIG_SCHEMA as AnySchema);
const ALL_PATHS = allPathsOf(CONFIG_SCHEMA);

/** Turns a schema path into ConfigProblem.path, plus words to put before the message. */
export type Naming = (path: readonly string[]) => { path: string; prefix?: string };

export const dottedNaming: Naming = (path) => ({ path: dottedPath(CONFIG_SCHEMA, path) });

export interface LayerResult {
  /** The valid part of the input; values with problems are left out. */
  layer: ConfigLayer;
  problems: ConfigProblem[];
  /** Dotted schema paths of the values left out ("mqtt.url", "interfaces.lan"). */
  rejected: string[];
}

export function validateLayer(input: unknown, source: string, naming: Naming): LayerResult {
  if (validateLayerShape(input)) return { layer: structuredClone(input) as ConfigLayer, problems: [], rejected: [] };
  const errors = inInputOrder(pickErrors(validateLayerShape.errors ?? []), input);
  const problems = errors.map((e) => toProblem(e, input, source, naming));
  // Validation succeeded for everything not removed here, so the rest matches ConfigLayer.
  const layer = withoutInvalid(input, errors) as ConfigLayer;
  const rejected = errors.map((e) => truncateAtList(e.path).join('.'));
  return { layer, problems, rejected };
}

/** Checks a merged config has every key with a valid value; a failure is a bug in a layer's checks. */
export function validateConfig(config: Config, source: string): ConfigProblem[] {
  if (validateComplete(config)) return [];
  return pickErrors(validateComplete.errors ?? []).map((e) => toProblem(e, config, source, dottedNaming));
}

interface Picked {
  error: ErrorObject;
  /** Path of the offending value (for an unknown key, the key itself). */
  path: string[];
}

/** One error per value: the type error if there is one, else the first reported. */
function pickErrors(errors: readonly ErrorObject[]): Picked[] {
  const byPath = new Map<string, Picked>();
  for (const error of errors) {
    const path = pointerToPath(error.instancePath);
    const extra = error.params['additionalProperty'];
    if (error.keyword === 'additionalProperties' && typeof extra === 'string') path.push(extra);
    const id = JSON.stringify(path);
    const seen = byPath.get(id);
    if (seen === undefined || (error.keyword === 'type' && seen.error.keyword !== 'type')) byPath.set(id, { error, path });
  }
  return [...byPath.values()];
}

/** ajv reports unknown keys before the rest; a person reads the file top to bottom. */
function inInputOrder(picked: Picked[], input: unknown): Picked[] {
  const order = new Map<string, number>();
  const visit = (value: unknown, path: string[]): void => {
    order.set(JSON.stringify(path), order.size);
    if (Array.isArray(value)) value.forEach((v, i) => visit(v, [...path, String(i)]));
    else if (isRecord(value)) for (const [k, v] of Object.entries(value)) visit(v, [...path, k]);
  };
  visit(input, []);
  const rank = (p: Picked): number => order.get(JSON.stringify(p.path)) ?? order.size;
  return [...picked].sort((a, b) => rank(a) - rank(b));
}

function pointerToPath(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let v = root;
  for (const key of path) {
    if (Array.isArray(v)) v = v[Number(key)];
    else if (isRecord(v) && Object.hasOwn(v, key)) v = v[key];
    else return undefined;
  }
  return v;
}

function toProblem({ error, path }: Picked, input: unknown, source: string, naming: Naming): ConfigProblem {
  const named = naming(path);
  const message = describe(error, path, valueAt(input, path));
  return { source, path: named.path, message: named.prefix === undefined ? message : `${named.prefix} ${message}` };
}

function describe(error: ErrorObject, path: readonly string[], value: unknown): string {
  const node: Record<string, unknown> = isRecord(error.parentSchema) ? error.parentSchema : {};
  const got = gotClause(value, path);
  switch (error.keyword) {
    case 'additionalProperties': {
      const parent = path.slice(0, -1);
      const parentNode = nodeAt(CONFIG_SCHEMA, parent);
      const siblings = parentNode !== undefined && isObjectNode(parentNode) ? Object.keys(parentNode.properties) : [];
      return `unknown key${suggestKey(parent, path[path.length - 1] ?? '', siblings, ALL_PATHS)}`;
    }
    case 'type':
      if (path.length === 0) return `must be a JSON object, {} for all defaults ${got}`;
      return `must be ${expectedOf(node, true)} ${got}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${rangeOf(node)} ${got}`;
    case 'enum': {
      const allowed = Array.isArray(node['enum']) ? node['enum'].map(String).join(', ') : '';
      return `must be one of ${allowed} ${got}`;
    }
    case 'format': {
      const urlProblem = node['format'] === 'mqtt-url' && typeof value === 'string' ? mqttUrlProblem(value) : undefined;
      return `${urlProblem ?? `must be ${expectedOf(node, false)}`} ${got}`;
    }
    case 'pattern':
    case 'minLength':
    case 'maxLength':
      return `must be ${expectedOf(node, false)} ${got}`;
    default:
      return `${error.message ?? 'is not valid'} ${got}`;
  }
}

const BY_TYPE: Readonly<Record<string, string>> = {
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  string: 'a string',
  array: 'a list',
  object: 'an object with keys',
};

function expectedOf(node: Record<string, unknown>, wrongType: boolean): string {
  const expected = node['expected'];
  if (typeof expected === 'string') {
    // "or null" answers "wrong type"; under a pattern or length error the value is already a string.
    return wrongType ? expected : expected.replace(/, or null$/, '');
  }
  const type = Array.isArray(node['type']) ? node['type'][0] : node['type'];
  return BY_TYPE[String(type)] ?? 'a valid value';
}

function rangeOf(node: Record<string, unknown>): string {
  const min = node['minimum'];
  const max = node['maximum'];
  if (typeof min === 'number' && typeof max === 'number') return `must be between ${min} and ${max}`;
  if (typeof min === 'number') return `must be at least ${min}`;
  if (typeof max === 'number') return `must be at most ${max}`;
  return 'is out of range';
}

/** A copy of `input` without the values that failed; a list goes whole if one item failed. */
function withoutInvalid(input: unknown, errors: readonly Picked[]): unknown {
  if (!isRecord(input)) return {};
  const copy = structuredClone(input);
  for (const { path } of errors) {
    if (path.length === 0) return {};
    removeAt(copy, truncateAtList(path));
  }
  return copy;
}

function truncateAtList(path: readonly string[]): readonly string[] {
  for (let i = 1; i < path.length; i++) {
    const node = nodeAt(CONFIG_SCHEMA, path.slice(0, i));
    if (node !== undefined && isArrayNode(node)) return path.slice(0, i);
  }
  return path;
}

function removeAt(root: Record<string, unknown>, path: readonly string[]): void {
  let parent: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (!isRecord(parent)) return;
    parent = parent[key];
  }
  const last = path[path.length - 1];
  if (isRecord(parent) && last !== undefined) delete parent[last];
}
