/**
 * Renders expected items and received bytes as transcript lines, so a diff shows what the user would
 * write in the transcript to expect exactly those bytes: plain text where the bytes are printable,
 * `>>>= ` with escapes (`\xHH`, `\r`, `\e`, ...) where they are not, `>>>=(no-eol) ` for a final line
 * that ended without a newline.
 */
import { formatEscaped, utf8SequenceLength } from '../escapes.js';
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
      // C1 control characters (U+0080-U+009F: C2 80 to C2 9F) are invisible on a terminal: not plain text.
      if (length === 0 || (b === 0xc2 && bytes[i + 1]! < 0xa0)) return false;
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
