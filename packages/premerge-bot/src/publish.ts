/**
 * Publishes verdicts into the repository itself, as git notes under `refs/notes/premerge` (one JSON note on each
 * candidate commit, the latest verdict winning), so a developer elsewhere sees them after
 * `git fetch origin refs/notes/premerge:refs/notes/premerge` and `git notes --ref=premerge show SHA`.
 * The journal stays the source of truth: a failed publish is retried on the next run.
 */
import { pushReason } from './errors.js';
import type { Verdict } from './types.js';
import type { Mirror } from './workspace.js';

export const NOTES_REF = 'refs/notes/premerge';

/** The note text for a verdict: one line of JSON. */
export function noteText(v: Verdict): string {
  return JSON.stringify({
    kind: v.kind,
    branch: v.branch,
    sha: v.sha,
    base: v.base,
    tested: v.tested,
    target: v.target,
    durationMs: v.durationMs,
    exitCode: v.exitCode,
    ...(v.reason ? { reason: v.reason } : {}),
    ...(v.runId ? { runId: v.runId } : {}),
    at: v.at,
  });
}

/**
 * Adds notes for `verdicts` on top of `repo`'s notes as last fetched and pushes them with a lease on that value.
 * Resolves to an error message when the push failed (the caller reports it and retries later).
 */
export async function publishNotes(
  mirror: Mirror,
  repo: string,
  verdicts: readonly Verdict[],
): Promise<string | null> {
  if (verdicts.length === 0) return null;
  const env = await mirror.identityEnv();
  const remoteSeen = await mirror.resolve('refs/origin-notes/premerge');
  if (remoteSeen) await mirror.run(['update-ref', NOTES_REF, remoteSeen]);
  else await mirror.run(['update-ref', '-d', NOTES_REF], [1]);
  for (const v of verdicts) {
    await mirror.run(
      ['notes', `--ref=${NOTES_REF}`, 'add', '--force', '-m', noteText(v), v.sha],
      undefined,
      env,
    );
  }
  const push = await mirror.run(
    [
      'push',
      '--quiet',
      '--porcelain',
      `--force-with-lease=${NOTES_REF}:${remoteSeen ?? ''}`,
      repo,
      `${NOTES_REF}:${NOTES_REF}`,
    ],
    [1, 128],
  );
  if (push.code !== 0) return pushReason(push.stdout, push.stderr);
  const now = await mirror.resolve(NOTES_REF);
  if (now) await mirror.run(['update-ref', 'refs/origin-notes/premerge', now]);
  return null;
}
