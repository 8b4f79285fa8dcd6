/**
 * Opening a socket within a time bound, with the same errors for every transport: refused, timed out,
 * a failed TLS handshake, each said the same way whether the target is `tls://`, `https://`, `h2://` or
 * `wss://`, and whether the handshake opens the connection or upgrades it (STARTTLS).
 */
import { connect as netConnect, type OnReadOpts, type Socket } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { formatMs } from '../duration.js';
import { ConnectError, type ProtodocError, StartTlsError } from '../errors.js';
import { defaultServername, type Target } from '../target.js';
import type { TlsOptions } from './transport.js';

/** Error codes of the `ConnectError`s transports throw. */
export const CONNECT_ERROR_CODES = {
  /** Refused, unresolvable host, missing Unix socket, network unreachable. */
  connect: 'PROTODOC_ERR_CONNECT',
  /** Connecting or the TLS handshake took longer than the timeout. */
  timeout: 'PROTODOC_ERR_CONNECT_TIMEOUT',
  /** The TLS handshake failed (certificate not trusted, wrong name, not a TLS server). */
  tls: 'PROTODOC_ERR_TLS',
} as const;

/** Human-readable reason for a socket error, for `cannot connect to TARGET: REASON`. */
export function describe(err: NodeJS.ErrnoException): string {
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

/**
 * Adds `allowHalfOpen`, which tls.connect passes to its TLSSocket but @types/node does not list:
 * after the server's FIN we may still need to send, and after ours we still read.
 */
export function halfOpen(options: ConnectionOptions): ConnectionOptions {
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

/**
 * Connects to a network target within `timeoutMs`, and for a TLS one (`target.tls`) completes the
 * handshake, checking the certificate as `tls` says and offering `alpn` (the protocols, by ALPN) when
 * given. `halfOpen`: the socket stays writable after the server's FIN (byte streams). `onread`: what it
 * reads goes there instead of to `'data'` events (src/transports/socket-reader.ts).
 * @throws ConnectError with a code from CONNECT_ERROR_CODES
 */
export async function connectSocket(
  target: Target & { kind: 'tcp' },
  timeoutMs: number,
  tls: TlsOptions,
  options: { alpn?: string[]; halfOpen?: boolean; onread?: OnReadOpts } = {},
): Promise<Socket> {
  const allowHalfOpen = options.halfOpen === true;
  const { onread } = options;
  if (!target.tls) {
    const plain = { host: target.host, port: target.port, allowHalfOpen };
    return settle(
      target,
      timeoutMs,
      netConnect(onread === undefined ? plain : { ...plain, onread }),
      'connect',
    );
  }
  // node:tls is loaded only when needed: it is a noticeable share of start-up for plain TCP runs.
  const { connect: tlsConnect } = await import('node:tls');
  const secure: ConnectionOptions = {
    host: target.host,
    port: target.port,
    servername: defaultServername(target),
    ca: tls.ca,
    rejectUnauthorized: !tls.insecure,
  };
  if (options.alpn !== undefined) secure.ALPNProtocols = options.alpn;
  // tls.connect passes it on to its TLSSocket (decrypted bytes); @types/node does not list it there.
  if (onread !== undefined) Object.assign(secure, { onread });
  return settle(target, timeoutMs, tlsConnect(allowHalfOpen ? halfOpen(secure) : secure), 'secureConnect');
}
