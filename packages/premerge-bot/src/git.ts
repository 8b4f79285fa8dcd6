/**
 * Runs git as a child process with a clean environment and pinned settings. We run the binary ourselves rather than
 * through a wrapper library (the README's "Why git is run directly" says why): every call needs the same
 * environment scrubbing (a post-receive hook exports GIT_DIR=. which would redirect every git call), the same
 * `-c` pins, and exact control over exit codes.
 */
import { execFile } from 'node:child_process';
import { GitError } from './errors.js';

/**
 * Variables git sets for hooks or that relocate a repository. Inherited from a hook they would point our git
 * calls (and the test's) at the wrong repository, so they are always removed.
 */
const GIT_LOCATION_VARS = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_QUARANTINE_PATH',
  'GIT_COMMON_DIR',
  'GIT_PREFIX',
  'GIT_NAMESPACE',
  'GIT_CEILING_DIRECTORIES',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
  'GIT_PUSH_CERT',
  'GIT_PUSH_OPTION_COUNT',
  'GIT_REFLOG_ACTION',
  'GIT_EDITOR',
  'GIT_SEQUENCE_EDITOR',
];

/** `env` without git's hook and repository-location variables, with prompts disabled. */
export function scrubGitEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (GIT_LOCATION_VARS.includes(k) || /^GIT_(PUSH_OPTION|CONFIG_KEY|CONFIG_VALUE)_\d+$/.test(k)) continue;
    out[k] = v;
  }
  out['GIT_TERMINAL_PROMPT'] = '0';
  // Credential helpers that open a GUI would block an unattended bot as surely as a prompt.
  out['GCM_INTERACTIVE'] = 'never';
  return out;
}

/**
 * Settings every git command of the bot's own runs with, given on the command line so that no config file of a
 * repository it works in (nor a hook in one) can run code as the bot: a test is someone else's code, and what it
 * leaves in a repository must not change what the bot does next. Config files can still add things `-c` cannot
 * take back (`url.*.insteadOf`, `include.path`, filter drivers), so the bot's own repositories are also kept out of
 * a test's reach and checked (mirror-guard.ts).
 * - `core.hooksPath=/dev/null`: no hook of the repository runs (a `pre-push` in the mirror once refused every
 *   landing). Hooks of a repository the bot pushes to still run there: git does not pass `-c` settings on to the
 *   receiving side of a local push, so a `pre-receive` (`hook install --protect`) or `post-receive` keeps working.
 * - `core.fsmonitor=false`: git would run the configured file-system monitor program.
 * - `submodule.recurse=false`: an account's `submodule.recurse` would make checkouts fetch submodules.
 */
export const PINNED_CONFIG: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'submodule.recurse=false',
];

const PINS = PINNED_CONFIG.flatMap((setting) => ['-c', setting]);

export interface GitOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Exit codes that are answers, not failures (e.g. 1 for `merge-base --is-ancestor`). */
  okCodes?: number[];
  /**
   * Without the {@link PINNED_CONFIG} pins: only for asking git about a repository as its owner set it up (where
   * its hooks live, for `hook install`), never for a command that reads, writes or runs anything in it.
   * @default true
   */
  pinned?: boolean;
  /** Written to git's standard input (e.g. for `cat-file --batch`). */
  input?: string;
}

export interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs `git PINS ARGS`; rejects with {@link GitError} unless the exit code is 0 or listed in `okCodes`. The error
 * names the command as called (`args`), without the pins.
 */
export function git(args: string[], options: GitOptions = {}): Promise<GitResult> {
  // Read the environment on every call (cheap): a caller may change HOME or identity between runs.
  const baseEnv = scrubGitEnv(process.env);
  const env = options.env ? { ...baseEnv, ...options.env } : baseEnv;
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      options.pinned === false ? args : [...PINS, ...args],
      { cwd: options.cwd, env, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        if (code === 0 || options.okCodes?.includes(code)) resolve({ stdout, stderr, code });
        else reject(new GitError(args, code, stderr || String(error?.message ?? '')));
      },
    );
    if (options.input !== undefined) {
      child.stdin?.on('error', () => {
        // git exited before reading everything: its exit code says why.
      });
      child.stdin?.end(options.input);
    }
  });
}

const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * Merge bases of pairs of commits already asked for, per repository. Ancestry never changes for given commits, so
 * the answer is kept: the queue asks "is the candidate in the target?", "does it descend from the target?" and,
 * at landing, the second again, each a process of its own otherwise.
 */
const mergeBases = new Map<string, string | null>();

/** The merge base of commits `a` and `b` (full shas) in `gitDir`, or null when they have none. */
export async function mergeBase(gitDir: string, a: string, b: string): Promise<string | null> {
  const key = `${gitDir}\0${a < b ? `${a} ${b}` : `${b} ${a}`}`;
  const known = mergeBases.get(key);
  if (known !== undefined) return known;
  const r = await git(['--git-dir', gitDir, 'merge-base', a, b], { okCodes: [1] });
  const base = r.code === 0 ? r.stdout.trim() : null;
  if (mergeBases.size >= 10_000) mergeBases.clear();
  mergeBases.set(key, base);
  return base;
}

/** `git merge-base --is-ancestor a b` in `gitDir`: is `a` contained in `b`? */
export async function isAncestor(gitDir: string, a: string, b: string): Promise<boolean> {
  if (a === b) return true;
  // Two commits: `a` is an ancestor of `b` exactly when it is their (then only) merge base.
  if (FULL_SHA.test(a) && FULL_SHA.test(b)) return (await mergeBase(gitDir, a, b)) === a;
  const r = await git(['--git-dir', gitDir, 'merge-base', '--is-ancestor', a, b], { okCodes: [1] });
  return r.code === 0;
}

/** The sha a ref or revision resolves to, or null when it does not exist. */
export async function revParse(gitDir: string, rev: string): Promise<string | null> {
  const r = await git(['--git-dir', gitDir, 'rev-parse', '--verify', '--quiet', `${rev}^{commit}`], {
    okCodes: [1, 128],
  });
  return r.code === 0 ? r.stdout.trim() : null;
}
