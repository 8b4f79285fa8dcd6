/**
 * Throwaway git repositories for the engine tests: a bare `origin` (the repository the bot lands on), a developer
 * clone `work`, and a state directory, all under one temp directory. Test commands are tiny shell scripts kept in
 * the repository (`test.sh`), so each candidate decides its own pass or fail while the command that runs it comes
 * from the trusted config on master.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Environment for the fixture's own git calls: a fixed identity, no GIT_* from outside. */
export function fixtureGitEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_')));
  return {
    ...env,
    GIT_AUTHOR_NAME: 'Dev',
    GIT_AUTHOR_EMAIL: 'dev@example.com',
    GIT_COMMITTER_NAME: 'Dev',
    GIT_COMMITTER_EMAIL: 'dev@example.com',
    GIT_TERMINAL_PROMPT: '0',
  };
}

export const PASS = 'exit 0\n';
export const FAIL = 'echo "tests broken" >&2\nexit 1\n';

export interface Fixture {
  dir: string;
  /** The bare repository holding master (and, unless a 3-repo test says otherwise, the candidates). */
  origin: string;
  /** A developer's clone of origin. */
  work: string;
  stateDir: string;
  git(cwd: string, ...args: string[]): Promise<string>;
  /** Writes files in `work` (relative paths), commits them on the current branch, returns the new sha. */
  commit(files: Record<string, string>, message?: string): Promise<string>;
  /** Sha of `rev` in repository `cwd` (bare or not). */
  rev(cwd: string, rev: string): Promise<string>;
  /** Makes a new bare repository next to origin. */
  bare(name: string): Promise<string>;
  cleanup(): void;
}

/** A config file text with the given test command and extra lines. */
export function premergeYml(test = 'sh test.sh', extra = ''): string {
  return `test: ${test}\n${extra}`;
}

/**
 * Creates origin with one commit on master holding `.github/premerge.yml` (`config`) and `test.sh` (passing),
 * and a clone with master checked out.
 */
export async function createFixture(config = premergeYml()): Promise<Fixture> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'premerge-engine-')));
  const env = fixtureGitEnv();
  const git = async (cwd: string, ...args: string[]) => (await exec('git', args, { cwd, env })).stdout.trim();
  const origin = join(dir, 'origin.git');
  const work = join(dir, 'work');
  await git(dir, 'init', '--bare', '--quiet', '--initial-branch=master', origin);
  await git(dir, 'init', '--quiet', '--initial-branch=master', work);
  await git(work, 'remote', 'add', 'origin', origin);
  const f: Fixture = {
    dir,
    origin,
    work,
    stateDir: join(dir, 'state'),
    git,
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
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await f.commit({ '.github/premerge.yml': config, 'test.sh': PASS, README: 'project\n' }, 'initial');
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

/** Lines of a file written by a test command or hook (empty when it does not exist). */
export function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
