// Checks a Home Assistant device-based discovery payload the way HA would read
// it, and a little stricter: HA ignores unknown keys and many mistakes
// silently (docs: "unknown configuration keys are allowed but ignored"), so a
// typo there shows up as a missing unit or a dead entity weeks later instead of
// a failing test.
//
// Sources, cited per rule below:
// - [docs] https://www.home-assistant.io/integrations/mqtt/ (home-assistant.io
//   source/_integrations/mqtt.markdown): topic format, "Device discovery
//   payload", abbreviations, `~`, availability.
// - [core] homeassistant/components/mqtt/discovery.py (as ported in openHAB's
//   copy): abbreviation expansion, _merge_common_device_options (which root
//   options a component inherits), _replace_topic_base (`~` handling).
// - [sensor] source/_integrations/sensor.markdown: device classes and units.
// - [binary] source/_integrations/binary_sensor.markdown: device classes.
import {
  ABBREVIATIONS,
  AVAILABILITY_ITEM_KEYS,
  DEPRECATED_KEYS,
  DEVICE_ABBREVIATIONS,
  DEVICE_FULL_ONLY_KEYS,
  FULL_ONLY_KEYS,
  ORIGIN_ABBREVIATIONS,
} from './haAbbreviations.ts';

export interface DeviceDiscoveryOptions {
  /** Topics the agent actually published; when given, every state/attributes/availability topic referenced must be in it. */
  publishedTopics?: ReadonlySet<string>;
}

/** [docs] "Configuration of MQTT components via MQTT discovery"; `device_automation` is the device trigger's platform name (docs migration example). */
export const KNOWN_PLATFORMS: ReadonlySet<string> = new Set([
  'alarm_control_panel', 'binary_sensor', 'button', 'camera', 'climate', 'cover', 'device_automation',
  'device_tracker', 'event', 'fan', 'humidifier', 'image', 'lawn_mower', 'light', 'lock', 'notify',
  'number', 'scene', 'select', 'sensor', 'siren', 'switch', 'tag', 'text', 'update', 'vacuum', 'valve',
  'water_heater',
]);

/** Platforms that are not entities, so need no unique_id ([docs]: "Also required is a unique_id for entity-based components"). */
const NON_ENTITY_PLATFORMS: ReadonlySet<string> = new Set(['device_automation', 'tag']);

/** HA's SensorStateClass values. */
export const SENSOR_STATE_CLASSES: ReadonlySet<string> = new Set(['measurement', 'measurement_angle', 'total', 'total_increasing']);

