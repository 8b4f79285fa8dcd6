/**
 * Throwaway git repositories for premerge-bot's tests, all under one temp directory that `cleanup()` removes:
 * - {@link sandbox}: the directory, an isolated git environment (no user config, a fixed identity) and a git runner;
 * - {@link createFixture} (engine tests): a bare `origin` (the repository the bot lands on), a developer clone
 *   `work`, and a state directory. Test commands are tiny shell scripts kept in the repository (`test.sh`), so each
 *   candidate decides its own pass or fail while the command that runs it comes from the trusted config on master;
 * - {@link project} (front-end tests: CLI, hook, aliases, watch): a bare "public" repository and a clone on a topic
 *   branch, for the real binary {@link BIN}.
 */
import { execFile, spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The real executable, as a user runs it (needs `npx tsc -b` first). */
export const BIN = resolve(import.meta.dirname, '../../bin/premerge-bot.js');

/**
 * Environment for git in tests: HOME in the sandbox (no user or system config: a user's `commit.gpgsign` or hooks
 * must not leak in), no GIT_* from an outer hook, a fixed identity, never a prompt.
 */
function gitEnv(home: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_')));
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Dev',
    GIT_AUTHOR_EMAIL: 'dev@example.com',
    GIT_COMMITTER_NAME: 'Dev',
    GIT_COMMITTER_EMAIL: 'dev@example.com',
    GIT_TERMINAL_PROMPT: '0',
  };
}

export interface Sandbox {
  dir: string;
  /**
   * A directory (inside `dir`, open to every user) that the tests the bot runs may write: list it in the config's
   * `sandbox-writable` ({@link writableShared}); the rest of `dir` is out of a sandboxed test's sight.
   */
  shared: string;
  env: NodeJS.ProcessEnv;
  /** Runs git in `cwd`; rejects on a non-zero exit; resolves with its trimmed stdout. */
  git(cwd: string, ...args: string[]): Promise<string>;
  /** Runs git synchronously and returns status + output, never throws (for commands expected to fail). */
  gitStatus(cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string };
  cleanup(): void;
}

/**
 * A new temp directory (real path) with its git environment; `prefix` names it for whoever finds it left over.
 * `base` is where it goes (default the system's temp directory; tests that want their repositories visible inside
 * the sandbox, which hides /tmp, use /var/tmp).
 */
