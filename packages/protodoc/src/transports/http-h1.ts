/**
 * What is particular to HTTP/1.1 on an `http://` or `https://` connection (FORMAT §13): the request's
 * head goes out with the transcript's header names, order and spelling, and the response's status line
 * carries the version and reason phrase the server sent. src/transports/http.ts picks this or
 * src/transports/http-h2.ts once, when the socket is up; both give the same small {@link HttpWire}.
 */
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { HttpRequest } from './http-request.js';
import type { Transport } from './transport.js';

/** How one HTTP version writes a request and reads a response head; the rest of an exchange is shared. */
export interface HttpWire {
  /** The dispatch options that send `request` as the transcript wrote it. */
  options(request: HttpRequest): Dispatcher.DispatchOptions;
  /** The response head as transcript text: status line, a line per header, the empty line. */
  head(statusCode: number, statusMessage: string, rawHeaders: readonly Buffer[]): Buffer;
  /**
   * Whether the connection is to be closed once the response to `request` has ended (`Connection:
   * close`) by the transport: false where undici closes it itself.
   */
  closesAfter(request: HttpRequest): boolean;
}

const CRLF = Buffer.from('\r\n');
const COLON_SPACE = Buffer.from(': ');

/**
 * Status line, then each raw header `Name: value` CRLF, then the empty line: one buffer. Once per
 * response, so it copies each piece into one buffer of the final size with `set`: `Buffer.concat`
 * makes a typed-array view of each piece, and for nginx's eight headers (35 pieces) took nearly twice
 * the instructions (bench/README.md, benchmark 2).
 */
export function renderHead(statusLine: string, rawHeaders: readonly Buffer[]): Buffer {
  const n = rawHeaders.length - (rawHeaders.length % 2);
  // latin1: one byte per char, as written below.
  let length = statusLine.length + 4 + n * 2;
  for (let i = 0; i < n; i++) length += rawHeaders[i]!.length;
  const out = Buffer.allocUnsafe(length);
  let at = out.write(statusLine, 0, 'latin1');
  out.set(CRLF, at);
  at += 2;
  for (let i = 0; i < n; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    out.set(name, at);
    at += name.length;
    out.set(COLON_SPACE, at);
    at += 2;
    out.set(value, at);
    at += value.length;
    out.set(CRLF, at);
    at += 2;
  }
  out.set(CRLF, at);
  return out;
}

/** The headers undici writes itself: from the request's own, or added when the request has none. */
const UNDICI_WRITES = new Set(['host', 'connection', 'content-length']);

/**
 * undici's request head (request line, header lines, empty line) with the request's headers as the
 * transcript wrote them, in its order; of undici's own lines, only those the transcript has no header
 * for: `host` and `connection` before the transcript's headers, `content-length` after, where undici
 * puts them.
 */
function headAsWritten(head: string, request: HttpRequest): string {
  const lines = head.slice(0, head.length - 4).split('\r\n');
  const written = new Set<string>();
  for (let i = 0; i < request.headers.length; i += 2) written.add(request.headers[i]!.toLowerCase());
  const own = (name: string): string | undefined =>
    written.has(name)
      ? undefined
      : lines.find((line) => line.slice(0, line.indexOf(':')).toLowerCase() === name);
  const out = [lines[0]!];
  for (const name of ['host', 'connection']) {
    const line = own(name);
    if (line !== undefined) out.push(line);
  }
  for (let i = 0; i < request.headers.length; i += 2)
    out.push(`${request.headers[i]}: ${request.headers[i + 1]}`);
  const length = own('content-length');
  if (length !== undefined) out.push(length);
  // Anything else undici wrote that the transcript does not have (none today), kept after the rest.
  for (const line of lines.slice(1)) {
    const name = line.slice(0, line.indexOf(':')).toLowerCase();
    if (!UNDICI_WRITES.has(name) && !written.has(name)) out.push(line);
  }
  return `${out.join('\r\n')}\r\n\r\n`;
}

