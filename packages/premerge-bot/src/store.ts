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
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pusherKey } from './candidates.js';
import { StateError } from './errors.js';
import type { CandidateTip, Verdict } from './types.js';

export interface RunMember extends CandidateTip {
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
  | { type: 'published'; remote: string; ids: string[] }
  /** `premerge-bot retry SHA`: the verdicts of `sha` recorded before `at` no longer settle it (a flake). */
  | { type: 'retry'; sha: string; at: string }
  /** A webhook delivery already acted on (the GitHub App dedupes redeliveries by it); kept 7 days. */
  | { type: 'delivery'; id: string; at: string };

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
  /** The latest `retry` of each sha: when it was asked for. */
  retries: Map<string, string>;
  /** Webhook deliveries acted on, with when. */
  deliveries: Map<string, string>;
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
  const state: JournalState = {
    runs: new Map(),
    verdicts: [],
    published: new Map(),
    retries: new Map(),
    deliveries: new Map(),
    tornLines,
  };
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
    case 'retry':
      state.retries.set(r.sha, r.at);
      break;
    case 'delivery':
      state.deliveries.set(r.id, r.at);
      break;
  }
}

/**
 * The verdicts that decide whether a commit is settled (candidates.ts): all of them, but those of a commit that
 * `premerge-bot retry` asked to test again recorded before the retry (a landed one always counts).
 */
export function settlingVerdicts(state: JournalState): Verdict[] {
  const out: Verdict[] = [];
  for (const { verdict } of state.verdicts) {
    const retry = state.retries.get(verdict.sha);
    if (retry !== undefined && verdict.at < retry && verdict.kind !== 'landed') continue;
    out.push(verdict);
  }
  return out;
}

/** Delivery ids are kept this long: GitHub lets a delivery be redelivered for 3 days. */
export const DELIVERY_RETENTION_MS = 7 * 86_400_000;

/**
 * What a compacted journal keeps of `records`: the records of runs not yet ended (a crash may have cut them off;
 * recovery needs them), the latest verdict per commit and config (and pusher, for a refusal about its pusher), the
 * latest retry per commit, delivery ids younger
 * than {@link DELIVERY_RETENTION_MS}, and, per remote, which of the kept verdicts were published. Everything kept
 * stays in its order; the `published` records come last.
 */
export function compactRecords(records: readonly JournalRecord[], now = Date.now()): JournalRecord[] {
  const state = summarize(records);
  const latestVerdict = new Map<string, number>();
  const latestRetry = new Map<string, number>();
  records.forEach((r, i) => {
    if (r.type === 'verdict') latestVerdict.set(compactionKey(r.verdict), i);
    if (r.type === 'retry') latestRetry.set(r.sha, i);
  });
  const keptIds = new Set<string>();
  const out: JournalRecord[] = [];
  records.forEach((r, i) => {
    switch (r.type) {
      case 'run-started':
      case 'run-process':
      case 'run-passed':
        if (state.runs.get(r.runId)?.ended === false) out.push(r);
        break;
      case 'run-ended':
        break;
      case 'verdict':
        if (latestVerdict.get(compactionKey(r.verdict)) === i) {
          out.push(r);
          keptIds.add(r.id);
        }
        break;
      case 'retry':
        if (latestRetry.get(r.sha) === i) out.push(r);
        break;
      case 'delivery':
        if (now - Date.parse(r.at) < DELIVERY_RETENTION_MS) out.push(r);
        break;
      case 'published':
        break;
    }
  });
  for (const [remote, ids] of state.published) {
    const kept = [...ids].filter((id) => keptIds.has(id));
    if (kept.length > 0) out.push({ type: 'published', remote, ids: kept });
  }
  return out;
}

/**
 * Which verdicts compaction keeps one of: per commit and config, and per pusher for a refusal about its pusher (which
 * settles the commit for that pusher only, so another pusher's later verdict must not drop it).
 */
function compactionKey(v: Verdict): string {
  const key = `${v.sha} ${v.configHash}`;
  if (v.refusedPusher === undefined) return key;
  return `${key} pusher ${pusherKey(v.refusedPusher)}`;
}

/**
 * Replaces the journal at `path` with `records`, atomically: written to a file beside it, fsynced, renamed over it.
 * A crash at any point leaves the old journal or the new one, never a truncated one (a leftover temporary file is
 * removed by the next {@link removeCompactionLeftovers}). Only the holder of the repository lock calls this, with
 * the journal closed.
 */
export function rewriteJournal(path: string, records: readonly unknown[]): void {
  const tmp = `${path}${COMPACT_SUFFIX}${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

const COMPACT_SUFFIX = '.compact-';

/** Removes what a compaction cut off by a crash left beside the journal. */
export function removeCompactionLeftovers(path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}${COMPACT_SUFFIX}`;
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (name.startsWith(prefix)) rmSync(join(dir, name), { force: true });
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
