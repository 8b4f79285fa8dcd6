/**
 * HTTP targets (`http://HOST:PORT`, `https://HOST:PORT`): each step's send block is parsed as an
 * HTTP/1.1 request and sent through an undici Client (one keep-alive connection per transcript
 * connection, pipelining 1); the response comes back rendered as HTTP/1.1 text, so the same matcher
 * and the same transcript work as over raw TCP:
 *
 *     HTTP/1.1 200 OK\r\n            status line (version and reason as received)
 *     Content-Type: text/plain\r\n   headers as received (raw names, order, repeats), one per line
 *     \r\n
 *     hello                          body as delivered: chunked framing removed, content-encoding kept
 *
 * The end of the response body ends the step's reply (`onReplyEnd`), so a reply ending in `...`
 * completes without the settle wait. Loaded lazily by the runner, with undici, only for HTTP targets.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Client, type Dispatcher } from 'undici';
import { Connection, type ConnectionHandler, settle, type TlsOptions } from './connection.js';
import { UsageError } from './errors.js';
import { defaultServername, type Target } from './target.js';
import type { Transcript } from './transcript-model.js';

/** A send block parsed as an HTTP request, ready for undici's `dispatch`. */
export interface HttpRequest {
  method: string;
  /** The request target as written: starts with `/`. */
  path: string;
  /** Header names and values in the order written, flat: `[name, value, name, value, ...]`. */
  headers: string[];
  /** Everything after the empty line that ends the headers; null when there is nothing. */
  body: Buffer | null;
  /** `Connection: close` was given: undici closes the connection after the response. */
  close: boolean;
}

/** The runner's side of an HTTP connection: the usual events, plus the end of each response. */
export interface HttpReplyHandler extends ConnectionHandler {
  /** The response to the latest request is complete: nothing more belongs to the current reply. */
  onReplyEnd(conn: Connection): void;
}

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

/**
 * Parses a send block as one HTTP/1.1 request: the request line `METHOD /PATH HTTP/1.1`, header
 * lines `Name: value`, an empty line, then the body (the rest of the block, sent as is).
 * Lines may end with CRLF or LF.
 * @returns the request, or a string saying what is wrong with the block
 */
export function parseHttpRequest(bytes: Uint8Array): HttpRequest | string {
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
  if (version !== 'HTTP/1.1') return `undici speaks HTTP/1.1 only, not '${version}'`;

  const headers: string[] = [];
  let contentLength: string | null = null;
  let close = false;
  let host = false;
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
    }
    headers.push(name, value);
  }
  const bodyLength = buf.length - bodyStart;
  if (contentLength !== null && contentLength !== String(bodyLength)) {
    return `Content-Length is ${contentLength} but the body after the empty line has ${bodyLength} bytes`;
  }
  // Content-Length goes back in as written; without one undici computes it from the body.
  return {
    method,
    path,
    headers,
    body: bodyLength > 0 ? Buffer.from(buf.subarray(bodyStart)) : null,
    close,
  };
}

/** Parsed requests by send block: each block is parsed once, when the transcript is checked. */
const parsed = new WeakMap<Uint8Array, HttpRequest>();

/**
 * Checks, before anything is sent, that every step on an HTTP connection can be sent as a request.
 * @param isHttp whether the named connection's target is `http://` or `https://`
 * @throws UsageError `PATH:LINE: ...` naming the step's first `>>>` line (or expected line)
 */
