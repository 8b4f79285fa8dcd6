/**
 * Throwaway git repositories and a runner for the real binary, for the front-end tests (CLI, hook, aliases,
 * watch). Everything lives under one temp directory that `cleanup()` removes.
 */
import { execFile, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The real executable, as a user runs it (needs `npx tsc -b` first). */
export const BIN = resolve(import.meta.dirname, '../../bin/premerge-bot.js');

/** Environment for git in tests: no user config, no GIT_* from an outer hook, a fixed identity. */
export function gitEnv(home: string): NodeJS.ProcessEnv {
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
  env: NodeJS.ProcessEnv;
  /** Runs git in `cwd`; rejects on a non-zero exit. */
  git(cwd: string, ...args: string[]): Promise<string>;
  /** Runs git synchronously and returns status + output, never throws (for commands expected to fail). */
  gitStatus(cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string };
  cleanup(): void;
}

export function sandbox(): Sandbox {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'premerge-front-')));
  const env = gitEnv(dir);
  return {
    dir,
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

/** Pids of live processes (other than this one) whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
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
