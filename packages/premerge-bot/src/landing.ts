/**
 * Moving the target, with compare-and-swap semantics: from the exact base a candidate was tested on to the exact
 * commit tested, or not at all. `--force-with-lease` (and `update-ref OLD`) only compare the old value; they do not
 * check that the move is a fast-forward, so the ancestry check is ours. The target is never rewritten and never
 * gets a merge commit: a candidate that does not descend from it is rebased (a linear copy) or refused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pushReason, RepoNotBareError } from './errors.js';
import { git, isAncestor } from './git.js';
import { tokenEnv } from './protect.js';
import { localPath } from './repo-location.js';
import type { Mirror } from './workspace.js';

export type LandResult =
  | { ok: true }
  /** The target was no longer at `base` (someone else moved it): `actual` is where it is now (null: deleted). */
  | { ok: false; reason: 'moved'; actual: string | null }
  /** `tested` does not descend from `base`: landing would rewrite the target. */
  | { ok: false; reason: 'not-descendant' }
  /** The push was refused for another reason (hook, permissions, unreachable). */
  | { ok: false; reason: 'refused'; detail: string };

/** The current tips of `branches` in `repo`, asked of the repository itself (one connection); absent = deleted. */
export async function remoteBranchShas(
  mirror: Mirror,
  repo: string,
  branches: string[],
): Promise<Map<string, string>> {
  const r = await mirror.run(['ls-remote', repo, ...branches.map((b) => `refs/heads/${b}`)]);
  const tips = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const [sha, ref] = line.split('\t');
    if (sha && ref?.startsWith('refs/heads/') && branches.includes(ref.slice(11)))
      tips.set(ref.slice(11), sha);
  }
  return tips;
}

/** The commit branch `branch` of `repo` points at, or null when it does not exist. */
export async function remoteBranchSha(mirror: Mirror, repo: string, branch: string): Promise<string | null> {
  return (await remoteBranchShas(mirror, repo, [branch])).get(branch) ?? null;
}

/**
 * Refuses, before anything is tested, a local `repo` that is not bare and has `target` checked out: git would refuse
 * every landing push (`receive.denyCurrentBranch`, unless set to `updateInstead`, `warn` or `ignore`). The common
 * case, a bare repository, costs a look at two files.
 */
export async function refuseCheckedOutTarget(repo: string, target: string): Promise<void> {
  const dir = localPath(repo);
  if (dir === null) return;
  const dotGit = join(dir, '.git');
  let gitDir: string;
  if (existsSync(dotGit)) gitDir = dotGit;
  else if (existsSync(join(dir, 'HEAD')) && /^\s*bare\s*=\s*false\s*$/im.test(readText(join(dir, 'config'))))
    gitDir = dir;
  else return;
  const r = await git(['--git-dir', gitDir, 'symbolic-ref', '--quiet', 'HEAD'], { okCodes: [1, 128] });
  if (r.stdout.trim() !== `refs/heads/${target}`) return;
  const deny = await git(['--git-dir', gitDir, 'config', '--get', 'receive.denyCurrentBranch'], {
    okCodes: [1],
  });
  if (/^(updateinstead|warn|ignore|false|no|off|0)$/i.test(deny.stdout.trim())) return;
  throw new RepoNotBareError(
    `${repo} is not a bare repository and has ${target} checked out: git refuses to update a checked-out branch, so nothing could land there. Give --repo a bare repository (git clone --bare ${repo} NAME.git, and push there), or check out another branch in ${repo}`,
    repo,
  );
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Moves `repo`'s `target` from `base` to `tested`, only if it still is at `base` and `tested` descends from it.
 * The mirror's copy of the target is the caller's to move ({@link noteLanded}), after it recorded the verdicts.
 * `pushToken` is the bot's token for a target guarded by `hook install --protect` (sent as a push option).
 */
export async function land(
  mirror: Mirror,
  repo: string,
  target: string,
  base: string,
  tested: string,
  pushToken: string | null = null,
): Promise<LandResult> {
  if (!(await isAncestor(mirror.gitDir, base, tested))) return { ok: false, reason: 'not-descendant' };
  const ref = `refs/heads/${target}`;
  const env = tokenEnv(pushToken);
  const args = [
    'push',
    '--porcelain',
    '--quiet',
    `--force-with-lease=${ref}:${base}`,
    repo,
    `${tested}:${ref}`,
  ];
  let push = await mirror.run(args, [1, 128], env);
  // One state directory may serve a protected repository and one that is not (and takes no push options).
  if (env && push.code !== 0 && /does not support push options/.test(push.stderr)) {
    push = await mirror.run(args, [1, 128]);
  }
  if (push.code === 0) return { ok: true };
  // Refused: find out whether because the target moved (a lost race, not an error) or for another reason.
  let actual: string | null;
  try {
    actual = await remoteBranchSha(mirror, repo, target);
  } catch {
    return { ok: false, reason: 'refused', detail: pushReason(push.stdout, push.stderr) };
  }
  if (actual === tested) return { ok: true };
  if (actual !== base) return { ok: false, reason: 'moved', actual };
  return { ok: false, reason: 'refused', detail: pushReason(push.stdout, push.stderr) };
}

/** After a landing: the mirror's copy of `target` follows, so the next look starts from there. */
export async function noteLanded(mirror: Mirror, target: string, tested: string): Promise<void> {
  await mirror.run(['update-ref', `refs/origin/heads/${target}`, tested]);
}

/** The last line rebase printed: on a conflict, `Could not apply SHA... SUBJECT`. */
function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).at(-1) ?? 'rebase failed';
}

export type RebaseResult = { ok: true; sha: string } | { ok: false; conflict: string };

/**
 * Replays the candidate's own commits (those in `upstream..sha`) onto `onto`, in the worktree `worktree()` yields
 * (any detached worktree of the mirror; asked for only when there is something to replay). A candidate that already
 * descends from `onto` is used as it is, keeping its sha. On conflict the rebase is aborted and the worktree left
 * clean.
 */
export async function rebaseOnto(
  mirror: Mirror,
  worktree: () => Promise<string>,
  sha: string,
  upstream: string,
  onto: string,
): Promise<RebaseResult> {
  if (await isAncestor(mirror.gitDir, onto, sha)) return { ok: true, sha };
  const dir = await worktree();
  const env = await mirror.identityEnv();
  // Inside the worktree: rebase keeps its state in the worktree's own git dir. The account's own preferences
  // (signing, autostash, updating other branches) must not change or break what the bot produces.
  const settings = [
    '-c',
    'rebase.autoStash=false',
    '-c',
    'rebase.updateRefs=false',
    '-c',
    'commit.gpgSign=false',
  ];
  const inWt = (args: string[], ok?: number[]) => mirror.inWorktree(dir, [...settings, ...args], ok, env);
  await inWt(['checkout', '--quiet', '--detach', sha]);
  const r = await inWt(['rebase', '--quiet', '--no-autosquash', '--onto', onto, upstream], [1, 128]);
  if (r.code !== 0) {
    await inWt(['rebase', '--abort'], [1, 128]);
    await inWt(['reset', '--quiet', '--hard'], [128]);
    return { ok: false, conflict: lastLine(r.stdout + r.stderr) };
  }
  const head = await inWt(['rev-parse', 'HEAD']);
  return { ok: true, sha: head.stdout.trim() };
}
