/**
 * The runner contract: run the test for one commit, abortable, with its log. The engine knows only this; the local
 * runner (local-runner.ts: a tree of its own on this machine, in a sandbox, as a test user or as the bot's user) is
 * its first implementation, and a runner that hands the commit to a CI service (GitHub Actions) is the next.
 */
import type { TestRunResult } from './test-run.js';

export type { TestOutcome, TestRunResult } from './test-run.js';

/** One test run as the engine asks for it. */
export interface RunRequest {
  /** Identifies the run (journal, log). */
  runId: string;
  /** The commit to test (a candidate, or a rebased stack's tip). */
  sha: string;
  /** The target branch and the commit it is at: what the commit is tested against. */
  target: string;
  base: string;
  /** Refs the test's checkout should hold besides HEAD (`refs/tags/...`, `refs/remotes/origin/TARGET`), if any. */
  refs?: ReadonlyMap<string, string>;
  /** The trusted test command. */
  command: string;
  timeoutMs: number;
  /** Where the run's output goes (the runner appends). */
  logPath: string;
  /** The most of the test's output the log keeps, its head and tail (run-log.ts). @default 10 MiB */
  logLimit?: number;
  /** Aborting cancels the run: supersede, or the bot stopping. Nothing of the run outlives the cancel. */
  signal?: AbortSignal;
  /** Called once the run's processes exist and before the test starts, so a crash cannot orphan them unrecorded. */
  onSpawn?: (pgid: number, startTime: string) => void;
}

/** How tests are kept away from the bot, as the runner reports it (and the bot says in one line at start). */
export type IsolationMode = 'sandbox' | 'test-user' | 'same-user';

export interface Runner {
  readonly isolation: { mode: IsolationMode; detail: string };
  /**
   * Runs the test for `request.sha` in a tree prepared for it and resolves when the run and everything it started
   * are over. A tree or sandbox that cannot be made ready rejects with a `RunSetupError`; a failing test resolves.
   */
  run(request: RunRequest): Promise<TestRunResult>;
  /**
   * The last run's verdicts are recorded: what it left (outputs, private HOME and TMPDIR) may go now, in the
   * background (the bot calls this after landing, so cleaning up does not delay the target's move).
   */
  release(): void;
  /** The runs are over for now: resolves once what the last one left is gone. */
  idle(): Promise<void>;
}
