/** Where the bot keeps the state of each repository. */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { repoIdentity } from './repo-identity.js';
import { normalizeRepo } from './repo-location.js';

/** The state directory when none is given: `$XDG_STATE_HOME/premerge-bot` or `~/.local/state/premerge-bot`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_STATE_HOME'];
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'state'), 'premerge-bot');
}

/**
 * Where the trees tests run in live when no other place is given: beside the state directory, never inside it (a
 * test must not find the bot's state a `../..` away, and a test user must be able to reach its tree while the
 * state directory stays closed to it).
 * @example defaultTreesDir('/var/lib/premerge-bot') // '/var/lib/premerge-bot-trees'
 */
export function defaultTreesDir(stateDir: string): string {
  return `${resolve(stateDir).replace(/\/+$/, '')}-trees`;
}

/** Name of the log the hook's background runs append to, in the state dir (kept as retention.ts says). */
export const HOOK_LOG = 'hook.log';

/** Name of the worktree the bot keeps between runs for rebases, inside `worktrees/`. */
export const KEPT_WORKTREE = 'kept';

/** The test's side of one repository, in the trees directory: what a test may write. */
export interface TreePaths {
  /** This repository's directory in the trees directory. */
  root: string;
  /** The checkout a test runs in (a git repository of its own, made anew for every run). */
  tree: string;
  /** The test's private HOME, emptied before every run. */
  home: string;
  /** The test's private TMPDIR (its `/tmp` in the sandbox), emptied before every run. */
  tmp: string;
}

export interface RepoPaths {
  /** The state directory all repositories share (the push token lives there). */
  stateDir: string;
  root: string;
  journal: string;
  lock: string;
  /** Held by the one engine call waiting for {@link lock} (engine.ts runOnce). */
  nextLock: string;
  mirror: string;
  /** The bot's own git directory for the test tree: its index and HEAD, never seen by a test. */
  treeGit: string;
  worktrees: string;
  logs: string;
  /** The trees directory all repositories share (see {@link defaultTreesDir}). */
  treesDir: string;
  trees: TreePaths;
}

/**
 * The files of one (repository, candidates repository) pair inside the state and trees directories, keyed by the
 * repositories' identities (repo-identity.ts): one repository reached by a symlink, a relative path, a URL with a
 * rotated token or with and without `.git` has one state, one lock. `identity` overrides the repository's (the
 * GitHub App: `github:HOST:ID`).
 */
export function repoPaths(
  stateDir: string,
  repo: string,
  candidatesFrom?: string,
  treesDir = defaultTreesDir(stateDir),
  identity?: string,
): RepoPaths {
  const id = identity ?? repoIdentity(repo);
  const key = id + (candidatesFrom ? `\n${repoIdentity(candidatesFrom)}` : '');
  return pathsAt(stateDir, treesDir, `${slugOf(id.startsWith('github:') ? repo : id)}-${hash(key)}`);
}

/**
 * Where premerge-bot 0.1 kept the same pair: keyed by the path or URL as given (made absolute), so a symlink, a
 * token in the URL or a trailing `.git` made another state directory. A session moves it to {@link repoPaths}.
 */
export function legacyRepoPaths(
  stateDir: string,
  repo: string,
  candidatesFrom?: string,
  treesDir = defaultTreesDir(stateDir),
): RepoPaths {
  const key = normalizeRepo(repo) + (candidatesFrom ? `\n${normalizeRepo(candidatesFrom)}` : '');
  return pathsAt(stateDir, treesDir, `${slugOf(repo)}-${hash(key)}`);
}

function hash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/** A readable directory name for a repository: its last path component without `.git`. */
function slugOf(repo: string): string {
  return (
    basename(repo.replace(/\/+$/, ''))
      .replace(/\.git$/, '')
      .replace(/[^A-Za-z0-9._-]/g, '_') || 'repo'
  );
}

function pathsAt(stateDir: string, treesDir: string, name: string): RepoPaths {
  const root = join(resolve(stateDir), 'repos', name);
  const treesRoot = join(resolve(treesDir), name);
  return {
    stateDir: resolve(stateDir),
    root,
    journal: join(root, 'journal.jsonl'),
    lock: join(root, 'lock'),
    nextLock: join(root, 'lock.next'),
    mirror: join(root, 'mirror.git'),
    treeGit: join(root, 'tree.git'),
    worktrees: join(root, 'worktrees'),
    logs: join(root, 'logs'),
    treesDir: resolve(treesDir),
    trees: {
      root: treesRoot,
      tree: join(treesRoot, 'tree'),
      home: join(treesRoot, 'home'),
      tmp: join(treesRoot, 'tmp'),
    },
  };
}