/** [sensor] data_rate: "Data rate in bit/s, kbit/s, Mbit/s, Gbit/s, B/s, kB/s, MB/s, GB/s, KiB/s, MiB/s or GiB/s". */
export const DATA_RATE_UNITS: ReadonlySet<string> = new Set(['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'B/s', 'kB/s', 'MB/s', 'GB/s', 'KiB/s', 'MiB/s', 'GiB/s']);

/** [sensor] duration: "Duration in d, h, min, s, ms, or µs" (core's DEVICE_CLASS_UNITS; µs since 2024). */
export const DURATION_UNITS: ReadonlySet<string> = new Set(['d', 'h', 'min', 's', 'ms', 'μs']);

/**
 * [sensor] device classes that take no unit: aqi ("unitless"), date, enum,
 * ph, power_factor ("unit may be None"), timestamp. Every other sensor device
 * class names the units it accepts.
 */
const UNITLESS_SENSOR_DEVICE_CLASSES: ReadonlySet<string> = new Set(['aqi', 'date', 'enum', 'ph', 'power_factor', 'timestamp']);

/** [binary] "The full list of supported binary sensor device classes". */
export const BINARY_SENSOR_DEVICE_CLASSES: ReadonlySet<string> = new Set([
  'battery', 'battery_charging', 'carbon_monoxide', 'cold', 'connectivity', 'door', 'garage_door', 'gas',
  'heat', 'light', 'lock', 'moisture', 'motion', 'moving', 'occupancy', 'opening', 'plug', 'power',
  'presence', 'problem', 'running', 'safety', 'smoke', 'sound', 'tamper', 'update', 'vibration', 'window',
]);

/** HA's EntityCategory values. */
const ENTITY_CATEGORIES: ReadonlySet<string> = new Set(['config', 'diagnostic']);

/** [docs] node_id/object_id "must only consist of characters from the character class [a-zA-Z0-9_-]"; component ids become object ids. */
const ID_CHARS = /^[a-zA-Z0-9_-]+$/;

/** The object part of an entity id, as HA's valid_entity_id (homeassistant/core.py) accepts it. */
const ENTITY_OBJECT_ID = /^(?!_)[\da-z_]+(?<!_)$/;

/** [core] _merge_common_device_options: the root options a component inherits unless it sets them itself. */
const SHARED_OPTIONS = [
  'availability', 'availability_mode', 'availability_template', 'availability_topic', 'command_topic',
  'payload_available', 'payload_not_available', 'state_topic',
] as const;

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/**
 * Maps every key of obj to its full name, reporting unknown keys and keys
 * given twice (full and abbreviated). [core] expands an abbreviation by
 * popping it over the full key, so with both present one is silently lost.
 */
function canonicalize(
  obj: JsonObject,
  where: string,
  table: Readonly<Record<string, string>>,
  fullOnly: ReadonlySet<string>,
  problems: string[],
  allowDeprecated: boolean,
): Map<string, unknown> {
  const fullNames = new Set([...Object.values(table), ...fullOnly]);
  const out = new Map<string, unknown>();
  const spelledAs = new Map<string, string>();
  for (const [key, value] of Object.entries(obj)) {
    let full: string | undefined;
    if (Object.hasOwn(table, key)) full = table[key];
    else if (fullNames.has(key)) full = key;
    else if (allowDeprecated && Object.hasOwn(DEPRECATED_KEYS, key)) full = DEPRECATED_KEYS[key];
    if (full === undefined) {
      problems.push(`${where}: unknown key "${key}" (HA ignores unknown keys silently, so a typo goes unnoticed)`);
      continue;
    }
    const earlier = spelledAs.get(full);
    if (earlier !== undefined) {
      problems.push(`${where}: "${full}" is given twice, as "${earlier}" and "${key}" (HA keeps only one)`);
      continue;
    }
    spelledAs.set(full, key);
    out.set(full, value);
  }
  return out;
}

function checkAvailabilityList(value: unknown, where: string, problems: string[]): JsonObject[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`${where}: availability must be a non-empty list of {topic, ...}`);
    return [];
  }
  const items: JsonObject[] = [];
  value.forEach((item, i) => {
    const at = `${where}.availability[${i}]`;
    if (!isObject(item)) {
      problems.push(`${at}: must be an object with a topic`);
      return;
    }
    const c = canonicalize(item, at, ABBREVIATIONS, new Set(), problems, false);
    for (const key of c.keys()) {
      if (!AVAILABILITY_ITEM_KEYS.has(key)) problems.push(`${at}: "${key}" is not an availability item option (topic, payload_available, payload_not_available, value_template)`);
    }
    if (!isNonEmptyString(c.get('topic'))) problems.push(`${at}: topic (t) is required`);
    items.push(Object.fromEntries(c));
  });
  return items;
}

/** Where a topic is referenced: for the "was it published" report. */
interface TopicRef {
  topic: string;
  what: string;
}

/**
 * [core] _replace_topic_base: `~` is replaced when it starts or ends the value
 * of a key ending in "topic" (and availability[].topic), using the `~` of the
 * same (merged) component config.
 */
function expandTilde(value: string, base: string | undefined, where: string, key: string, problems: string[]): string {
  if (!value.startsWith('~') && !value.endsWith('~')) return value;
  if (base === undefined) {
    problems.push(`${where}: ${key} "${value}" uses "~" but this component sets no "~" base (a root "~" is not inherited)`);
    return value;
  }
  let out = value;
  if (out.startsWith('~')) out = `${base}${out.slice(1)}`;
  if (out.endsWith('~')) out = `${out.slice(0, -1)}${base}`;
  return out;
}

