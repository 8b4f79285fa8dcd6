/**
 * The tree a test runs in: a checkout of exactly the commit under test, kept between runs (a new checkout of 5,000
 * files costs seconds; moving a kept one to the next commit writes only what differs) and made pristine before
 * each run. It is not a worktree of the bot's mirror and does not live in the state directory:
 * - the bot checks it out through a git directory of its own (`tree.git` in the state directory, which borrows the
 *   mirror's objects), with `--git-dir`/`--work-tree`, so nothing a test writes into the tree's `.git` is ever read
 *   by the bot;
 * - the test gets a `.git` of its own, written anew for every run (HEAD at the commit, the tags and the target as
 *   `refs/remotes/origin/TARGET`, an index matching the files, the mirror's objects borrowed read-only), so
 *   `git rev-parse HEAD`, `git describe` and `git status` work in it and whatever it does there is thrown away.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RunSetupError } from './errors.js';
import { git } from './git.js';
import type { TreePaths } from './paths.js';
import type { Mirror } from './workspace.js';

/** The config of the test's own `.git`: a plain non-bare repository, nothing that runs anything. */
const TEST_GIT_CONFIG =
  '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n';

/** The config of the bot's `tree.git` (mirror-guard.ts checks it is still this). */
export const TREE_GIT_CONFIG =
  '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n\tlogallrefupdates = false\n';

/**
 * Gives the owner back read, write and search permission on directory `dir` (a test may have taken them away with
 * `chmod 000 .`, which stops even the removal of what is inside); with `deep`, on every directory below it too.
 * Never follows a symlink. A bot running as root is not stopped by permissions, but a bot of its own user is.
 */
export function restoreDirModes(dir: string, deep = false): void {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(dir);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  if ((st.mode & 0o700) !== 0o700) chmodSync(dir, (st.mode & 0o7777) | 0o700);
  if (!deep) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) restoreDirModes(join(dir, entry.name), true);
  }
}

/**
 * Removes `path` (a file, or a directory however a test left its permissions, its parent's included); a symlink,
 * never its target.
 */
export function removeAll(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
    return;
  } catch {
    // A directory without write or search permission (`chmod 000`), here or in the parent: open them up, try again.
  }
  restoreDirModes(dirname(path));
  restoreDirModes(path, true);
  rmSync(path, { recursive: true, force: true });
}

/** Empties directory `dir` (creating it): what a previous run left in a private HOME or TMPDIR goes. */
export function emptyDir(dir: string): void {
  if (existsSync(dir)) removeAll(dir);
  mkdirSync(dir, { recursive: true });
}

/**
 * What a checkout and `git clean` cannot see and so leave behind: `.git` entries below the top (git skips any path
 * component named `.git`, so a planted `src/.git` with hooks would survive every clean) and anything that is not a
 * file, directory or symlink (sockets, fifos). Removes them; returns how many.
 */
async function removeWhatGitCannotSee(root: string): Promise<number> {
  let removed = 0;
  const visit = async (dir: string, top: boolean): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    const subdirs: Promise<void>[] = [];
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.name === '.git' && !top) {
        removeAll(path);
        removed++;
      } else if (entry.isDirectory()) {
        if (!(top && entry.name === '.git')) subdirs.push(visit(path, false));
      } else if (!entry.isFile() && !entry.isSymbolicLink()) {
        removeAll(path);
        removed++;
      }
    }
    await Promise.all(subdirs);
  };
  await visit(root, true);
  return removed;
}

/** `packed-refs` text for `refs` (ref name to object id), sorted by name as git keeps it. */
function packedRefs(refs: ReadonlyMap<string, string>): string {
  const names = [...refs.keys()].sort();
  return `# pack-refs with: sorted\n${names.map((name) => `${refs.get(name)} ${name}\n`).join('')}`;
}

export class TestTree {
  readonly paths: TreePaths;
  /** The bot's own git directory for the tree (in the state directory). */
  readonly gitDir: string;
  private readonly mirror: Mirror;
  /** The cleaning that follows a run, while the bot goes on landing (see {@link cleanAfterRun}). */
  private cleaning: Promise<void> | undefined;

  constructor(paths: TreePaths, gitDir: string, mirror: Mirror) {
    this.paths = paths;
    this.gitDir = gitDir;
    this.mirror = mirror;
  }

  /** git about the tree, through the bot's own git directory. */
  private inTree(args: string[], okCodes?: number[]) {
    return git(['--git-dir', this.gitDir, '--work-tree', this.paths.tree, ...args], { okCodes });
  }

  /** Creates `tree.git` the first time: no hooks, no template, the mirror's objects borrowed. */
  private ensureGitDir(): void {
    if (existsSync(join(this.gitDir, 'HEAD'))) return;
    mkdirSync(join(this.gitDir, 'objects', 'info'), { recursive: true });
    mkdirSync(join(this.gitDir, 'objects', 'pack'), { recursive: true });
    mkdirSync(join(this.gitDir, 'refs', 'heads'), { recursive: true });
    writeFileSync(join(this.gitDir, 'objects', 'info', 'alternates'), `${this.mirror.objectsDir}\n`);
    writeFileSync(join(this.gitDir, 'config'), TREE_GIT_CONFIG);
    writeFileSync(join(this.gitDir, 'HEAD'), 'ref: refs/heads/none\n');
  }

