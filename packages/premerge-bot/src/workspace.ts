/**
 * The bot's working copy of a repository: one persistent bare mirror in the state directory, fetched (never
 * re-cloned) before each look, and one kept detached worktree of it (`worktrees/kept`) where candidates are rebased,
 * reset to a pristine checkout before each use and cleaned after it (see {@link Mirror.prepareWorktree}). Tests
 * never run in it: they get a tree of their own (test-tree.ts).
 *
 * Ref layout inside the mirror (nothing else writes there):
 * - `refs/origin/heads/*`   branches of `repo` (the target and its trusted config live here)
 * - `refs/origin/tags/*`    tags of `repo` (a test's `git describe` sees them)
 * - `refs/cands/heads/*`    branches of `candidatesFrom`, when given
 * - `refs/origin-notes/*`   notes of `repo`, as last fetched; `refs/notes/premerge` is built on top to publish
 * - `refs/origin/HEAD`      (GitHub App) a symbolic ref to `repo`'s default branch as last fetched, for readers
 *                           without a token (`premerge-bot status`)
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { unreachable } from './errors.js';
import { git, revParse } from './git.js';
import { MIRROR_CONFIG } from './mirror-guard.js';

/** The mirror's symbolic ref to the repository's default branch (`refs/origin/heads/BRANCH`), where one is kept. */
export const DEFAULT_BRANCH_REF = 'refs/origin/HEAD';

export class Mirror {
  readonly gitDir: string;
  private identity: NodeJS.ProcessEnv | undefined;

  constructor(gitDir: string) {
    this.gitDir = gitDir;
  }

  /** The mirror's object store, which the test tree borrows read-only. */
  get objectsDir(): string {
    return join(this.gitDir, 'objects');
  }

  /** `git --git-dir MIRROR ARGS`. */
  run(args: string[], okCodes?: number[], env?: NodeJS.ProcessEnv, input?: string) {
    return git(['--git-dir', this.gitDir, ...args], {
      okCodes,
      env,
      ...(input === undefined ? {} : { input }),
    });
  }

  /** Creates the bare mirror the first time. */
  async ensure(): Promise<void> {
    if (existsSync(`${this.gitDir}/HEAD`)) return;
    mkdirSync(this.gitDir, { recursive: true });
    // No template: no sample hooks, no info/exclude; the config is all the bot's (mirror-guard.ts checks it stays so).
    await git(['init', '--bare', '--quiet', '--template=', this.gitDir]);
    writeFileSync(join(this.gitDir, 'config'), MIRROR_CONFIG);
  }

  /** Fetches `repo` (and `candidatesFrom`) into the mirror; throws RepoUnreachableError when it cannot. */
  async fetch(repo: string, candidatesFrom?: string): Promise<void> {
    await this.fetchOne(repo, [
      '+refs/heads/*:refs/origin/heads/*',
      '+refs/tags/*:refs/origin/tags/*',
      '+refs/notes/*:refs/origin-notes/*',
    ]);
    if (candidatesFrom) await this.fetchOne(candidatesFrom, ['+refs/heads/*:refs/cands/heads/*']);
  }

  private async fetchOne(url: string, refspecs: string[]): Promise<void> {
    try {
      await this.run(['fetch', '--prune', '--no-tags', '--quiet', '--no-write-fetch-head', url, ...refspecs]);
    } catch (e) {
      throw unreachable('fetch', url, e);
    }
  }

  /** The branch `repo`'s HEAD names (its default branch); `master` when the server does not say. */
  async defaultBranch(repo: string): Promise<string> {
    let out: string;
    try {
      out = (await git(['ls-remote', '--symref', repo, 'HEAD'])).stdout;
    } catch (e) {
      throw unreachable('read', repo, e);
    }
    const m = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(out);
    return m?.[1] ?? 'master';
  }

  /**
   * `path` on `rev`: its object id and text, in one process (`cat-file --batch`); null when the file does not exist
   * there.
   */
  async readBlob(rev: string, path: string): Promise<{ oid: string; text: string } | null> {
    const r = await this.run(['cat-file', '--batch'], undefined, undefined, `${rev}:${path}\n`);
    const header = /^([0-9a-f]+) blob (\d+)\n/.exec(r.stdout);
    if (!header) return null;
    const start = header[0].length;
    const bytes = Buffer.from(r.stdout.slice(start), 'utf8').subarray(0, Number(header[2]));
    return { oid: header[1]!, text: bytes.toString('utf8') };
  }

  /**
   * Every ref of the mirror's `refs/origin/` and `refs/cands/` (branches, tags) with its commit, in one process: a
   * scan lists candidates, finds the target and gives the test's checkout its tags from this one answer.
   */
  async refs(): Promise<Map<string, string>> {
    const r = await this.run([
      'for-each-ref',
      '--format=%(objectname) %(refname)',
      'refs/origin/',
      'refs/cands/',
    ]);
    const map = new Map<string, string>();
    for (const line of r.stdout.split('\n')) {
      const space = line.indexOf(' ');
      if (space > 0) map.set(line.slice(space + 1), line.slice(0, space));
    }
    return map;
  }

