/**
 * `-v`: the conversation as it happens, in the report notation (hurl's `-v` marks): `>` a line sent,
 * `<` a line received, `*` what happened to a connection and how each step ended. Every line but a
 * step's outcome carries the time since the transcript started and the connection's name:
 *
 *     * examples/protodoc/redis.txt
 *     *     0.1ms main: connecting to 127.0.0.1:6379
 *     *     0.6ms main: connected
 *     >     0.8ms main: PING
 *     <     1.0ms main: +PONG
 *     * examples/protodoc/redis.txt:3: passed (0.2ms)
 *
 * Lines are cut at LF as the matcher cuts them and shown as a diff shows received lines (plain text,
 * or `>>>=` with escapes); a received line still without its LF is shown, as `>>>=(no-eol)`, once the
 * conversation moves on (the next send on its connection, the step's end, a close).
 */
import { styleText } from 'node:util';
import { ReceivedLines } from '../received-lines.js';
import type { RunEvent, TraceEvent } from '../results.js';
import { renderCapped } from './render.js';

/** Options of the verbose printer. */
export interface VerboseOptions {
  /**
   * Dim the `*` lines (the CLI does on a terminal that supports colour).
   * @default false
   */
  color?: boolean;
  /**
   * Most bytes of one line shown; the rest is counted.
   * @default 1000
   */
  maxLineBytes?: number;
  /**
   * Hides secret values (FORMAT §15): given the bytes of whole lines, returns them with each secret as
   * `{{name}}` (the CLI passes `Variables.redact`). @default none
   */
  redact?: (bytes: Uint8Array) => Uint8Array;
  /**
   * Print received lines only when their step ends (or the conversation moves on), not as they arrive:
   * a secret captured from a reply (`--secret NAME` of a capture) is known only then, and must not
   * show in the line it was captured from. Each line keeps the time it arrived. @default false
   */
  holdReceived?: boolean;
}

/** What {@link createVerbose} returns: feed it the run's trace and its progress events. */
export interface VerbosePrinter {
  trace(event: TraceEvent): void;
  event(event: RunEvent): void;
}

const EMPTY = Buffer.alloc(0);

/** `    12.3ms`: right-aligned, so the columns line up. */
function time(ms: number): string {
  return `${ms.toFixed(1)}ms`.padStart(9);
}

/**
 * A printer of the conversation that hands each piece of text (one or more whole lines) to `write`.
 * @example
 *   const verbose = createVerbose((text) => process.stderr.write(text));
 *   await checkFiles(files, { trace: verbose.trace, onEvent: verbose.event });
 */
