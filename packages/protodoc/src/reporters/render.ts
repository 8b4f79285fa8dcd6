/**
 * Renders expected items and received bytes as transcript lines, so a diff shows what the user would
 * write in the transcript to expect exactly those bytes: plain text where the bytes are printable,
 * `>>>= ` with escapes (`\xHH`, `\r`, `\e`, ...) where they are not, `>>>=(no-eol) ` for a final line
 * that ended without a newline.
 */
import { formatEscaped } from '../escapes.js';
import type { ExpectLine } from '../transcript-model.js';

/** One received line: its bytes without the line ending, and whether a line ending (LF or CRLF) followed. */
export interface ReceivedLine {
  bytes: Uint8Array;
  eol: boolean;
  /** The ending was CRLF (not just LF). */
  crlf?: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Length of the well-formed UTF-8 sequence starting at `i`, or 0 when the byte there does not start one. */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!;
  let length: number;
  let min: number;
  if (b >= 0xc2 && b <= 0xdf) [length, min] = [2, 0x80];
  else if (b >= 0xe0 && b <= 0xef) [length, min] = [3, 0x800];
  else if (b >= 0xf0 && b <= 0xf4) [length, min] = [4, 0x10000];
  else return 0;
  if (i + length > bytes.length) return 0;
  let codePoint = b & (0xff >> (length + 1));
  for (let k = 1; k < length; k++) {
    const c = bytes[i + k]!;
    if ((c & 0xc0) !== 0x80) return 0;
    codePoint = (codePoint << 6) | (c & 0x3f);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not text: show their bytes.
  if (codePoint < min || (codePoint >= 0xd800 && codePoint <= 0xdfff) || codePoint > 0x10ffff) return 0;
  // C1 control characters are invisible on a terminal: such a line is not plain text.
  if (codePoint >= 0x80 && codePoint <= 0x9f) return 0;
  return length;
}

/** True when the line can be written as a plain transcript line and reads back as exactly these bytes. */
export function isPlainLine(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      if ((b < 0x20 && b !== 0x09) || b === 0x7f) return false;
      i++;
    } else {
      const length = utf8SequenceLength(bytes, i);
      if (length === 0) return false;
      i += length;
    }
  }
  // A line that starts with `>>>` or is exactly `...` means something else in a transcript.
  const startsWithPrompt = bytes.length >= 3 && bytes[0] === 0x3e && bytes[1] === 0x3e && bytes[2] === 0x3e;
  const isEllipsis = bytes.length === 3 && bytes[0] === 0x2e && bytes[1] === 0x2e && bytes[2] === 0x2e;
  return !startsWithPrompt && !isEllipsis;
}

/**
 * Escapes bytes for a `>>>=` line: printable UTF-8 stays as it is, everything else becomes an escape
 * (the transcript parser's own inverse, so what a report shows reads back as the same bytes).
 */
export const escapeBytes: (bytes: Uint8Array) => string = formatEscaped;

/** A received line as a transcript would expect it. */
export function renderReceivedLine(line: ReceivedLine): string {
  if (!line.eol) return `>>>=(no-eol) ${escapeBytes(line.bytes)}`;
  return isPlainLine(line.bytes) ? utf8.decode(line.bytes) : `>>>= ${escapeBytes(line.bytes)}`;
}

function flags(item: { noEol: boolean; eol?: 'crlf' | 'lf' }): string {
  if (item.noEol) return '(no-eol)';
  return item.eol ? `(${item.eol})` : '';
}

/** An expected item as it was written in the transcript (comments and formatting aside). */
export function renderExpectLine(item: ExpectLine): string {
  switch (item.kind) {
    case 'text':
      return item.text;
    case 'any-lines':
      return '...';
    case 'literal':
      return `>>>=${flags(item)} ${escapeBytes(item.bytes)}`;
    case 'regex':
      return `>>>~${flags(item)} ${item.source}`;
  }
}
