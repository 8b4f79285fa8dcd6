/**
 * A send block read as an HTTP request (FORMAT §13), for the HTTP transports: the request line
 * `METHOD /PATH HTTP/1.1` (or `HTTP/2`), header lines `Name: value`, an empty line, then the body. Each
 * block is parsed once, before anything is sent, and what is wrong with one is said at its line: the
 * same block can be read once and then checked against each target it goes to (HTTP/1.1 or HTTP/2).
 */
import { UsageError } from '../errors.js';
import type { Target } from '../target.js';
import type { Transcript } from '../transcript-model.js';
import { refuseWebSocketSteps } from './transport.js';

/** A send block parsed as an HTTP request, ready for undici's `dispatch`. */
export interface HttpRequest {
  method: string;
  /** The request target as written: starts with `/`. */
  path: string;
  /** Header names and values in the order written, flat: `[name, value, name, value, ...]`. */
  headers: string[];
  /** Everything after the empty line that ends the headers; null when there is nothing. */
  body: Buffer | null;
  /** `Connection: close` was given: the connection is closed after the response. */
  close: boolean;
  /** The version the request line ends in: `HTTP/1.1`, or `HTTP/2` (for h2:// and h2c:// only). */
  version: 'HTTP/1.1' | 'HTTP/2';
  /**
   * The first header HTTP/2 forbids (RFC 9113 §8.2.2: `Proxy-Connection`, `HTTP2-Settings`, `TE` other
   * than `trailers`), as written; null when there is none. `Connection` is not one: undici takes it, and
   * `close` in it closes the connection after the response over HTTP/2 too.
   */
  h2Forbidden: string | null;
}

/** The TLS scheme of each plain HTTP one, for the message that refuses STARTTLS. */
const TLS_SCHEME: Partial<Record<string, string>> = { http: 'https', h2c: 'h2' };

/** The schemes whose requests go out as HTTP/2. */
const H2_SCHEMES: ReadonlySet<string> = new Set(['h2', 'h2c']);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Header values: visible latin1 text, spaces and tabs (undici refuses CR, LF and NUL).
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
// undici writes these itself (or refuses them); a transcript cannot choose them over http://.
const REFUSED_HEADERS: Record<string, string> = {
  'transfer-encoding': 'undici frames the body itself (Content-Length); remove Transfer-Encoding',
  'keep-alive': 'undici manages keep-alive itself; remove the Keep-Alive header',
  upgrade: 'protocol upgrades are not available over http:// targets; use a HOST:PORT target',
  expect: 'Expect (100-continue) is not supported over http:// targets; use a HOST:PORT target',
};
/** Connection-specific headers, which HTTP/2 forbids (RFC 9113 §8.2.2); Node's http2 refuses them too. */
const H2_FORBIDDEN = new Set(['proxy-connection', 'http2-settings']);

/**
 * Parses a send block as one HTTP request: the request line `METHOD /PATH HTTP/1.1` (or `HTTP/2`),
 * header lines `Name: value`, an empty line, then the body (the rest of the block, sent as is).
 * Lines may end with CRLF or LF. Whether it can go to a given target is {@link unfitFor}'s to say.
 * @param bodyKnown false for a stand-in of a `>>>(vars)` block, whose values (and so the body's
 *   length) are known only when its step runs: Content-Length is then compared with the rendered block
 * @returns the request, or a string saying what is wrong with the block
 */
