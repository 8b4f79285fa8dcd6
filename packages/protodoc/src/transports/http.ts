/**
 * HTTP targets (`http://` and `https://` HTTP/1.1, `h2://` and `h2c://` HTTP/2, each `SCHEME://HOST:PORT`):
 * each step's send block is parsed as an HTTP request (src/transports/http-request.ts) and sent through an
 * undici Client (one keep-alive connection per transcript connection, one request at a time); the
 * response comes back rendered as text, so the same matcher and the same transcript work as over raw TCP:
 *
 *     HTTP/1.1 200 OK\r\n            status line (version and reason as received)
 *     Content-Type: text/plain\r\n   headers as received (raw names, order, repeats), one per line
 *     \r\n
 *     hello                          body as delivered: chunked framing removed, content-encoding kept
 *
 * The end of the response body ends the step's reply (`onReplyEnd`), so a reply ending in `...`
 * completes without the settle wait. The socket is connected here, with the same timeouts and errors as
 * a `tls://` target, and handed to undici; what is particular to the HTTP version (http-h1.ts, http-h2.ts)
 * is picked once, when the socket is up, as undici's client picks `connectH1` or `connectH2`; the version
 * is the target's scheme's, never the server's choice. Loaded, with undici, only for HTTP targets.
 */

import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Dispatcher, Client as UndiciClient } from 'undici';
import { ConnectError } from '../errors.js';
import { authority, type Target } from '../target.js';
import type { Transcript } from '../transcript-model.js';
import { connectH1, type HttpWire } from './http-h1.js';
import { connectH2 } from './http-h2.js';
import { checkHttpSend, checkHttpSteps, type HttpRequest, requestFor } from './http-request.js';
import { CONNECT_ERROR_CODES, connectSocket } from './socket.js';
import { type TlsOptions, Transport, type TransportEvents, type TransportModule } from './transport.js';

/**
 * undici's Client, from its own module: undici's index loads all of undici (fetch, WebSocket, caches, its
 * interceptors), about 110 ms of CPU at every start here, where a transcript needs the Client alone. undici
 * has no exports map, so the file is reachable; should a later undici move it, the index serves.
 */
const Client: typeof UndiciClient = (() => {
  const require = createRequire(import.meta.url);
  try {
    return require('undici/lib/dispatcher/client.js') as typeof UndiciClient;
  } catch {
    return (require('undici') as typeof import('undici')).Client;
  }
})();

/**
 * One transcript connection over an undici Client that owns the socket. `send()` dispatches one request;
 * the rendered response arrives through `onData`, and its end through `onReplyEnd`. The socket is handed
 * to undici once: if it closes, the connection stays closed, as a TCP connection would.
 */
export class HttpTransport extends Transport {
  /** The end of each response ends the reply (`onReplyEnd`): no quiet period. */
  readonly framed = true;
  private client: UndiciClient | null = null;
  private socket: Socket | null = null;
  private wire: HttpWire | null = null;
  /** Requests sent so far: the number of the latest, whose response's end ends the current reply. */
  private sent = 0;
  /** A request that closes the connection after its response is out (HTTP/2's `Connection: close`). */
  private closing = false;

