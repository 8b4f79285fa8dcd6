/**
 * The forge contract: everything the engine asks of the place a repository lives. The engine (engine.ts, queue.ts)
 * knows only this; `GitForge` (git-forge.ts: any repository git reaches by path or URL, with git notes and a status
 * ref for answers) is its implementation on plain git, and the GitHub App's forge (webhooks' repositories over smart
 * HTTP with an installation token, check runs for answers) is the next. One is chosen per engine call, in one place
 * ({@link ForgeFactory}, `EngineOptions.forge`); nothing above this file knows which it got.
 *
 * What stays the engine's, for every forge: the bot's mirror (a bare repository in the state directory, which the
 * forge fetches into and lands from), ancestry checks, rebases, the config gate, the journal and every decision. A
 * forge moves bytes and refs and says what it saw; it decides nothing about what lands.
 *
 * Credentials (an installation token) are the forge's alone: they never appear in {@link Forge.name}, in a
 * snapshot, in an error message or on disk, and {@link Forge.secrets} names them so logs can be redacted.
 */
import type { PremergeConfig } from './config.js';
import type { Publisher } from './publisher.js';
import type { CandidateTip, Pusher } from './types.js';
import type { Mirror } from './workspace.js';

export type { PublishedVerdict, Publisher } from './publisher.js';

export type { CandidateTip, Pusher } from './types.js';

/** What one {@link Forge.fetch} saw: the state of the repository that the engine decides from until the next fetch. */
export interface ForgeSnapshot {
  /** The repository's default branch (its `HEAD`), where the trusted config lives. */
  defaultBranch: string;
  /** Every branch of the repository holding the target, by name without `refs/heads/`, with its commit. */
  branches: ReadonlyMap<string, string>;
  /** Every tag of that repository, by name without `refs/tags/`, with the object it points at (a test's checkout gets them). */
  tags: ReadonlyMap<string, string>;
  /**
   * Every branch of the repository candidates are pushed to (the repository itself, or the candidates repository of
   * the three-repository layout) with its tip, in any order. The engine picks the candidate branches by the config
   * (`candidates`, never the target); a forge does not filter.
   */
  candidates: readonly CandidateTip[];
  /**
   * Commits someone asked the forge to decide again (GitHub: "Re-run" on a check run or "Re-run all checks" on a
   * check suite, a `check_run` or `check_suite` `rerequested` event, kept 7 days), each with when it was last asked (ISO-8601); a forge may list a request again at every
   * fetch. The engine acts on each request once, as on `premerge-bot retry`: the verdicts the commit had until then
   * no longer settle it (a landed one always does). Absent where the forge has no such button (plain git).
   */
  retries?: ReadonlyMap<string, string>;
}

/** The configuration the engine trusts: read from the default branch, never from a candidate. */
export interface TrustedConfig {
  /** The parsed `.github/premerge.yml`; its `target` (default: the default branch) names where to land. */
  config: PremergeConfig;
  /** The commit of the default branch it was read from. */
  commit: string;
  /** The git object id of the file at that commit (a candidate that leaves the config alone has the same one). */
  oid: string;
}

/** One compare-and-swap of the target, as the engine asks for it. */
export interface LandRequest {
  /** The branch to move, without `refs/heads/` (the trusted config's `target`). */
  target: string;
  /** The commit the target must still be at: the base the candidate was tested on. */
  expected: string;
  /**
   * The commit to move it to: exactly the commit tested. It descends from `expected` (the engine checked, in the
   * mirror) and may exist only in the mirror (a rebased stack): the forge sends it and its ancestors.
   */
  sha: string;
}

/**
 * How a compare-and-swap ended. The engine decides what it means, the same way for every forge:
 * - `landed`: the target is at `sha` now, moved by this call.
 * - `refused` with `current` ≠ `expected`: someone else moved the target (a lost race): rebase and retest, or
 *   `needs-rebase` (`current` === `sha` means an earlier attempt went through: landed).
 * - `refused` with `current` === `expected`: the forge refused the update itself (a hook, branch protection, missing
 *   permissions): an `error` verdict, `refused: MESSAGE`.
 * - `unknown`: the update failed and the target could not be read again: an `error` verdict with `message`.
 */
export type LandResult =
  | { status: 'landed' }
  | {
      status: 'refused';
      /** Why, in one line, in the forge's words (a pre-receive hook's `remote:` lines, GitHub's message), no credentials. */
      message: string;
      /** The target's commit as read again right after the refusal; null when the branch no longer exists. */
      current: string | null;
    }
  | { status: 'unknown'; message: string };

/** What the engine tells {@link Forge.authorize} about a candidate before its test runs. */
export interface AuthorizeRequest {
  /** The candidate as {@link ForgeSnapshot.candidates} listed it (with its pusher, where the forge knows one). */
  candidate: CandidateTip;
  /** The branch it would land on, and the target commit it is tested on. */
  target: string;
  base: string;
  /** The commit that would land: the candidate itself, or its rebase (stacked on other candidates). */
  tested: string;
  /**
   * What it changes in the trusted config (`test: "a" -> "b"`, config-gate.ts), when it changes it at all and the
   * config itself is valid. The engine's `config-changes` rule has already refused or allowed it; a forge may approve
   * it instead ({@link Authorization}).
   */
  configChange: string | undefined;
  /** The paths `tested` changes against `base`, computed only when asked (GitHub: `.github/workflows/` needs a permission). */
  changedPaths(): Promise<readonly string[]>;
}

