/**
 * WebSocket targets (`ws://HOST:PORT/PATH`, `wss://HOST:PORT/PATH`; FORMAT §14) through the `ws`
 * package: the socket is connected here (same timeouts and errors as a `tls://` target), `ws` does the
 * opening handshake and the framing on it. A step's block is one message, text unless the step is
 * `binary`; `>>>! close` sends a close frame. What the server sends reaches the matcher as lines, one
 * per message:
 *
 *     hello                 a text message, in the notation of escapes (`\\` `\n` `\r` `\xHH` ...)
 *     {"a":1,\n "b":2}      (one line, however many lines the message has)
 *     a\\nb                 (a backslash and an n: not a line feed)
 *     \binary \x01\x02      a binary message: `\binary`, a space, its bytes in the same notation
 *     \close 1000 bye       the server's close frame: its code and reason
 *
 * A message says where it ends, but not how many messages a reply has: as over a byte stream, a reply
 * is complete when its lines are, or after quiet when it ends in `...`.
 */
import { isUtf8 } from 'node:buffer';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { now } from '../clock.js';
import { formatMs } from '../duration.js';
import { ConnectError, UsageError } from '../errors.js';
import { decodeEscapes, formatEscaped } from '../escapes.js';
import { authority, type Target } from '../target.js';
import type { LineNotation } from '../template.js';
import type { Step, Transcript } from '../transcript-model.js';
import { renderHead } from './http-h1.js';
import { CONNECT_ERROR_CODES, connectSocket, describe } from './socket.js';
import { type TlsOptions, Transport, type TransportEvents, type TransportModule } from './transport.js';
import { type HandshakeRequest, parseHandshake } from './websocket-handshake.js';

const LF = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;

/**
 * A block as the text message it sends: each CRLF written as LF and the last line's ending dropped, so
 * that a block's lines are joined with LF (`>>> a` `>>> b` sends `a\nb`).
 */
export function textMessage(block: Uint8Array): Buffer {
  const bytes = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === LF) end -= end > 1 && bytes[end - 2] === CR ? 2 : 1;
  const out = Buffer.allocUnsafe(end);
  let n = 0;
  for (let i = 0; i < end; i++) {
    const b = bytes[i]!;
    if (b === CR && bytes[i + 1] === LF && i + 1 < end) continue;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/** Bytes a message may hold as they are in its line: printable ASCII but the backslash. */
function plainAscii(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b < 0x20 || b > 0x7e || b === BACKSLASH) return false;
  }
  return true;
}

const BINARY_PREFIX = Buffer.from('\\binary');
const NEWLINE = Buffer.of(LF);
const SPACE = Buffer.of(0x20);

/**
 * A message as one received line (FORMAT §14): its bytes in the notation reports use for bytes (§4.7,
 * `formatEscaped`), so that no two messages read alike: a backslash is `\\`, a line feed `\n`, a CR
 * `\r`, other control bytes and bytes that are not UTF-8 `\xHH`, invisible characters `\u{HEX}`. A
 * binary message starts `\binary` (then a space and its bytes, when it has any), which no text message's
 * line can: its own backslashes are doubled. Then an LF.
 * @example messageLine(Buffer.from('a\nb'), false) // 'a\\nb\n': a line feed in the message
 * @example messageLine(Buffer.from('a\\nb'), false) // 'a\\\\nb\n': a backslash and an n
 */
export function messageLine(data: Uint8Array, binary: boolean): Buffer {
  // The common message, printable ASCII, is its own notation: no string is made.
  const body = plainAscii(data)
    ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    : Buffer.from(formatEscaped(data), 'utf8');
  if (!binary) return Buffer.concat([body, NEWLINE]);
  return Buffer.concat(body.length === 0 ? [BINARY_PREFIX, NEWLINE] : [BINARY_PREFIX, SPACE, body, NEWLINE]);
}

/**
 * A message's bytes as its line shows them, and back (FORMAT §14): a value goes into an expected line
 * escaped as the message's bytes are, and a capture is the text it stands for (`a\\b` captures a, a
 * backslash, b), so that it is sent back as the server sent it. What is not the notation whole (a
 * capture that took half of a `\\`) is taken as it reads.
 */
