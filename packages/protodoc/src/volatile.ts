/**
 * Values that change from one run to the next, which a written transcript must not pin: the defaults
 * `record` applies (DECISIONS.md) and `--update` applies too, so that a rewritten `Date:` line keeps
 * passing. Today: the values of the HTTP response headers `Date`, `Expires`, `Last-Modified`, `ETag`,
 * `Age`, `Set-Cookie` and `Sec-WebSocket-Accept`, in the head of each response of a reply.
 */
import type { ReceivedLines } from './received-lines.js';
import { isPlainLine } from './transcript-writer.js';

/** The HTTP response headers whose values are volatile by default (names compare case-insensitively). */
export const VOLATILE_HEADERS: readonly string[] = [
  'Date',
  'Expires',
  'Last-Modified',
  'ETag',
  'Age',
  'Set-Cookie',
  // A WebSocket handshake's answer to the random key the client sent (RFC 6455 §4.2.2).
  'Sec-WebSocket-Accept',
];

const VOLATILE = new Set(VOLATILE_HEADERS.map((name) => name.toLowerCase()));
const STATUS_LINE = /^HTTP\/\d(?:\.\d)? \d{3}(?: |$)/;
const HEADER = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*)$/;
const COOKIE_NAME = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)=/;
const utf8 = new TextDecoder();

/**
 * For the lines of a reply that hold a volatile value, the transcript line that matches any value there
 * (a text line with `...`, §3): `Date: ...`; for `Set-Cookie`, the cookie's name is kept,
 * `Set-Cookie: session=...`. Keys are line indexes. Only the head of an HTTP response counts: from a
 * status line `HTTP/1.1 200 OK` (at the start of the reply, or after an earlier head and its body) to
 * the empty line that ends it.
 * @example volatileLines(new ReceivedLines(Buffer.from('HTTP/1.1 200 OK\r\nDate: Mon\r\n\r\n'))) // Map { 1 => 'Date: ...' }
 */
export function volatileLines(lines: ReceivedLines): Map<number, string> {
  const out = new Map<number, string>();
  let inHead = false;
  for (let k = 0; k < lines.length; k++) {
    const line = lines.line(k);
    if (!isPlainLine(line.bytes)) {
      if (line.bytes.length === 0) inHead = false;
      continue;
    }
    const text = utf8.decode(line.bytes);
    if (!inHead) {
      inHead = STATUS_LINE.test(text);
      continue;
    }
    if (text === '') {
      inHead = false;
      continue;
    }
    const header = HEADER.exec(text);
    if (header === null || !VOLATILE.has(header[1]!.toLowerCase())) continue;
    const value = header[2]!;
    // The name, the colon and the spaces as received; then a pattern for the value.
    const prefix = text.slice(0, text.length - value.length);
    const cookie = header[1]!.toLowerCase() === 'set-cookie' ? COOKIE_NAME.exec(value) : null;
    out.set(k, cookie === null ? `${prefix}...` : `${prefix}${cookie[1]}=...`);
  }
  return out;
}
