/**
 * Every error premerge-bot throws on purpose carries a stable `code`; callers branch on it.
 *
 * | code                          | class               | meaning                                                  |
 * |-------------------------------|---------------------|----------------------------------------------------------|
 * | `PREMERGE_CONFIG_MISSING`     | ConfigError         | no `.github/premerge.yml` on the default branch          |
 * | `PREMERGE_CONFIG_INVALID`     | ConfigError         | the file is not valid YAML or a key is wrong (file:line) |
 * | `PREMERGE_TARGET_MISSING`     | TargetMissingError  | the configured target branch does not exist              |
 * | `PREMERGE_REPO_UNREACHABLE`   | RepoUnreachableError| fetching or pushing the repository failed                |
 * | `PREMERGE_GIT`                | GitError            | a git command failed unexpectedly                        |
 * | `PREMERGE_LOG_NOT_FOUND`      | LogNotFoundError    | no run is recorded for that sha or branch                |
 * | `PREMERGE_NO_STATE`           | NoStateError        | `status`/`log`: no bot worked on that repository there   |
 * | `PREMERGE_STATE`              | StateError          | the state directory is unusable                          |
 * | `PREMERGE_ISOLATION`          | IsolationError      | tests cannot be isolated as configured (sandbox, user)   |
 * | `PREMERGE_MIRROR_TAMPERED`    | MirrorTamperedError | the bot's mirror was changed behind its back             |
 * | `PREMERGE_RUN_SETUP`          | RunSetupError       | the test's tree or sandbox could not be made ready       |
 * | `PREMERGE_NOT_A_CANDIDATE`    | NotACandidateError  | `land SHA`: no candidate branch has that commit as tip   |
 * | `PREMERGE_REPO_NOT_BARE`      | RepoNotBareError    | `--repo` has the target checked out: git refuses pushes  |
 * | `PREMERGE_USAGE`              | UsageError          | a bad value commander cannot check (duration, options)   |
 * | `PREMERGE_NOT_A_REPO`, `PREMERGE_HOOK_NOT_LOCAL`, `PREMERGE_HOOK_EXISTS` | HookError | `hook install` cannot   |
 * | `PREMERGE_NOT_A_CLONE`, `PREMERGE_ALIAS_EXISTS` | AliasError | `alias install` cannot                          |
 * | `PREMERGE_WATCH_RUNNING`      | WatchRunningError   | another `watch` serves this state directory              |
 * | `PREMERGE_INTERNAL`           | PremergeError       | a bug                                                    |
 */
import { redactCredentials } from './repo-identity.js';

export type PremergeErrorCode =
  | 'PREMERGE_CONFIG_MISSING'
  | 'PREMERGE_CONFIG_INVALID'
  | 'PREMERGE_TARGET_MISSING'
  | 'PREMERGE_REPO_UNREACHABLE'
  | 'PREMERGE_REPO_NOT_BARE'
  | 'PREMERGE_GIT'
  | 'PREMERGE_LOG_NOT_FOUND'
  | 'PREMERGE_NO_STATE'
  | 'PREMERGE_STATE'
  | 'PREMERGE_USAGE'
  | 'PREMERGE_NOT_A_REPO'
  | 'PREMERGE_HOOK_NOT_LOCAL'
  | 'PREMERGE_HOOK_EXISTS'
  | 'PREMERGE_NOT_A_CLONE'
  | 'PREMERGE_ALIAS_EXISTS'
  | 'PREMERGE_WATCH_RUNNING'
  | 'PREMERGE_ISOLATION'
  | 'PREMERGE_MIRROR_TAMPERED'
  | 'PREMERGE_RUN_SETUP'
  | 'PREMERGE_NOT_A_CANDIDATE'
  | 'PREMERGE_INTERNAL';

export class PremergeError extends Error {
  readonly code: PremergeErrorCode;
  constructor(message: string, code: PremergeErrorCode, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PremergeError';
    this.code = code;
  }
}