  /**
   * Connects (TLS for `https://` and `h2://`) within `timeoutMs` and puts an undici Client on the socket.
   * Over TLS the protocol offered (ALPN) is the scheme's alone: `http/1.1`, or `h2`.
   * @throws ConnectError with the codes of TCP/TLS targets; PROTODOC_ERR_TLS also when an `h2://` server
   *   does not choose `h2`
   */
  async open(timeoutMs: number, tls: TlsOptions = {}): Promise<void> {
    const target = this.target;
    if (target.kind !== 'tcp') throw new Error('HTTP target without host and port');
    const h2 = target.scheme === 'h2' || target.scheme === 'h2c';
    const socket: Socket = await this.connect(timeoutMs, tls, h2);
    socket.setNoDelay(true);
    this.wire = h2 ? connectH2(socket, this) : connectH1(socket, this);
    // Ours come first: the connection is closed for the runner before undici fails the request.
    // What undici makes of the server closing (its own errors after the FIN, or UND_ERR_INFO when
    // it closes after `Connection: close`) is a close, as over TCP; anything else is a failure.
    let serverEnded = false;
    socket.on('end', () => {
      serverEnded = true;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // Nor is what undici makes of our own close (`end()`: UND_ERR_DESTROYED over HTTP/2).
      if (this.error === null && !serverEnded && !this.ended && err.code !== 'UND_ERR_INFO') this.error = err;
    });
    socket.on('close', () => this.markClosed(null));
    this.socket = socket;
    let given = false;
    this.client = new Client(`${target.tls ? 'https' : 'http'}://${authority(target)}`, {
      pipelining: 1,
      // Only the runner's --timeout bounds a reply.
      headersTimeout: 0,
      bodyTimeout: 0,
      // Idle connections stay until the server closes them, as a raw TCP connection would.
      keepAliveTimeout: 600_000,
      keepAliveMaxTimeout: 600_000,
      keepAliveTimeoutThreshold: 0,
      // HTTP/2: no PING frames the transcript did not ask for.
      pingInterval: 0,
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
    this.opened = true;
  }

  /** The socket, connected (and for TLS the handshake done, offering the scheme's protocol alone). */
  private async connect(timeoutMs: number, tls: TlsOptions, h2: boolean): Promise<Socket> {
    const target = this.target as Target & { kind: 'tcp' };
    let socket: Socket;
    try {
      socket = await connectSocket(target, timeoutMs, tls, { alpn: [h2 ? 'h2' : 'http/1.1'] });
    } catch (err) {
      // A server that speaks none of the protocols offered ends the handshake with an alert.
      const cause =
        err instanceof ConnectError ? (err.cause as NodeJS.ErrnoException | undefined) : undefined;
      if (h2 && cause?.code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL') throw noHttp2(target);
      throw err;
    }
    if (h2 && target.tls && (socket as TLSSocket).alpnProtocol !== 'h2') {
      // A server without HTTP/2 may still finish the handshake, choosing nothing: never fall back to 1.1.
      socket.destroy();
      throw noHttp2(target);
    }
    return socket;
  }

  /** Sends the block as one request; its response is delivered to the handler as it arrives. */
  send(bytes: Uint8Array): void {
    const client = this.client;
    if (client === null || this.closed || this.ended) return;
    const seq = ++this.sent;
    if (this.closing) return;
    const request = requestFor(bytes);
    // As an HTTP/1.1 server closes after `Connection: close`, nothing more goes out on this connection:
    // a request sent before the response has ended (its reply was complete early) is never written, and
    // its step fails as on a closed connection.
    if (this.wire!.closesAfter(request)) this.closing = true;
    client.dispatch(this.wire!.options(request), new ReplyReader(this, seq, request));
  }

  override checkBlock(block: Uint8Array): string | null {
    const wrong = checkHttpSend(block, this.target);
    return wrong === null ? null : `the send block is not an HTTP request: ${wrong}`;
  }

  /** No more requests: close gracefully once the last response is in, then report the close. */
  end(): void {
    const client = this.client;
    if (client === null || this.ended || this.closed) return;
    this.ended = true;
    client.close().then(
      () => this.markClosed(null),
      () => this.markClosed(null),
    );
  }

  destroy(): void {
    this.closed = true;
    const client = this.client;
    this.client = null;
    client?.destroy().catch(() => {});
    this.socket?.destroy();
  }

  /** @internal A piece of the rendered response (head or body bytes). */
  deliver(chunk: Buffer): void {
    if (!this.closed) this.events.onData(this, chunk);
  }

  /** @internal The response's head, rendered as the version writes it. */
  deliverHead(statusCode: number, statusMessage: string, rawHeaders: readonly Buffer[]): void {
    this.deliver(this.wire!.head(statusCode, statusMessage, rawHeaders));
  }

  /**
   * @internal Response `seq` is complete. An older one only finishes bytes already delivered. A request
   * that said `Connection: close` closes the connection now where undici would not (HTTP/2).
   */
  responseEnded(seq: number, request: HttpRequest): void {
    if (seq === this.sent && !this.closed) this.events.onReplyEnd(this);
    if (this.wire!.closesAfter(request)) this.end();
  }

  /** @internal undici gave up on a request: the connection is unusable from here on. */
  requestFailed(err: Error): void {
    if (!this.closed) this.markClosed(err as NodeJS.ErrnoException);
  }
}

/**
 * undici's handler for one request: renders the response into the connection. It has the handler
 * methods undici 7's Client calls itself (`onConnect`, `onHeaders`, `onData`, `onComplete`, `onError`;
 * marked deprecated in its types). A handler with the newer ones (`onRequestStart`,
 * `onResponseStart`, ...) is wrapped by undici in an adapter that builds a lower-cased headers object
 * from the raw headers and another from the trailers for every response, which nothing here reads:
 * about a tenth of the instructions of each request through this transport (bench/README.md,
 * benchmark 2). undici 8 (Node >= 22.19) calls only the newer methods, directly; moving to it means
 * renaming these, which the transport tests would show.
 */
class ReplyReader implements Dispatcher.DispatchHandler {
  private readonly conn: HttpTransport;
  private readonly seq: number;
  private readonly request: HttpRequest;

  constructor(conn: HttpTransport, seq: number, request: HttpRequest) {
    this.conn = conn;
    this.seq = seq;
    this.request = request;
  }

  onConnect(): void {}

  /** Also for each interim (1xx) response before the final one, as on the wire. */
  onHeaders(statusCode: number, rawHeaders: Buffer[], _resume: () => void, statusText: string): boolean {
    // The raw headers keep the server's names, order and repeats.
    this.conn.deliverHead(statusCode, statusText, rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.conn.deliver(chunk);
    return true;
  }

  onComplete(): void {
    this.conn.responseEnded(this.seq, this.request);
  }

  onError(err: Error): void {
    this.conn.requestFailed(err);
  }
}

/** `http`, `https`, `h2` and `h2c`. */
export const httpTransport: TransportModule = {
  create: (name: string, target: Target, events: TransportEvents) => new HttpTransport(name, target, events),
  checkSteps: (transcript: Transcript, targetOf: (connection: string) => Target | undefined) =>
    checkHttpSteps(transcript, targetOf),
};

/** The error of an `h2://` server that does not choose `h2` by ALPN: never a fallback to HTTP/1.1. */
function noHttp2(target: Target): ConnectError {
  return new ConnectError(
    target.text,
    'TLS handshake failed: the server did not choose HTTP/2 (ALPN h2); for HTTP/1.1 use https://',
    CONNECT_ERROR_CODES.tls,
  );
}
