/**
 * The developer's side of the workflow: git aliases `git pup` (push the current branch to the remote's candidate
 * branch) and `git pu-status` (what the bot said about it, from the verdicts it publishes as git notes).
 *
 * Git runs `!` aliases with `sh -c 'ALIAS "$@"'`, so the bodies below are POSIX sh (dash runs them) and end with
 * the name of the function that receives the arguments.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { AliasError } from './errors.js';
import { scrubGitEnv } from './git.js';

const run = promisify(execFile);

/** Marks an alias as ours, so uninstall never removes an alias of the same name that someone else wrote. */
const MARKER = ': premerge-bot;';

/** Git config keys the aliases read at run time; install writes them, uninstall removes them. */
const REMOTE_KEY = 'premerge.remote';
const BRANCH_KEY = 'premerge.branch';
/** The web address of a GitHub Enterprise Server whose App answers pushes with check runs (github.com is known). */
const GITHUB_KEY = 'premerge.github';
/** What `git pup` pushed last from this clone: `SHA REMOTE BRANCH`. */
const PUSHED_KEY = 'premerge.pushed';

/**
 * The alias bodies live beside the package as plain POSIX sh (`aliases/pup.sh`, `aliases/pu-status.sh`), each a
 * function `f` called last, as git runs `!` aliases (`sh -c 'BODY "$@"'`). `git pup` records in
 * `premerge.pushed` the commit it pushed (`SHA REMOTE BRANCH`), which `git pu-status` answers for; the verdicts come
 * from the notes (`refs/notes/premerge`), the rest from the bot's status (`refs/premerge/status`, bot-status.ts).
 */
function aliasBody(name: string): string {
  const body = readAliasFile(name);
  if (!body.startsWith(MARKER)) throw new Error(`aliases/${name}.sh must start with '${MARKER}'`);
  // The function both aliases call to point at GitHub's check run, defined first in each.
  return `${MARKER}\n${readAliasFile('github-checks')}\n${body.slice(MARKER.length).trimStart()}`;
}

function readAliasFile(name: string): string {
  return readFileSync(new URL(`../aliases/${name}.sh`, import.meta.url), 'utf8').trimEnd();
}

const PUP = aliasBody('pup');
const PU_STATUS = aliasBody('pu-status');

/** The aliases `alias install` writes, by name. Exported for the README and tests. */
export const ALIASES: Readonly<Record<string, string>> = { pup: `!${PUP}`, 'pu-status': `!${PU_STATUS}` };

/** Where the aliases live. */
export interface AliasOptions {
  /**
   * A directory inside the developer's clone.
   * @default process.cwd()
   */
  cwd?: string;
  /**
   * Remote that `git pup` and `git pu-status` use when called without one.
   * @default 'origin'
   */
  remote?: string;
  /**
   * Candidate branch on the remote, e.g. `pu/alice` when the bot's config has `candidates: "pu/*"`.
   * @default 'pu'
   */
  branch?: string;
  /**
   * The web address of the GitHub Enterprise Server the remote is on, where premerge-bot runs as a GitHub App:
   * `git pup` and `git pu-status` then point at the commit's check run. A remote on github.com needs none.
   */
  github?: string;
  /**
   * Write to the user's ~/.gitconfig (`git config --global`) instead of the clone's .git/config.
   * @default false
   */
  perUser?: boolean;
}

/** What install or uninstall changed. */
export interface AliasReport {
  /** `--local` (this clone) or `--global` (every clone of this user). */
  scope: 'local' | 'global';
  /** Alias names written or removed. */
  aliases: string[];
}

/** Runs git in `cwd`; run from inside a hook, a stray GIT_DIR must not redirect it to another repository. */
async function git(cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, env: scrubGitEnv(process.env) });
    return stdout;
  } catch (cause) {
    const err = cause as NodeJS.ErrnoException & { stderr?: string; code?: unknown };
    if (err.code === 'ENOENT' && !err.stderr) {
      throw new AliasError(`directory not found: ${cwd}`, 'PREMERGE_NOT_A_CLONE', { cause });
    }
    throw cause;
  }
}

/** Reads one config value in the given scope; undefined when unset (git config exits 1). */
async function readConfig(cwd: string, scope: string, key: string): Promise<string | undefined> {
  try {
    return (await git(cwd, ['config', scope, '--get', key])).trimEnd();
  } catch (err) {
    if ((err as { code?: unknown }).code === 1) return undefined;
    throw err;
  }
}

async function scopeFor(options: AliasOptions): Promise<{ cwd: string; scope: '--local' | '--global' }> {
  const cwd = options.cwd ?? process.cwd();
  if (options.perUser) return { cwd, scope: '--global' };
  try {
    await git(cwd, ['rev-parse', '--git-dir']);
  } catch (cause) {
    if (cause instanceof AliasError) throw cause;
    throw new AliasError(
      `${cwd} is not inside a git clone (use --per-user to install for every clone)`,
      'PREMERGE_NOT_A_CLONE',
      { cause },
    );
  }
  return { cwd, scope: '--local' };
}

/**
 * Installs `git pup` and `git pu-status`. Refuses (code `ALIAS_EXISTS`) to replace an alias of the same name that
 * premerge-bot did not write; replaces its own (so upgrading re-installs cleanly).
 */
export async function installAliases(options: AliasOptions = {}): Promise<AliasReport> {
  const { cwd, scope } = await scopeFor(options);
  for (const name of Object.keys(ALIASES)) {
    const existing = await readConfig(cwd, scope, `alias.${name}`);
    if (existing !== undefined && !existing.includes(MARKER)) {
      throw new AliasError(
        `git alias '${name}' already exists and was not written by premerge-bot; remove it first (git config ${scope} --unset alias.${name})`,
        'PREMERGE_ALIAS_EXISTS',
      );
    }
  }
  for (const [name, body] of Object.entries(ALIASES))
    await git(cwd, ['config', scope, `alias.${name}`, body]);
  await setOrUnset(cwd, scope, REMOTE_KEY, options.remote);
  await setOrUnset(cwd, scope, BRANCH_KEY, options.branch);
  await setOrUnset(cwd, scope, GITHUB_KEY, options.github);
  return { scope: scope === '--global' ? 'global' : 'local', aliases: Object.keys(ALIASES) };
}

async function setOrUnset(cwd: string, scope: string, key: string, value: string | undefined): Promise<void> {
  if (value !== undefined) await git(cwd, ['config', scope, key, value]);
  else if ((await readConfig(cwd, scope, key)) !== undefined)
    await git(cwd, ['config', scope, '--unset', key]);
}

/** Removes the aliases premerge-bot installed (and its premerge.* settings) from the same scope; leaves others'. */
export async function uninstallAliases(
  options: Omit<AliasOptions, 'remote' | 'branch' | 'github'> = {},
): Promise<AliasReport> {
  const { cwd, scope } = await scopeFor(options);
  const removed: string[] = [];
  for (const name of Object.keys(ALIASES)) {
    const existing = await readConfig(cwd, scope, `alias.${name}`);
    if (existing === undefined || !existing.includes(MARKER)) continue;
    await git(cwd, ['config', scope, '--unset', `alias.${name}`]);
    removed.push(name);
  }
  await setOrUnset(cwd, scope, REMOTE_KEY, undefined);
  await setOrUnset(cwd, scope, BRANCH_KEY, undefined);
  await setOrUnset(cwd, scope, GITHUB_KEY, undefined);
  if (scope === '--local') await setOrUnset(cwd, scope, PUSHED_KEY, undefined);
  return { scope: scope === '--global' ? 'global' : 'local', aliases: removed };
}
