/** "did you mean …?" for unknown keys and LANWATCH_* variables. */

/** Mistakes worth a better answer than the nearest spelling. Keyed by dotted path. */
const HINTS: Readonly<Record<string, { use: string; note: string }>> = {
  'mqtt.host': { use: 'mqtt.url', note: 'the host is part of the URL: mqtt://host:1883' },
  'mqtt.hostname': { use: 'mqtt.url', note: 'the host is part of the URL: mqtt://host:1883' },
  'mqtt.server': { use: 'mqtt.url', note: 'the host is part of the URL: mqtt://host:1883' },
  'mqtt.broker': { use: 'mqtt.url', note: 'the host is part of the URL: mqtt://host:1883' },
  'mqtt.port': { use: 'mqtt.url', note: 'the port is part of the URL: mqtt://host:1883' },
  'mqtt.tls': { use: 'mqtt.url', note: 'TLS is chosen by the scheme: mqtts://host:8883' },
  'mqtt.ssl': { use: 'mqtt.url', note: 'TLS is chosen by the scheme: mqtts://host:8883' },
};

/** Lower case without separators, so sample_interval_ms, SampleIntervalMS and sampleIntervalMs meet. */
export function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Optimal string alignment distance: Levenshtein plus swapped neighbours. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i]!;
    const prev = d[i - 1]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      row[j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** How alike two normalised names are; lower is closer, undefined is "not a plausible typo". */
function closeness(typed: string, known: string): number | undefined {
  if (typed === known) return 0;
  // A cut-off name ("pass", "sampleInterval") is a likely mistake, but not a one-letter stub.
  if (typed.length >= 3 && known.startsWith(typed)) return 1;
  if (known.length >= 3 && typed.startsWith(known)) return 1;
  const distance = editDistance(typed, known);
  return distance <= Math.max(1, Math.floor(Math.min(typed.length, known.length) / 3)) ? distance + 1 : undefined;
}

function closest(typed: string, candidates: readonly string[], normalize: (s: string) => string): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const score = closeness(normalize(typed), normalize(c));
    if (score !== undefined && score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

/**
 * The text after "unknown key": " (did you mean mqtt.url? …)" or "". Looks for the same name in
 * one other place first (a top-level "url" is probably mqtt.url), then among the siblings.
 */
export function suggestKey(parent: readonly string[], key: string, siblings: readonly string[], allPaths: readonly string[]): string {
  const dotted = [...parent, key].join('.');
  const hint = HINTS[dotted];
  if (hint !== undefined) return ` (did you mean ${hint.use}? ${hint.note})`;
  // The exact name in one other place beats a sibling that merely starts the same: a top-level
  // "natTable" is alarms.natTable, not the top-level "nat".
  const lastOf = (p: string): string => p.slice(p.lastIndexOf('.') + 1);
  const elsewhere = allPaths.filter((p) => normalizeKey(lastOf(p)) === normalizeKey(key));
  if (elsewhere.length === 1) return ` (did you mean ${elsewhere[0]}?)`;
  const sibling = closest(key, siblings, normalizeKey);
  if (sibling !== undefined) return ` (did you mean ${[...parent, sibling].join('.')}?)`;
  return '';
}

/** The text after "unknown variable" for a LANWATCH_* name, given dotted path → variable name. */
export function suggestVariable(name: string, variables: ReadonlyMap<string, string>): string {
  for (const [path, hint] of Object.entries(HINTS)) {
    if (variables.get(path) === undefined && envNameOf(path) === name) {
      const use = variables.get(hint.use);
      if (use !== undefined) return ` (did you mean ${use}? ${hint.note})`;
    }
  }
  // Without the shared prefix, which would make every name look close to every other.
  const bare = (v: string): string => normalizeKey(v.replace(/^LANWATCH_/, ''));
  const best = closest(name, [...variables.values()], bare);
  return best === undefined ? '' : ` (did you mean ${best}?)`;
}

/** LANWATCH_ + upper snake case of every segment: alarms.natTable.warnPct → LANWATCH_ALARMS_NAT_TABLE_WARN_PCT. */
export function envNameOf(dottedPath: string): string {
  const snake = dottedPath
    .split('.')
    .map((seg) => seg.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
    .join('_');
  return `LANWATCH_${snake}`;
}