export function parseHttpRequest(bytes: Uint8Array, bodyKnown = true): HttpRequest | string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lines: string[] = [];
  let start = 0;
  let bodyStart = -1;
  while (start < buf.length) {
    const lf = buf.indexOf(10, start);
    if (lf < 0) break;
    const end = lf > start && buf[lf - 1] === 13 ? lf - 1 : lf;
    // latin1 keeps every byte as one char, and undici writes the head back as latin1.
    const line = buf.toString('latin1', start, end);
    start = lf + 1;
    if (line === '') {
      bodyStart = start;
      break;
    }
    lines.push(line);
  }
  if (bodyStart < 0) {
    return 'no empty line ends the request headers (end the block with a `>>>` line)';
  }
  const requestLine = lines[0];
  if (requestLine === undefined) return 'the block starts with an empty line instead of a request line';
  const parts = requestLine.split(' ');
  if (parts.length !== 3) return `'${requestLine}' is not a request line 'METHOD /PATH HTTP/1.1'`;
  const [method, path, version] = parts as [string, string, string];
  if (!TOKEN.test(method)) return `'${method}' is not a request method`;
  if (method === 'CONNECT') return 'CONNECT is not available over http:// targets; use a HOST:PORT target';
  if (!path.startsWith('/') || !/^[\x21-\xff]+$/.test(path)) {
    return `the request target '${path}' must start with '/' (origin form)`;
  }
  if (version !== 'HTTP/1.1' && version !== 'HTTP/2') {
    return `'${version}': a request is sent as HTTP/1.1 (http://, https://) or HTTP/2 (h2://, h2c://) only`;
  }

  const headers: string[] = [];
  let contentLength: string | null = null;
  let close = false;
  let host = false;
  let h2Forbidden: string | null = null;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon);
    if (!TOKEN.test(name)) return `'${line}' is not a header line 'Name: value'`;
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!FIELD_VALUE.test(value)) return `the value of header '${name}' holds control characters`;
    const lower = name.toLowerCase();
    const refused = REFUSED_HEADERS[lower];
    if (refused !== undefined) return refused;
    if (lower === 'content-length') {
      if (contentLength !== null) return 'Content-Length is given twice';
      contentLength = value;
    } else if (lower === 'host') {
      if (host) return 'Host is given twice';
      host = true;
    } else if (lower === 'connection') {
      const tokens = value
        .toLowerCase()
        .split(',')
        .map((t) => t.trim());
      if (!tokens.every((t) => TOKEN.test(t))) return `'${line}' is not a valid Connection header`;
      if (tokens.includes('close')) close = true;
    } else if (
      h2Forbidden === null &&
      (H2_FORBIDDEN.has(lower) || (lower === 'te' && value.toLowerCase() !== 'trailers'))
    ) {
      h2Forbidden = name;
    }
    headers.push(name, value);
  }
  const bodyLength = buf.length - bodyStart;
  if (bodyKnown && contentLength !== null && contentLength !== String(bodyLength)) {
    return `Content-Length is ${contentLength} but the body after the empty line has ${bodyLength} bytes`;
  }
  // Content-Length goes back in as written; without one undici computes it from the body.
  return {
    method,
    path,
    headers,
    body: bodyLength > 0 ? Buffer.from(buf.subarray(bodyStart)) : null,
    close,
    version,
    h2Forbidden,
  };
}

/**
 * Whether a request can go to the target: an `HTTP/2` request line needs an h2:// or h2c:// target, and
 * over HTTP/2 no header HTTP/2 forbids. (An `HTTP/1.1` request line goes over HTTP/2 too: FORMAT §13.)
 * @returns null when it can, else why not
 */
export function unfitFor(request: HttpRequest, target: Target): string | null {
  const h2 = H2_SCHEMES.has(target.scheme);
  if (!h2 && request.version === 'HTTP/2') {
    return `an HTTP/2 request needs an h2:// or h2c:// target; ${target.scheme}:// speaks HTTP/1.1`;
  }
  if (h2 && request.h2Forbidden !== null) {
    return `'${request.h2Forbidden}' is a connection-specific header, which HTTP/2 forbids (RFC 9113 §8.2.2)`;
  }
  return null;
}

/** Parsed requests by send block: each block is parsed once, when the transcript is checked. */
const parsed = new WeakMap<Uint8Array, HttpRequest>();

