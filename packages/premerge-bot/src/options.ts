/**
 * The options every engine call takes, and how they become paths and settings. Resolving never creates anything:
 * the engine's sessions create the state they need, and readers (`status`, `log`, the hook's answer) find the state
 * a bot made or say that there is none ({@link resolveForReading}).
 */
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BotStatus } from './bot-status.js';
import { NoStateError, StateError, UsageError } from './errors.js';
import type { ForgeFactory } from './forge.js';
import { installedStateDir } from './hook.js';
import { overlaps } from './isolation.js';
import { defaultStateDir, defaultTreesDir, type RepoPaths, repoPaths } from './paths.js';
import { repoIdentity, repoName } from './repo-identity.js';
import { normalizeRepo } from './repo-location.js';
import { type LogSettings, logSettings } from './retention.js';
import type { EngineEvent } from './types.js';

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
  /**
   * `auto`: tests run in a bubblewrap sandbox where it works; `off`: as the bot's own user. Wins over
   * `PREMERGE_SANDBOX` and the config's `sandbox`.
   * @default `PREMERGE_SANDBOX`, else the config's `sandbox` (`auto`)
   */
  sandbox?: 'auto' | 'off';
  /**
   * Run tests as this user (name, or `UID[:GID]`); the bot must be root. Wins over `PREMERGE_TEST_USER` and the
   * config's `test-user`.
   * @default `PREMERGE_TEST_USER`, else the config's `test-user`
   */
  testUser?: string;
  /**
   * Where the trees tests run in live (one per repository, kept between runs); never inside the state directory.
   * @default `PREMERGE_TREES_DIR`, else the state directory's path with `-trees` appended
   */
  treesDir?: string;
  /**
   * When false, the engine refuses to run tests as its own user (no sandbox works and no test user is set) with
   * `PREMERGE_ISOLATION` instead: for front ends exposed to the world (the GitHub App's `serve`).
   * @default true
   */
  allowSameUser?: boolean;
  /**
   * The most of a test's output one run's log keeps, in bytes: its first and last halves, with a line saying how
   * much was cut between them.
   * @default `PREMERGE_LOG_LIMIT` (e.g. `10MiB`), else 10 MiB
   */
  logLimit?: number;
  /**
   * Run logs and rotated `hook.log` files older than this many milliseconds are removed.
   * @default `PREMERGE_LOG_RETENTION` (e.g. `30d`), else 30 days
   */
  logRetentionMs?: number;
  /**
   * All logs of the state directory together are kept within this many bytes (the oldest go first).
   * @default `PREMERGE_LOG_SPACE` (e.g. `1GiB`), else 1 GiB
   */
  logSpace?: number;
  /**
   * A journal larger than this many bytes is compacted when a session starts (the latest verdict per commit and
   * config, runs not yet ended, retries, recent delivery ids), by an atomic rewrite.
   * @default 4 MiB
   */
  journalCompactBytes?: number;
  /**
   * The status (`refs/premerge/status`) is published at least this often while the bot works, tests included, so
   * `git pu-status` can tell a live bot from a dead one: `watch` sets it to its interval. Unset, the status is
   * published when something changes and says no heartbeat is to be expected (cron, hooks).
   */
  heartbeatMs?: number;
  /** Receives the bot's status each time a session computes it for publishing (the scheduler keeps the latest). */
  onStatus?: (status: BotStatus) => void;
  /**
   * Where the repository lives (forge.ts): made once per session from the repository, the candidates repository, the
   * mirror and the state directory. The GitHub App passes its own; everything else lands on plain git.
   * @default the plain-git forge (git-forge.ts)
   */
  forge?: ForgeFactory;
  /**
   * The repository's identity (repo-identity.ts), which keys its state, lock and pokes, when the front end knows a
   * better one than the path or URL gives (the GitHub App: `github:HOST:REPOSITORY_ID`, which survives renames).
   * @default repoIdentity(repo)
   */
  identity?: string;
}

/** The options with paths resolved and settings read: what every engine call works from. */
export interface Resolved {
  /** The repository as git is given it (a local path made absolute; a URL as given, credentials and all). */
  repo: string;
  candidatesFrom: string | undefined;
  /** The repository's identity (repo-identity.ts): what its state, lock and pokes are keyed by. */
  identity: string;
  paths: RepoPaths;
  logs: LogSettings;
}

export function resolveOptions(options: EngineOptions): Resolved {
  const repo = normalizeRepo(options.repo);
  const candidatesFrom = options.candidatesFrom ? normalizeRepo(options.candidatesFrom) : undefined;
  const stateDir = resolve(options.stateDir ?? defaultStateDir());
  const treesDir = resolve(
    options.treesDir ?? (process.env['PREMERGE_TREES_DIR'] || defaultTreesDir(stateDir)),
  );
  if (overlaps(stateDir, treesDir)) {
    throw new StateError(
      `the trees directory ${treesDir} and the state directory ${stateDir} must not contain each other: a test could reach the bot's state`,
    );
  }
  const identity = options.identity ?? repoIdentity(repo);
  return {
    repo,
    candidatesFrom,
    identity,
    paths: repoPaths(stateDir, repo, candidatesFrom, treesDir, identity),
    logs: logSettings(options),
  };
}