/** The trusted `.github/premerge.yml` is missing or invalid; nothing lands until it is fixed. */
export class ConfigError extends PremergeError {
  /** The file inside the repository, e.g. `.github/premerge.yml`. */
  readonly file: string;
  /** The offending key, when one is to blame. */
  readonly key: string | undefined;
  /** 1-based line of the offending key or value, when known. */
  readonly line: number | undefined;
  constructor(
    message: string,
    code: 'PREMERGE_CONFIG_MISSING' | 'PREMERGE_CONFIG_INVALID',
    where: { file: string; key?: string; line?: number },
    options?: ErrorOptions,
  ) {
    super(message, code, options);
    this.name = 'ConfigError';
    this.file = where.file;
    this.key = where.key;
    this.line = where.line;
  }
}

/** The branch the config names as `target` does not exist in the repository. */
export class TargetMissingError extends PremergeError {
  constructor(message: string) {
    super(message, 'PREMERGE_TARGET_MISSING');
    this.name = 'TargetMissingError';
  }
}

/** The repository (or the candidates repository) could not be read or written. */
export class RepoUnreachableError extends PremergeError {
  readonly repo: string;
  constructor(message: string, repo: string, options?: ErrorOptions) {
    super(message, 'PREMERGE_REPO_UNREACHABLE', options);
    this.name = 'RepoUnreachableError';
    this.repo = repo;
  }
}

/**
 * The line of git's stderr that says what went wrong: its first `fatal:` or `error:` line (without the
 * prefix), else its first non-empty line. git often ends with advice ("Please make sure you have the
 * correct access rights / and the repository exists."), so the last line is the wrong one to show.
 */
export function gitReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const fatal = lines.find((line) => /^(fatal|error):/.test(line));
  return (fatal ?? lines[0] ?? '').replace(/^(fatal|error):\s*/, '');
}

/**
 * Why a `git push --porcelain` was refused, in one line: what the server said (its `remote:` lines, e.g. a
 * pre-receive hook's message) and the ref's `! [rejected]` status line, which name the cause better than any
 * `error:` line; without either (the repository could not be reached), {@link gitReason}.
 */
export function pushReason(stdout: string, stderr: string): string {
  const remote = stderr
    .split('\n')
    .filter((l) => l.startsWith('remote: '))
    .map((l) => l.slice(8).trim())
    .filter(Boolean);
  const rejected = stdout
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.split('\t').slice(2).join(' ').trim());
  const parts = [...remote, ...rejected];
  return redactCredentials(parts.length > 0 ? parts.join('; ') : gitReason(stderr) || 'push refused');
}

/** A git command failed where it should not have; `stderr` holds git's own words. */

export class GitError extends PremergeError {
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(args: readonly string[], exitCode: number | null, stderr: string) {
    // A URL in the arguments or in git's words may carry a token: never in a message.
    super(
      redactCredentials(`git ${args.join(' ')} failed (exit ${exitCode}): ${gitReason(stderr)}`),
      'PREMERGE_GIT',
    );
    this.name = 'GitError';
    this.args = args;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** `cannot ACTION URL: REASON` for a git call against `url` that failed, REASON being git's own {@link gitReason}. */
export function unreachable(action: string, url: string, cause: unknown): RepoUnreachableError {
  const detail =
    cause instanceof GitError && cause.stderr
      ? gitReason(cause.stderr)
      : cause instanceof Error
        ? cause.message
        : String(cause);
  const name = redactCredentials(url);
  return new RepoUnreachableError(
    redactCredentials(
      `cannot ${action} ${name}: ${detail} (check the path or URL, and that the bot's user may read it)`,
    ),
    name,
    { cause },
  );
}

/** `readRunLog` found no run for that sha or branch. */
export class LogNotFoundError extends PremergeError {
  constructor(message: string) {
    super(message, 'PREMERGE_LOG_NOT_FOUND');
    this.name = 'LogNotFoundError';
  }
}

/**
 * A reader (`status`, `log`) found no state for the repository in the state directory: no bot has worked on it
 * there (or `--state-dir` is mistyped). Reading never creates state.
 */
export class NoStateError extends PremergeError {
  constructor(message: string) {
    super(message, 'PREMERGE_NO_STATE');
    this.name = 'NoStateError';
  }
}

/** The state directory cannot be created or written. */
export class StateError extends PremergeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'PREMERGE_STATE', options);
    this.name = 'StateError';
  }
}