export const ESCAPED_LINES: LineNotation = {
  show: (value) => (plainAscii(value) ? value : Buffer.from(formatEscaped(value), 'utf8')),
  read(shown) {
    if (!shown.includes(BACKSLASH)) return shown;
    try {
      return decodeEscapes(
        Buffer.from(shown.buffer, shown.byteOffset, shown.byteLength).toString('utf8'),
        true,
      );
    } catch {
      return shown;
    }
  },
};

/** The line a close frame reads as: `\close CODE` and, when there is one, a space and its REASON. */
export function closeLine(code: number, reason: Uint8Array): Buffer {
  const head = Buffer.from(`\\close ${code}${reason.length > 0 ? ' ' : ''}`, 'latin1');
  return Buffer.concat([head, messageLine(reason, false)]);
}

/**
 * The close codes a client may send (RFC 6455 §7.4; 1004–1006 and 1015 are never sent, 1016–2999 are
 * reserved for the protocol's own extensions), as `ws` allows them.
 */
function sendableCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/** What is wrong with sending `block` on a WebSocket as `step` says, or null. */
function unsendable(block: Uint8Array, step: Step): string | null {
  if (step.handshake) {
    if (step.binary) return "a handshake block is header lines: the 'binary' flag has no meaning there";
    const request = parseHandshake(block);
    return typeof request === 'string' ? `the handshake block is not header lines: ${request}` : null;
  }
  if (step.binary || step.close !== undefined) return null;
  return isUtf8(textMessage(block))
    ? null
    : "a text message must be UTF-8 (RFC 6455 §5.6): give the block the 'binary' flag to send these bytes";
}

/** A response head as the transcript reads it: the status line, each raw header, the empty line (§13). */
export function responseHead(res: IncomingMessage): Buffer {
  // RFC 9112: the space after the status code is there even when the reason phrase is empty.
  // node:http gives the raw headers as latin1 strings: one char per byte, as received.
  const raw = res.rawHeaders.map((header) => Buffer.from(header, 'latin1'));
  return renderHead(`HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage ?? ''}`, raw);
}

/** One transcript connection over a WebSocket. */
export class WebSocketTransport extends Transport {
  /** A reply is any number of messages: nothing says the last one has come. */
  readonly framed = false;
  override readonly notation = ESCAPED_LINES;
  private ws: WebSocket | null = null;
  /** The connected socket while it waits for a `>>>! handshake` step to start the handshake on it. */
  private socket: Socket | null = null;

  /**
   * Connects (TLS for `wss://`), then does the opening handshake, both within `timeoutMs`; when `first`
   * is a `>>>! handshake` step, only connects, and that step does the handshake.
   * @throws ConnectError: the codes of TCP/TLS targets; PROTODOC_ERR_CONNECT also when the server does
   *   not accept the handshake (naming the HTTP status it answered with)
   */
  async open(timeoutMs: number, tls: TlsOptions = {}, first?: Step): Promise<void> {
    const target = this.target;
    if (target.kind !== 'tcp') throw new Error('WebSocket target without host and port');
    const started = now();
    const socket = await connectSocket(target, timeoutMs, tls, { alpn: ['http/1.1'] });
    socket.setNoDelay(true);
    if (first?.handshake) {
      // The step's block is the request's headers, its reply the answer: the step's timeout bounds it.
      this.socket = socket;
      socket.once('close', this.closedBeforeHandshake);
      socket.on('error', this.failedBeforeHandshake);
      this.opened = true;
      return;
    }
    const ws = this.upgrade(socket, { headers: {}, protocols: [] }, false);
    await handshake(ws, target, Math.max(1, timeoutMs - (now() - started)));
  }

  private readonly closedBeforeHandshake = (): void => this.markClosed(null);
  private readonly failedBeforeHandshake = (err: NodeJS.ErrnoException): void => {
    if (this.error === null) this.error = err;
  };

