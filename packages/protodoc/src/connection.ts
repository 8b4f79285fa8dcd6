/**
 * One client connection of a transcript: connect (TCP, TLS or Unix socket) within a time bound,
 * upgrade to TLS mid-stream (STARTTLS), hand every received chunk to the runner, half-close.
 * It knows nothing about expected replies: bytes go straight to the handler as they arrive.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { ConnectError, type ProtodocError, StartTlsError } from './errors.js';
import { defaultServername, type Target } from './target.js';

/** How to verify the server's certificate, for `tls://` targets and `>>>! starttls`. */
export interface TlsOptions {
  /** CA certificate(s), PEM, that the server's certificate must chain to. @default Node's bundled CAs */
  ca?: string | Buffer;
  /** Accept any certificate, even self-signed or for another name. @default false */
  insecure?: boolean;
}

/** Error codes of the `ConnectError`s this module throws. */
export const CONNECT_ERROR_CODES = {
  /** Refused, unresolvable host, missing Unix socket, network unreachable. */
  connect: 'PROTODOC_ERR_CONNECT',
  /** Connecting or the TLS handshake took longer than the timeout. */
  timeout: 'PROTODOC_ERR_CONNECT_TIMEOUT',
  /** The TLS handshake failed (certificate not trusted, wrong name, not a TLS server). */
  tls: 'PROTODOC_ERR_TLS',
} as const;

/** Receives what happens on a connection. Called synchronously from socket events. */
export interface ConnectionHandler {
  /** Bytes arrived. The buffer is the socket's own; keep it or copy what you need before returning. */
  onData(conn: Connection, chunk: Buffer): void;
  /** The server closed (EOF, reset or other error); `conn.error` says which. No more data follows. */
  onClose(conn: Connection): void;
}

/** Human-readable reason for a socket error, for `cannot connect to TARGET: REASON`. */
function describe(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ENOENT':
      return 'no such socket';
    case 'ECONNRESET':
      return 'connection reset by peer';
    default:
      return err.message;
  }
}

export class Connection {
  /** The current socket: the plain one, or the TLS one after an upgrade; null before `open()`. */
  socket: Socket | null = null;
  /** No more bytes will arrive: the server closed, reset, or we destroyed the socket. */
  closed = false;
  /** The socket error that closed the connection (ECONNRESET, EPIPE, ...), if any. */
  error: NodeJS.ErrnoException | null = null;
  /** We half-closed (sent FIN). */
  ended = false;
  /**
   * Bytes received while no step was reading this connection, in order: the start of its next
   * step's reply, or leftover at the end. Owned by the runner.
   */
  readonly unread: Uint8Array[] = [];
  /**
   * A reply ending in `...` completes after a quiet period. False where the protocol marks the end of
   * a reply itself (HTTP: the end of the response, however slow the body).
   */
  readonly settles: boolean = true;
  /** Told of every byte written, as written; set only when the run is traced (`-v`). */
  onSent: ((conn: Connection, bytes: Uint8Array) => void) | null = null;

  private readonly onDataBound = (chunk: Buffer): void => this.handler.onData(this, chunk);
  private readonly onEndBound = (): void => this.markClosed(null);
  private readonly onErrorBound = (err: NodeJS.ErrnoException): void => this.markClosed(err);
  private readonly onCloseBound = (): void => this.markClosed(null);

  /** The connection's name in the transcript (`main` or `>>>@NAME`). */
  readonly name: string;
  readonly target: Target;
  private readonly handler: ConnectionHandler;

  constructor(name: string, target: Target, handler: ConnectionHandler) {
    this.name = name;
    this.target = target;
    this.handler = handler;
  }

  /**
   * Connects and, for `tls://` targets, completes the TLS handshake, both within `timeoutMs`.
   * @throws ConnectError with a code from CONNECT_ERROR_CODES
   */
  async open(timeoutMs: number, tls: TlsOptions = {}): Promise<void> {
    const target = this.target;
    // node:tls is loaded only when needed: it is a noticeable share of start-up for plain TCP runs.
    const tlsConnect = target.kind === 'tcp' && target.tls ? (await import('node:tls')).connect : null;
    const socket = await settle(
      target,
      timeoutMs,
      target.kind === 'unix'
        ? netConnect({ path: target.path, allowHalfOpen: true })
        : tlsConnect !== null
          ? tlsConnect(
              halfOpen({
                host: target.host,
                port: target.port,
                servername: defaultServername(target),
                ca: tls.ca,
                rejectUnauthorized: !tls.insecure,
              }),
            )
          : netConnect({ host: target.host, port: target.port, allowHalfOpen: true }),
      target.kind === 'tcp' && target.tls ? 'secureConnect' : 'connect',
    );
    // Each step is one small write answered by one small reply: Nagle would add a delay to every one.
    socket.setNoDelay(true);
    this.attach(socket);
  }

  /**
   * Upgrades the open connection to TLS (STARTTLS), within `timeoutMs`. Later bytes arrive decrypted.
   * @returns the bytes that arrived in plain text while the upgrade began (taken out of `unread`):
   *   they were sent before the handshake, so they cannot belong to the TLS session
   * @throws ConnectError with a code from CONNECT_ERROR_CODES
   */
  async startTls(timeoutMs: number, tls: TlsOptions = {}, servername?: string): Promise<Uint8Array[]> {
    const plain = this.socket;
    if (plain === null || this.closed) {
      throw new StartTlsError(
        this.target.text,
        `STARTTLS on ${this.target.text} failed: the server closed the connection before the handshake`,
      );
    }
    const { connect: tlsConnect } = await import('node:tls');
    // Detach first: the TLS socket takes over reading; the plain socket must not report its raw bytes.
    this.detach(plain);
    // Whatever was read until now came in plain text; from here on only decrypted bytes arrive.
    const plainText = this.unread.splice(0);
    const secure = await settle(
      this.target,
      timeoutMs,
      tlsConnect(
        halfOpen({
          socket: plain,
          servername: servername ?? defaultServername(this.target),
          ca: tls.ca,
          rejectUnauthorized: !tls.insecure,
        }),
      ),
      'secureConnect',
      true,
    );
    this.attach(secure);
    return plainText;
  }

