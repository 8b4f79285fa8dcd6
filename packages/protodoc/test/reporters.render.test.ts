import { describe, expect, it } from 'vitest';
import { escapeBytes, isPlainLine, renderExpectLine, renderReceivedLine } from '../src/reporters/render.js';

const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('escapeBytes', () => {
  it('keeps printable UTF-8 and escapes the rest in >>>= syntax', () => {
    expect(escapeBytes(bytes([0], 'ab', [0x0d, 0x1b, 0x09, 0x5c], 'é', [0xff, 0x7f]))).toBe(
      '\\0ab\\r\\e\\t\\\\é\\xff\\x7f',
    );
  });

  it('escapes overlong forms, surrogates and truncated sequences byte by byte', () => {
    expect(escapeBytes(bytes([0xc0, 0x80]))).toBe('\\xc0\\x80');
    expect(escapeBytes(bytes([0xed, 0xa0, 0x80]))).toBe('\\xed\\xa0\\x80');
    expect(escapeBytes(bytes('a', [0xe2, 0x82]))).toBe('a\\xe2\\x82');
  });

  it('reads back as the same bytes through the parser', async () => {
    const { decodeEscapes } = await import('../src/escapes.js');
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(Buffer.from(decodeEscapes(escapeBytes(all), true)).equals(Buffer.from(all))).toBe(true);
  });

  it('keeps four-byte characters whole', () => {
    expect(escapeBytes(bytes('😀\n'))).toBe('😀\\n');
  });
});

describe('isPlainLine', () => {
  it('accepts text with tabs', () => {
    expect(isPlainLine(bytes('a\tb é'))).toBe(true);
  });

  it('refuses control bytes, invalid UTF-8, and lines a transcript would read differently', () => {
    expect(isPlainLine(bytes('a\rb'))).toBe(false);
    expect(isPlainLine(bytes([0xff]))).toBe(false);
    expect(isPlainLine(bytes('>>> x'))).toBe(false);
    expect(isPlainLine(bytes('...'))).toBe(false);
    expect(isPlainLine(bytes('.... more'))).toBe(true);
  });
});

describe('renderReceivedLine', () => {
  it('writes printable lines as they are', () => {
    expect(renderReceivedLine({ bytes: bytes('+OK'), eol: true })).toBe('+OK');
  });

  it('writes other lines as literal lines, and marks a missing newline', () => {
    expect(renderReceivedLine({ bytes: bytes('$\x00'), eol: true })).toBe('>>>= $\\0');
    expect(renderReceivedLine({ bytes: bytes('>>> x'), eol: true })).toBe('>>>= >>> x');
    expect(renderReceivedLine({ bytes: bytes('bye'), eol: false })).toBe('>>>=(no-eol) bye');
  });
});

describe('renderExpectLine', () => {
  it('writes each kind as a transcript line', () => {
    expect(renderExpectLine({ kind: 'text', text: 'Server: nginx...', line: 3 })).toBe('Server: nginx...');
    expect(renderExpectLine({ kind: 'any-lines', line: 3 })).toBe('...');
    expect(renderExpectLine({ kind: 'literal', bytes: bytes('a\x1b'), noEol: true, line: 3 })).toBe(
      '>>>=(no-eol) a\\e',
    );
    expect(renderExpectLine({ kind: 'regex', source: ':\\d+', noEol: false, line: 3 })).toBe('>>>~ :\\d+');
  });
});