function parsePayload(payload: unknown, problems: string[]): JsonObject | null {
  let value = payload;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    if (value === '') {
      problems.push('payload: empty (that removes the device; there is no config to validate)');
      return null;
    }
    try {
      value = JSON.parse(value);
    } catch (err) {
      problems.push(`payload: not JSON (${(err as Error).message})`);
      return null;
    }
  }
  if (!isObject(value)) {
    problems.push('payload: must be a JSON object');
    return null;
  }
  return value;
}

function checkTopic(topic: string, problems: string[]): void {
  // [docs] <discovery_prefix>/<component>/[<node_id>/]<object_id>/config, with
  // <component> "device" for device discovery; this project uses no node_id.
  const m = /^(.+)\/device\/([^/]+)\/config$/.exec(topic);
  if (m === null) {
    problems.push(`topic: "${topic}" is not <prefix>/device/<object_id>/config`);
    return;
  }
  const [, prefix = '', objectId = ''] = m;
  if (/[+#]/.test(prefix) || prefix.split('/').some((s) => s === '')) problems.push(`topic: discovery prefix "${prefix}" is not a plain topic`);
  if (!ID_CHARS.test(objectId)) problems.push(`topic: object_id "${objectId}" must match [a-zA-Z0-9_-]+`);
}

function checkDevice(value: unknown, problems: string[]): void {
  if (!isObject(value)) {
    problems.push('dev: device (dev) is required at the root and must be an object');
    return;
  }
  const dev = canonicalize(value, 'dev', DEVICE_ABBREVIATIONS, DEVICE_FULL_ONLY_KEYS, problems, false);
  const ids = dev.get('identifiers');
  const cns = dev.get('connections');
  const idsOk = isNonEmptyString(ids) || (Array.isArray(ids) && ids.length > 0 && ids.every(isNonEmptyString));
  const cnsOk = Array.isArray(cns) && cns.length > 0
    && cns.every((c) => Array.isArray(c) && c.length === 2 && c.every(isNonEmptyString));
  if (ids !== undefined && !idsOk) problems.push(`dev: identifiers must be a non-empty string or list of non-empty strings, got ${show(ids)}`);
  if (cns !== undefined && !cnsOk) problems.push(`dev: connections must be a non-empty list of [type, id] pairs, got ${show(cns)}`);
  if (!idsOk && !cnsOk) problems.push('dev: needs identifiers (ids) or connections (cns) so HA can tie the entities to one device');
}

function checkOrigin(value: unknown, problems: string[]): void {
  if (!isObject(value)) {
    problems.push('o: origin (o) is required at the root for device discovery and must be an object');
    return;
  }
  const o = canonicalize(value, 'o', ORIGIN_ABBREVIATIONS, new Set(), problems, false);
  if (!isNonEmptyString(o.get('name'))) problems.push('o: origin name is required');
}

function checkDefaultEntityId(c: Map<string, unknown>, platform: string, where: string, problems: string[]): void {
  if (c.has('object_id')) problems.push(`${where}: object_id is deprecated (HA 2026.4 drops it); use default_entity_id "${platform}.<id>"`);
  if (!c.has('default_entity_id')) return;
  const id = c.get('default_entity_id');
  if (typeof id !== 'string' || !id.startsWith(`${platform}.`)) {
    problems.push(`${where}: default_entity_id ${show(id)} must start with "${platform}."`);
    return;
  }
  const objectPart = id.slice(platform.length + 1);
  if (!ENTITY_OBJECT_ID.test(objectPart)) problems.push(`${where}: default_entity_id "${id}" is not a valid entity id (lowercase a-z, 0-9, _ and no leading/trailing _)`);
}

function checkSensor(c: Map<string, unknown>, where: string, problems: string[]): void {
  const deviceClass = c.get('device_class');
  const unit = c.get('unit_of_measurement');
  const stateClass = c.get('state_class');
  const hasUnit = isNonEmptyString(unit);
  const unitless = typeof deviceClass === 'string' && UNITLESS_SENSOR_DEVICE_CLASSES.has(deviceClass);
  if (deviceClass !== undefined && deviceClass !== null && !unitless && !hasUnit) {
    problems.push(`${where}: device_class ${show(deviceClass)} needs unit_of_measurement (HA rejects or warns on a class without a matching unit)`);
  }
  if (deviceClass === 'data_rate' && hasUnit && !DATA_RATE_UNITS.has(unit)) {
    problems.push(`${where}: unit "${unit}" is not a data_rate unit (${[...DATA_RATE_UNITS].join(', ')})`);
  }
  if (deviceClass === 'duration' && hasUnit && !DURATION_UNITS.has(unit)) {
    problems.push(`${where}: unit "${unit}" is not a duration unit (${[...DURATION_UNITS].join(', ')})`);
  }
  if (stateClass !== undefined) {
    if (typeof stateClass !== 'string' || !SENSOR_STATE_CLASSES.has(stateClass)) {
      problems.push(`${where}: state_class ${show(stateClass)} is not one of ${[...SENSOR_STATE_CLASSES].join(', ')}`);
    } else if (!hasUnit && !unitless) {
      problems.push(`${where}: numeric sensor (state_class "${stateClass}") has no unit_of_measurement`);
    }
  }
  // Sensors are read-only, so never "config": HA 2023.11 warns (zigbee2mqtt#19434, core#92232).
  if (c.get('entity_category') === 'config') problems.push(`${where}: entity_category "config" is invalid for a sensor; use "diagnostic"`);
}

function checkBinarySensor(c: Map<string, unknown>, where: string, problems: string[]): void {
  const deviceClass = c.get('device_class');
  if (deviceClass !== undefined && deviceClass !== null && (typeof deviceClass !== 'string' || !BINARY_SENSOR_DEVICE_CLASSES.has(deviceClass))) {
    problems.push(`${where}: binary_sensor device_class ${show(deviceClass)} is not one of HA's binary sensor classes`);
  }
}

/**
 * Problems with one device discovery message, empty when HA would accept it
 * as intended. `payload` may be the parsed object, the JSON text or a Buffer.
 */
export function validateDeviceDiscovery(topic: string, payload: unknown, options: DeviceDiscoveryOptions = {}): string[] {
  const problems: string[] = [];
  checkTopic(topic, problems);
  const raw = parsePayload(payload, problems);
  if (raw === null) return problems;

  const root = canonicalize(raw, 'root', ABBREVIATIONS, FULL_ONLY_KEYS, problems, true);
  // [docs] "The shared options at the root level of the JSON message must include: device ... origin".
  checkDevice(root.get('device'), problems);
  checkOrigin(root.get('origin'), problems);
  if (root.has('object_id')) problems.push('root: object_id is deprecated and meaningless at the root');
  // [core] only SHARED_OPTIONS reach the components, and `~` is replaced per component.
  if (root.has('~')) problems.push('root: "~" is not inherited by components (HA merges only the shared options); set "~" in each component');
  if (root.has('availability') && root.has('availability_topic')) problems.push('root: availability and availability_topic must not be used together');
  if (root.has('availability')) checkAvailabilityList(root.get('availability'), 'root', problems);

  const cmps = root.get('components');
  if (!isObject(cmps) || Object.keys(cmps).length === 0) {
    problems.push('cmps: components (cmps) must be a non-empty object of component configs');
    return problems;
  }

  const uniqueIds = new Map<string, string[]>();
  const refs: TopicRef[] = [];
  for (const [id, value] of Object.entries(cmps)) {
    const where = `cmps.${id}`;
    if (!ID_CHARS.test(id)) problems.push(`${where}: component id must match [a-zA-Z0-9_-]+ (it becomes the object id)`);
    if (!isObject(value)) {
      problems.push(`${where}: must be an object with at least a platform (p)`);
      continue;
    }
    const c = canonicalize(value, where, ABBREVIATIONS, FULL_ONLY_KEYS, problems, true);
    const platform = c.get('platform');
    if (typeof platform !== 'string' || !KNOWN_PLATFORMS.has(platform)) {
      problems.push(`${where}: platform (p) ${show(platform)} is not a known MQTT platform`);
      continue;
    }
    // [docs] a component reduced to {"p": ...} removes that one component; nothing else applies.
    if (c.size === 1) continue;

    for (const key of ['device', 'origin', 'components']) {
      if (c.has(key)) problems.push(`${where}: "${key}" belongs at the root only; components cannot override it`);
    }

    if (!NON_ENTITY_PLATFORMS.has(platform)) {
      const uid = c.get('unique_id');
      if (!isNonEmptyString(uid)) problems.push(`${where}: unique_id (uniq_id) is required for an entity component`);
      else uniqueIds.set(uid, [...(uniqueIds.get(uid) ?? []), id]);
    }
    checkDefaultEntityId(c, platform, where, problems);

    const category = c.get('entity_category');
    if (category !== undefined && (typeof category !== 'string' || !ENTITY_CATEGORIES.has(category))) {
      problems.push(`${where}: entity_category ${show(category)} is not "config" or "diagnostic"`);
    }
    if (c.has('expire_after')) {
      const exp = c.get('expire_after');
      if (typeof exp !== 'number' || !Number.isInteger(exp) || exp <= 0) problems.push(`${where}: expire_after must be a positive integer of seconds, got ${show(exp)}`);
    }

    // The config HA ends up with: own options, plus shared root options the component does not set.
    const merged = new Map(c);
    for (const opt of SHARED_OPTIONS) {
      if (root.has(opt) && !merged.has(opt)) merged.set(opt, root.get(opt));
    }
    if (merged.has('availability') && merged.has('availability_topic')) {
      problems.push(`${where}: availability and availability_topic must not be used together (one may be inherited from the root)`);
    }
    const baseValue = c.get('~');
    const base = typeof baseValue === 'string' ? baseValue : undefined;
    const topicOf = (key: string): string | undefined => {
      const v = merged.get(key);
      if (v === undefined) return undefined;
      if (!isNonEmptyString(v)) {
        problems.push(`${where}: ${key} must be a non-empty string, got ${show(v)}`);
        return undefined;
      }
      return expandTilde(v, base, where, key, problems);
    };

    const stateTopic = topicOf('state_topic');
    if (stateTopic !== undefined) refs.push({ topic: stateTopic, what: `state_topic of ${where}` });
    else if (platform === 'sensor' || platform === 'binary_sensor') {
      problems.push(`${where}: ${platform} has no state_topic (stat_t) of its own and none at the root`);
    }
    const attrTopic = topicOf('json_attributes_topic');
    if (attrTopic !== undefined) refs.push({ topic: attrTopic, what: `json_attributes_topic of ${where}` });
    // [sensor.mqtt] the template applies to messages of json_attributes_topic, which is not inherited from the root.
    if (c.has('json_attributes_template') && attrTopic === undefined) {
      problems.push(`${where}: json_attributes_template without json_attributes_topic (json_attr_t) is never used`);
    }
    const availTopic = topicOf('availability_topic');
    if (availTopic !== undefined) refs.push({ topic: availTopic, what: `availability_topic of ${where}` });
    if (merged.has('availability')) {
      // Root availability was checked once already; report item problems only for the component's own list.
      const items = c.has('availability')
        ? checkAvailabilityList(merged.get('availability'), where, problems)
        : checkAvailabilityList(merged.get('availability'), where, []);
      items.forEach((item, i) => {
        if (isNonEmptyString(item.topic)) refs.push({ topic: expandTilde(item.topic, base, where, `availability[${i}].topic`, problems), what: `availability[${i}].topic of ${where}` });
      });
    }

    if (platform === 'sensor') checkSensor(c, where, problems);
    if (platform === 'binary_sensor') checkBinarySensor(c, where, problems);
  }

  for (const [uid, ids] of uniqueIds) {
    if (ids.length > 1) problems.push(`cmps: unique_id "${uid}" is used by ${ids.map((i) => `cmps.${i}`).join(', ')} (HA keeps only one entity)`);
  }

  const published = options.publishedTopics;
  if (published !== undefined) {
    const missing = new Map<string, string[]>();
    for (const ref of refs) {
      if (!published.has(ref.topic)) missing.set(ref.topic, [...(missing.get(ref.topic) ?? []), ref.what]);
    }
    for (const [topic, whats] of missing) {
      // A root topic is inherited by every component: name a few, not all.
      const shown = whats.length > 3 ? [...whats.slice(0, 3), `and ${whats.length - 3} more`] : whats;
      problems.push(`topics: "${topic}" is referenced (${shown.join('; ')}) but was never published`);
    }
  }
  return problems;
}