/**
 * A forge's answer to "may this candidate land?", before its test runs:
 * - `ok: false`: it does not land whatever its test says; it gets a `refused` verdict with `reason`, which says what
 *   to do (e.g. "pusher alice has read access; land-permission: write needs write", "push again"), and `pusher`
 *   when the refusal is about who pushed it.
 * - `ok: true`: the forge does not stand in the way. `approvesConfigChange` lets a config change through that
 *   `config-changes: refuse` would refuse (GitHub: the pusher is admin or maintain).
 */
export type Authorization =
  | { ok: true; approvesConfigChange: boolean }
  | {
      ok: false;
      reason: string;
      /**
       * Set when the refusal is about who pushed the candidate (their role, or no pusher established: `null`):
       * the pusher it was decided for. The refusal then settles the commit for that pusher only; the same commit
       * pushed by another account is asked about afresh. Absent for a refusal about the commit itself (what it
       * touches), which settles the commit whoever pushes it.
       */
      pusher?: Pusher | null;
    };

export interface Forge {
  /**
   * The repository's identity (repo-identity.ts): the real path of a local repository, a remote's URL without
   * userinfo or a trailing `.git` or `/`, `github:HOST:REPOSITORY_ID` on GitHub. Stable across renames, moves of the
   * checkout and token rotations; the state directory is keyed by it.
   */
  readonly identity: string;
  /** The repository as people name it in messages and statuses: a path, or a URL without credentials. */
  readonly name: string;
  /**
   * Brings the repository's branches and tags, and the candidates repository's branches when there is one, into the
   * engine's mirror, and says what it saw. Once it resolves, every commit the snapshot names is in the mirror's
   * object store (the engine checks ancestry, rebases and tests from there). Branches gone from the repository are
   * gone from the snapshot. Rejects with `PREMERGE_REPO_UNREACHABLE` (a RepoUnreachableError naming {@link name})
   * when the repository cannot be read.
   */
  fetch(): Promise<ForgeSnapshot>;
  /**
   * The trusted config: `.github/premerge.yml` on `snapshot.defaultBranch` at the commit the snapshot names (plain
   * git: from the mirror; GitHub may ask the contents API at that commit). Rejects with `PREMERGE_CONFIG_MISSING`
   * or `PREMERGE_CONFIG_INVALID` (a ConfigError saying where: `branch main of REPO`, with the line).
   */
  readTrustedConfig(snapshot: ForgeSnapshot): Promise<TrustedConfig>;
  /**
   * Rejects, before anything is tested, when no landing on `target` could ever succeed here and the user must act
   * (plain git: a non-bare `--repo` with `target` checked out, `PREMERGE_REPO_NOT_BARE`); resolves otherwise.
   * Whether the branch exists is the engine's to check, in the snapshot.
   */
  checkTarget(target: string): Promise<void>;
  /**
   * The tips of `branches` of the candidates repository as they are now, asked of the forge itself (not the mirror):
   * while a test runs the engine polls this, and a branch that moved or is missing (deleted) supersedes the run. May
   * reject on a transient failure; the engine asks again at its next poll.
   */
  currentTips(branches: readonly string[]): Promise<ReadonlyMap<string, string>>;
  /**
   * Whether the forge lets `request.candidate` land as far as who pushed it and what it touches go (see
   * {@link Authorization}). Asked once per candidate and base, before its test. Plain git knows no pushers: always
   * `{ ok: true, approvesConfigChange: false }`.
   */
  authorize(request: AuthorizeRequest): Promise<Authorization>;
  /**
   * Compare-and-swap: moves `target` from `expected` to `sha` only if it is at `expected` when the forge applies the
   * update, atomically on the forge's side (plain git and GitHub: `git push --force-with-lease=refs/heads/T:EXPECTED`
   * from the mirror, which also carries commits the forge lacks). Never moves it anywhere else, never merges. After
   * any refusal it reads the target again and reports `current` (see {@link LandResult}). After `landed` the forge's
   * own record of the target follows (plain git: the mirror's `refs/origin/heads/TARGET`, which `status` and the
   * hook read). Resolves for every outcome; rejects only on a bug.
   */
  land(request: LandRequest): Promise<LandResult>;
  /**
   * Where verdicts and the bot's status go (plain git: git notes and `refs/premerge/status`; GitHub: check runs).
   * The engine journals each verdict before it hands it over, with an id that stays the same across retries and
   * restarts ({@link PublishedVerdict}).
   */
  readonly publisher: Publisher;
  /** Secrets the forge holds now (a push token, an installation token): redacted from every log the bot publishes. */
  secrets(): readonly string[];
}

/** What the engine hands a {@link ForgeFactory}: the repository as given, and the mirror the forge fetches into. */
export interface ForgeContext {
  /** The repository holding the target, as the front end gave it (path or URL; a GitHub clone URL). */
  repo: string;
  /** The repository candidates are pushed to, in the three-repository layout. */
  candidatesFrom: string | undefined;
  /** The engine's mirror of the repository: fetch into it, land from it. */
  mirror: Mirror;
  /** The state directory (the plain-git forge finds the push token of `hook install --protect` there). */
  stateDir: string;
}

/** Makes the forge of one engine session; the engine calls it once per locked session. */
export type ForgeFactory = (context: ForgeContext) => Forge;
