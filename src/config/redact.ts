/** Showing config values to a person without ever showing a credential. */

export const HIDDEN = '(hidden)';

/** Keys whose values are secrets. passwordFile is a path, not a secret. */
export function isSecretPath(path: readonly string[]): boolean {
  return path[path.length - 1] === 'password';
}

/**
 * mqtt://user:secret@host → mqtt://user:(hidden)@host. A string with an "@" that is not a URL
 * with a host ("user:secret@host", which URL() reads as scheme "user:") loses all before the "@".
 */
export function redactUrl(url: string): string {
  if (!url.includes('@')) return url;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url)?.[0];
  if (scheme !== undefined) {
    try {
      const u = new URL(url);
      if (u.host !== '') {
        if (u.password === '') return url;
        return `${u.protocol}//${u.username}:${HIDDEN}@${u.host}${u.pathname}${u.search}${u.hash}`;
      }
    } catch {
      // fall through: unparsable, so treat everything before the last "@" as possibly secret
    }
  }
  return `${scheme ?? ''}${HIDDEN}@${url.slice(url.lastIndexOf('@') + 1)}`;
}

const MAX_SHOWN = 60;

/** A short JSON-like rendering: strings quoted, long values cut, URLs redacted. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return clip(JSON.stringify(redactUrl(value)));
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return clip(JSON.stringify(value.map((v) => (typeof v === 'string' ? redactUrl(v) : v))));
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

function clip(s: string): string {
  return s.length <= MAX_SHOWN ? s : `${s.slice(0, MAX_SHOWN - 1)}…`;
}

/** The "(got …)" tail of a message; secrets are never echoed, not even their type. */
export function gotClause(value: unknown, path: readonly string[]): string {
  return isSecretPath(path) ? '(value hidden)' : `(got ${showValue(value)})`;
}
