/**
 * Moving the target, with compare-and-swap semantics: from the exact base a candidate was tested on to the exact
 * commit tested, or not at all. The forge's compare-and-swap (`--force-with-lease`, forge.ts) only compares the old
 * value; it does not check that the move is a fast-forward, so the ancestry check is ours, here, for every forge. The
 * target is never rewritten and never gets a merge commit: a candidate that does not descend from it is rebased (a
 * linear copy) or refused. What a refusal means is decided here too, from the target's value the forge read again.
 */
import type { Forge } from './forge.js';
import { isAncestor } from './git.js';
import type { Mirror } from './workspace.js';

export type LandOutcome =
  | { ok: true }
  /** The target was no longer at `base` (someone else moved it): `actual` is where it is now (null: deleted). */
  | { ok: false; reason: 'moved'; actual: string | null }
  /** `tested` does not descend from `base`: landing would rewrite the target. */
  | { ok: false; reason: 'not-descendant' }
  /** The push was refused for another reason (hook, permissions, unreachable). */
  | { ok: false; reason: 'refused'; detail: string };

/**
 * Moves `target` from `base` to `tested` through `forge`, only if it still is at `base` and `tested` descends from
 * it (checked in `mirror`, where `tested` may be a rebase only the bot has).
 */
export async function land(
  forge: Forge,
  mirror: Mirror,
  target: string,
  base: string,
  tested: string,
): Promise<LandOutcome> {
  if (!(await isAncestor(mirror.gitDir, base, tested))) return { ok: false, reason: 'not-descendant' };
  const r = await forge.land({ target, expected: base, sha: tested });
  if (r.status === 'landed') return { ok: true };
  if (r.status === 'unknown') return { ok: false, reason: 'refused', detail: r.message };
  // An earlier attempt went through (its answer was lost), or someone pushed the very commit.
  if (r.current === tested) return { ok: true };
  if (r.current !== base) return { ok: false, reason: 'moved', actual: r.current };
  return { ok: false, reason: 'refused', detail: r.message };
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
