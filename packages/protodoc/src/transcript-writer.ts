/**
 * Received bytes as transcript lines: the one place that decides how a line the server sent is written
 * so that it reads back as exactly those bytes. Reports show received lines this way (src/reporters),
 * `--update` writes them into files (src/update.ts), and `record` will write whole conversations.
 *
 * - printable UTF-8 is a plain line; anything else is a `>>>=` line with escapes (FORMAT §4.7): control
 *   bytes, a CR inside the line, bytes that are not UTF-8 (`\xHH`), invisible characters (`\u{HEX}`);
 * - a last line without a newline is `>>>=(no-eol)`;
 * - in a file (`exact`), a line with `...` inside is a `>>>=` line too, so that it matches only itself;
 *   a line holding a secret's value is a `>>>$` line with `{{name}}` in its place (FORMAT §15);
 * - a line that would end the Markdown block it is written into is a `>>>=` line.
 */
import { codePointAt, formatEscaped, isInvisible, utf8SequenceLength } from './escapes.js';
import type { ReceivedLine } from './received-lines.js';
import { type SecretSpan, withPlaceholders } from './template.js';
import type { BytesTemplate, ExpectLine } from './transcript-model.js';

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

/** A received line as a report shows it (and as it can be pasted into a transcript). */
export function receivedLineText(line: ReceivedLine): string {
  if (!line.eol) return `>>>=(no-eol) ${formatEscaped(line.bytes)}`;
  return isPlainLine(line.bytes) ? utf8.decode(line.bytes) : `>>>= ${formatEscaped(line.bytes)}`;
}

/** How {@link writeExpectedLine} writes a line into a file. */
export interface WriteOptions {
  /** Secret values in the line (src/variables.ts `secretSpans`), written as `{{name}}`. */
  secrets?: readonly SecretSpan[];
  /**
   * The fence of the Markdown block the line goes into (```` ``` ````, `~~~`): a line that would close
   * it is written as a `>>>=` line.
   */
  fence?: string;
}

const DOTS = Buffer.from('...');

/**
 * A received line as `--update` (and `record`) writes it: like {@link receivedLineText}, but exact (a
 * `...` inside a line does not match other text) and without any secret's value.
 */
export function writeExpectedLine(line: ReceivedLine, options: WriteOptions = {}): string {
  const secrets = options.secrets ?? [];
  if (secrets.length > 0) return secretLine(line, secrets);
  const text = receivedLineText(line);
  if (text.startsWith('>>>')) return text;
  const bytes = Buffer.from(line.bytes.buffer, line.bytes.byteOffset, line.bytes.byteLength);
  // A plain line with `...` inside would match other lines too; one that closes the block would end it.
  if (bytes.indexOf(DOTS) >= 0 || (options.fence !== undefined && closesFence(text, options.fence))) {
    return `>>>= ${formatEscaped(bytes)}`;
  }
  return text;
}

/** Whether a line inside a Markdown block would close it (CommonMark: up to 3 spaces, the fence or longer). */
function closesFence(text: string, fence: string): boolean {
  const char = fence[0] === '~' ? '~' : '`';
  return new RegExp(`^ {0,3}\\${char}{${fence.length},}[ \\t]*$`).test(text);
}

/** A line with secrets in it as a `>>>$` line: the rest literal, each secret `{{name}}`. */
function secretLine(line: ReceivedLine, secrets: readonly SecretSpan[]): string {
  return `>>>$${line.eol ? '' : '(no-eol)'} ${patternPieceText(withPlaceholders(line.bytes, secrets), null)}`;
}

/**
 * A `>>>$` piece as text: bytes escaped as in a `>>>=` line, placeholders as `{{name}}`, and whatever
 * the parser would read as syntax escaped: a `.` that would make `...` (also with a `...` gap after the
 * piece, `next`), a `{` that would make `{{` (also with a placeholder or a `{{name=...}}` gap after it).
 */
export function patternPieceText(piece: BytesTemplate, next: 'dots' | 'capture' | null): string {
  let out = '';
  for (const part of piece) {
    if (!(part instanceof Uint8Array)) {
      // A `{` right before the placeholder would make `{{{`: the parser would read `{{{name}}`.
      if (out.endsWith('{')) out = `${out.slice(0, -1)}\\x7b`;
      out += `{{${part.name}}}`;
      continue;
    }
    let text = formatEscaped(part);
    // `{{` in the bytes: the first brace as an escape, so it is not read as a placeholder.
    text = text.replace(/\{(?=\{)/g, '\\x7b');
    if (out.endsWith('{') && text.startsWith('{')) out = `${out.slice(0, -1)}\\x7b`;
    // Every third dot of a run, so no `...` is read; a run that touches the previous part counts on.
    let dots = /\.*$/.exec(out)![0].length;
    let escaped = '';
    for (const c of text) {
      if (c === '.' && ++dots === 3) {
        escaped += '\\x2e';
        dots = 0;
        continue;
      }
      if (c !== '.') dots = 0;
      escaped += c;
    }
    out += escaped;
  }
  // Dots at the end followed by a gap's `...` would be read as the gap, and the gap's dots as text;
  // a brace at the end followed by a capture's `{{` would be read as the capture's.
  if (next === 'dots') out = out.replace(/\.+$/, (run) => '\\x2e'.repeat(run.length));
  if (next === 'capture' && out.endsWith('{')) out = `${out.slice(0, -1)}\\x7b`;
  return out;
}

/** An expected line's ending flag as written: `(no-eol)`, `(crlf)`, `(lf)`, or none. */
export function endingFlag(item: { noEol: boolean; eol?: 'crlf' | 'lf' }): string {
  if (item.noEol) return '(no-eol)';
  return item.eol ? `(${item.eol})` : '';
}

/** A `>>>$` item as a transcript line (values in, a secret's placeholder as `{{name}}`). */
export function patternLineText(item: Extract<ExpectLine, { kind: 'pattern' }>): string {
  let out = `>>>$${endingFlag(item)} `;
  for (const [k, piece] of item.pieces.entries()) {
    const gap = item.gaps[k];
    out += patternPieceText(piece, gap === undefined ? null : gap === null ? 'dots' : 'capture');
    if (gap !== undefined) out += gap === null ? '...' : `{{${gap}=...}}`;
  }
  return out;
}
