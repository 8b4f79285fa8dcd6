/**
 * The App's own small journals (deliveries, check-run attempts): JSON lines, each record fsynced before the step it
 * records is acted on, as the engine's journal (store.ts) is. A crash can only tear the last line, which reading
 * drops; opening rewrites the file (atomically) when it kept less than it read or found a torn line, so the next
 * record starts on a line of its own.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { StateError } from '../errors.js';
import { fsyncDir, rewriteJournal } from '../store.js';

export class JsonlJournal<T> {
  readonly path: string;
  private fd: number;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.fd = fd;
  }

  /**
   * Opens (creating, mode 0600) the journal at `path`, its records read and passed through `keep`, which returns
   * those worth keeping; `what` names it in errors.
   */
  static open<T>(
    path: string,
    what: string,
    keep: (records: T[]) => T[],
  ): { journal: JsonlJournal<T>; records: T[] } {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new StateError(`cannot read the ${what} ${path}: ${(e as Error).message}`, { cause: e });
      }
    }
    const read: T[] = [];
    let torn = text.length > 0 && !text.endsWith('\n');
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        read.push(JSON.parse(line) as T);
      } catch {
        torn = true;
      }
    }
    const records = keep(read);
    if (torn || records.length !== read.length) rewriteJournal(path, records);
    const isNew = !existsSync(path);
    let fd: number;
    try {
      fd = openSync(path, 'a', 0o600);
    } catch (e) {
      throw new StateError(`cannot open the ${what} ${path}: ${(e as Error).message}`, { cause: e });
    }
    if (isNew) fsyncDir(dirname(path));
    return { journal: new JsonlJournal<T>(path, fd), records };
  }

  /**
   * The records of the journal at `path`, for a reader that must change nothing (`premerge-bot status` beside a
   * running App): a missing file is empty, a torn line is skipped, nothing is rewritten or created.
   */
  static read<T>(path: string, what: string): T[] {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new StateError(`cannot read the ${what} ${path}: ${(e as Error).message}`, { cause: e });
    }
    const records: T[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        records.push(JSON.parse(line) as T);
      } catch {
        // A torn last line: that delivery was never answered.
      }
    }
    return records;
  }

  /** Appends one record and fsyncs it: when this returns, the record survives a crash. */
  append(record: T): void {
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