export function sandbox(prefix = 'premerge-front-', base = tmpdir()): Sandbox {
  const dir = realpathSync(mkdtempSync(join(base, prefix)));
  const env = gitEnv(dir);
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o777);
  return {
    dir,
    shared,
    env,
    async git(cwd, ...args) {
      const { stdout } = await exec('git', args, { cwd, env });
      return stdout.trim();
    },
    gitStatus(cwd, ...args) {
      const r = spawnSync('git', args, { cwd, env, encoding: 'utf8' });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    cleanup() {
      // Runs a hook started in the background may still be finishing (e.g. the one the bot's own landing push
      // triggered): let them end before removing their state dir.
      const deadline = Date.now() + 30_000;
      while (processesMentioning(dir).length > 0 && Date.now() < deadline) spawnSync('sleep', ['0.1']);
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

/** A sandbox holding an empty bare repository `public.git`, and the path (not created) of a state dir named `stateName`. */
export async function bareSandbox(stateName: string): Promise<{ box: Sandbox; bare: string; state: string }> {
  const box = sandbox();
  const bare = join(box.dir, 'public.git');
  await box.git(box.dir, 'init', '-q', '--bare', bare);
  return { box, bare, state: join(box.dir, stateName) };
}

/** The config line that lets the tests the bot runs write `dir` (e.g. a Sandbox's `shared`) in the sandbox. */
export function writableShared(dir: string): string {
  return `sandbox-writable: ["${dir}"]\n`;
}

/**
 * Pids of live processes (other than this one; zombies are gone) whose command line mentions `text`: how a test
 * finds the processes a run left, whatever pid namespace they were started in (give them a unique argument, such as
 * `sleep 300.4711`).
 */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text) && isRunning(Number(entry)))
        pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** Is `pid` still a running process? A zombie (exited, not yet reaped) counts as gone. Read straight from /proc. */
export function isRunning(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Polls `check` until it returns a value other than undefined; fails after a generous deadline. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
): Promise<T> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const PASS = 'exit 0\n';
export const FAIL = 'echo "tests broken" >&2\nexit 1\n';

export interface Fixture extends Sandbox {
  /** The bare repository holding master (and, unless a 3-repo test says otherwise, the candidates). */
  origin: string;
  /** A developer's clone of origin. */
  work: string;
  stateDir: string;
  /** Writes files in `work` (relative paths), commits them on the current branch, returns the new sha. */
  commit(files: Record<string, string>, message?: string): Promise<string>;
  /** Sha of `rev` in repository `cwd` (bare or not). */
  rev(cwd: string, rev: string): Promise<string>;
  /** Makes a new bare repository next to origin. */
  bare(name: string): Promise<string>;
}

/**
 * Creates origin with one commit on master holding `.github/premerge.yml` (`config`, or what it makes of the
 * sandbox's `shared` directory) and `test.sh` (passing), and a clone with master checked out.
 */
export async function createFixture(
  config: string | ((shared: string) => string) = 'test: sh test.sh\n',
  options: { base?: string } = {},
): Promise<Fixture> {
  const box = sandbox('premerge-engine-', options.base);
  const { dir, git } = box;
  const origin = join(dir, 'origin.git');
  const work = join(dir, 'work');
  await git(dir, 'init', '--bare', '--quiet', '--initial-branch=master', origin);
  await git(dir, 'init', '--quiet', '--initial-branch=master', work);
  await git(work, 'remote', 'add', 'origin', origin);
  const f: Fixture = {
    ...box,
    origin,
    work,
    stateDir: join(dir, 'state'),
    async commit(files, message = 'change') {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(work, path)), { recursive: true });
        writeFileSync(join(work, path), text);
        if (path.endsWith('.sh')) chmodSync(join(work, path), 0o755);
      }
      await git(work, 'add', '--all');
      await git(work, 'commit', '--quiet', '--allow-empty', '-m', message);
      return git(work, 'rev-parse', 'HEAD');
    },
    rev: (cwd, rev) => git(cwd, 'rev-parse', rev),
    async bare(name) {
      const path = join(dir, `${name}.git`);
      await git(dir, 'init', '--bare', '--quiet', '--initial-branch=master', path);
      return path;
    },
  };
  const text = typeof config === 'string' ? config : config(box.shared);
  await f.commit({ '.github/premerge.yml': text, 'test.sh': PASS, README: 'project\n' }, 'initial');
  await git(work, 'push', '--quiet', 'origin', 'master');
  return f;
}

/**
 * In `f.work`: starts branch `name` from `from`, commits `files`, and force-pushes it to `remote`'s `branch`.
 * Returns the pushed sha. Leaves `work` on that branch.
 */
export async function pushCandidate(
  f: Fixture,
  opts: { from?: string; files: Record<string, string>; branch?: string; remote?: string; message?: string },
): Promise<string> {
  const branch = opts.branch ?? 'pu';
  await f.git(f.work, 'fetch', '--quiet', 'origin');
  await f.git(
    f.work,
    'checkout',
    '--quiet',
    '-B',
    `local-${branch.replace(/\//g, '-')}`,
    opts.from ?? 'origin/master',
  );
  const sha = await f.commit(opts.files, opts.message ?? `candidate for ${branch}`);
  await f.git(f.work, 'push', '--quiet', '--force', opts.remote ?? 'origin', `HEAD:refs/heads/${branch}`);
  return sha;
}

/** Pushes a commit straight to origin's master (as a maintainer would), returning its sha. */
export async function pushToMaster(
  f: Fixture,
  files: Record<string, string>,
  message = 'direct',
): Promise<string> {
  await f.git(f.work, 'fetch', '--quiet', 'origin');
  await f.git(f.work, 'checkout', '--quiet', '-B', 'local-master', 'origin/master');
  const sha = await f.commit(files, message);
  await f.git(f.work, 'push', '--quiet', 'origin', 'HEAD:refs/heads/master');
  return sha;
}

/**
 * Installs a `reference-transaction` hook in bare repository `repo` that appends every committed value of
 * `refs/heads/BRANCH` to `logFile`: the complete history of the values that branch took, however it was updated.
 */