  /** The text of `path` on mirror ref `ref`, or null when the file does not exist there. */
  async readFile(ref: string, path: string): Promise<string | null> {
    const r = await this.run(['cat-file', 'blob', `${ref}:${path}`], [128]);
    return r.code === 0 ? r.stdout : null;
  }

  /** The object id of `path` on `rev`, or null when the file does not exist there. */
  async blobId(rev: string, path: string): Promise<string | null> {
    const r = await this.run(['rev-parse', '--verify', '--quiet', `${rev}:${path}`], [1, 128]);
    return r.code === 0 ? r.stdout.trim() : null;
  }

  resolve(rev: string): Promise<string | null> {
    return revParse(this.gitDir, rev);
  }

  /**
   * Commits the bot makes here (rebases) name this committer, whatever the account's config says: the GitHub App
   * commits as its bot account.
   */
  commitAs(name: string, email: string): void {
    this.identity = { GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email };
  }

  /**
   * Environment giving rebases and notes a committer identity of the bot's own when the account has none
   * configured (git would otherwise refuse, or invent one from the host name).
   */
  async identityEnv(): Promise<NodeJS.ProcessEnv> {
    if (this.identity) return this.identity;
    const name = await this.run(['config', 'user.name'], [1]);
    const email = await this.run(['config', 'user.email'], [1]);
    const env: NodeJS.ProcessEnv = {};
    if (name.code !== 0 || email.code !== 0) {
      env['GIT_COMMITTER_NAME'] = 'premerge-bot';
      env['GIT_COMMITTER_EMAIL'] = 'premerge-bot@localhost';
      env['GIT_AUTHOR_NAME'] = 'premerge-bot';
      env['GIT_AUTHOR_EMAIL'] = 'premerge-bot@localhost';
    }
    this.identity = env;
    return env;
  }

  /** A new detached worktree of `sha` at `dir`. */
  async addWorktree(dir: string, sha: string): Promise<void> {
    await this.run(['worktree', 'add', '--detach', '--force', '--quiet', dir, sha]);
  }

  /** Removes a worktree, also when git no longer knows it. */
  async removeWorktree(dir: string): Promise<void> {
    await this.run(['worktree', 'remove', '--force', '--force', dir], [128]);
    rmSync(dir, { recursive: true, force: true });
    await this.run(['worktree', 'prune']);
  }

  /**
   * Makes the kept worktree at `dir` a pristine checkout of `sha`: tracked files as committed, no untracked or
   * ignored file left, no rebase in progress. A test sees exactly what a new worktree would hold, but only the files
   * that differ from the previous run are written: on a repository of 5,000 files `git worktree add` spends seconds
   * creating files, which would dominate the bot's overhead per candidate. Whatever goes wrong (a test that
   * deleted `.git`, a directory it made unremovable) falls back to a new worktree.
   */
  async prepareWorktree(dir: string, sha: string): Promise<void> {
    if (existsSync(join(dir, '.git'))) {
      try {
        await this.inWorktree(dir, ['rebase', '--quit'], [1, 128]);
        await this.inWorktree(dir, ['checkout', '--quiet', '--detach', '--force', sha]);
        await this.inWorktree(dir, ['clean', '-ffdxq']);
        const head = await this.inWorktree(dir, ['rev-parse', 'HEAD']);
        const dirty = await this.inWorktree(dir, [
          'status',
          '--porcelain',
          '--ignored',
          '--untracked-files=all',
        ]);
        if (head.stdout.trim() === sha && dirty.stdout === '') return;
      } catch {
        // Fall through to a new worktree.
      }
    }
    await this.removeWorktree(dir);
    mkdirSync(dirname(dir), { recursive: true });
    await this.addWorktree(dir, sha);
  }

  /** After a run: the test's changes and outputs go, so nothing of it lingers until the next run. */
  async cleanWorktree(dir: string): Promise<void> {
    try {
      await this.inWorktree(dir, ['rebase', '--quit'], [1, 128]);
      await this.inWorktree(dir, ['reset', '--quiet', '--hard']);
      await this.inWorktree(dir, ['clean', '-ffdxq']);
    } catch {
      await this.removeWorktree(dir);
    }
  }

  /**
   * git inside a worktree of the mirror, with no hooks (git.ts pins them off for every call). A test may
   * have deleted the worktree's `.git`: git must then fail rather than find a repository above the state dir (a
   * `reset --hard` there would be a disaster), so discovery is fenced at the worktree's parent.
   */
  inWorktree(dir: string, args: string[], okCodes?: number[], env?: NodeJS.ProcessEnv) {
    return git(['-C', dir, ...args], {
      okCodes,
      env: { ...env, GIT_CEILING_DIRECTORIES: dirname(dir) },
    });
  }
}