  /** Sends bytes; errors surface through `onClose` with `error` set. */
  write(bytes: Uint8Array): void {
    if (this.socket !== null && !this.closed && !this.ended) {
      this.socket.write(bytes);
      if (this.onSent !== null) this.onSent(this, bytes);
    }
  }

  /** Sends FIN: we will send nothing more; the server may still answer and should then close. */
  halfClose(): void {
    // After the server closed there is nobody to tell; destroy() releases the socket.
    if (this.socket !== null && !this.ended && !this.closed) {
      this.ended = true;
      this.socket.end();
    }
  }

  /** Closes at once, without reporting it to the handler. */
  destroy(): void {
    if (this.socket !== null) {
      this.detach(this.socket);
      // Swallow errors of a socket we are abandoning (e.g. EPIPE from a pending write).
      this.socket.on('error', () => {});
      this.socket.destroy();
    }
    this.closed = true;
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.on('data', this.onDataBound);
    socket.on('end', this.onEndBound);
    socket.on('error', this.onErrorBound);
    socket.on('close', this.onCloseBound);
  }

  private detach(socket: Socket): void {
    socket.off('data', this.onDataBound);
    socket.off('end', this.onEndBound);
    socket.off('error', this.onErrorBound);
    socket.off('close', this.onCloseBound);
  }

  /** Records the error (the first one wins) and reports the close to the handler once. */
  protected markClosed(err: NodeJS.ErrnoException | null): void {
    if (err !== null && this.error === null) this.error = err;
    if (this.closed) return;
    this.closed = true;
    this.handler.onClose(this);
  }
}

/**
 * Adds `allowHalfOpen`, which tls.connect passes to its TLSSocket but @types/node does not list:
 * after the server's FIN we may still need to send, and after ours we still read.
 */
function halfOpen(options: ConnectionOptions): ConnectionOptions {
  return Object.assign(options, { allowHalfOpen: true });
}

/**
 * Waits for `readyEvent` on a connecting socket, bounded by `timeoutMs`; on error or timeout the
 * socket is destroyed and a ConnectError naming the target is thrown (a StartTlsError for the
 * handshake of a STARTTLS upgrade, `starttls`, on a connection that is already open).
 */
export function settle<S extends Socket | TLSSocket>(
  target: Target,
  timeoutMs: number,
  socket: S,
  readyEvent: 'connect' | 'secureConnect',
  starttls = false,
): Promise<S> {
  return new Promise<S>((resolve, reject) => {
    const isTls = readyEvent === 'secureConnect';
    // The reason, said as what failed: connecting, a TLS target's handshake, or a STARTTLS upgrade.
    const error = (reason: string, code: string, cause?: unknown): ProtodocError => {
      const options = cause === undefined ? undefined : { cause };
      if (!starttls) return new ConnectError(target.text, reason, code, options);
      const what = reason.replace(/^TLS handshake (failed: )?/, '');
      const message = reason.startsWith('TLS handshake timed out')
        ? `STARTTLS handshake with ${target.text} ${what}`
        : `STARTTLS handshake with ${target.text} failed: ${what}`;
      return new StartTlsError(target.text, message, code, options);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off(readyEvent, onReady);
      socket.off('error', onError);
      socket.off('close', onEarlyClose);
    };
    const fail = (err: ProtodocError): void => {
      cleanup();
      socket.on('error', () => {});
      socket.destroy();
      reject(err);
    };
    const onReady = (): void => {
      cleanup();
      resolve(socket);
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      // A TCP-level failure is a connect error even on a TLS target; anything else during the
      // handshake (certificate, protocol) is a TLS error.
      const tcpLevel =
        err.syscall === 'connect' || err.syscall === 'getaddrinfo' || err.code === 'ECONNREFUSED';
      fail(
        error(
          isTls && !tcpLevel ? `TLS handshake failed: ${describe(err)}` : describe(err),
          isTls && !tcpLevel ? CONNECT_ERROR_CODES.tls : CONNECT_ERROR_CODES.connect,
          err,
        ),
      );
    };
    const onEarlyClose = (): void => {
      fail(
        error(
          isTls
            ? 'TLS handshake failed: the server closed the connection'
            : 'the server closed the connection',
          isTls ? CONNECT_ERROR_CODES.tls : CONNECT_ERROR_CODES.connect,
        ),
      );
    };
    const timer = setTimeout(() => {
      fail(
        error(
          `${isTls ? 'TLS handshake' : 'connecting'} timed out after ${formatMs(timeoutMs)}`,
          CONNECT_ERROR_CODES.timeout,
        ),
      );
    }, timeoutMs);
    socket.once(readyEvent, onReady);
    socket.once('error', onError);
    socket.once('close', onEarlyClose);
  });
}

/** `500ms`, `5s`, `1.5s`: the way durations are written on the command line. */
export function formatMs(ms: number): string {
  return ms < 1000 || ms % 100 !== 0 ? `${ms}ms` : `${ms / 1000}s`;
}
