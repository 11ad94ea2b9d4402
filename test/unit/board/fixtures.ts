/** Shared by the board tests: where the fixture trees are and how to load their inventories. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LinkInfo } from '../../../hal/index.ts';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/board/', import.meta.url));

export function fixture(name: string): string {
  return FIXTURES + name;
}

function isLinkInfo(v: unknown): v is LinkInfo {
  if (typeof v !== 'object' || v === null) return false;
  const l = v as Record<string, unknown>;
  return (
    typeof l.index === 'number' &&
    typeof l.name === 'string' &&
    typeof l.kind === 'string' &&
    typeof l.masterIndex === 'number' &&
    typeof l.mtu === 'number' &&
    typeof l.operState === 'string' &&
    (l.mac === null || typeof l.mac === 'string')
  );
}

/** The fixture's links.json; throws on a malformed file so a typo fails loudly. */
export function fixtureLinks(name: string): LinkInfo[] {
  const parsed: unknown = JSON.parse(readFileSync(fixture(name) + '/links.json', 'utf8'));
  if (!Array.isArray(parsed) || !parsed.every(isLinkInfo)) throw new Error(`${name}/links.json is not a LinkInfo[]`);
  return parsed;
}
