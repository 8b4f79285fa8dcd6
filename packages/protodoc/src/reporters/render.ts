/**
 * Renders expected items and received bytes as transcript lines, so a diff shows what the user would
 * write in the transcript to expect exactly those bytes: plain text where the bytes are printable,
 * `>>>= ` with escapes (`\xHH`, `\r`, `\e`, ...) where they are not, `>>>=(no-eol) ` for a final line
 * that ended without a newline.
 */
import { formatEscaped } from '../escapes.js';
import type { ReceivedLine } from '../received-lines.js';
import type { ExpectLine } from '../transcript-model.js';
import {
  endingFlag,
  patternLineText,
  isPlainLine as plainLine,
  receivedLineText,
} from '../transcript-writer.js';

export type { ReceivedLine } from '../received-lines.js';

/** True when the line can be written as a plain transcript line and reads back as exactly these bytes. */
export const isPlainLine: (bytes: Uint8Array) => boolean = plainLine;

/**
 * Escapes bytes for a `>>>=` line: printable UTF-8 stays as it is, everything else becomes an escape
 * (the transcript parser's own inverse, so what a report shows reads back as the same bytes).
 */
export const escapeBytes: (bytes: Uint8Array) => string = formatEscaped;

/** A received line as a transcript would expect it (src/transcript-writer.ts decides how). */
export const renderReceivedLine: (line: ReceivedLine) => string = receivedLineText;

/** {@link renderReceivedLine}, showing at most `maxLineBytes` of the line and counting the rest. */
export function renderCapped(line: ReceivedLine, maxLineBytes: number): string {
  if (line.bytes.length <= maxLineBytes) return renderReceivedLine(line);
  const shown = renderReceivedLine({ bytes: line.bytes.subarray(0, maxLineBytes), eol: line.eol });
  return `${shown} [${line.bytes.length - maxLineBytes} more bytes not shown]`;
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
      return `>>>=${endingFlag(item)} ${escapeBytes(item.bytes)}`;
    case 'regex':
      return `>>>~${endingFlag(item)} ${regexEscapes(item.source)}`;
    case 'pattern':
      return plainPattern(item) ?? patternLineText(item);
  }
}

/**
 * A `>>>$` line that captures nothing and whose values are all in, as the plain text line that means
 * the same (its pieces joined by `...`), when there is one: what the transcript expected, shown simply.
 */
function plainPattern(item: Extract<ExpectLine, { kind: 'pattern' }>): string | null {
  if (item.noEol || item.eol !== undefined || item.gaps.some((gap) => gap !== null)) return null;
  const pieces: Uint8Array[] = [];
  for (const piece of item.pieces) {
    if (!piece.every((part) => part instanceof Uint8Array)) return null;
    pieces.push(Buffer.concat(piece as Uint8Array[]));
  }
  const text = pieces.map((piece) => utf8Decoder.decode(piece)).join('...');
  const bytes = utf8Encoder.encode(text);
  // Read back, the text must split into the same pieces, and show as it is.
  const back = text.split('...');
  const same = back.length === pieces.length && back.every((t, k) => Buffer.from(t).equals(pieces[k]!));
  return same && isPlainLine(bytes) ? text : null;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
