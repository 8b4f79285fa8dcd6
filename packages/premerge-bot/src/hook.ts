/**
 * The server side of the workflow: a post-receive hook in the repository developers push their pu branches to.
 * The hook returns at once (`git pup` must not wait for tests): it starts `premerge-bot once --poke` in the
 * background, which pokes a running `premerge-bot watch` or else runs the candidates itself.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_PATH, parseConfig } from './config.js';
import { HookError } from './errors.js';
import { git } from './git.js';
import { HOOK_LOG } from './paths.js';

export { HOOK_LOG };

import { ensurePushToken, PROTECT_MARKER, protectHookScript, tokenHash } from './protect.js';
import { localPath, normalizeRepo } from './repo-location.js';

/** Second line of every hook we write; how uninstall (and re-install) recognises ours. */
const MARKER = '# premerge-bot post-receive hook';

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
  /**
   * Also install, in `repo` (which holds the target), a pre-receive hook refusing every update of the target that
   * does not come from this bot (protect.ts). `true` protects the target the trusted config names (`master` without
   * one); a string names the branch.
   * @default false
   */
  protect?: boolean | string;
}

/** What `installHook` wrote. */
export interface InstalledHooks {
  /** The post-receive hook, in the repository candidates are pushed to. */
  postReceive: string;
  /**
   * With `protect`: the pre-receive hook and the branch it protects (with the bot's own refs), and in the
   * three-repository layout the one guarding the bot's refs in the candidates repository.
   */
  protect?: { path: string; target: string; candidatesPath?: string };
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

/**
 * The text of the post-receive hook. It names the node and the premerge-bot it was installed with, and finds them
 * on PATH when they moved (a Node upgrade, a new checkout); when neither is there, the pusher is told, in one line,
 * what to do. `target` is the branch whose updates need no answer (the bot's own landings).
 */
export function hookScript(options: {
  repo: string;
  candidatesFrom?: string;
  stateDir: string;
  command: HookCommand;
  target?: string;
}): string {
  const q = shellQuote;
  const where = ['--repo', q(options.repo)];
  if (options.candidatesFrom !== undefined) where.push('--candidates-from', q(options.candidatesFrom));
  where.push('--state-dir', q(options.stateDir));
  const reinstall = `premerge-bot hook install ${where.join(' ')}`;
  return `#!/bin/sh
${MARKER} (written by \`premerge-bot hook install\`; \`premerge-bot hook uninstall\` removes it).
# Says at push time what happens to each pushed candidate, and starts the bot: a running \`premerge-bot watch\` is
# poked, else a detached \`premerge-bot once\` tests the push. Returns at once: no test is waited for.
# Git runs hooks with GIT_DIR=. and other GIT_* variables set; they would redirect every git call the bot makes
# (its mirror, its worktrees) to this repository, so clear them all.
unset $(env | sed -n 's/^\\(GIT_[A-Za-z_][A-Za-z0-9_]*\\)=.*/\\1/p')
refs=$(cat)
# Only branch updates matter: the bot's own verdicts and status (refs/notes/premerge, refs/premerge/*) do not.
case $refs in *refs/heads/*) ;; *) exit 0 ;; esac
state=${q(options.stateDir)}
log=${q(join(options.stateDir, HOOK_LOG))}
repo=${q(options.candidatesFrom ?? options.repo)}
target=${q(options.target ?? '')}
# Every line of hook.log starts the same way: time, [pid], repository.
stamp() { printf '%s [%s] %s: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$$" "$repo" "$1" >>"$log" 2>/dev/null; }
mkdir -p "$state" || { echo "premerge-bot: cannot create the state directory $state: the push is kept, but not tested" >&2; exit 0; }
# The node and premerge-bot the hook was installed with; when one of them moved, the one on PATH.
node=${q(options.command.node)}
script=${q(options.command.script)}
[ -x "$node" ] || node=$(command -v node 2>/dev/null) || node=
[ -f "$script" ] || script=$(command -v premerge-bot 2>/dev/null) || script=
missing=
[ -n "$node" ] || missing=${q(`node (installed as ${options.command.node})`)}
[ -n "$script" ] || missing="\${missing:+$missing and }"${q(`premerge-bot (installed as ${options.command.script})`)}
if [ -n "$missing" ]; then
  message='premerge-bot: cannot start the bot: '"$missing"${q(` is gone and not on PATH; install the hook again (${reinstall.replaceAll("'", '')}). The push is kept, but nothing tests it until a bot runs`)}
  echo "$message" >&2
  stamp "$message"
  exit 0
fi
# What happens to each pushed branch but the target (the bot's own landings need no answer), as things stand at
# push time, before the bot starts: remote: lines.
answer=$(printf '%s\\n' "$refs" | while read -r old new ref; do
  case $ref in refs/heads/*) [ "$ref" = "refs/heads/$target" ] || echo "$old $new $ref" ;; esac
done)
[ -z "$answer" ] || printf '%s\\n' "$answer" | "$node" --no-warnings "$script" hook answer ${where.join(' ')} 2>>"$log"
# In a session of its own (setsid, where there is one) the run outlives the push's ssh session or terminal.
detach=
command -v setsid >/dev/null 2>&1 && detach=setsid
$detach "$node" --no-warnings "$script" once --poke ${where.join(' ')} </dev/null >>"$log" 2>&1 &
exit 0
`;
}

/** Where git looks for this repository's hook `name` (honours core.hooksPath). */
async function hookPath(repo: string, name = 'post-receive'): Promise<string> {
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
    ({ stdout: out } = await git(['rev-parse', '--git-path', `hooks/${name}`], {
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

/** Refuses (`HOOK_EXISTS`) when a hook that premerge-bot did not write (no `marker`) is at `path`. */
async function checkOurs(path: string, marker: string): Promise<void> {
  const existing = await readIfExists(path);
  if (existing !== undefined && !existing.includes(marker)) {
    throw new HookError(
      `${path} already exists and was not written by premerge-bot; merge it by hand or move it away first`,
      'PREMERGE_HOOK_EXISTS',
    );
  }
}

/** Writes a hook atomically: a push arriving meanwhile sees the old hook or the new one. */
async function writeHook(path: string, script: string): Promise<void> {
  const tmp = `${path}.premerge-${process.pid}`;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(tmp, script, { mode: 0o755 });
  await chmod(tmp, 0o755);
  await rename(tmp, path);
}

/**
 * The target the trusted config of `dir` names on its default branch (its `HEAD`); that branch itself when there
 * is no config (yet) or it names none.
 */
async function configuredTarget(dir: string): Promise<string> {
  const head = await git(['--git-dir', dir, 'symbolic-ref', '--quiet', '--short', 'HEAD'], {
    okCodes: [1, 128],
  });
  const defaultBranch = head.code === 0 ? head.stdout.trim() : 'master';
  const r = await git(['--git-dir', dir, 'cat-file', 'blob', `HEAD:${CONFIG_PATH}`], { okCodes: [128] });
  if (r.code !== 0) return defaultBranch;
  try {
    return parseConfig(r.stdout, '', defaultBranch).target;
  } catch {
    return defaultBranch;
  }
}

/**
 * Writes the post-receive hook, and with `protect` the pre-receive hook guarding the target. Refuses
 * (`HOOK_EXISTS`) to replace a hook that premerge-bot did not write; replaces its own.
 */
export async function installHook(options: HookOptions): Promise<InstalledHooks> {
  const where = options.candidatesFrom ?? options.repo;
  const path = await hookPath(where);
  await checkOurs(path, MARKER);
  let guard: { path: string; target: string; dir: string } | undefined;
  // In the three-repository layout the candidates repository holds the bot's verdicts too: guarded there as well.
  let guardCandidates: { path: string; dir: string } | undefined;
  if (options.protect) {
    const dir = localPath(options.repo);
    const guardPath = await hookPath(options.repo, 'pre-receive');
    await checkOurs(guardPath, PROTECT_MARKER);
    const target = typeof options.protect === 'string' ? options.protect : await configuredTarget(dir!);
    guard = { path: guardPath, target, dir: dir! };
    const cands = options.candidatesFrom === undefined ? null : localPath(options.candidatesFrom);
    if (cands !== null) {
      const candsPath = await hookPath(options.candidatesFrom!, 'pre-receive');
      await checkOurs(candsPath, PROTECT_MARKER);
      guardCandidates = { path: candsPath, dir: cands };
    }
  }
  const stateDir = resolve(options.stateDir);
  const targetDir = localPath(options.repo);
  const script = hookScript({
    repo: normalizeRepo(options.repo),
    candidatesFrom: options.candidatesFrom === undefined ? undefined : normalizeRepo(options.candidatesFrom),
    stateDir,
    command: options.command ?? currentCommand(),
    ...(guard
      ? { target: guard.target }
      : targetDir !== null
        ? { target: await configuredTarget(targetDir) }
        : {}),
  });
  await writeHook(path, script);
  if (!guard) return { postReceive: path };
  await mkdir(stateDir, { recursive: true });
  const token = ensurePushToken(stateDir);
  // The bot's token travels as a push option, which the repository must accept.
  await git(['--git-dir', guard.dir, 'config', 'receive.advertisePushOptions', 'true']);
  await writeHook(guard.path, protectHookScript(guard.target, tokenHash(token)));
  if (guardCandidates) {
    await git(['--git-dir', guardCandidates.dir, 'config', 'receive.advertisePushOptions', 'true']);
    await writeHook(guardCandidates.path, protectHookScript(null, tokenHash(token)));
  }
  return {
    postReceive: path,
    protect: {
      path: guard.path,
      target: guard.target,
      ...(guardCandidates ? { candidatesPath: guardCandidates.path } : {}),
    },
  };
}

/**
 * Removes the hooks premerge-bot installed (the post-receive hook, and the pre-receive hook of `--protect` where
 * there is one); leaves any other hook alone (`HOOK_EXISTS` for a post-receive hook that is not ours).
 * @returns the removed hooks' paths (empty when there was none)
 */
export async function uninstallHook(
  options: Pick<HookOptions, 'repo' | 'candidatesFrom'>,
): Promise<string[]> {
  const removed: string[] = [];
  const path = await hookPath(options.candidatesFrom ?? options.repo);
  const existing = await readIfExists(path);
  if (existing !== undefined) {
    if (!existing.includes(MARKER)) {
      throw new HookError(`${path} was not written by premerge-bot; leaving it`, 'PREMERGE_HOOK_EXISTS');
    }
    await rm(path);
    removed.push(path);
  }
  for (const repo of [options.repo, options.candidatesFrom]) {
    if (repo === undefined || localPath(repo) === null) continue;
    const guard = await hookPath(repo, 'pre-receive');
    if ((await readIfExists(guard))?.includes(PROTECT_MARKER)) {
      await rm(guard);
      removed.push(guard);
    }
  }
  return removed;
}

/**
 * The state directory the premerge-bot post-receive hook of local repository `repo` names, or null when it has none
 * of ours (or `repo` is not local).
 */
export async function installedStateDir(repo: string): Promise<string | null> {
  if (localPath(repo) === null) return null;
  const text = await readIfExists(await hookPath(repo));
  if (!text?.includes(MARKER)) return null;
  const m = /--state-dir '((?:[^']|'\\'')*)'/.exec(text);
  return m ? m[1]!.replaceAll("'\\''", "'") : null;
}
