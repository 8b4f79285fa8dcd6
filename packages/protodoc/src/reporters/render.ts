/**
 * Renders expected items and received bytes as transcript lines, so a diff shows what the user would
 * write in the transcript to expect exactly those bytes: plain text where the bytes are printable,
 * `>>>= ` with escapes (`\xHH`, `\r`, `\e`, ...) where they are not, `>>>=(no-eol) ` for a final line
 * that ended without a newline.
 */
import { codePointAt, formatEscaped, isInvisible, utf8SequenceLength } from '../escapes.js';
import type { ReceivedLine } from '../received-lines.js';
import type { ExpectLine } from '../transcript-model.js';

export type { ReceivedLine } from '../received-lines.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** True when the line can be written as a plain transcript line and reads back as exactly these bytes. */
export function isPlainLine(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      if ((b < 0x20 && b !== 0x09) || b === 0x7f) return false;
      i++;
    } else {
      const length = utf8SequenceLength(bytes, i);
      // C1 controls, zero-width and bidi characters do not show on a terminal: not plain text.
      if (length === 0 || isInvisible(codePointAt(bytes, i, length))) return false;
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

/** {@link renderReceivedLine}, showing at most `maxLineBytes` of the line and counting the rest. */
export function renderCapped(line: ReceivedLine, maxLineBytes: number): string {
  if (line.bytes.length <= maxLineBytes) return renderReceivedLine(line);
  const shown = renderReceivedLine({ bytes: line.bytes.subarray(0, maxLineBytes), eol: line.eol });
  return `${shown} [${line.bytes.length - maxLineBytes} more bytes not shown]`;
}

function flags(item: { noEol: boolean; eol?: 'crlf' | 'lf' }): string {
  if (item.noEol) return '(no-eol)';
  return item.eol ? `(${item.eol})` : '';
}

const REGEX_SYNTAX = /[\\^$.*+?()[\]{}|/]/g;
const HIDDEN_CHARS =
  /[\u0000-\u0008\u000a-\u001f\u007f\u0080-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/gu;

/** Characters a line cannot show as they are, as the regular expression's own escapes. */
function regexEscapes(source: string): string {
  return source.replace(HIDDEN_CHARS, (c) => {
    const cp = c.codePointAt(0)!;
    return cp < 0x80 ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
  });
}

const utf8Encoder = new TextEncoder();

/**
 * An expected item as it was written in the transcript (comments and formatting aside), or, when it
 * holds characters a terminal would not show (control, zero-width, bidi), as a line that means the
 * same and shows them as escapes: `>>>= ...\u{202e}...`, or a `>>>~` line for a text line with `...`.
 */
export function renderExpectLine(item: ExpectLine): string {
  switch (item.kind) {
    case 'text': {
      const bytes = utf8Encoder.encode(item.text);
      if (isPlainLine(bytes)) return item.text;
      if (!item.text.includes('...')) return `>>>= ${escapeBytes(bytes)}`;
      // `...` inside a line matches any text within it, CR included: `[^]*`, not `.*`.
      const pieces = item.text.split('...').map((piece) => regexEscapes(piece.replace(REGEX_SYNTAX, '\\$&')));
      return `>>>~ ${pieces.join('[^]*')}`;
    }
    case 'any-lines':
      return '...';
    case 'literal':
      return `>>>=${flags(item)} ${escapeBytes(item.bytes)}`;
    case 'regex':
      return `>>>~${flags(item)} ${regexEscapes(item.source)}`;
  }
}