export function recordBranchValues(repo: string, branch: string, logFile: string): void {
  const hook = join(repo, 'hooks', 'reference-transaction');
  writeFileSync(
    hook,
    `#!/bin/sh
[ "$1" = committed ] || exit 0
while read -r old new ref; do
  [ "$ref" = "refs/heads/${branch}" ] && echo "$new" >> "${logFile}"
done
exit 0
`,
  );
  chmodSync(hook, 0o755);
}

/** Installs a `pre-receive` hook in bare repository `repo` that refuses any push updating `ref`, saying `message`. */
export function refusePushesTo(repo: string, ref: string, message: string): string {
  const hook = join(repo, 'hooks', 'pre-receive');
  writeFileSync(
    hook,
    `#!/bin/sh\nwhile read -r old new ref; do case "$ref" in ${ref}) echo "${message}" >&2; exit 1;; esac; done\n`,
    { mode: 0o755 },
  );
  return hook;
}

/** Lines of a file written by a test command or hook (empty when it does not exist). */
export function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** A bare "public" repository whose master holds `.github/premerge.yml`, and a developer clone of it. */
export interface Project {
  bare: string;
  clone: string;
  state: string;
  /** Commits a change on the clone's current branch and returns the new sha. */
  commit(file: string, text: string): Promise<string>;
}

/** Creates the project; `config` is the text of the trusted `.github/premerge.yml`. */
export async function project(box: Sandbox, config: string): Promise<Project> {
  const bare = join(box.dir, 'public.git');
  const clone = join(box.dir, 'clone');
  await box.git(box.dir, 'init', '-q', '--bare', '-b', 'master', bare);
  await box.git(box.dir, 'init', '-q', '-b', 'master', clone);
  await box.git(clone, 'remote', 'add', 'origin', bare);
  const commit = async (file: string, text: string) => {
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    writeFileSync(join(clone, file), text);
    await box.git(clone, 'add', file);
    await box.git(clone, 'commit', '-q', '-m', `change ${file}`);
    return box.git(clone, 'rev-parse', 'HEAD');
  };
  await commit('.github/premerge.yml', config);
  await box.git(clone, 'push', '-q', 'origin', 'master');
  await box.git(clone, 'switch', '-q', '-c', 'topic');
  return { bare, clone, state: join(box.dir, 'state'), commit };
}

/**
 * Fails the test with one line when not running as root: tests that run the bot's tests as another user (or need
 * another user's process, for EPERM) cannot work otherwise. CI runs as root.
 */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${what} needs root (it starts processes as another user): run the tests as root, as CI does`,
    );
  }
}

/**
 * A uid (with the same gid) that no account names and no process uses: a test user of the test's own, so that the
 * bot killing every process of its test user after a run touches nothing else.
 */
export function freeTestUid(): number {
  const passwd = readFileSync('/etc/passwd', 'utf8');
  const used = new Set(passwd.split('\n').map((line) => Number(line.split(':')[2])));
  for (;;) {
    const uid = 60_000 + Math.floor(Math.random() * 5000);
    if (used.has(uid)) continue;
    const busy = readdirSync('/proc').some((name) => {
      try {
        return /^\d+$/.test(name) && statSync(`/proc/${name}`).uid === uid;
      } catch {
        return false;
      }
    });
    if (!busy) return uid;
  }
}

/** One way the bot can run tests, for `describe.each`: its engine options, and what it needs set up first. */
export interface IsolationCase {
  mode: 'sandbox' | 'test-user' | 'same-user';
  /** For beforeAll: a test user needs root (else the test fails, saying so) and a uid of its own. */
  setUp(): void;
  /** The engine options that choose the mode. */
  options(): { sandbox?: 'auto' | 'off'; testUser?: string };
}

export function isolationCases(...modes: Array<IsolationCase['mode']>): IsolationCase[] {
  return modes.map((mode) => {
    let uid = 0;
    return {
      mode,
      setUp() {
        if (mode !== 'test-user') return;
        requireRoot('test-user mode');
        uid = freeTestUid();
      },
      options: () =>
        mode === 'test-user' ? { testUser: String(uid) } : { sandbox: mode === 'sandbox' ? 'auto' : 'off' },
    };
  });
}
