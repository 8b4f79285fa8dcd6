/**
 * Finding what the bot knows of a commit or branch, and the log of its run, for `premerge-bot log`. A log is read
 * as a stream, never whole (a log of an old version, before logs were capped, may be larger than a string can be).
 * Reading never creates state.
 */
import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { LogNotFoundError } from './errors.js';
import { type EngineOptions, resolveForReading } from './options.js';
import { readJournal, summarize } from './store.js';
import type { Verdict } from './types.js';

/** What the bot knows of a commit or branch: its latest verdict, its latest run, and that run's log. */
export interface RunLog {
  /** The latest verdict for it, when one was recorded after its latest run began. */
  verdict?: Verdict;
  /** Its latest run (still running when it has no verdict yet); absent when no test ran for the verdict. */
  run?: { runId: string; logPath: string; startedAt: string; running: boolean };
  /** The size of the run's log in bytes; null when no test ran, or the log is gone. */
  size: number | null;
  /** Why there is no log to read, when there is none. */
  missing?: string;
}

/**
 * What the bot knows of `shaOrBranch` (a full or abbreviated sha, at least 4 hex digits, of the candidate or the
 * commit tested; or a candidate branch). Rejects with `PREMERGE_NO_STATE` when the bot never worked on the
 * repository with this state directory, `PREMERGE_LOG_NOT_FOUND` when it knows nothing of `shaOrBranch`.
 */
export async function findRunLog(options: EngineOptions, shaOrBranch: string): Promise<RunLog> {
  const r = await resolveForReading(options);
  const { records, tornLines } = readJournal(r.paths.journal);
  const state = summarize(records, tornLines);
  const isSha = /^[0-9a-f]{4,64}$/i.test(shaOrBranch);
  const wanted = shaOrBranch.toLowerCase();
  const matches = (m: { sha: string; tested: string; branch: string }) =>
    isSha ? m.sha.startsWith(wanted) || m.tested.startsWith(wanted) : m.branch === shaOrBranch;
  const verdict = [...state.verdicts].reverse().find((v) => matches(v.verdict))?.verdict;
  const running = [...state.runs.values()]
    .reverse()
    .find((run) => !run.ended && !run.passed && run.started.members.some(matches));
  if (running && (!verdict || running.started.at > verdict.at)) {
    const { runId, logPath, at } = running.started;
    return { run: { runId, logPath, startedAt: at, running: true }, ...sizeOf(logPath) };
  }
  if (!verdict) {
    throw new LogNotFoundError(
      `premerge-bot has no run or verdict for '${shaOrBranch}' in ${options.repo}: premerge-bot status --repo ${options.repo} shows the candidates and verdicts it knows`,
    );
  }
  if (!verdict.logPath || !verdict.runId) {
    return { verdict, size: null, missing: 'no test ran for it' };
  }
  const run = state.runs.get(verdict.runId);
  return {
    verdict,
    run: {
      runId: verdict.runId,
      logPath: verdict.logPath,
      startedAt: run?.started.at ?? verdict.at,
      running: false,
    },
    ...sizeOf(verdict.logPath),
  };
}

function sizeOf(path: string): { size: number | null; missing?: string } {
  try {
    return { size: statSync(path).size };
  } catch {
    return {
      size: null,
      missing: `its log ${path} is gone (logs are kept 30 days and 1 GiB in all unless PREMERGE_LOG_RETENTION and PREMERGE_LOG_SPACE say otherwise)`,
    };
  }
}

/** The run's log as a stream. */
export function openRunLog(log: RunLog): Readable {
  if (!log.run || log.size === null) throw new LogNotFoundError(`there is no log to read: ${log.missing}`);
  return createReadStream(log.run.logPath);
}

/**
 * The text of the latest run's log of `shaOrBranch` (see {@link findRunLog}), whole: for logs known to be small
 * (each run's log is capped, 10 MiB by default). Rejects with `PREMERGE_LOG_NOT_FOUND` when no test ran for it.
 */
export async function readRunLog(options: EngineOptions, shaOrBranch: string): Promise<string> {
  const log = await findRunLog(options, shaOrBranch);
  if (!log.run || log.size === null) {
    throw new LogNotFoundError(`no log for '${shaOrBranch}' in ${options.repo}: ${log.missing}`);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of openRunLog(log)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
