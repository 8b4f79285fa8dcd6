/**
 * Byte-stream targets (`HOST:PORT`, `tcp://`, `tls://`, `unix:`): connect (TCP, TLS or Unix socket)
 * within a time bound, upgrade to TLS mid-stream (STARTTLS), hand every received chunk to the runner,
 * half-close. A block is written as its bytes; nothing marks where a reply ends, so the runner waits
 * for the expected lines, a close, or quiet.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { StartTlsError } from '../errors.js';
import { defaultServername, type Target } from '../target.js';
import { stepFacts } from '../transcript-facts.js';
import type { Step, Transcript } from '../transcript-model.js';
import { connectSocket, halfOpen, settle } from './socket.js';
import { SocketReader } from './socket-reader.js';
import {
  refuseWebSocketSteps,
  type TlsOptions,
  Transport,
  type TransportEvents,
  type TransportModule,
} from './transport.js';

export class StreamTransport extends Transport {
  /** Nothing in a byte stream says where a reply ends. */
  readonly framed = false;
  /** The current socket: the plain one, or the TLS one after an upgrade; null before `open()`. */
  socket: Socket | null = null;

  private readonly onDataBound = (chunk: Buffer): void => this.events.onData(this, chunk);
  /** Reads the socket `open()` made (`onread`); an upgraded TLS socket is read through `'data'`. */
  private reader: SocketReader | null = null;
  private readonly onEndBound = (): void => this.markClosed(null);
  private readonly onErrorBound = (err: NodeJS.ErrnoException): void => this.markClosed(err);
  private readonly onCloseBound = (): void => this.markClosed(null);

  /**
   * Connects and, for `tls://` targets, completes the TLS handshake, both within `timeoutMs`.
   * @throws ConnectError with a code from CONNECT_ERROR_CODES
   */
  async open(timeoutMs: number, tls: TlsOptions = {}): Promise<void> {
    const target = this.target;
    const reader = new SocketReader();
    const { onread } = reader;
    this.reader = reader;
    const socket =
      target.kind === 'unix'
        ? await settle(
            target,
            timeoutMs,
            netConnect({ path: target.path, allowHalfOpen: true, onread }),
            'connect',
          )
        : await connectSocket(target, timeoutMs, tls, { halfOpen: true, onread });
    // Each step is one small write answered by one small reply: Nagle would add a delay to every one.
    socket.setNoDelay(true);
    this.attach(socket);
    reader.start(this.onDataBound);
    this.opened = true;
  }

  /**
   * Upgrades the open connection to TLS (STARTTLS), within `timeoutMs`. Later bytes arrive decrypted.
   * @returns the bytes that arrived in plain text while the upgrade began (taken out of `unread`):
   *   they were sent before the handshake, so they cannot belong to the TLS session
   * @throws ConnectError with a code from CONNECT_ERROR_CODES
   */
  override async startTls(
    timeoutMs: number,
    tls: TlsOptions = {},
    servername?: string,
  ): Promise<Uint8Array[]> {
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
    this.reader?.stop();
    this.reader = null;
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

  /** Writes the block's bytes. */
  send(bytes: Uint8Array, _step?: Step): void {
    if (this.socket !== null && !this.closed && !this.ended) {
      this.socket.write(bytes);
      if (this.onSent !== null) this.onSent(this, bytes);
    }
  }

  /** Sends FIN: we will send nothing more; the server may still answer and should then close. */
  end(): void {
    // After the server closed there is nobody to tell; destroy() releases the socket.
    if (this.socket !== null && !this.ended && !this.closed) {
      this.ended = true;
      this.socket.end();
    }
  }

  /** Closes at once, without reporting it to the handler. */
  destroy(): void {
    this.reader?.stop();
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
    // Without a reader (the socket STARTTLS made), its bytes come as `'data'` events.
    if (this.reader === null) socket.on('data', this.onDataBound);
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
}

/** `tcp`, `tls` and `unix`: every block can go over a byte stream, and STARTTLS. */
export const streamTransport: TransportModule = {
  create: (name: string, target: Target, events: TransportEvents) =>
    new StreamTransport(name, target, events),
  checkSteps(transcript: Transcript, targetOf: (connection: string) => Target | undefined): void {
    // Only WebSocket steps carry what a byte stream refuses: the transcript's one pass says whether any does.
    if (!stepFacts(transcript).webSocket) return;
    const steps = transcript.steps;
    // Indexed, not for-of: a cold process interprets this loop once per step, and an iterator result each
    // time is garbage the run's scavenges then pay for.
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      if (step.close === undefined && step.binary === undefined && step.handshake === undefined) continue;
      const target = targetOf(step.connection);
      if (target !== undefined) refuseWebSocketSteps(transcript, step, target);
    }
  },
};
