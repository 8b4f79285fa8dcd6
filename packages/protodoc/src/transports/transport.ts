/**
 * The contract between the runner and a transport: one transcript connection, carried over a byte
 * stream (tcp, tls, unix), HTTP through undici (http, https, h2, h2c) or WebSocket (ws, wss).
 *
 * A transport takes a step's send block, and hands back what the server answered as bytes for the
 * matcher: a byte stream's chunks as they arrive, an HTTP response written out as text, each WebSocket
 * message as one line. Where the protocol itself says that a reply is over (the end of an HTTP
 * response) it says so (`onReplyEnd`); elsewhere the runner waits for quiet. Nothing above a transport
 * knows which one it has, as nothing above undici's client knows whether it got `connectH1` or `connectH2`.
 */
import { UsageError } from '../errors.js';
import type { Target } from '../target.js';
import { AS_BYTES, type LineNotation } from '../template.js';
import type { Step, Transcript } from '../transcript-model.js';

/** How to verify the server's certificate, for TLS targets and `>>>! starttls`. */
export interface TlsOptions {
  /** CA certificate(s), PEM, that the server's certificate must chain to. @default Node's bundled CAs */
  ca?: string | Buffer;
  /** Accept any certificate, even self-signed or for another name. @default false */
  insecure?: boolean;
}

/** What a transport tells the runner; called synchronously from I/O events. */
export interface TransportEvents {
  /** Reply bytes arrived. The buffer may be the socket's own: keep it or copy what you need before returning. */
  onData(conn: Transport, chunk: Buffer): void;
  /** The reply to the latest block is complete (only transports whose replies are `framed`). */
  onReplyEnd(conn: Transport): void;
  /** The server closed (EOF, reset or other error); `conn.error` says which. No more data follows. */
  onClose(conn: Transport): void;
}

/**
 * One client connection of a transcript. The runner calls `open` once, then `send` for each step's
 * block, then `end` after the last step (or `destroy` to drop it). It owns `unread`.
 */
export abstract class Transport {
  /** The connection's name in the transcript (`main` or `>>>@NAME`). */
  readonly name: string;
  readonly target: Target;
  /** `open()` has succeeded: blocks can be sent. */
  opened = false;
  /** No more bytes will arrive: the server closed, reset, or we destroyed the connection. */
  closed = false;
  /** The error that closed the connection (ECONNRESET, EPIPE, an HTTP client's error, ...), if any. */
  error: NodeJS.ErrnoException | null = null;
  /** We said we are done (`end()`): the server may still answer, and should then close. */
  ended = false;
  /**
   * Bytes received while no step was reading this connection, in order: the start of its next
   * step's reply, or leftover at the end. Owned by the runner.
   */
  readonly unread: Uint8Array[] = [];
  /** Told of every byte sent, as sent (a message or request in its text form); set only under `-v`. */
  onSent: ((conn: Transport, bytes: Uint8Array) => void) | null = null;
  /**
   * The protocol marks the end of each reply (`onReplyEnd`: HTTP, the end of the response, however slow
   * the body). When false, a reply ending in `...` completes after a quiet period, and the end of the
   * transcript waits for the server to close or go quiet.
   */
  abstract readonly framed: boolean;
  /**
   * How the lines this connection hands the matcher show bytes: a value put into an expected line is
   * shown so, and a value captured from one read back (FORMAT §14: a WebSocket's lines are escaped).
   */
  readonly notation: LineNotation = AS_BYTES;
  protected readonly events: TransportEvents;

  constructor(name: string, target: Target, events: TransportEvents) {
    this.name = name;
    this.target = target;
    this.events = events;
  }

  /**
   * Connects (and does any handshake: TLS, the WebSocket upgrade) within `timeoutMs`. `first` is the
   * connection's first step: a WebSocket leaves its opening handshake to a `>>>! handshake` step.
   * @throws ConnectError with a code from CONNECT_ERROR_CODES (src/transports/socket.ts)
   */
  abstract open(timeoutMs: number, tls?: TlsOptions, first?: Step): Promise<void>;

  /**
   * Sends one step's block (its bytes, or `step.close`'s close frame: `block` is then empty), as the
   * step says (`step.binary`). Errors surface through `onClose` with `error` set.
   */
  abstract send(block: Uint8Array, step: Step): void;

  /**
   * Upgrades the open connection to TLS (`>>>! starttls`) within `timeoutMs`; only byte streams can, and
   * `checkSteps` refuses it elsewhere.
   * @returns the bytes that arrived in plain text while the upgrade began (taken out of `unread`)
   */
  startTls(_timeoutMs: number, _tls?: TlsOptions, _servername?: string): Promise<Uint8Array[]> {
    throw new Error(`${this.target.scheme}: no STARTTLS`);
  }

  /**
   * Checks a block whose variables were just filled in (`>>>(vars)`), before it is sent: its shape was
   * checked by `checkSteps` with stand-ins for the values, which may still break it.
   * @returns null when it can be sent, else what is wrong with it (`the send block is not ...: why`)
   */
  checkBlock(_block: Uint8Array, _step: Step): string | null {
    return null;
  }

  /** No more blocks: finish gracefully (a FIN, the last response, a closing handshake), then report the close. */
  abstract end(): void;

  /** Closes at once, without reporting it. */
  abstract destroy(): void;

  /** Records the error (the first one wins) and reports the close once. */
  protected markClosed(err: NodeJS.ErrnoException | null): void {
    if (err !== null && this.error === null) this.error = err;
    if (this.closed) return;
    this.closed = true;
    this.events.onClose(this);
  }
}

/** What a transport module exports: the registry (src/transports/index.ts) maps schemes to these. */
export interface TransportModule {
  /** A transport for one transcript connection, not yet open. */
  create(name: string, target: Target, events: TransportEvents): Transport;
  /**
   * Checks, before anything is sent, that every step on this transport's connections (those for which
   * `targetOf` gives a target) can go over it: an HTTP block is a request, STARTTLS is for byte streams.
   * @throws UsageError `PATH:LINE: ...` naming the step's first line
   */
  checkSteps(transcript: Transcript, targetOf: (connection: string) => Target | undefined): void;
}

/**
 * Refuses the steps only a WebSocket can carry (`>>>(binary)`, `>>>! close`, `>>>! handshake`) on a
 * connection of another transport: each transport's `checkSteps` calls it for its own connections.
 * @throws UsageError `PATH:LINE: ...` naming the step's line
 */
export function refuseWebSocketSteps(transcript: Transcript, step: Step, target: Target): void {
  const what =
    step.close !== undefined
      ? "'close'"
      : step.handshake
        ? "'handshake'"
        : step.binary
          ? "the 'binary' flag"
          : null;
  if (what === null) return;
  throw new UsageError(
    `${transcript.path}:${step.line}: ${what} is for WebSocket connections (ws://, wss://), not ${target.scheme}: ${target.text}`,
  );
}