/**
 * Parsed requests by the text of their block: the steps of a transcript that send the same request
 * (each step's block is a buffer of its own) share one HttpRequest, so what a transport works out for a
 * request once (http-h1.ts: the head as written) serves every step that sends it. Bounded like the
 * matcher's cache of expected lines.
 */
const byText = new Map<string, HttpRequest>();
const BY_TEXT_ENTRIES = 4096;

/** The request a block holds, parsed once per distinct block text; a string says what is wrong. */
function parseOnce(bytes: Uint8Array): HttpRequest | string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  let request = byText.get(text);
  if (request === undefined) {
    const result = parseHttpRequest(bytes);
    if (typeof result === 'string') return result;
    if (byText.size >= BY_TEXT_ENTRIES) byText.clear();
    byText.set(text, result);
    request = result;
  }
  parsed.set(bytes, request);
  return request;
}

const SLASH = Buffer.from('/');

/**
 * Checks, before anything is sent, that every step on an HTTP connection can be sent as a request.
 * @param targetOf the target of a connection that is HTTP, undefined for the others
 * @throws UsageError `PATH:LINE: ...` naming the step's first `>>>` line (or expected line)
 */
export function checkHttpSteps(
  transcript: Transcript,
  targetOf: (connection: string) => Target | undefined,
): void {
  for (const step of transcript.steps) {
    const target = targetOf(step.connection);
    if (target === undefined) continue;
    const where = `${transcript.path}:${step.line}`;
    const notARequest = (why: string): UsageError =>
      new UsageError(`${where}: the send block is not an HTTP request: ${why}`);
    refuseWebSocketSteps(transcript, step, target);
    if (step.startTls) {
      const instead =
        target.kind === 'tcp' && target.tls
          ? 'it is TLS from its first byte'
          : `use ${TLS_SCHEME[target.scheme]}://`;
      throw new UsageError(
        `${where}: starttls is not available on an ${target.scheme}:// connection (${instead})`,
      );
    }
    if (step.sendTemplate !== undefined) {
      // The values are known only when the step runs (the runner checks the block then): check the
      // shape with `/` for each, which fits a path and a header value alike. A value in the body or in
      // Content-Length leaves the body's length unknown until then.
      const standIn = Buffer.concat(
        step.sendTemplate.map((part) => (part instanceof Uint8Array ? part : SLASH)),
      );
      const request = parseHttpRequest(standIn, false);
      if (typeof request === 'string') throw notARequest(request);
      const unfit = unfitFor(request, target);
      if (unfit !== null) throw notARequest(unfit);
      continue;
    }
    if (step.send.length === 0) {
      // A step that sends nothing and expects nothing is harmless; one that expects bytes would
      // wait for a response to a request that was never sent.
      if (step.expect.length === 0) continue;
      throw new UsageError(
        `${where}: an HTTP server answers requests only: this step on connection '${step.connection}' sends none`,
      );
    }
    const request = parsed.get(step.send) ?? parseOnce(step.send);
    if (typeof request === 'string') throw notARequest(request);
    const unfit = unfitFor(request, target);
    if (unfit !== null) throw notARequest(unfit);
  }
}

/**
 * Checks a send block rendered with its variables' values (a `>>>(vars)` block) and keeps the request
 * for the send that follows.
 * @returns null when it is a request that can go to `target`, else what is wrong with it
 */
export function checkHttpSend(bytes: Uint8Array, target: Target): string | null {
  const request = parsed.get(bytes) ?? parseOnce(bytes);
  if (typeof request === 'string') return request;
  return unfitFor(request, target);
}

/** The request a checked block holds. */
export function requestFor(bytes: Uint8Array): HttpRequest {
  const request = parsed.get(bytes) ?? parseOnce(bytes);
  // Every step is checked before it runs (checkHttpSteps, checkHttpSend): this is a bug.
  if (typeof request === 'string') throw new Error(`unchecked HTTP request: ${request}`);
  return request;
}
