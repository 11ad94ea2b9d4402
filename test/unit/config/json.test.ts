import { describe, expect, it } from 'vitest';
import { lineColumn, parseJson } from '../../../src/config/json.ts';

function errorOf(text: string): string {
  const r = parseJson(text);
  if (r.ok) throw new Error(`expected ${JSON.stringify(text)} to fail`);
  return r.message;
}

describe('parseJson', () => {
  it('parses valid JSON', () => {
    expect(parseJson('{"a": [1, true, null]}')).toEqual({ ok: true, value: { a: [1, true, null] } });
  });

  it('gives line and column of a trailing comma', () => {
    const text = '{\n  "mqtt": {\n    "url": "mqtt://x"\n  },\n}\n';
    expect(errorOf(text)).toBe('Unexpected token } at line 5 column 1 (JSON allows no comma before a closing bracket)');
    expect(errorOf('{\n  "a": 1,\n  "b": 2,\n  }')).toMatch(/^Unexpected token } at line 4 column 3/);
  });

  it.each([
    ['{"a": 1 "b": 2}', 'Unexpected token " at line 1 column 9 (expected , or })'],
    ['{a: 1}', 'Unexpected text at line 1 column 2 (keys must be in double quotes)'],
    ['// note\n{}', 'Unexpected token / at line 1 column 1 (JSON has no comments)'],
    ["{'a': 1}", "Unexpected token ' at line 1 column 2 (JSON strings use double quotes)"],
    ['{"a": [1,\n 2,]}', 'Unexpected token ] at line 2 column 4 (JSON allows no comma before a closing bracket)'],
    ['{"a":', 'Unexpected end of file at line 1 column 6'],
    ['{"a": 1}}', 'Unexpected token } at line 1 column 9 (there is more after the end of the JSON value)'],
    ['{\n"a": "open\n}', 'Line break or control character inside a string at line 2 column 11 (write it as \\n or \\t)'],
    ['{\n  "a": "open}', 'Unterminated string starting at line 2 column 8'],
  ])('%j → %s', (text, message) => {
    expect(errorOf(text)).toBe(message);
  });

  it('never echoes text that could be a secret', () => {
    expect(errorOf('{"password": hunter2}')).not.toContain('hunter');
    expect(errorOf('{"password": "hu\\nter\\q2"}')).not.toMatch(/hu|ter|q2/);
  });

  it('counts lines and columns from 1', () => {
    expect(lineColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
    expect(lineColumn('ab\r\ncd', 4)).toEqual({ line: 2, column: 1 });
  });
});
