/**
 * Escape sequences of the transcript format (`>>>(esc)` sends and `>>>=` expected lines), and the
 * reverse: showing received bytes in that same syntax so a report can be pasted back into a transcript.
 */

/** A bad escape sequence; `offset` is the index of its backslash in the text given to {@link decodeEscapes}. */
export class EscapeError extends Error {
  readonly offset: number;
  constructor(offset: number, reason: string) {
    super(reason);
    this.name = 'EscapeError';
    this.offset = offset;
  }
}

const SIMPLE: Record<string, number> = { '\\': 0x5c, r: 0x0d, n: 0x0a, t: 0x09, '0': 0x00, e: 0x1b };

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  return -1;
}

/**
 * Characters a terminal does not show, or that reorder what it shows: C1 controls (U+0080–U+009F; U+009B
 * is CSI on some terminals), zero-width characters (U+200B–U+200F, U+FEFF) and bidi embeddings, overrides
 * and isolates (U+202A–U+202E, U+2066–U+2069). Reports and files protodoc writes show them as `\u{HEX}`.
 */
export function isInvisible(cp: number): boolean {
  return (
    (cp >= 0x80 && cp <= 0x9f) ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069) ||
    cp === 0xfeff
  );
}

/** The same characters, for text: `INVISIBLE.test(text)` says whether a string holds any. */
export const INVISIBLE = /[\u0080-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;
const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'g');

/** `text` with each invisible character written as `\u{HEX}` (lowercase hex). */
export function showInvisible(text: string): string {
  return INVISIBLE.test(text)
    ? text.replace(INVISIBLE_ALL, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`)
    : text;
}

/**
 * Turns TEXT with escapes (`\\` `\r` `\n` `\t` `\0` `\e` `\xHH` `\u{HEX}`) into bytes; other characters are UTF-8 encoded.
 * Any other backslash sequence is an error, so a future escape cannot change an existing transcript's meaning.
 * @param allowNewline `\n` is refused in expected lines (one line of the file is one received line).
 * @throws {EscapeError} with the offset of the offending backslash.
 */
export function decodeEscapes(text: string, allowNewline: boolean): Uint8Array {
  if (!text.includes('\\')) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let runStart = 0;
  let i = 0;
  while (i < text.length) {
    if (text.charCodeAt(i) !== 0x5c) {
      i++;
      continue;
    }
    if (i > runStart) parts.push(Buffer.from(text.slice(runStart, i), 'utf8'));
    const next = text[i + 1];
    if (next === undefined) throw new EscapeError(i, "incomplete escape: '\\' at the end of the line");
    let byte: number;
    let width = 2;
    if (next === 'x') {
      const hi = hexValue(text.charCodeAt(i + 2));
      const lo = hexValue(text.charCodeAt(i + 3));
      if (hi < 0 || lo < 0) throw new EscapeError(i, "'\\x' must be followed by two hex digits");
      byte = hi * 16 + lo;
      width = 4;
    } else if (next === 'u') {
      // \u{HEX}: one to six hex digits, a Unicode scalar value, as its UTF-8 bytes.
      const close = text.indexOf('}', i + 3);
      const digits = text[i + 2] === '{' && close > 0 ? text.slice(i + 3, close) : '';
      if (!/^[0-9a-fA-F]{1,6}$/.test(digits)) {
        throw new EscapeError(i, "'\\u' must be followed by {HEX}: one to six hex digits in braces");
      }
      const cp = Number.parseInt(digits, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        throw new EscapeError(i, `'\\u{${digits}}' is not a Unicode scalar value`);
      }
      parts.push(Buffer.from(String.fromCodePoint(cp), 'utf8'));
      i = close + 1;
      runStart = i;
      continue;
    } else {
      const simple = SIMPLE[next];
      if (simple === undefined) throw new EscapeError(i, `unknown escape '\\${next}'`);
      if (next === 'n' && !allowNewline) {
        throw new EscapeError(i, "'\\n' is not allowed in an expected line: write two lines");
      }
      byte = simple;
    }
    parts.push(Buffer.of(byte));
    i += width;
    runStart = i;
  }
  if (runStart < text.length) parts.push(Buffer.from(text.slice(runStart), 'utf8'));
  return Buffer.concat(parts);
}

/**
 * Length of the valid UTF-8 sequence starting at `i` (2–4), or 0 when the bytes there are not valid UTF-8
 * (overlong forms, surrogates and code points past U+10FFFF included).
 */
export function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i]!;
  let len: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) len = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    if (b0 === 0xe0) lo = 0xa0;
    else if (b0 === 0xed) hi = 0x9f; // no UTF-16 surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    if (b0 === 0xf0) lo = 0x90;
    else if (b0 === 0xf4) hi = 0x8f;
  } else return 0;
  if (i + len > bytes.length) return 0;
  const b1 = bytes[i + 1]!;
  if (b1 < lo || b1 > hi) return 0;
  for (let k = 2; k < len; k++) {
    const b = bytes[i + k]!;
    if (b < 0x80 || b > 0xbf) return 0;
  }
  return len;
}

const SHOWN: Record<number, string> = { 92: '\\\\', 13: '\\r', 10: '\\n', 9: '\\t', 0: '\\0', 27: '\\e' };

/** The code point of the valid UTF-8 sequence of `length` bytes at `i`. */
export function codePointAt(bytes: Uint8Array, i: number, length: number): number {
  const b0 = bytes[i]!;
  let cp = length === 2 ? b0 & 0x1f : length === 3 ? b0 & 0x0f : b0 & 0x07;
  for (let k = 1; k < length; k++) cp = (cp << 6) | (bytes[i + k]! & 0x3f);
  return cp;
}

/**
 * Shows bytes as the text of a `>>>=` line: printable UTF-8 as is, a backslash as `\\`, control bytes as
 * `\r` `\t` `\0` `\e` `\xHH`, invisible characters ({@link isInvisible}) as `\u{HEX}`, and bytes that
 * are not valid UTF-8 as `\xHH`.
 * @example formatEscaped(Buffer.from('ok\r\x01')) // 'ok\\r\\x01'
 */
export function formatEscaped(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b >= 0x20 && b < 0x7f && b !== 0x5c) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    const shown = SHOWN[b];
    if (shown !== undefined) {
      out += shown;
      i++;
      continue;
    }
    const len = b >= 0x80 ? utf8SequenceLength(bytes, i) : 0;
    if (len > 0) {
      const cp = codePointAt(bytes, i, len);
      out += isInvisible(cp)
        ? `\\u{${cp.toString(16)}}`
        : Buffer.from(bytes.buffer, bytes.byteOffset + i, len).toString('utf8');
      i += len;
    } else {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return out;
}
