/**
 * HTTP targets (`http://HOST:PORT`, `https://HOST:PORT`): each step's send block is parsed as an
 * HTTP request (src/transports/http-request.ts) and sent through an undici Client (one keep-alive
 * connection per transcript connection, one request at a time); the response comes back rendered as
 * text, so the same matcher and the same transcript work as over raw TCP:
 *
 *     HTTP/1.1 200 OK\r\n            status line (version and reason as received)
 *     Content-Type: text/plain\r\n   headers as received (raw names, order, repeats), one per line
 *     \r\n
 *     hello                          body as delivered: chunked framing removed, content-encoding kept
 *
 * The end of the response body ends the step's reply (`onReplyEnd`), so a reply ending in `...`
 * completes without the settle wait. The socket is connected here, with the same timeouts and errors as
 * a `tls://` target, and handed to undici; what is particular to the HTTP version (src/transports/http-h1.ts)
 * is picked once, when the socket is up, as undici's client picks `connectH1` or `connectH2`. Loaded, with
 * undici, only for HTTP targets.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Client, type Dispatcher } from 'undici';
import { authority, defaultServername, type Target } from '../target.js';
import type { Transcript } from '../transcript-model.js';
import { connectH1, type HttpWire } from './http-h1.js';
import { checkHttpSend, checkHttpSteps, requestFor } from './http-request.js';
import { settle } from './socket.js';
import { type TlsOptions, Transport, type TransportEvents, type TransportModule } from './transport.js';

/**
 * One transcript connection over an undici Client that owns the socket. `send()` dispatches one request;
 * the rendered response arrives through `onData`, and its end through `onReplyEnd`. The socket is handed
 * to undici once: if it closes, the connection stays closed, as a TCP connection would.
 */
export class HttpTransport extends Transport {
  /** The end of each response ends the reply (`onReplyEnd`): no quiet period. */
  readonly framed = true;
  private client: Client | null = null;
  private socket: Socket | null = null;
  private wire: HttpWire | null = null;
  /** Requests sent so far: the number of the latest, whose response's end ends the current reply. */
  private sent = 0;

  /**
   * Connects (TLS for `https://`) within `timeoutMs` and puts an undici Client on the socket.
   * @throws ConnectError with the codes of TCP/TLS targets
   */
  async open(timeoutMs: number, tls: TlsOptions = {}): Promise<void> {
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
    this.wire = connectH1(socket, this);
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
    this.client = new Client(`${target.tls ? 'https' : 'http'}://${authority(target)}`, {
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
    this.opened = true;
  }

  /** Sends the block as one request; its response is delivered to the handler as it arrives. */
  send(bytes: Uint8Array): void {
    const client = this.client;
    if (client === null || this.closed || this.ended) return;
    const seq = ++this.sent;
    client.dispatch(this.wire!.options(requestFor(bytes)), new ReplyReader(this, seq));
  }

  override checkBlock(block: Uint8Array): string | null {
    const wrong = checkHttpSend(block);
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
  deliverHead(statusCode: number, statusMessage: string, rawHeaders: readonly (Buffer | string)[]): void {
    this.deliver(this.wire!.head(statusCode, statusMessage, rawHeaders));
  }

  /** @internal Response `seq` is complete. An older one only finishes bytes already delivered. */
  responseEnded(seq: number): void {
    if (seq === this.sent && !this.closed) this.events.onReplyEnd(this);
  }

  /** @internal undici gave up on a request: the connection is unusable from here on. */
  requestFailed(err: Error): void {
    this.markClosed(err as NodeJS.ErrnoException);
  }
}

/** undici's handler for one request: renders the response into the connection. */
class ReplyReader implements Dispatcher.DispatchHandler {
  private readonly conn: HttpTransport;
  private readonly seq: number;

  constructor(conn: HttpTransport, seq: number) {
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
    this.conn.deliverHead(statusCode, statusMessage ?? '', raw);
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

/** `http` and `https`. */
export const httpTransport: TransportModule = {
  create: (name: string, target: Target, events: TransportEvents) => new HttpTransport(name, target, events),
  checkSteps: (transcript: Transcript, targetOf: (connection: string) => Target | undefined) =>
    checkHttpSteps(transcript, targetOf),
};
