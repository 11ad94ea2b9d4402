/**
 * JSON.parse with a person-readable error: what was unexpected, at which line and column.
 * V8's messages differ between Node versions, give a character offset, and quote a slice of
 * the input (which may hold a password), so on failure we re-scan the text ourselves.
 */

export type JsonResult =
  | { ok: true; value: unknown }
  | { ok: false; message: string; line: number; column: number };

export function parseJson(text: string): JsonResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    const found = locateJsonError(text);
    const { line, column } = lineColumn(text, found.offset);
    const hint = found.hint === undefined ? '' : ` (${found.hint})`;
    return { ok: false, line, column, message: `${found.what} at line ${line} column ${column}${hint}` };
  }
}

/** 1-based line and column of a UTF-16 offset; a tab counts as one column. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

interface Found {
  offset: number;
  what: string;
  hint?: string;
}

class Stop {
  constructor(readonly found: Found) {}
}

const PUNCTUATION = new Set(['{', '}', '[', ']', ',', ':', '"', "'", '/', '\\']);

/** The first offset where `text` stops being JSON. Only called after JSON.parse failed. */
export function locateJsonError(text: string): Found {
  let i = 0;
  // Whether the last structural token was a comma, to name the classic trailing-comma mistake.
  let afterComma = false;

  const fail = (what?: string, hint?: string): never => {
    if (i >= text.length) throw new Stop({ offset: text.length, what: what ?? 'Unexpected end of file' });
    const ch = text.charAt(i);
    let h = hint;
    if (h === undefined && ch === '/') h = 'JSON has no comments';
    if (h === undefined && ch === "'") h = 'JSON strings use double quotes';
    if (h === undefined && afterComma && (ch === '}' || ch === ']')) h = 'JSON allows no comma before a closing bracket';
    // Letters and digits are not echoed: an unquoted value may be a password.
    const token = PUNCTUATION.has(ch) ? `token ${ch}` : /\s/.test(ch) ? 'whitespace' : 'text';
    throw new Stop({ offset: i, what: what ?? `Unexpected ${token}`, ...(h === undefined ? {} : { hint: h }) });
  };

  const skipSpace = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
  };

  const expectChar = (ch: string): void => {
    skipSpace();
    if (text.charAt(i) !== ch) fail();
    i++;
  };

  const str = (): void => {
    const start = i;
    i++; // opening quote
    for (;;) {
      // Point at the opening quote: the end of the file says nothing about where the quote is missing.
      if (i >= text.length) throw new Stop({ offset: start, what: 'Unterminated string starting' });
      const code = text.charCodeAt(i);
      if (code === 0x22) {
        i++;
        return;
      }
      if (code < 0x20) fail('Line break or control character inside a string', 'write it as \\n or \\t');
      if (code === 0x5c) {
        const esc = text.charAt(i + 1);
        if (esc === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('Bad \\u escape in a string');
          i += 6;
        } else if ('"\\/bfnrt'.includes(esc) && esc !== '') {
          i += 2;
        } else {
          fail('Bad escape in a string', 'a backslash must be written as \\\\');
        }
      } else {
        i++;
      }
    }
  };

  const digits = (): void => {
    const start = i;
    while (i < text.length && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
    if (i === start) fail();
  };

  const num = (): void => {
    if (text.charAt(i) === '-') i++;
    if (text.charAt(i) === '0') i++;
    else digits();
    if (text.charAt(i) === '.') {
      i++;
      digits();
    }
    if (text.charAt(i) === 'e' || text.charAt(i) === 'E') {
      i++;
      if (text.charAt(i) === '+' || text.charAt(i) === '-') i++;
      digits();
    }
  };

  const word = (w: string): void => {
    for (const ch of w) {
      if (text.charAt(i) !== ch) fail();
      i++;
    }
  };

  const value = (): void => {
    skipSpace();
    const ch = text.charAt(i);
    if (!'{["tfn-0123456789'.includes(ch) || ch === '') fail();
    afterComma = false;
    if (ch === '{') object();
    else if (ch === '[') array();
    else if (ch === '"') str();
    else if (ch === 't') word('true');
    else if (ch === 'f') word('false');
    else if (ch === 'n') word('null');
    else num();
  };

  const object = (): void => {
    i++;
    skipSpace();
    if (text.charAt(i) === '}') {
      i++;
      return;
    }
    for (;;) {
      skipSpace();
      if (text.charAt(i) !== '"') {
        const letter = /[A-Za-z_$]/.test(text.charAt(i));
        fail(undefined, letter ? 'keys must be in double quotes' : undefined);
      }
      afterComma = false;
      str();
      expectChar(':');
      value();
      skipSpace();
      const ch = text.charAt(i);
      if (ch === '}') {
        i++;
        return;
      }
      if (ch !== ',') fail(undefined, i < text.length ? 'expected , or }' : undefined);
      i++;
      afterComma = true;
    }
  };

  const array = (): void => {
    i++;
    skipSpace();
    if (text.charAt(i) === ']') {
      i++;
      return;
    }
    for (;;) {
      value();
      skipSpace();
      const ch = text.charAt(i);
      if (ch === ']') {
        i++;
        return;
      }
      if (ch !== ',') fail(undefined, i < text.length ? 'expected , or ]' : undefined);
      i++;
      afterComma = true;
    }
  };

  try {
    value();
    skipSpace();
    if (i < text.length) fail(undefined, 'there is more after the end of the JSON value');
  } catch (e) {
    if (e instanceof Stop) return e.found;
    // Our scanner recurses; absurd nesting may overflow the stack. Report without a position.
    return { offset: 0, what: 'Too deeply nested' };
  }
  // JSON.parse disagreed with us; still never quote the input.
  return { offset: 0, what: 'Not valid JSON' };
}
