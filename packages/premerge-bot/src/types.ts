import type { CandidateState } from './bot-status.js';
import type { WatchInfo } from './watch-ipc.js';

/**
 * The public data types of the engine. They live apart from engine.ts so the internal modules (queue, store,
 * publish) can share them without importing the engine itself; engine.ts re-exports them.
 */

/**
 * What the bot decided about one candidate commit.
 * - `landed`: the tested commit passed and the target moved to it (fast-forward, compare-and-swap).
 * - `failed`: the test command exited non-zero (or was killed by a signal).
 * - `needs-rebase`: the candidate does not descend from the target (with `rebase: false`), or its rebase conflicts.
 * - `timed-out`: the test ran longer than `timeout`; its whole process group was killed.
 * - `superseded`: the candidate branch moved while its test ran; the run was cancelled and the new tip is tested.
 * - `error`: the bot could not test it (worktree, spawn, git failure); `reason` says why.
 * - `refused`: it may not land as it is: its `.github/premerge.yml` is missing or invalid, or it changes the config
 *   while `config-changes` is `refuse`; `reason` says why and what to do. Decided before any test ran.
 */
export type VerdictKind =
  | 'landed'
  | 'failed'
  | 'needs-rebase'
  | 'timed-out'
  | 'superseded'
  | 'error'
  | 'refused';

/** One recorded verdict, as kept in the journal and published as a git note on the candidate commit. */
export interface Verdict {
  kind: VerdictKind;
  /** The candidate branch, without `refs/heads/` (e.g. `pu` or `pu/alice`). */
  branch: string;
  /** The candidate commit: the branch tip the bot saw. */
  sha: string;
  /** The target commit the candidate was tested against (the target's value when the run started). */
  base: string;
  /** The commit actually tested: `sha` itself, or its rebase onto `base` (possibly stacked on other candidates). */
  tested: string;
  /** The target branch name (from the config). */
  target: string;
  /** Hash of the trusted configuration the verdict was made under. */
  configHash: string;
  /** Wall time of the test run in milliseconds (0 when no test ran). */
  durationMs: number;
  /** Exit code of the test command; `null` when it was killed by a signal or did not run. */
  exitCode: number | null;
  /** Per-run log file holding the test's output, when a test ran. */
  logPath?: string;
  /** Human-readable explanation (always set for `error`, `needs-rebase`, `superseded`). */
  reason?: string;
  /** Identifies the test run this verdict came from; candidates tested in one batch share it. */
  runId?: string;
  /** ISO-8601 time the verdict was recorded. */
  at: string;
  /**
   * Set on a `refused` verdict that is about who pushed the candidate (GitHub: `land-permission`, a pusher that
   * cannot be established): the pusher it was decided for, `null` when none could be. Such a refusal settles the
   * commit for that pusher only: the same commit pushed by another account is decided afresh (candidates.ts).
   * Absent on every other verdict.
   */
  refusedPusher?: Pusher | null;
}

/** Who pushed a candidate tip, as the forge knows it (plain git knows no pushers). */
export interface Pusher {
  /** The account's login (GitHub: the push event's `sender.login`). */
  login: string;
  /** The account's stable numeric id, when the forge has one (GitHub: `sender.id`, checked against the role's `user.id`). */
  id?: number;
}

/** A candidate branch tip the bot has seen. */
export interface CandidateRef {
  branch: string;
  sha: string;
}

/**
 * A candidate branch tip as a forge lists it: the branch and its commit, plus what only that forge knows about it.
 * The engine carries the tip as it got it into the journal (a run's members) and back into `Forge.authorize`, so
 * forge-specific fields survive a restart.
 */
export interface CandidateTip extends CandidateRef {
  /** Who pushed this tip, when the forge can tell (GitHub: the webhook's sender, or the activity API); plain git cannot. */
  pusher?: Pusher;
}