  /**
   * Checks the tree out at `sha` and cleans it: `checkout --force` makes every tracked file what the commit holds
   * (a file a test changed has a new ctime, which git sees, whatever its mtime and size say), `clean -ffdx` removes
   * every untracked and ignored file, and what git cannot see goes by hand. Any of them failing (a directory a test
   * made unwritable, a file in the way) rejects. A `git status` to check the result would cost as much again (on
   * 5,000 files, about 15 ms of the bot's overhead per candidate); the tests check it instead.
   */
  private async checkout(sha: string): Promise<void> {
    const args = ['checkout', '--quiet', '--force', '--detach', sha];
    if ((await this.inTree(args, [1, 128])).code !== 0) {
      // A directory the test closed (`chmod 000 src`) is in the way: open every one up and try again.
      restoreDirModes(this.paths.tree, true);
      await this.inTree(args);
    }
    await this.clean();
  }

  /**
   * `git clean -ffdx` and what git cannot see. A directory the test made unreadable or unwritable stops git (as any
   * user but root): the permissions of every directory are given back and the cleaning tried once more.
   */
  private async clean(): Promise<void> {
    const r = await this.inTree(['clean', '-ffdxq'], [1]);
    if (r.code !== 0 || r.stderr.includes('Permission denied')) {
      restoreDirModes(this.paths.tree, true);
      await this.inTree(['clean', '-ffdxq']);
    }
    await removeWhatGitCannotSee(this.paths.tree);
  }

  /**
   * Makes the tree a pristine checkout of `sha` with a `.git` of the test's own, and empties the private HOME and
   * TMPDIR. Whatever goes wrong on the kept tree (a test that made a directory unwritable, replaced files by
   * symlinks, planted a nested `.git`) ends in a tree made anew; failing that, {@link RunSetupError}.
   */
  async prepare(
    sha: string,
    refs: ReadonlyMap<string, string>,
    options: { trustCleaned?: boolean } = {},
  ): Promise<void> {
    await this.cleaning;
    this.cleaning = undefined;
    try {
      this.ensureGitDir();
      const cleaned = options.trustCleaned === true && existsSync(this.cleanedMarker);
      removeAll(this.cleanedMarker);
      // A test may have closed its tree (`chmod 000 .`): nothing could be checked out or removed in it.
      restoreDirModes(this.paths.tree);
      // The test's .git of the last run, whatever it became (a directory with hooks, a symlink elsewhere).
      removeAll(join(this.paths.tree, '.git'));
      mkdirSync(this.paths.tree, { recursive: true });
      // Cleaned after the last run, and nothing of that run was left to write to it since: the checkout suffices.
      const step = cleaned
        ? this.inTree(['checkout', '--quiet', '--force', '--detach', sha])
        : this.checkout(sha);
      const ok = await step.then(
        () => true,
        () => false,
      );
      if (!ok) {
        // Start again from an empty tree (a new checkout of every file: seconds on a large repository, but rare).
        removeAll(this.paths.tree);
        mkdirSync(this.paths.tree, { recursive: true });
        await this.checkout(sha);
      }
      emptyDir(this.paths.home);
      emptyDir(this.paths.tmp);
      this.writeTestGit(sha, packedRefs(refs));
    } catch (e) {
      if (e instanceof RunSetupError) throw e;
      throw new RunSetupError(
        `could not prepare the test's tree ${this.paths.tree}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
  }

  private writeTestGit(sha: string, packedRefs: string): void {
    const dir = join(this.paths.tree, '.git');
    for (const sub of ['objects/info', 'objects/pack', 'refs/heads', 'refs/tags']) {
      mkdirSync(join(dir, sub), { recursive: true });
    }
    writeFileSync(join(dir, 'HEAD'), `${sha}\n`);
    writeFileSync(join(dir, 'config'), TEST_GIT_CONFIG);
    writeFileSync(join(dir, 'objects', 'info', 'alternates'), `${this.mirror.objectsDir}\n`);
    writeFileSync(join(dir, 'packed-refs'), packedRefs);
    // The bot's index describes exactly the files it just checked out: `git status` in the test is quick and right.
    copyFileSync(join(this.gitDir, 'index'), join(dir, 'index'));
  }

  /** After the runs: what the last test wrote goes (its outputs, its `.git`, HOME and TMPDIR). */
  /** Marks a tree cleaned after its last run (in the bot's git directory, out of every test's reach). */
  private get cleanedMarker(): string {
    return join(this.gitDir, 'premerge-cleaned');
  }

  /**
   * After a run, once nothing of it is left running and its verdicts are recorded: its untracked and ignored files
   * (build outputs), its `.git`, HOME and TMPDIR go, in the background, while the bot publishes the verdicts. The
   * next {@link prepare} waits for it and, where no process of the run can have outlived it (the sandbox, a test
   * user), needs only a checkout. Changes to tracked files are undone by that checkout.
   */
  cleanAfterRun(): void {
    this.cleaning = (async () => {
      restoreDirModes(this.paths.tree);
      removeAll(join(this.paths.tree, '.git'));
      emptyDir(this.paths.home);
      emptyDir(this.paths.tmp);
      await this.clean();
      writeFileSync(this.cleanedMarker, '');
    })().catch(() => {
      // Not cleaned: the next prepare cleans (or makes the tree anew).
      removeAll(this.cleanedMarker);
    });
  }

  /**
   * What a run left may still be in the tree: a tree was prepared (its git directory exists) and no cleaning
   * finished since, as when a crash cut the bot off between a run and its cleaning.
   */
  mayHoldARun(): boolean {
    return existsSync(join(this.gitDir, 'HEAD')) && !existsSync(this.cleanedMarker);
  }

  /** The runs are over for now: the cleaning after the last one is done. */
  async settle(): Promise<void> {
    await this.cleaning;
  }
}