  /**
   * Starts the opening handshake on `socket`. `answered`: for a `>>>! handshake` step, whose reply is
   * the server's answer: the response head once the handshake is done, or a refusal's whole response.
   */
  private upgrade(socket: Socket, request: HandshakeRequest, answered: boolean): WebSocket {
    const target = this.target as Target & { kind: 'tcp' };
    const url = `${target.tls ? 'wss' : 'ws'}://${authority(target)}${target.resource ?? '/'}`;
    const ws = new WebSocket(url, request.protocols, {
      // The socket is ours, connected and checked above; `ws` only writes the handshake on it.
      createConnection: () => socket,
      followRedirects: false,
      headers: request.headers,
    });
    this.ws = ws;
    let head: Buffer | null = null;
    const answer = (): void => {
      if (head === null || this.closed) return;
      this.events.onData(this, head);
      head = null;
    };
    // Listening from the start: a message may come in the same packet as the handshake's answer, and be
    // emitted before `handshake` returns. Until then a failure is the handshake's to report.
    ws.once('open', () => {
      this.opened = true;
      // The head only now: its step may end on it, and the next one send at once, which `ws` takes
      // from here on.
      answer();
    });
    ws.on('message', (data: Buffer, binary: boolean) => {
      if (!this.closed) this.events.onData(this, messageLine(data, binary));
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      // Also `ws` refusing a handshake step's answer (no subprotocol of those offered, a wrong
      // Sec-WebSocket-Accept): its head is not delivered, so that the step fails, naming why, rather
      // than passing on lines that match an answer the connection did not survive.
      if (this.opened && this.error === null) this.error = err;
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.closed || !this.opened) return;
      if (code === 1006) {
        // No close frame came: the connection broke, as a reset does on a byte stream.
        this.markClosed(new Error('closed without a close frame (1006)'));
        return;
      }
      // The server's answer to the close `end()` sent is the end of the transcript, not a reply.
      if (!this.ended) this.events.onData(this, closeLine(code, reason));
      this.markClosed(null);
    });
    if (answered) {
      ws.once('upgrade', (res: IncomingMessage) => {
        head = responseHead(res);
      });
      ws.once('unexpected-response', (_req: ClientRequest, res: IncomingMessage) => this.refused(ws, res));
    }
    return ws;
  }

  /** A handshake step's server answered with another status than 101: its response is the reply. */
  private refused(ws: WebSocket, res: IncomingMessage): void {
    this.events.onData(this, responseHead(res));
    res.on('data', (chunk: Buffer) => {
      if (!this.closed) this.events.onData(this, chunk);
    });
    const done = (): void => {
      if (this.ws === ws) this.destroyWebSocket();
      this.markClosed(null);
    };
    res.once('end', done);
    res.once('error', (err: NodeJS.ErrnoException) => {
      if (this.error === null) this.error = err;
      done();
    });
  }

  /** Sends the block as one message, the step's close frame, or a `>>>! handshake` step's request. */
  send(block: Uint8Array, step: Step): void {
    if (step.handshake) {
      const socket = this.socket;
      if (socket === null || this.closed) return;
      this.socket = null;
      socket.off('close', this.closedBeforeHandshake);
      socket.off('error', this.failedBeforeHandshake);
      const request = parseHandshake(block);
      // checkSteps and checkBlock refuse such a block before it is sent.
      if (typeof request === 'string') throw new Error(`handshake block: ${request}`);
      if (this.onSent !== null) traceFirstWrite(socket, this);
      this.upgrade(socket, request, true);
      return;
    }
    const ws = this.ws;
    if (ws === null || this.closed || this.ended || ws.readyState !== WebSocket.OPEN) return;
    if (step.close !== undefined) {
      const { code, reason } = step.close;
      ws.close(code, reason);
      if (this.onSent !== null) this.onSent(this, closeLine(code, Buffer.from(reason)));
      return;
    }
    const message = step.binary ? Buffer.from(block) : textMessage(block);
    ws.send(message, { binary: step.binary === true });
    if (this.onSent !== null) this.onSent(this, messageLine(message, step.binary === true));
  }

  override checkBlock(block: Uint8Array, step: Step): string | null {
    return unsendable(block, step);
  }

  /** No more messages: the closing handshake (code 1000), then the close is reported. */
  end(): void {
    if (this.ended || this.closed) return;
    this.ended = true;
    const ws = this.ws;
    if (ws === null) {
      // Connected for a handshake step that never ran: nothing to close but the socket.
      this.socket?.destroy();
      return;
    }
    // After a `>>>! close` the handshake is under way already; `ws` waits for the server's answer.
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
  }

  destroy(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = null;
    this.destroyWebSocket();
  }

  private destroyWebSocket(): void {
    const ws = this.ws;
    this.ws = null;
    if (ws !== null) {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
    }
  }
}