export function checkHttpSteps(transcript: Transcript, isHttp: (connection: string) => boolean): void {
  for (const step of transcript.steps) {
    if (!isHttp(step.connection)) continue;
    const where = `${transcript.path}:${step.line}`;
    if (step.startTls) {
      throw new UsageError(`${where}: starttls is not available on an http:// connection (use https://)`);
    }
    if (step.sendTemplate !== undefined) {
      // The values are known only when the step runs (the runner checks the block then): check the
      // shape with `/` for each, which fits a path and a header value alike.
      const standIn = Buffer.concat(
        step.sendTemplate.map((part) => (part instanceof Uint8Array ? part : SLASH)),
      );
      const request = parseHttpRequest(standIn);
      if (typeof request === 'string') {
        throw new UsageError(`${where}: the send block is not an HTTP request: ${request}`);
      }
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
    if (parsed.has(step.send)) continue;
    const request = parseHttpRequest(step.send);
    if (typeof request === 'string') {
      throw new UsageError(`${where}: the send block is not an HTTP request: ${request}`);
    }
    parsed.set(step.send, request);
  }
}

const SLASH = Buffer.from('/');

/**
 * Checks a send block rendered with its variables' values (a `>>>(vars)` block) and keeps the request
 * for the write that follows.
 * @returns null when it is a request, else what is wrong with it
 */
export function checkHttpSend(bytes: Uint8Array): string | null {
  if (parsed.has(bytes)) return null;
  const request = parseHttpRequest(bytes);
  if (typeof request === 'string') return request;
  parsed.set(bytes, request);
  return null;
}

function requestFor(bytes: Uint8Array): HttpRequest {
  let request = parsed.get(bytes);
  if (request === undefined) {
    const result = parseHttpRequest(bytes);
    // The runner checks every step before it starts (checkHttpSteps): this is a bug.
    if (typeof result === 'string') throw new Error(`unchecked HTTP request: ${result}`);
    request = result;
    parsed.set(bytes, request);
  }
  return request;
}

const CRLF = Buffer.from('\r\n');
const COLON_SPACE = Buffer.from(': ');
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

/** Status line, then each raw header `Name: value` CRLF, then the empty line: one buffer. */
export function renderHead(
  version: string,
  statusCode: number,
  statusMessage: string,
  rawHeaders: readonly (Buffer | string)[],
): Buffer {
  // RFC 9112: the space after the status code is there even when the reason phrase is empty.
  const parts: Buffer[] = [Buffer.from(`${version} ${statusCode} ${statusMessage}`, 'latin1'), CRLF];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    parts.push(
      typeof name === 'string' ? Buffer.from(name, 'latin1') : name,
      COLON_SPACE,
      typeof value === 'string' ? Buffer.from(value, 'latin1') : value,
      CRLF,
    );
  }
  parts.push(CRLF);
  return Buffer.concat(parts);
}

const DEFAULT_VERSION = 'HTTP/1.1';
const VERSION_LENGTH = 'HTTP/1.1'.length;
const VERSION = /^HTTP\/\d\.\d$/;

/**
 * An HTTP transcript connection: the runner's Connection interface, over an undici Client that owns
 * the socket. `write()` sends one request; the rendered response arrives through `onData`, and its
 * end through `onReplyEnd`. The socket is connected here (same timeouts and errors as TCP targets)
 * and handed to undici once: if it closes, the connection stays closed, as a TCP connection would.
 */
export class HttpConnection extends Connection {
  /** The end of each response ends the reply (`onReplyEnd`): no quiet period. */
  override readonly settles = false;
  private client: Client | null = null;
  /** Requests written so far: the number of the latest, whose response's end ends the current reply. */
  private sent = 0;
  /** The HTTP version of the server's first status line (undici does not report it). */
  private version = DEFAULT_VERSION;
  /** Requests dispatched whose head undici has not written yet, oldest first. */
  private readonly unwritten: HttpRequest[] = [];
  private readonly replyHandler: HttpReplyHandler;

  constructor(name: string, target: Target, handler: HttpReplyHandler) {
    super(name, target, handler);
    this.replyHandler = handler;
  }