/**
 * Tests cannot be run the way the settings ask: a bad `PREMERGE_SANDBOX` or `test-user`, a test user that does not
 * exist or cannot reach its tree, a `sandbox-writable` path that would expose the bot's state, or a front end that
 * refuses to run tests as the bot's own user (`allowSameUser: false`) where no sandbox works.
 */
export class IsolationError extends PremergeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'PREMERGE_ISOLATION', options);
    this.name = 'IsolationError';
  }
}

/**
 * The bot's mirror (or the git directory of its test tree) holds config, hooks or info files the bot did not write:
 * something (a test, when tests run as the bot's own user) changed it. The bot stops rather than use it.
 */
export class MirrorTamperedError extends PremergeError {
  /** The git directory that changed. */
  readonly gitDir: string;
  constructor(message: string, gitDir: string) {
    super(message, 'PREMERGE_MIRROR_TAMPERED');
    this.name = 'MirrorTamperedError';
    this.gitDir = gitDir;
  }
}

/** The test's tree or sandbox could not be made ready; the candidates of that run get an `error` verdict. */
export class RunSetupError extends PremergeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'PREMERGE_RUN_SETUP', options);
    this.name = 'RunSetupError';
  }
}

/** `land SHA`: no candidate branch points at that commit. */
export class NotACandidateError extends PremergeError {
  constructor(message: string) {
    super(message, 'PREMERGE_NOT_A_CANDIDATE');
    this.name = 'NotACandidateError';
  }
}

/**
 * `--repo` is a repository with a working tree that has the target checked out: git refuses to update a branch
 * that is checked out (`receive.denyCurrentBranch`), so nothing could ever land there. Found before any test runs.
 */
export class RepoNotBareError extends PremergeError {
  readonly repo: string;
  constructor(message: string, repo: string) {
    super(message, 'PREMERGE_REPO_NOT_BARE');
    this.name = 'RepoNotBareError';
    this.repo = repo;
  }
}

/** A usage mistake found after commander's own checks (a bad duration, conflicting options, a bad setting): exit 2. */
export class UsageError extends PremergeError {
  constructor(message: string) {
    super(message, 'PREMERGE_USAGE');
    this.name = 'UsageError';
  }
}

/**
 * Installing or removing the hook failed: `PREMERGE_NOT_A_REPO` (no git repository there),
 * `PREMERGE_HOOK_NOT_LOCAL` (a URL: hooks are installed on the machine hosting the repository) or
 * `PREMERGE_HOOK_EXISTS` (a post-receive hook premerge-bot did not write is in the way).
 */
export class HookError extends PremergeError {
  constructor(
    message: string,
    code: 'PREMERGE_NOT_A_REPO' | 'PREMERGE_HOOK_NOT_LOCAL' | 'PREMERGE_HOOK_EXISTS',
    options?: ErrorOptions,
  ) {
    super(message, code, options);
    this.name = 'HookError';
  }
}

/**
 * Installing or removing aliases failed: `PREMERGE_NOT_A_CLONE` (not inside a git clone) or
 * `PREMERGE_ALIAS_EXISTS` (an alias of that name that premerge-bot did not write is in the way).
 */
export class AliasError extends PremergeError {
  constructor(
    message: string,
    code: 'PREMERGE_NOT_A_CLONE' | 'PREMERGE_ALIAS_EXISTS',
    options?: ErrorOptions,
  ) {
    super(message, code, options);
    this.name = 'AliasError';
  }
}

/** `PREMERGE_WATCH_RUNNING`: another watch already serves this state dir (its socket answers). */
export class WatchRunningError extends PremergeError {
  constructor(socket: string) {
    super(
      `another premerge-bot watch is running on ${socket}; stop it or use another --state-dir`,
      'PREMERGE_WATCH_RUNNING',
    );
    this.name = 'WatchRunningError';
  }
}
