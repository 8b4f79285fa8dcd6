/**
 * What is pending: candidate branch tips that are not already contained in the target and have no final verdict
 * for (sha, base, config) (see {@link isSettled} for which verdicts are final for which bases). A tip that exists when the bot first starts counts like any other.
 */
import { matchesCandidate, type PremergeConfig } from './config.js';
import { isAncestor } from './git.js';
import type { CandidateRef, Verdict } from './types.js';

/** Candidate branches among `branches`, sorted by name so the queue order is stable. */
export function selectCandidates(branches: readonly CandidateRef[], config: PremergeConfig): CandidateRef[] {
  return branches
    .filter((b) => b.branch !== config.target && matchesCandidate(b.branch, config.candidates))
    .sort((a, b) => (a.branch < b.branch ? -1 : a.branch > b.branch ? 1 : 0));
}

/**
 * Does a recorded verdict settle `sha` against target commit `targetSha`?
 * - `landed` settles a commit for good.
 * - `failed` and `timed-out` settle it for the config they were made under, whatever the base: a failing commit is
 *   not re-run each time the target moves (with rebase, a fresh push is the developer's answer to a failure).
 * - `needs-rebase`, `error` and `refused` settle (sha, base, config): once the target moves (a config change of
 *   the default branch moves it too) they are looked at again.
 * - `superseded` settles nothing (the branch may come back to that commit).
 */
export function isSettled(
  sha: string,
  targetSha: string,
  config: PremergeConfig,
  verdicts: readonly Verdict[],
): boolean {
  return settlingVerdict(sha, targetSha, config, verdicts) !== undefined;
}

/** The latest verdict that settles `sha` (see {@link isSettled}), if any. */
export function settlingVerdict(
  sha: string,
  targetSha: string,
  config: PremergeConfig,
  verdicts: readonly Verdict[],
): Verdict | undefined {
  for (let i = verdicts.length - 1; i >= 0; i--) {
    const v = verdicts[i]!;
    if (
      v.sha === sha &&
      (v.kind === 'landed' ||
        (v.configHash === config.hash &&
          (v.kind === 'failed' ||
            v.kind === 'timed-out' ||
            ((v.kind === 'needs-rebase' || v.kind === 'error' || v.kind === 'refused') &&
              v.base === targetSha))))
    )
      return v;
  }
  return undefined;
}

/** The candidates still needing a verdict, in queue order. */
export async function pendingCandidates(
  mirrorGitDir: string,
  candidates: readonly CandidateRef[],
  targetSha: string,
  config: PremergeConfig,
  verdicts: readonly Verdict[],
): Promise<CandidateRef[]> {
  const out: CandidateRef[] = [];
  for (const c of candidates) {
    if (c.sha === targetSha || isSettled(c.sha, targetSha, config, verdicts)) continue;
    if (await isAncestor(mirrorGitDir, c.sha, targetSha)) continue;
    out.push(c);
  }
  return out;
}
