/**
 * Crash-safe state: an append-only JSONL journal, one record per line, each fsynced before the step it records is
 * acted on. A SIGKILL can only tear the last line; reading ignores a line that does not parse, and reopening
 * terminates a torn tail with a newline so the next record starts on a line of its own.
 *
 * Derived meaning:
 * - `run-started` with no `run-passed`/`run-ended`/verdict for its runId: cut off by a crash, run it again.
 * - `run-passed` with no verdict: the test passed and landing may not have happened; try landing that exact tested
 *   commit from that exact base, and nothing else.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { StateError } from './errors.js';
import type { CandidateRef, Verdict } from './types.js';

export interface RunMember extends CandidateRef {
  /** The commit this member became in the tested stack (its own sha when not rebased). */
  tested: string;
  /** The change to `.github/premerge.yml` it brings, which `config-changes: allow` (or an operator) let through. */
  configChange?: string;
}

export type JournalRecord =
  | {
      type: 'run-started';
      runId: string;
      at: string;
      target: string;
      configHash: string;
      base: string;
      tested: string;
      members: RunMember[];
      logPath: string;
    }
  | { type: 'run-process'; runId: string; pgid: number; startTime: string }
  | { type: 'run-passed'; runId: string; at: string; durationMs: number; exitCode: number | null }
  | { type: 'run-ended'; runId: string; at: string; outcome: string }
  | { type: 'verdict'; id: string; verdict: Verdict }
  | { type: 'published'; remote: string; ids: string[] };

/** A run as reconstructed from the journal. */
export interface RunState {
  started: Extract<JournalRecord, { type: 'run-started' }>;
  process?: { pgid: number; startTime: string };
  passed?: Extract<JournalRecord, { type: 'run-passed' }>;
  ended: boolean;
  verdicts: number;
}

export interface JournalState {
  runs: Map<string, RunState>;
  verdicts: Array<{ id: string; verdict: Verdict }>;
  /** Verdict ids already published, per remote. */
  published: Map<string, Set<string>>;
  /** Lines that did not parse (a torn tail after a crash). */
  tornLines: number;
}

/** Reads the journal at `path` (missing file = empty journal). */
export function readJournal(path: string): { records: JournalRecord[]; tornLines: number } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], tornLines: 0 };
    throw new StateError(`cannot read the journal ${path}: ${(e as Error).message}`, { cause: e });
  }
  const records: JournalRecord[] = [];
  let tornLines = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      records.push(JSON.parse(line) as JournalRecord);
    } catch {
      tornLines++;
    }
  }
  return { records, tornLines };
}

/** Folds records into the state they describe. */
export function summarize(records: readonly JournalRecord[], tornLines = 0): JournalState {
  const state: JournalState = { runs: new Map(), verdicts: [], published: new Map(), tornLines };
  for (const r of records) applyRecord(state, r);
  return state;
}

/** Applies one more record to a summarized state, in place. */
export function applyRecord(state: JournalState, r: JournalRecord): void {
  switch (r.type) {
    case 'run-started':
      state.runs.set(r.runId, { started: r, ended: false, verdicts: 0 });
      break;
    case 'run-process': {
      const run = state.runs.get(r.runId);
      if (run) run.process = { pgid: r.pgid, startTime: r.startTime };
      break;
    }
    case 'run-passed': {
      const run = state.runs.get(r.runId);
      if (run) run.passed = r;
      break;
    }
    case 'run-ended': {
      const run = state.runs.get(r.runId);
      if (run) run.ended = true;
      break;
    }
    case 'verdict': {
      state.verdicts.push({ id: r.id, verdict: r.verdict });
      const run = r.verdict.runId ? state.runs.get(r.verdict.runId) : undefined;
      if (run) {
        run.verdicts++;
        run.ended = true;
      }
      break;
    }
    case 'published': {
      let set = state.published.get(r.remote);
      if (!set) state.published.set(r.remote, (set = new Set()));
      for (const id of r.ids) set.add(id);
      break;
    }
  }
}

/** The append side of the journal. Only the holder of the repository lock opens it. */
export class Journal {
  readonly path: string;
  /** True when opening found a torn last line (a crash mid-write) and terminated it. */
  readonly repairedTail: boolean;
  private fd: number;

  private constructor(path: string, fd: number, repairedTail: boolean) {
    this.path = path;
    this.fd = fd;
    this.repairedTail = repairedTail;
  }

  /** Opens (creating) the journal for appending; terminates a torn last line first. */
  static open(path: string): Journal {
    mkdirSync(dirname(path), { recursive: true });
    const isNew = !existsSync(path);
    let fd: number;
    try {
      // Readable by the bot's user only: a test user passes through the state directory (to its tree's objects).
      fd = openSync(path, 'a+', 0o600);
    } catch (e) {
      throw new StateError(`cannot open the journal ${path}: ${(e as Error).message}`, { cause: e });
    }
    const size = fstatSync(fd).size;
    let repaired = false;
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) {
        writeSync(fd, '\n');
        fsyncSync(fd);
        repaired = true;
      }
    }
    if (isNew) fsyncDir(dirname(path));
    return new Journal(path, fd, repaired);
  }

  /** Appends one record and fsyncs it: when this returns, the record survives a crash. */
  append(record: JournalRecord): void {
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Makes a new directory entry durable (a file created and fsynced can still vanish if its directory was not). */
export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the record itself is still fsynced.
  }
}
