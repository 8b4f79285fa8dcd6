/**
 * A run's log on disk: the bot's own lines (the command, how the run ended) and the test's output, capped so that a
 * runaway test cannot fill the disk of the machine that guards the target. Past the cap the first half is kept as
 * it came and the last half in memory, written at the end after a line saying how much was cut in between: the
 * start of a run (what it set up) and its end (why it failed) are what a developer reads.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** A run's log keeps at most this much of the test's output (head and tail), unless told otherwise. */
export const DEFAULT_LOG_LIMIT = 10 * 1024 * 1024;

const UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/**
 * Parses a size such as `10MiB`, `512KiB`, `1GiB` or `4096` (bytes); null when malformed.
 * @example parseSize('10MiB') // 10485760
 */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kib|mib|gib)?\s*$/i.exec(text);
  if (!m) return null;
  const bytes = Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]!;
  return bytes > 0 && Number.isFinite(bytes) ? Math.round(bytes) : null;
}

/** Bytes as people read them: `512 B`, `3.5 KiB`, `10 MiB`, `1 GiB`. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`;
  }
  return `${bytes} B`;
}

export class RunLogWriter {
  private readonly fd: number;
  private readonly limit: number;
  private headLeft: number;
  private readonly tailMax: number;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private cut = 0;
  /** The last bytes of output, for {@link lastLine}. */
  private recent = Buffer.alloc(0);
  private closed = false;

  /** Opens (appending to) the log at `path`; `limit` caps the test's output it keeps. */
  constructor(path: string, limit = DEFAULT_LOG_LIMIT) {
    this.fd = openSync(path, 'a', 0o600);
    this.limit = limit;
    this.headLeft = Math.ceil(limit / 2);
    this.tailMax = limit - this.headLeft;
  }

  /** A line of the bot's own, written at once (before any output, or by {@link close}). */
  note(text: string): void {
    if (!this.closed) writeSync(this.fd, text);
  }

  /** Output of the test. */
  output(chunk: Buffer): void {
    if (this.closed) return;
    this.recent = Buffer.concat([this.recent, chunk]).subarray(-4096);
    if (this.headLeft > 0) {
      const head = chunk.subarray(0, this.headLeft);
      writeSync(this.fd, head);
      this.headLeft -= head.length;
      chunk = chunk.subarray(head.length);
      if (chunk.length === 0) return;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tailBytes > this.tailMax) {
      const first = this.tail[0]!;
      const excess = this.tailBytes - this.tailMax;
      if (first.length <= excess) {
        this.tail.shift();
        this.tailBytes -= first.length;
        this.cut += first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailBytes -= excess;
        this.cut += excess;
      }
    }
  }

  /** The last non-empty line of output so far (what bwrap said when it could not set the sandbox up). */
  lastLine(): string {
    return (
      this.recent
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim())
        .at(-1) ?? ''
    );
  }

  /** Writes what was kept of the output's tail (after a line saying what was cut), then `trailer`, and closes. */
  close(trailer: string): void {
    if (this.closed) return;
    try {
      if (this.cut > 0) {
        writeSync(
          this.fd,
          `\n[premerge-bot: ${formatSize(this.cut)} (${this.cut} bytes) of output cut here: a run's log keeps the first and the last ${formatSize(this.limit / 2)} of it (PREMERGE_LOG_LIMIT=${formatSize(this.limit).replace(' ', '')})]\n`,
        );
      }
      for (const chunk of this.tail) writeSync(this.fd, chunk);
      writeSync(this.fd, trailer);
    } finally {
      this.closed = true;
      this.tail = [];
      closeSync(this.fd);
    }
  }
}
