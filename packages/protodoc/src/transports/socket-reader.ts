/**
 * How a byte-stream socket hands over what it reads: through net's `onread` (libuv reads straight into a
 * buffer of ours, and one callback takes the bytes) instead of a Readable stream's `'data'` events.
 *
 * Why: Node otherwise runs every read through the stream machinery (a new ArrayBuffer, `push`,
 * `addChunk`, `Readable.read`, `maybeReadMore` on the next tick), which a cold process interprets and
 * then compiles. For 10,000 PING round trips a Node client reading this way ran 314 M instructions against
 * 494 M reading `'data'` (bench/README.md, benchmark 1). `'end'`, `'error'` and `'close'` come as before.
 *
 * The bytes stay valid: each read goes into the part of a 64 KB pool after the last read's bytes, and a
 * part once read into is never written again (the pool is replaced when little of it is left), so the
 * runner and the matcher may keep a chunk as long as they like, as they could a `'data'` chunk. One pool
 * per socket: two sockets reading into one free part would write over each other's bytes.
 */
import type { OnReadOpts } from 'node:net';

const POOL_BYTES = 64 * 1024;
/** A read into less room than this would split a large reply into many small reads: a new pool then. */
const MIN_READ_BYTES = 16 * 1024;

export class SocketReader {
  private pool = Buffer.allocUnsafeSlow(POOL_BYTES);
  private used = 0;
  /** The part of the pool the socket reads into next: from `used` on. */
  private free: Buffer = this.pool;
  /** Told of each read's bytes once started; null before (the bytes wait in `early`) and after `stop()`. */
  private deliver: ((chunk: Buffer) => void) | null = null;
  /** Bytes read before `start()`, or before the tick after it: delivered in order then. */
  private early: Buffer[] | null = [];

  /** For `net.connect` and `tls.connect` (a new TLS connection; an upgraded one reads through `'data'`). */
  readonly onread: OnReadOpts = {
    // Called when the socket's handle is made, then after each callback: where the next read goes.
    buffer: (): Uint8Array => this.free,
    callback: (bytes: number): boolean => {
      const chunk = this.free.subarray(0, bytes);
      this.used += bytes;
      if (POOL_BYTES - this.used < MIN_READ_BYTES) {
        this.pool = Buffer.allocUnsafeSlow(POOL_BYTES);
        this.used = 0;
        this.free = this.pool;
      } else {
        this.free = this.pool.subarray(this.used);
      }
      if (this.deliver !== null) this.deliver(chunk);
      else if (this.early !== null) this.early.push(chunk);
      return true;
    },
  };

  /**
   * Delivers the bytes from here on to `deliver` (a Buffer nothing writes into again). Those read before
   * (a greeting can come with the end of a TLS handshake) follow on the next tick, as a stream's first
   * `'data'` events follow the listener: whoever opened the socket hears that it is open first.
   */
  start(deliver: (chunk: Buffer) => void): void {
    const early = this.early;
    if (early === null) return;
    if (early.length === 0) {
      this.early = null;
      this.deliver = deliver;
      return;
    }
    process.nextTick(() => {
      if (this.early === null) return; // stopped
      this.early = null;
      this.deliver = deliver;
      for (const chunk of early) deliver(chunk);
    });
  }

  /** Nothing more is delivered (the socket was handed to TLS, or dropped). */
  stop(): void {
    this.early = null;
    this.deliver = null;
  }
}
