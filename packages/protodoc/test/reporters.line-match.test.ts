import { describe, expect, it } from 'vitest';
import { lineMatches } from '../src/reporters/line-match.js';
import type { ExpectLine } from '../src/transcript-model.js';

const line = (s: string, eol = true) => ({ bytes: Buffer.from(s), eol });
const text = (t: string): ExpectLine => ({ kind: 'text', text: t, line: 1 });

describe('lineMatches', () => {
  it('compares plain text byte for byte, also when the text is longer than the line', () => {
    expect(lineMatches(text('abé'), line('abé'))).toBe(true);
    expect(lineMatches(text('abé'), line('ab'))).toBe(false);
    expect(lineMatches(text('ab'), line('abé'))).toBe(false);
    expect(lineMatches(text(''), line(''))).toBe(true);
  });

  it('lets `...` inside a line stand for any text', () => {
    expect(lineMatches(text('Server: nginx...'), line('Server: nginx/1.22.1'))).toBe(true);
    expect(lineMatches(text('a...b...c'), line('a-b-c'))).toBe(true);
    expect(lineMatches(text('a...b...c'), line('a-c-b'))).toBe(false);
    expect(lineMatches(text('ab...ba'), line('aba'))).toBe(false);
  });

  it('matches regex lines whole and honours no-eol', () => {
    const re: ExpectLine = { kind: 'regex', source: '\\d+', noEol: false, line: 1 };
    expect(lineMatches(re, line('123'))).toBe(true);
    expect(lineMatches(re, line('123x'))).toBe(false);
    const lit: ExpectLine = { kind: 'literal', bytes: Buffer.from('>'), noEol: true, line: 1 };
    expect(lineMatches(lit, line('>', false))).toBe(true);
    expect(lineMatches(lit, line('>', true))).toBe(false);
  });
});

describe('lineMatches and line endings', () => {
  it('requires an ending unless the item is no-eol, and the exact one when the item names it', () => {
    expect(lineMatches(text('bye'), line('bye', false))).toBe(false);
    const crlf: ExpectLine = { kind: 'literal', bytes: Buffer.from('x'), noEol: false, eol: 'crlf', line: 1 };
    expect(lineMatches(crlf, { bytes: Buffer.from('x'), eol: true, crlf: true })).toBe(true);
    expect(lineMatches(crlf, { bytes: Buffer.from('x'), eol: true, crlf: false })).toBe(false);
    const lf: ExpectLine = { kind: 'regex', source: 'x', noEol: false, eol: 'lf', line: 1 };
    expect(lineMatches(lf, { bytes: Buffer.from('x'), eol: true, crlf: false })).toBe(true);
    expect(lineMatches(lf, { bytes: Buffer.from('x'), eol: true, crlf: true })).toBe(false);
  });
});