/** Tells `conn.onSent` (-v) the handshake's request as it goes out: the first thing written on `socket`. */
function traceFirstWrite(socket: Socket, conn: Transport): void {
  const write = socket.write as (...args: unknown[]) => boolean;
  socket.write = function (this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
    socket.write = write as typeof socket.write;
    if (conn.onSent !== null) {
      if (typeof chunk === 'string') conn.onSent(conn, Buffer.from(chunk, 'latin1'));
      else if (chunk instanceof Uint8Array) conn.onSent(conn, chunk);
    }
    return write.call(this, chunk, ...rest);
  } as typeof socket.write;
}

/**
 * Waits for the opening handshake, bounded by `timeoutMs`; on failure the connection is dropped and a
 * ConnectError naming the target is thrown.
 */
function handshake(ws: WebSocket, target: Target, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      ws.off('open', onOpen);
      ws.off('unexpected-response', onResponse);
      ws.off('error', onError);
    };
    const fail = (reason: string, code: string = CONNECT_ERROR_CODES.connect, cause?: unknown): void => {
      done();
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(new ConnectError(target.text, reason, code, cause === undefined ? undefined : { cause }));
    };
    const onOpen = (): void => {
      done();
      resolve();
    };
    const onResponse = (
      _request: unknown,
      response: { statusCode?: number; statusMessage?: string },
    ): void => {
      const status = `${response.statusCode} ${response.statusMessage ?? ''}`.trimEnd();
      fail(`the server answered the WebSocket handshake with HTTP ${status}, not 101 Switching Protocols`);
    };
    const onError = (err: NodeJS.ErrnoException): void =>
      fail(`WebSocket handshake failed: ${describe(err)}`, undefined, err);
    const timer = setTimeout(
      () =>
        fail(`the WebSocket handshake timed out after ${formatMs(timeoutMs)}`, CONNECT_ERROR_CODES.timeout),
      timeoutMs,
    );
    ws.once('open', onOpen);
    ws.once('unexpected-response', onResponse);
    ws.once('error', onError);
  });
}

/** `ws` and `wss`. */
export const webSocketTransport: TransportModule = {
  create: (name: string, target: Target, events: TransportEvents) =>
    new WebSocketTransport(name, target, events),
  checkSteps(transcript: Transcript, targetOf: (connection: string) => Target | undefined): void {
    for (const step of transcript.steps) {
      const target = targetOf(step.connection);
      if (target === undefined) continue;
      const where = `${transcript.path}:${step.line}`;
      if (step.startTls) {
        const instead = target.kind === 'tcp' && target.tls ? 'it is TLS from its first byte' : 'use wss://';
        throw new UsageError(
          `${where}: starttls is not available on a ${target.scheme}:// connection (${instead})`,
        );
      }
      if (step.close !== undefined && !sendableCloseCode(step.close.code)) {
        throw new UsageError(
          `${where}: close code ${step.close.code} is never sent in a close frame (RFC 6455 §7.4): use 1000–1003, 1007–1014 or 3000–4999`,
        );
      }
      // A block with variables is checked when it is rendered (checkBlock).
      if (step.sendTemplate !== undefined || (step.send.length === 0 && !step.handshake)) continue;
      const wrong = unsendable(step.send, step);
      if (wrong !== null) throw new UsageError(`${where}: ${wrong}`);
    }
  },
};