  /**
   * Connects (TLS for `https://`) within `timeoutMs` and puts an undici Client on the socket.
   * @throws ConnectError with the codes of TCP/TLS targets
   */
  override async open(timeoutMs: number, tls: TlsOptions = {}): Promise<void> {
    const target = this.target;
    if (target.kind !== 'tcp') throw new Error('HTTP target without host and port');
    const socket: Socket = await (target.tls
      ? settle(
          target,
          timeoutMs,
          tlsConnect({
            host: target.host,
            port: target.port,
            servername: defaultServername(target),
            ca: tls.ca,
            rejectUnauthorized: !tls.insecure,
            ALPNProtocols: ['http/1.1'],
          }),
          'secureConnect',
        )
      : settle(target, timeoutMs, netConnect({ host: target.host, port: target.port }), 'connect'));
    socket.setNoDelay(true);
    this.sniffVersion(socket);
    this.writeHeadsAsWritten(socket);
    // Ours come first: the connection is closed for the runner before undici fails the request.
    // What undici makes of the server closing (its own errors after the FIN, or UND_ERR_INFO when
    // it closes after `Connection: close`) is a close, as over TCP; anything else is a failure.
    let serverEnded = false;
    socket.on('end', () => {
      serverEnded = true;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.error === null && !serverEnded && err.code !== 'UND_ERR_INFO') this.error = err;
    });
    socket.on('close', () => this.markClosed(null));
    this.socket = socket;
    let given = false;
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    this.client = new Client(`${target.tls ? 'https' : 'http'}://${host}:${target.port}`, {
      pipelining: 1,
      // Only the runner's --timeout bounds a reply.
      headersTimeout: 0,
      bodyTimeout: 0,
      // Idle connections stay until the server closes them, as a raw TCP connection would.
      keepAliveTimeout: 600_000,
      keepAliveMaxTimeout: 600_000,
      keepAliveTimeoutThreshold: 0,
      connect: (_options, callback) => {
        // undici needs the callback asynchronous: called synchronously, the first request stalls.
        queueMicrotask(() => {
          if (given) {
            callback(new Error('the HTTP connection was closed'), null);
            return;
          }
          given = true;
          callback(null, socket);
        });
      },
    });
  }

  override async startTls(): Promise<Uint8Array[]> {
    // checkHttpSteps refuses starttls on HTTP connections before anything runs.
    throw new Error('starttls on an HTTP connection');
  }

  /** Sends the block as one request; its response is delivered to the handler as it arrives. */
  override write(bytes: Uint8Array): void {
    const client = this.client;
    if (client === null || this.closed || this.ended) return;
    const request = requestFor(bytes);
    const seq = ++this.sent;
    const options: Dispatcher.DispatchOptions = {
      path: request.path,
      method: request.method,
      headers: request.headers,
      body: request.body,
      // undici closes after HEAD unless told otherwise; keep the connection as the transcript asks.
      reset: request.close,
    };
    this.unwritten.push(request);
    client.dispatch(options, new ReplyReader(this, seq));
  }

  /** No more requests: close gracefully once the last response is in, then report the close. */
  override halfClose(): void {
    const client = this.client;
    if (client === null || this.ended || this.closed) return;
    this.ended = true;
    client.close().then(
      () => this.markClosed(null),
      () => this.markClosed(null),
    );
  }

  override destroy(): void {
    this.closed = true;
    const client = this.client;
    this.client = null;
    client?.destroy().catch(() => {});
    this.socket?.destroy();
  }

  /** @internal A piece of the rendered response (head or body bytes). */
  deliver(chunk: Buffer): void {
    if (!this.closed) this.replyHandler.onData(this, chunk);
  }

  /** @internal Response `seq` is complete. An older one only finishes bytes already delivered. */
  responseEnded(seq: number): void {
    if (seq === this.sent && !this.closed) this.replyHandler.onReplyEnd(this);
  }

  /** @internal undici gave up on a request: the connection is unusable from here on. */
  requestFailed(err: Error): void {
    this.markClosed(err as NodeJS.ErrnoException);
  }

  /** @internal The version for the status line of a response. */
  get httpVersion(): string {
    return this.version;
  }

  /**
   * undici writes `host`, `connection` and `content-length` itself, in lower case and in its own
   * places, whatever the transcript wrote. The transcript's request is sent as written, so each head
   * undici writes is put back in the transcript's order and spelling on its way to the socket; only
   * the headers undici adds (a Host, Connection or Content-Length the transcript does not have) stay
   * undici's.
   */
  private writeHeadsAsWritten(socket: Socket): void {
    const write = socket.write as (...args: unknown[]) => boolean;
    const unwritten = this.unwritten;
    const conn = this;
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
        out = headAsWritten(chunk, request);
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
  private sniffVersion(socket: Socket): void {
    const read = socket.read;
    const found = (version: string): void => {
      this.version = version;
    };
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
}

/** undici's handler for one request: renders the response into the connection. */
class ReplyReader implements Dispatcher.DispatchHandler {
  private readonly conn: HttpConnection;
  private readonly seq: number;

  constructor(conn: HttpConnection, seq: number) {
    this.conn = conn;
    this.seq = seq;
  }

  onRequestStart(): void {}

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    // rawHeaders keep the server's names, order and repeats; the headers object lowercases and merges,
    // so it is only the fallback should undici ever not pass raw headers on.
    let raw: (Buffer | string)[];
    if (Array.isArray(controller.rawHeaders)) {
      raw = controller.rawHeaders;
    } else {
      raw = [];
      for (const [name, value] of Object.entries(headers)) {
        for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value])
          raw.push(name, one);
      }
    }
    this.conn.deliver(renderHead(this.conn.httpVersion, statusCode, statusMessage ?? '', raw));
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.conn.deliver(chunk);
  }

  onResponseEnd(): void {
    this.conn.responseEnded(this.seq);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.conn.requestFailed(err);
  }
}