export function createVerbose(write: (text: string) => void, options: VerboseOptions = {}): VerbosePrinter {
  const maxLineBytes = options.maxLineBytes ?? 1000;
  const redact = options.redact;
  const info = options.color
    ? (text: string) => styleText('dim', text, { validateStream: false })
    : (text: string) => text;
  // Received bytes of each connection after its last LF, by `path\0connection`.
  const partial = new Map<string, { bytes: Buffer; at: number }>();
  // With holdReceived: whole received lines not printed yet, by the same key.
  const held = new Map<string, { bytes: Buffer; at: number }[]>();

  const lines = (mark: string, at: number, connection: string, bytes: Uint8Array): string => {
    // Whole lines only (a received line waits for its LF): a secret is never cut in two here.
    const all = new ReceivedLines(redact === undefined ? bytes : redact(bytes));
    let out = '';
    for (let k = 0; k < all.length; k++) {
      out += `${mark} ${time(at)} ${connection}: ${renderCapped(all.line(k), maxLineBytes)}\n`;
    }
    return out;
  };
  /**
   * With holdReceived: prints the held bytes of a connection but its last `keep`, which belong to a
   * later step (they came in the same chunk), so a secret that step captures is known when they print.
   */
  const release = (path: string, connection: string, keep: number): string => {
    const key = `${path}\0${connection}`;
    const waiting = held.get(key) ?? [];
    const rest = partial.get(key);
    let free = (rest?.bytes.length ?? 0) - keep;
    for (const { bytes } of waiting) free += bytes.length;
    let out = '';
    const kept: { bytes: Buffer; at: number }[] = [];
    for (const chunk of waiting) {
      if (free >= chunk.bytes.length) {
        out += lines('<', chunk.at, connection, chunk.bytes);
        free -= chunk.bytes.length;
      } else {
        if (free > 0) out += lines('<', chunk.at, connection, chunk.bytes.subarray(0, free));
        kept.push({ bytes: chunk.bytes.subarray(Math.max(free, 0)), at: chunk.at });
        free = 0;
      }
    }
    if (kept.length > 0) held.set(key, kept);
    else held.delete(key);
    if (rest !== undefined && free > 0) {
      out += lines('<', rest.at, connection, rest.bytes.subarray(0, free));
      if (free < rest.bytes.length) partial.set(key, { bytes: rest.bytes.subarray(free), at: rest.at });
      else partial.delete(key);
    }
    return out;
  };
  const flush = (path: string, connection: string): string => {
    const key = `${path}\0${connection}`;
    let out = '';
    const waiting = held.get(key);
    if (waiting !== undefined) {
      held.delete(key);
      for (const { bytes, at } of waiting) out += lines('<', at, connection, bytes);
    }
    const rest = partial.get(key);
    if (rest === undefined) return out;
    partial.delete(key);
    return out + lines('<', rest.at, connection, rest.bytes);
  };
  const note = (event: TraceEvent, text: string): string =>
    info(`* ${time(event.at)} ${event.connection}: ${text}`) + '\n';

  return {
    trace(event: TraceEvent): void {
      const { path, connection } = event;
      switch (event.type) {
        case 'received': {
          const key = `${path}\0${connection}`;
          const before = partial.get(key)?.bytes ?? EMPTY;
          const bytes = before.length === 0 ? Buffer.from(event.bytes) : Buffer.concat([before, event.bytes]);
          const lf = bytes.lastIndexOf(0x0a);
          if (lf < bytes.length - 1) partial.set(key, { bytes: bytes.subarray(lf + 1), at: event.at });
          else partial.delete(key);
          if (lf < 0) return;
          const whole = bytes.subarray(0, lf + 1);
          if (!options.holdReceived) {
            write(lines('<', event.at, connection, whole));
            return;
          }
          const waiting = held.get(key);
          if (waiting === undefined) held.set(key, [{ bytes: whole, at: event.at }]);
          else waiting.push({ bytes: whole, at: event.at });
          return;
        }
        case 'sent':
          // Held lines wait for their step's end: what is held now is this step's reply, come early.
          write(
            (options.holdReceived ? '' : flush(path, connection)) +
              lines('>', event.at, connection, event.bytes),
          );
          return;
        case 'reply-end':
          if (options.holdReceived) write(release(path, connection, event.leftover));
          return;
        case 'connect':
          write(note(event, `connecting to ${event.target}`));
          return;
        case 'connected':
          write(note(event, 'connected'));
          return;
        case 'starttls':
          write(
            flush(path, connection) +
              note(
                event,
                `STARTTLS handshake${event.servername === undefined ? '' : ` (server name ${event.servername})`}`,
              ),
          );
          return;
        case 'secured':
          write(note(event, 'TLS established'));
          return;
        case 'half-close':
          write(flush(path, connection) + note(event, 'half-close (protodoc sends nothing more)'));
          return;
        case 'closed':
          write(
            flush(path, connection) +
              note(event, event.reason === undefined ? 'closed by the server' : `failed (${event.reason})`),
          );
      }
    },

    event(event: RunEvent): void {
      if (event.type === 'file-start') {
        write(info(`* ${event.path}`) + '\n');
      } else if (event.type === 'step-end') {
        const { step } = event;
        if (step.status === 'skipped') return;
        const outcome =
          step.status === 'passed'
            ? `passed (${step.durationMs.toFixed(1)}ms)`
            : `failed: ${step.failure?.message ?? 'failed'}`;
        const line = step.failure?.line ?? step.line;
        // Held lines were printed at the reply's end, up to what belongs to the next step.
        const before = options.holdReceived ? '' : flush(event.path, step.connection);
        write(before + info(`* ${event.path}:${line}: ${outcome}`) + '\n');
      } else if (event.type === 'file-end' || event.type === 'file-retry') {
        let out = '';
        const prefix = `${event.result.path}\0`;
        for (const key of new Set([...held.keys(), ...partial.keys()])) {
          if (key.startsWith(prefix)) out += flush(event.result.path, key.slice(prefix.length));
        }
        const { result } = event;
        let how = result.status === 'error' ? `could not run: ${result.error?.message}` : result.status;
        // --retries: this attempt failed, and the file runs again.
        if (event.type === 'file-retry')
          how += `; running it again (attempt ${event.attempt + 1} of ${event.attempts})`;
        write(`${out}${info(`* ${result.path}: ${how}`)}\n`);
      }
    },
  };
}
