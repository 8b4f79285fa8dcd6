/**
 * The server side of the workflow: a post-receive hook in the repository developers push their pu branches to.
 * The hook returns at once (`git pup` must not wait for tests): it starts `premerge-bot once --poke` in the
 * background, which pokes a running `premerge-bot watch` or else runs the candidates itself.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PremergeError } from './errors.js';
import { git } from './git.js';
import { localPath, normalizeRepo } from './repo-location.js';

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

/** Second line of every hook we write; how uninstall (and re-install) recognises ours. */
const MARKER = '# premerge-bot post-receive hook';

/** Name of the log the hook's background run appends to, in the state dir. */
export const HOOK_LOG = 'hook.log';

/** What the hook runs; resolved at install time so the hook does not depend on PATH. */
export interface HookCommand {
  /**
   * Absolute path of the node executable.
   * @default process.execPath
   */
  node: string;
  /**
   * Absolute path of premerge-bot's bin script.
   * @default this package's bin/premerge-bot.js
   */
  script: string;
}

export interface HookOptions {
  /** Repository that holds the target branch (path or URL), as for `premerge-bot once --repo`. */
  repo: string;
  /**
   * Repository that holds the candidate branches (3-repo workflow). The hook goes into this one, since that is
   * where pu is pushed; without it the hook goes into `repo`, which must then be a local path.
   */
  candidatesFrom?: string;
  /** Absolute state dir, shared with `watch` and `once` so the hook finds a running watch. */
  stateDir: string;
  /** @default the running node and this package's bin script */
  command?: HookCommand;
}

/** The node and script that runs premerge-bot now; what the hook calls by default. */
export function currentCommand(): HookCommand {
  return {
    node: process.execPath,
    script: fileURLToPath(new URL('../bin/premerge-bot.js', import.meta.url)),
  };
}

/** Quotes a word for POSIX sh: single quotes, each embedded quote closed, escaped and reopened. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The text of the post-receive hook. Every path in it is absolute. */
export function hookScript(options: {
  repo: string;
  candidatesFrom?: string;
  stateDir: string;
  command: HookCommand;
}): string {
  const q = shellQuote;
  const args = ['once', '--poke', '--repo', q(options.repo)];
  if (options.candidatesFrom !== undefined) args.push('--candidates-from', q(options.candidatesFrom));
  args.push('--state-dir', q(options.stateDir));
  return `#!/bin/sh
${MARKER} (written by \`premerge-bot hook install\`; \`premerge-bot hook uninstall\` removes it).
# Returns at once: a running \`premerge-bot watch\` is poked, else a detached \`premerge-bot once\` tests the push.
# Git runs hooks with GIT_DIR=. and other GIT_* variables set; they would redirect every git call the bot makes
# (its mirror, its worktrees) to this repository, so clear them all.
unset $(env | sed -n 's/^\\(GIT_[A-Za-z_][A-Za-z0-9_]*\\)=.*/\\1/p')
# Only branch updates matter: the bot's own verdict notes (refs/notes/premerge) must not trigger another run.
trigger=
while read -r old new ref; do
  case $ref in refs/heads/*) trigger=1 ;; esac
done
[ -n "$trigger" ] || exit 0
mkdir -p ${q(options.stateDir)} || exit 0
# In a session of its own (setsid, where there is one) the run outlives the push's ssh session or terminal.
detach=
command -v setsid >/dev/null 2>&1 && detach=setsid
$detach ${q(options.command.node)} ${q(options.command.script)} ${args.join(' ')} \\
  </dev/null >>${q(join(options.stateDir, HOOK_LOG))} 2>&1 &
exit 0
`;
}

/** Where git looks for this repository's post-receive hook (honours core.hooksPath). */
async function hookPath(repo: string): Promise<string> {
  const dir = localPath(repo);
  if (dir === null) {
    throw new HookError(
      `hook install needs a local repository path, not ${repo}: install it on the machine that hosts the repository`,
      'PREMERGE_HOOK_NOT_LOCAL',
    );
  }
  let out: string;
  try {
    // Unpinned: where git looks for hooks is the repository's own setting (core.hooksPath), which the pin replaces.
    ({ stdout: out } = await git(['rev-parse', '--git-path', 'hooks/post-receive'], {
      cwd: dir,
      pinned: false,
    }));
  } catch (cause) {
    throw new HookError(`${dir} is not a git repository`, 'PREMERGE_NOT_A_REPO', { cause });
  }
  const path = out.trim();
  return isAbsolute(path) ? path : join(dir, path);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Writes the post-receive hook (atomically: a push arriving meanwhile sees the old hook or the new one).
 * Refuses (`HOOK_EXISTS`) to replace a post-receive hook that premerge-bot did not write; replaces its own.
 * @returns the hook's path
 */
export async function installHook(options: HookOptions): Promise<string> {
  const where = options.candidatesFrom ?? options.repo;
  const path = await hookPath(where);
  const existing = await readIfExists(path);
  if (existing !== undefined && !existing.includes(MARKER)) {
    throw new HookError(
      `${path} already exists and was not written by premerge-bot; merge it by hand or move it away first`,
      'PREMERGE_HOOK_EXISTS',
    );
  }
  const script = hookScript({
    repo: normalizeRepo(options.repo),
    candidatesFrom: options.candidatesFrom === undefined ? undefined : normalizeRepo(options.candidatesFrom),
    stateDir: resolve(options.stateDir),
    command: options.command ?? currentCommand(),
  });
  const tmp = `${path}.premerge-${process.pid}`;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(tmp, script, { mode: 0o755 });
  await chmod(tmp, 0o755);
  await rename(tmp, path);
  return path;
}

/**
 * Removes the hook premerge-bot installed; leaves any other hook alone (`HOOK_EXISTS`).
 * @returns the removed hook's path, or undefined when there was none
 */
export async function uninstallHook(
  options: Pick<HookOptions, 'repo' | 'candidatesFrom'>,
): Promise<string | undefined> {
  const path = await hookPath(options.candidatesFrom ?? options.repo);
  const existing = await readIfExists(path);
  if (existing === undefined) return undefined;
  if (!existing.includes(MARKER)) {
    throw new HookError(`${path} was not written by premerge-bot; leaving it`, 'PREMERGE_HOOK_EXISTS');
  }
  await rm(path);
  return path;
}
