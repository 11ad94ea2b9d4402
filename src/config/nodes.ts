/**
 * Types for the config JSON schema, and walkers over it. The mapped type `NodeFor<T>` ties
 * the schema literal to the `Config` interface at compile time: every key needs a node, every
 * leaf a `default` of the key's type, and nullable keys (and only those) list "null" as a type.
 * ajv's own `JSONSchemaType` cannot do this: it only accepts `nullable` for optional keys.
 */

type TypeName<T> = [NonNullable<T>] extends [boolean]
  ? 'boolean'
  : [NonNullable<T>] extends [number]
    ? 'integer' | 'number'
    : [NonNullable<T>] extends [string]
      ? 'string'
      : never;

interface Annotations {
  description: string;
  /** Non-standard keyword (an ajv vocabulary entry): what a person should write, for messages. */
  expected?: string;
}

interface Constraints {
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
}

export type LeafSchema<T> = Annotations &
  Constraints & {
    // A two-type list instead of ajv's `nullable` so editors reading the schema understand it.
    type: null extends T ? readonly [TypeName<T>, 'null'] : TypeName<T>;
    default: T;
    enum?: readonly T[];
  };

export type ItemSchema<T> = Constraints & { type: TypeName<T>; expected?: string };

export type ArraySchema<E> = Annotations & {
  type: 'array';
  items: ItemSchema<E>;
  default: E[];
};

export type ObjectSchema<T> = Annotations & {
  type: 'object';
  additionalProperties: false;
  required: readonly string[];
  properties: { [K in keyof T]-?: NodeFor<T[K]> };
};

// Tuples stop distribution over unions, so `string | null` stays one leaf.
export type NodeFor<T> = [T] extends [readonly (infer E)[]]
  ? ArraySchema<E>
  : [T] extends [object]
    ? ObjectSchema<T>
    : LeafSchema<T>;

/** The untyped view used by the walkers. */
export type SchemaNode = ObjectNode | ArrayNode | ScalarNode;

export interface ObjectNode {
  type: 'object';
  description: string;
  properties: Readonly<Record<string, SchemaNode>>;
}

export interface ArrayNode {
  type: 'array';
  description: string;
  expected?: string;
  items: { type: string; expected?: string };
  default: readonly unknown[];
}

export interface ScalarNode extends Constraints {
  type: string | readonly string[];
  description: string;
  expected?: string;
  default: unknown;
  enum?: readonly unknown[];
}

export function isObjectNode(node: SchemaNode): node is ObjectNode {
  return node.type === 'object';
}

export function isArrayNode(node: SchemaNode): node is ArrayNode {
  return node.type === 'array';
}

export function isNullable(node: SchemaNode): boolean {
  return Array.isArray(node.type) && node.type.includes('null');
}

/** Builds an object node whose `required` lists every property: a merged config has them all. */
export function objectSchema<T>(
  description: string,
  properties: { [K in keyof T]-?: NodeFor<T[K]> },
): ObjectSchema<T> {
  return {
    type: 'object',
    description,
    additionalProperties: false,
    required: Object.keys(properties),
    properties,
  };
}

export interface Leaf {
  /** Key names from the root, e.g. ['alarms', 'natTable', 'warnPct']. */
  path: readonly string[];
  node: ArrayNode | ScalarNode;
}

/** Every settable value (scalars and whole lists), depth first in schema order. */
export function leavesOf(node: SchemaNode, prefix: readonly string[] = []): Leaf[] {
  if (!isObjectNode(node)) return [{ path: prefix, node }];
  return Object.entries(node.properties).flatMap(([key, child]) => leavesOf(child, [...prefix, key]));
}

/** The node at a key path, or undefined when the path leaves the schema. */
export function nodeAt(root: SchemaNode, path: readonly string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = root;
  for (const key of path) {
    if (node === undefined || !isObjectNode(node) || !Object.hasOwn(node.properties, key)) return undefined;
    node = node.properties[key];
  }
  return node;
}

export function defaultsOf(node: SchemaNode): unknown {
  if (!isObjectNode(node)) return structuredClone(node.default);
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node.properties)) out[key] = defaultsOf(child);
  return out;
}

/** The same schema with no `required`: a file or the environment may set any subset. */
export function withoutRequired(node: unknown): unknown {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'required') continue;
    // Keys of `properties` are config key names (one could be "required"); their values are nodes.
    out[key] = key === 'properties' ? mapValues(value, withoutRequired) : withoutRequired(value);
  }
  return out;
}

function mapValues(value: unknown, fn: (v: unknown) => unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fn(v)]));
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Dotted paths of every node, objects included ("alarms.natTable" as well as its leaves). */
export function allPathsOf(node: SchemaNode, prefix = ''): string[] {
  if (!isObjectNode(node)) return [];
  return Object.entries(node.properties).flatMap(([key, child]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    return [path, ...allPathsOf(child, path)];
  });
}

/** "interfaces.lan[1]": dots between keys, brackets for list indexes. */
export function dottedPath(root: SchemaNode, path: readonly string[]): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const parent = nodeAt(root, path.slice(0, i));
    const seg = path[i] ?? '';
    if (parent !== undefined && isArrayNode(parent)) out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}
