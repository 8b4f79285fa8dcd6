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
 * Turns TEXT with escapes (`\\` `\r` `\n` `\t` `\0` `\e` `\xHH`) into bytes; other characters are UTF-8 encoded.
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

/**
 * Shows bytes as the text of a `>>>=` line: printable UTF-8 as is, a backslash as `\\`, control bytes as
 * `\r` `\t` `\0` `\e` `\xHH`, and bytes that are not valid UTF-8 as `\xHH`.
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
      out += Buffer.from(bytes.buffer, bytes.byteOffset + i, len).toString('utf8');
      i += len;
    } else {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return out;
}
