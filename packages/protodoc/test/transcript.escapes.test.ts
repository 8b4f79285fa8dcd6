import { describe, expect, it } from 'vitest';
import { decodeEscapes, EscapeError, formatEscaped } from '../src/escapes.js';

describe('decodeEscapes', () => {
  it('decodes every escape and UTF-8 encodes the rest', () => {
    expect([...decodeEscapes('\\\\\\r\\n\\t\\0\\e\\x41\\xfFé', true)]).toEqual([
      0x5c, 0x0d, 0x0a, 0x09, 0x00, 0x1b, 0x41, 0xff, 0xc3, 0xa9,
    ]);
  });

  it.each([
    ['a\\q', 1],
    ['\\x4', 0],
    ['ab\\xg0', 2],
    ['abc\\', 3],
    ['\\N', 0],
    ['\\u202e', 0],
    ['a\\u{}', 1],
    ['\\u{1234567}', 0],
    ['\\u{12', 0],
    ['\\u{110000}', 0],
    ['\\u{d800}', 0],
  ])('refuses %j at offset %d', (text, offset) => {
    let caught: unknown;
    try {
      decodeEscapes(text, true);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EscapeError);
    expect((caught as EscapeError).offset).toBe(offset);
  });

  it('refuses \\n where a newline cannot be part of one line', () => {
    expect(() => decodeEscapes('a\\nb', false)).toThrow(EscapeError);
    expect([...decodeEscapes('a\\nb', true)]).toEqual([0x61, 0x0a, 0x62]);
  });
});

describe('formatEscaped', () => {
  it('shows printable UTF-8 as is and everything else as escapes', () => {
    expect(formatEscaped(Buffer.from('héllo ✓ 😀'))).toBe('héllo ✓ 😀');
    expect(formatEscaped(Buffer.from([0x5c, 0x0d, 0x0a, 0x09, 0x00, 0x1b, 0x01, 0x7f]))).toBe(
      '\\\\\\r\\n\\t\\0\\e\\x01\\x7f',
    );
  });

  it('escapes bytes that are not valid UTF-8 one by one', () => {
    expect(formatEscaped(Buffer.from([0x61, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xe2, 0x82]))).toBe(
      'a\\xff\\xc3(\\xed\\xa0\\x80\\xe2\\x82',
    );
  });

  it('round-trips through decodeEscapes for any bytes', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const again = decodeEscapes(formatEscaped(all), true);
    expect(Buffer.compare(Buffer.from(again), all)).toBe(0);
  });
});