/** Which repositories a state root under `repos/` belongs to; written by every session, read by readers. */
const REPO_RECORD = 'repo.json';

/** What `repo.json` holds: the repositories by name (never with credentials) and by identity. */
export interface RepoRecord {
  repo: string;
  candidatesFrom?: string;
  /** Absent in the records of premerge-bot 0.1, whose `repo` is the path or URL as given. */
  identity?: string;
  candidatesIdentity?: string;
}

/**
 * Whether two URLs name one GitHub repository: without credentials, a trailing `/` or `.git`, and case (GitHub's
 * names are case-insensitive).
 */
function sameRepositoryName(a: string, b: string): boolean {
  const plain = (url: string) =>
    repoName(url)
      .replace(/\/+$/, '')
      .replace(/\.git$/, '')
      .toLowerCase();
  return plain(a) === plain(b);
}

/** Records in the repository's state root which repositories it belongs to (again when it says otherwise). */
export function writeRepoRecord(r: Resolved): void {
  const path = join(r.paths.root, REPO_RECORD);
  const record: RepoRecord = {
    repo: repoName(r.repo),
    ...(r.candidatesFrom ? { candidatesFrom: repoName(r.candidatesFrom) } : {}),
    identity: r.identity,
    ...(r.candidatesFrom ? { candidatesIdentity: repoIdentity(r.candidatesFrom) } : {}),
  };
  const text = `${JSON.stringify(record)}\n`;
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  writeFileSync(`${path}.new`, text, { mode: 0o600 });
  renameSync(`${path}.new`, path);
}

export function readRepoRecord(root: string): RepoRecord | null {
  try {
    return JSON.parse(readFileSync(join(root, REPO_RECORD), 'utf8')) as RepoRecord;
  } catch {
    return null;
  }
}

/** The identities a record names (computed from the names in a record of premerge-bot 0.1). */
export function recordIdentities(record: RepoRecord): { repo: string; candidates: string | undefined } {
  return {
    repo: record.identity ?? repoIdentity(record.repo),
    candidates:
      record.candidatesIdentity ??
      (record.candidatesFrom === undefined ? undefined : repoIdentity(record.candidatesFrom)),
  };
}

/**
 * The state a bot made for `options.repo`, for reading it: without `candidatesFrom`, the state of the one pair of
 * repositories (the three-repository layout) that lands on `repo`. Never creates anything; throws
 * {@link NoStateError} with a hint (the state directory the repository's hook uses, if it names another) when there
 * is no such state, and a usage error when several pairs land on `repo`.
 */
export async function resolveForReading(options: EngineOptions): Promise<Resolved> {
  const r = resolveOptions(options);
  if (existsSync(r.paths.journal) || existsSync(r.paths.mirror)) return r;
  if (r.candidatesFrom === undefined) {
    const repos = join(r.paths.stateDir, 'repos');
    const pairs: RepoRecord[] = [];
    const apps: RepoRecord[] = [];
    for (const name of existsSync(repos) ? readdirSync(repos) : []) {
      const record = readRepoRecord(join(repos, name));
      if (!record) continue;
      if (recordIdentities(record).repo === r.identity && record.candidatesFrom !== undefined)
        pairs.push(record);
      // The GitHub App keys a repository's state by GitHub's id for it (`github:HOST:ID`), which a reader does not
      // know: the record naming the repository by the URL the App last saw it at says which state is its.
      if (record.identity?.startsWith('github:') && sameRepositoryName(record.repo, r.repo))
        apps.push(record);
    }
    if (apps.length === 1 && pairs.length === 0) {
      return resolveOptions({ ...options, repo: apps[0]!.repo, identity: apps[0]!.identity! });
    }
    if (pairs.length === 1) return resolveOptions({ ...options, candidatesFrom: pairs[0]!.candidatesFrom! });
    if (pairs.length > 1) {
      throw new UsageError(
        `the bot lands on ${r.repo} from several candidate repositories (${pairs.map((p) => p.candidatesFrom).join(', ')}): say which with --candidates-from`,
      );
    }
  }
  const what = r.candidatesFrom ? `${r.repo} (candidates from ${r.candidatesFrom})` : r.repo;
  let hint = `is --state-dir the one the hook and watch use? (premerge-bot hook install --repo ${r.candidatesFrom ?? r.repo} names it)`;
  const hooked = await installedStateDir(r.candidatesFrom ?? r.repo).catch(() => null);
  if (hooked !== null && resolve(hooked) !== r.paths.stateDir) {
    hint = `the post-receive hook of ${r.candidatesFrom ?? r.repo} uses --state-dir ${hooked}`;
  } else if (hooked !== null) {
    hint = 'its hook is installed; a push to a candidate branch starts the bot';
  }
  throw new NoStateError(
    `premerge-bot knows nothing of ${what} in ${r.paths.stateDir}: no bot has worked on it with this state directory; ${hint}`,
  );
}
