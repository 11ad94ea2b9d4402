/**
 * Layering: defaults, then the board profile, the file and the environment; later wins.
 *
 * - Objects merge key by key; only keys the schema knows are copied.
 * - A list replaces the earlier list whole. An EMPTY list means "not set" and keeps the earlier
 *   one: `interfaces.lan: []` is the default meaning "the board profile's ports", so a file or
 *   `LANWATCH_INTERFACES_LAN=` that says [] must not wipe out what the profile found. (Watching
 *   no LAN port at all is not a useful setting, so nothing is lost.)
 * - `null` resets a nullable key (wan, password, ca, …) to null, i.e. "back to automatic / none";
 *   for a key that cannot be null, `null` is ignored like `undefined`.
 * - `undefined` is "not set".
 */
import { isArrayNode, isNullable, isObjectNode, isRecord, type ObjectNode } from './nodes.ts';
import { CONFIG_SCHEMA, DEFAULT_CONFIG } from './schema.ts';
import type { Config, ConfigLayer } from './types.ts';

/**
 * A complete Config from layers, lowest precedence first. The agent calls
 * `mergeConfig(DEFAULT_CONFIG, boardProfile.defaults, fileLayer, envLayer)`; the result always
 * starts from a copy of DEFAULT_CONFIG, so passing it first is harmless and never required.
 * Layers are expected to be validated (loadConfigFile / configFromEnv do that); they are not
 * modified and the result shares no objects or lists with them.
 */
export function mergeConfig(...layers: readonly ConfigLayer[]): Config {
  const out = structuredClone(DEFAULT_CONFIG);
  // Config is a tree of plain objects described by CONFIG_SCHEMA; walk it as records.
  const tree = out as unknown as Record<string, unknown>;
  for (const layer of layers) mergeInto(tree, layer, CONFIG_SCHEMA);
  return out;
}

function mergeInto(target: Record<string, unknown>, layer: unknown, node: ObjectNode): void {
  if (!isRecord(layer)) return;
  for (const [key, child] of Object.entries(node.properties)) {
    if (!Object.hasOwn(layer, key)) continue;
    const value = layer[key];
    if (value === undefined) continue;
    if (isObjectNode(child)) {
      const inner = target[key];
      if (isRecord(inner)) mergeInto(inner, value, child);
    } else if (value === null) {
      if (isNullable(child)) target[key] = null;
    } else if (isArrayNode(child)) {
      if (Array.isArray(value) && value.length > 0) target[key] = [...value];
    } else {
      target[key] = value;
    }
  }
}

/** Whether a layer sets a key (as mergeConfig sees it): used to say which source caused a problem. */
export function layerSets(layer: ConfigLayer, path: readonly string[]): boolean {
  let value: unknown = layer;
  for (const key of path) {
    if (!isRecord(value) || !Object.hasOwn(value, key)) return false;
    value = value[key];
  }
  if (value === undefined) return false;
  return !(Array.isArray(value) && value.length === 0);
}
