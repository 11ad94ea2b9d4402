import { describe, expect, it } from 'vitest';
import {
  escapeHelp,
  escapeLabelValue,
  formatValue,
  renderExposition,
  type MetricFamily,
} from '../../../src/metrics/exposition.ts';

describe('formatValue', () => {
  it('spells NaN and the infinities as Prometheus parses them', () => {
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
  });

  it('prints integers as plain digits, up to the largest 64-bit counter', () => {
    expect(formatValue(0)).toBe('0');
    expect(formatValue(-0)).toBe('0');
    expect(formatValue(42)).toBe('42');
    expect(formatValue(2 ** 53)).toBe('9007199254740992');
    expect(formatValue(2 ** 64)).toBe('18446744073709551616');
    expect(formatValue(-12345678901234)).toBe('-12345678901234');
    expect(formatValue(-(2 ** 60))).toBe('-1152921504606846976');
    expect(formatValue(1e21)).toBe('1e+21');
  });

  it('prints fractions so they parse back to the same double', () => {
    for (const v of [0.1, 1.5, 123.456, 1e-7, 3.3e-300]) expect(Number(formatValue(v))).toBe(v);
  });
});

describe('escaping', () => {
  it('escapes backslash, double quote and newline in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeLabelValue('plain eth0.10')).toBe('plain eth0.10');
  });

  it('escapes backslash and newline in HELP, but not quotes', () => {
    expect(escapeHelp('C:\\ "x"\nnext')).toBe('C:\\\\ "x"\\nnext');
  });
});

describe('renderExposition', () => {
  it('writes HELP and TYPE once per family, before its samples', () => {
    const text = renderExposition([
      { name: 'x_total', type: 'counter', help: 'X.', samples: [{ labels: { device: 'eth0' }, value: 1 }] },
      { name: 'y', type: 'gauge', help: 'Y.', samples: [{ value: 2 }] },
      { name: 'x_total', type: 'counter', help: 'X.', samples: [{ labels: { device: 'eth1' }, value: 3 }] },
    ]);
    expect(text).toBe(
      [
        '# HELP x_total X.',
        '# TYPE x_total counter',
        'x_total{device="eth0"} 1',
        'x_total{device="eth1"} 3',
        '# HELP y Y.',
        '# TYPE y gauge',
        'y 2',
        '',
      ].join('\n'),
    );
  });

  it('escapes labels and HELP in the output and writes NaN and Inf values', () => {
    const text = renderExposition([
      { name: 'z', type: 'gauge', help: 'back\\slash\nnewline', samples: [{ labels: { a: 'q"\\\n', b: '' }, value: NaN }, { value: -Infinity }] },
    ]);
    expect(text).toBe('# HELP z back\\\\slash\\nnewline\n# TYPE z gauge\nz{a="q\\"\\\\\\n",b=""} NaN\nz -Inf\n');
  });

  it('leaves out families without samples', () => {
    expect(renderExposition([{ name: 'empty', type: 'gauge', help: 'E.', samples: [] }])).toBe('');
  });

  it('does not modify the families it is given when merging', () => {
    const first: MetricFamily = { name: 'm', type: 'gauge', help: 'M.', samples: [{ value: 1 }] };
    renderExposition([first, { ...first, samples: [{ value: 2 }] }]);
    expect(first.samples).toEqual([{ value: 1 }]);
  });

  it('refuses invalid names and a family declared with two types', () => {
    expect(() => renderExposition([{ name: '1bad', type: 'gauge', help: '', samples: [{ value: 1 }] }])).toThrow(/metric name/);
    expect(() => renderExposition([{ name: 'ok', type: 'gauge', help: '', samples: [{ labels: { 'bad-label': 'x' }, value: 1 }] }])).toThrow(/label name/);
    expect(() => renderExposition([{ name: 'ok', type: 'gauge', help: '', samples: [{ labels: { __name__: 'x' }, value: 1 }] }])).toThrow(/label name/);
    expect(() =>
      renderExposition([
        { name: 'dup', type: 'gauge', help: '', samples: [{ value: 1 }] },
        { name: 'dup', type: 'counter', help: '', samples: [{ value: 1 }] },
      ]),
    ).toThrow(/both gauge and counter/);
  });
});