/** Progress reported through {@link EngineOptions.onEvent}; `type` discriminates. */
export type EngineEvent =
  | {
      type: 'recovered';
      what:
        | 'orphan-process-group'
        | 'orphan-process'
        | 'stale-worktree'
        | 'git-lock-file'
        | 'test-tree'
        | 'torn-journal-line';
      detail: string;
    }
  | { type: 'fetched'; repo: string; target: string; targetSha: string; candidates: CandidateRef[] }
  | { type: 'pending'; candidates: CandidateRef[] }
  | {
      type: 'test-started';
      runId: string;
      members: Array<CandidateRef & { tested: string }>;
      base: string;
      tested: string;
      logPath: string;
    }
  | {
      type: 'test-finished';
      runId: string;
      outcome: 'passed' | 'failed' | 'timed-out' | 'superseded' | 'cancelled';
      exitCode: number | null;
      durationMs: number;
    }
  | { type: 'landing'; target: string; from: string; to: string }
  | { type: 'lost-race'; target: string; expected: string; actual: string }
  | { type: 'verdict'; verdict: Verdict }
  | { type: 'published'; count: number; repo: string }
  | { type: 'publish-failed'; repo: string; reason: string }
  | { type: 'deferred'; reason: string; holderPid: number }
  /** How this repository's tests are kept away from the bot; once per process and repository, at start. */
  | { type: 'isolation'; mode: 'sandbox' | 'test-user' | 'same-user'; detail: string }
  /** Something the bot could not do and went on without (e.g. signal another user's process: EPERM). */
  | { type: 'warning'; message: string }
  /** The repository's state was found under an earlier key (premerge-bot 0.1's) and moved to its identity's. */
  | { type: 'state-moved'; from: string; to: string }
  /** The journal was rewritten with only what still counts: `records` before, `kept` after. */
  | { type: 'compacted'; records: number; kept: number };

/** What one {@link runOnce} call did. */
export interface OnceReport {
  /** The repository as given in the options. */
  repo: string;
  /** Target branch from the trusted config (empty when the bot stopped before reading it). */
  target: string;
  /** The target's commit when the run ended. */
  targetSha: string;
  /** Every verdict recorded during this call, in order. */
  verdicts: Verdict[];
  /** How many test commands were started (a batch of candidates tested together counts once). */
  testRuns: number;
  /** How many candidates were tested inside those runs, counted once per run they took part in. */
  candidateRuns: number;
  /** How many candidates were pending when the call began. */
  pendingAtStart: number;
  /**
   * True when another bot held the repository lock: it was asked to rescan and this call did nothing else.
   */
  deferred: boolean;
  /** True when {@link EngineOptions.signal} aborted the call: nothing half-done was recorded as a verdict. */
  aborted: boolean;
}

/** A test run in progress (or cut off by a crash), read from the journal. */
export interface RunningRun {
  runId: string;
  members: Array<CandidateRef & { tested: string }>;
  base: string;
  tested: string;
  logPath: string;
  startedAt: string;
  pid: number;
}

/** A candidate tip in `premerge-bot status`: where it stands, and who pushed it where the forge knows (GitHub). */
export type StatusCandidate = CandidateState & { pusher?: Pusher };

/**
 * One decision about a commit in `premerge-bot status`: a refusal about who pushed it holds for that pusher only
 * (`forPusher`), any other verdict for whoever pushes it.
 */
export interface PusherDecision {
  kind: VerdictKind;
  at: string;
  reason?: string;
  /**
   * For a refusal about the pusher, the pusher it was decided for (`null`: none could be established); for another
   * verdict, who pushed the commit tested, when the forge knew.
   */
  pusher?: Pusher | null;
  /** The verdict settles the commit for {@link pusher} only. */
  forPusher: boolean;
}

/** The latest decision per pusher about a candidate commit, oldest first. */
export interface CommitDecisions {
  sha: string;
  /** The candidate branches at it. */
  branches: string[];
  decisions: PusherDecision[];
}

/** The queue and recent history of one repository, read without taking the lock. */
export interface StatusReport {
  repo: string;
  /** The repository candidates are read from, in the three-repository layout. */
  candidatesFrom?: string;
  /** Target branch and its current commit; null when the config could not be read. */
  target: { branch: string; sha: string } | null;
  /**
   * Every candidate tip and where it stands (testing, queued with how many ahead, settled, in the target), with its
   * pusher where the forge knows it (GitHub): a refusal about one pusher does not settle another's push.
   */
  candidates: StatusCandidate[];
  /**
   * For each candidate commit with verdicts under the config in force (or landed): the latest decision per pusher
   * (e.g. refused for `@alice`, landed as pushed by `@max`).
   */
  decided: CommitDecisions[];
  /** Candidate tips waiting for a test or a decision (not those being tested), in queue order. */
  pending: CandidateRef[];
  /** Runs started and not finished (running now, or cut off by a crash and to be run again). */
  running: RunningRun[];
  /** Recent verdicts, newest first. */
  recent: Verdict[];
  /** The pid holding the repository lock, when a live bot holds it. */
  lockHolder: number | null;
  /** The `watch` running on the state directory, idle or working, when one answers. */
  watch: WatchInfo | null;
  /** The subject and author of the commits shown, by sha (those the bot's mirror holds). */
  commits: Record<string, { subject: string; author: string }>;
  /** Why the target or pending list could not be computed (e.g. the config is invalid), if so. */
  problem?: { code: string; message: string };
}
