/**
 * What is pending: candidate branch tips that are not already contained in the target and have no final verdict
 * for (sha, base, config), or for the pusher too (see {@link isSettled} for which verdicts are final for what). A tip that exists when the bot first starts counts like any other.
 */
import { matchesCandidate, type PremergeConfig } from './config.js';
import { isAncestor } from './git.js';
import type { CandidateRef, CandidateTip, Pusher, Verdict } from './types.js';

/** Candidate branches among `branches`, sorted by name so the queue order is stable. */
export function selectCandidates<T extends CandidateRef>(
  branches: readonly T[],
  config: PremergeConfig,
): T[] {
  return branches
    .filter((b) => b.branch !== config.target && matchesCandidate(b.branch, config.candidates))
    .sort((a, b) => (a.branch < b.branch ? -1 : a.branch > b.branch ? 1 : 0));
}

/**
 * Does a recorded verdict settle `tip` (a candidate commit, and who pushed it where the forge knows) against target
 * commit `targetSha`?
 * - `landed` settles a commit for good.
 * - `failed` and `timed-out` settle it for the config they were made under, whatever the base: a failing commit is
 *   not re-run each time the target moves (with rebase, a fresh push is the developer's answer to a failure).
 * - `needs-rebase`, `error` and `refused` settle (sha, base, config): once the target moves (a config change of
 *   the default branch moves it too) they are looked at again.
 * - A `refused` verdict about who pushed it (`refusedPusher`: the pusher may not land, or none could be
 *   established) settles (sha, base, config, pusher): the same commit pushed by another account, one who may
 *   land, is decided afresh (a maintainer's push of a writer's commit is the approval, as with bors's r+).
 * - `superseded` settles nothing (the branch may come back to that commit).
 */
export function isSettled(
  tip: CandidateTip,
  targetSha: string,
  config: PremergeConfig,
  verdicts: readonly Verdict[],
): boolean {
  return settlingVerdict(tip, targetSha, config, verdicts) !== undefined;
}

/** The latest verdict that settles `tip` (see {@link isSettled}), if any. */
export function settlingVerdict(
  tip: CandidateTip,
  targetSha: string,
  config: PremergeConfig,
  verdicts: readonly Verdict[],
): Verdict | undefined {
  for (let i = verdicts.length - 1; i >= 0; i--) {
    const v = verdicts[i]!;
    if (v.sha !== tip.sha) continue;
    if (v.kind === 'landed') return v;
    if (v.configHash !== config.hash) continue;
    if (v.kind === 'failed' || v.kind === 'timed-out') return v;
    if (v.base !== targetSha) continue;
    if (v.kind === 'needs-rebase' || v.kind === 'error') return v;
    if (
      v.kind === 'refused' &&
      (v.refusedPusher === undefined || samePusher(v.refusedPusher, tip.pusher ?? null))
    )
      return v;
  }
  return undefined;
}

/**
 * Whether two pushers are the same account under the same name: the same id (where both have one) and the same
 * login, so a renamed account's new push is decided afresh too. `null` (no pusher could be established) is the
 * same only as `null`.
 */
export function samePusher(a: Pusher | null, b: Pusher | null): boolean {
  return pusherKey(a) === pusherKey(b);
}

/** A pusher as one string, equal for the same account under the same name ({@link samePusher}); `null` is ''. */
export function pusherKey(p: Pusher | null): string {
  return p === null ? '' : `${p.id ?? ''}:${p.login}`;
}

/** The candidates still needing a verdict, in queue order. */
export async function pendingCandidates<T extends CandidateTip>(
  mirrorGitDir: string,
  candidates: readonly T[],
  targetSha: string,
  config: PremergeConfig,
  verdicts: readonly Verdict[],
): Promise<T[]> {
  const out: T[] = [];
  for (const c of candidates) {
    if (c.sha === targetSha || isSettled(c, targetSha, config, verdicts)) continue;
    if (await isAncestor(mirrorGitDir, c.sha, targetSha)) continue;
    out.push(c);
  }
  return out;
}
