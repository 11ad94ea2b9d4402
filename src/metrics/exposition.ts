/**
 * A writer for the Prometheus text exposition format 0.0.4, the one every Prometheus,
 * VictoriaMetrics and Grafana Agent scrapes. Small enough that a client library would
 * bring more (registries, default process metrics) than it saves.
 *
 * Runs on scrape only, so it builds strings freely.
 */

export type MetricType = 'counter' | 'gauge' | 'untyped';

export type Labels = Readonly<Record<string, string>>;

export interface MetricSample {
  labels?: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: MetricSample[];
}

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
// Names starting with __ are reserved for Prometheus itself.
const LABEL_NAME = /^(?!__)[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * NaN and the infinities in the spellings Prometheus parses. Integers as plain digits,
 * so a 64-bit kernel counter reads like the kernel's number; above 2^53 JavaScript's
 * shortest form pads with zeros ("18446744073709552000"), BigInt gives the double's
 * exact value instead. From 1e21 on, the exponent form is shorter and parses the same.
 */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Number.isInteger(value) && !Number.isSafeInteger(value) && Math.abs(value) < 1e21) return BigInt(value).toString();
  return String(value);
}

export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** HELP text escapes only backslash and newline: a quote there is literal. */
export function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

function formatLabels(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL_NAME.test(name)) throw new Error(`invalid Prometheus label name ${JSON.stringify(name)}`);
    parts.push(`${name}="${escapeLabelValue(value)}"`);
  }
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/**
 * Families sharing a name are merged under one HELP/TYPE header, because the format
 * allows only one and a parser splits a family whose samples are not contiguous.
 * Families without samples are left out, as client_golang does.
 */
export function renderExposition(families: Iterable<MetricFamily>): string {
  const merged = new Map<string, MetricFamily>();
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new Error(`invalid Prometheus metric name ${JSON.stringify(family.name)}`);
    const seen = merged.get(family.name);
    if (!seen) {
      merged.set(family.name, { ...family, samples: [...family.samples] });
    } else if (seen.type !== family.type) {
      throw new Error(`metric ${family.name} declared as both ${seen.type} and ${family.type}`);
    } else {
      seen.samples.push(...family.samples);
    }
  }
  const lines: string[] = [];
  for (const family of merged.values()) {
    if (family.samples.length === 0) continue;
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      lines.push(`${family.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
  }
  // The format requires the last line to end with a newline too.
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
