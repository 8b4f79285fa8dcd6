/**
 * The single entry point every front end (CLI, daemon, GitHub App) uses. Nothing else in the package decides
 * what lands; the front ends only map their inputs to {@link EngineOptions}.
 */
import { PremergeError } from './errors.js';
import type { EngineEvent, OnceReport, StatusReport } from './types.js';

export type {
  CandidateRef,
  EngineEvent,
  OnceReport,
  RunningRun,
  StatusReport,
  Verdict,
  VerdictKind,
} from './types.js';

/** Options shared by every engine call. */
export interface EngineOptions {
  /** Path or URL of the repository that holds the target branch (and its trusted `.github/premerge.yml`). */
  repo: string;
  /**
   * Another repository (path or URL) holding the candidate branches: the three-repository workflow, where
   * developers push `pu` to a public repository and the bot lands on `repo`.
   * @default the same as `repo`
   */
  candidatesFrom?: string;
  /**
   * Where the bot keeps its mirror, journal, logs and lock.
   * @default `$XDG_STATE_HOME/premerge-bot`, or `~/.local/state/premerge-bot`
   */
  stateDir?: string;
  /** Abort = stop cleanly: the running test's process group is killed and nothing half-done becomes a verdict. */
  signal?: AbortSignal;
  /** Receives progress events, for live or structured logs. Must not throw. */
  onEvent?: (event: EngineEvent) => void;
  /**
   * How often a running test checks whether its candidate branch moved (then the run is superseded).
   * @default 2000
   */
  pollIntervalMs?: number;
  /**
   * With `rebase: true`, at most this many ready candidates are stacked into one test run (bisected on failure).
   * 1 tests one candidate at a time.
   * @default 16
   */
  maxBatch?: number;
}

/** Processes every pending candidate of `options.repo` and resolves when none is left. */
export async function runOnce(options: EngineOptions): Promise<OnceReport> {
  throw new PremergeError(`runOnce(${options.repo}): not implemented yet`, 'PREMERGE_INTERNAL');
}

/** The queue and recent verdicts of `options.repo`, read without taking the repository lock. */
export async function readStatus(options: EngineOptions): Promise<StatusReport> {
  throw new PremergeError(`readStatus(${options.repo}): not implemented yet`, 'PREMERGE_INTERNAL');
}

/** The test output of the latest run of a commit (full or abbreviated sha) or a candidate branch. */
export async function readRunLog(options: EngineOptions, shaOrBranch: string): Promise<string> {
  throw new PremergeError(
    `readRunLog(${options.repo}, ${shaOrBranch}): not implemented yet`,
    'PREMERGE_INTERNAL',
  );
}