const DEFAULT_VERSION = 'HTTP/1.1';
const VERSION_LENGTH = 'HTTP/1.1'.length;
const VERSION = /^HTTP\/\d\.\d$/;

/**
 * Puts HTTP/1.1 on `socket`, before undici's client takes it: each head undici writes goes out in the
 * transcript's spelling (told to `conn.onSent` as written), and the version of the server's first status line
 * is kept for every response's head.
 */
export function connectH1(socket: Socket, conn: Transport): HttpWire {
  let version = DEFAULT_VERSION;
  sniffVersion(socket, (found) => {
    version = found;
  });
  const unwritten: HttpRequest[] = [];
  writeHeadsAsWritten(socket, unwritten, conn);
  return {
    options(request) {
      unwritten.push(request);
      return {
        path: request.path,
        method: request.method,
        headers: request.headers,
        body: request.body,
        // undici closes after HEAD unless told otherwise; keep the connection as the transcript asks.
        reset: request.close,
      };
    },
    head(statusCode, statusMessage, rawHeaders) {
      // RFC 9112: the space after the status code is there even when the reason phrase is empty.
      return renderHead(`${version} ${statusCode} ${statusMessage}`, rawHeaders);
    },
    // undici closes after a `Connection: close` response (`reset`).
    closesAfter: () => false,
  };
}

/**
 * The head as written for each request, with the head undici wrote it from: steps that send the same
 * request share it (http-request.ts), and undici writes the same head for each of them.
 */
const asWritten = new WeakMap<HttpRequest, { from: string; head: string }>();

/** {@link headAsWritten}, worked out once per request and undici head. */
function headAsWrittenOnce(head: string, request: HttpRequest): string {
  const known = asWritten.get(request);
  if (known !== undefined && known.from === head) return known.head;
  const written = headAsWritten(head, request);
  asWritten.set(request, { from: head, head: written });
  return written;
}

/**
 * undici writes `host`, `connection` and `content-length` itself, in lower case and in its own
 * places, whatever the transcript wrote. The transcript's request is sent as written, so each head
 * undici writes is put back in the transcript's order and spelling on its way to the socket; only
 * the headers undici adds (a Host, Connection or Content-Length the transcript does not have) stay
 * undici's.
 */
function writeHeadsAsWritten(socket: Socket, unwritten: HttpRequest[], conn: Transport): void {
  const write = socket.write as (...args: unknown[]) => boolean;
  socket.write = function (this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
    const request = unwritten[0];
    let out = chunk;
    // undici writes each head as one latin1 string, the request line first.
    if (
      request !== undefined &&
      typeof chunk === 'string' &&
      chunk.startsWith(`${request.method} ${request.path} `)
    ) {
      unwritten.shift();
      out = headAsWrittenOnce(chunk, request);
    }
    const written = write.call(this, out, ...rest);
    // -v shows what went out, as it went out.
    if (conn.onSent !== null) {
      if (typeof out === 'string') conn.onSent(conn, Buffer.from(out, 'latin1'));
      else if (out instanceof Uint8Array) conn.onSent(conn, out);
    }
    return written;
  } as typeof socket.write;
}

/**
 * undici parses the status line but does not report its version, so the first bytes the socket
 * yields are looked at once (undici pulls them with `read()`), then the socket is left alone.
 */
function sniffVersion(socket: Socket, found: (version: string) => void): void {
  const read = socket.read;
  let seen = '';
  socket.read = function (this: Socket, size?: number) {
    const chunk: unknown = read.call(this, size);
    if (Buffer.isBuffer(chunk)) {
      seen = (seen + chunk.toString('latin1', 0, Math.min(chunk.length, 16))).replace(/^[\r\n]+/, '');
      if (seen.length >= VERSION_LENGTH) {
        const version = seen.slice(0, VERSION_LENGTH);
        if (VERSION.test(version)) found(version);
        socket.read = read;
      }
    }
    return chunk;
  };
}
