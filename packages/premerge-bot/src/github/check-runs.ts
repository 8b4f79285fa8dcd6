/**
 * A verdict as a check run on the candidate commit: created `queued` when the bot takes the candidate, moved to
 * `in_progress` when its test starts and `completed` only after the landing attempt, so `success` means landed.
 *
 * | verdict | conclusion |
 * | --- | --- |
 * | landed | success |
 * | failed | failure |
 * | timed-out | timed_out |
 * | superseded | cancelled |
 * | needs-rebase, refused (config, pusher, workflows) | action_required, the reason as its title |
 * | error | neutral |
 *
 * `POST …/check-runs` is the one call that must not be sent twice blindly (a 502 after GitHub made the run would
 * make a second one): it goes out without octokit's retries, and before every attempt the run is looked for by its
 * `external_id`, the id of the journal record it stands for.
 */
import { formatDuration } from '../config.js';
import type { Verdict, VerdictKind } from '../types.js';
import { apiError, type BotOctokit, isTransient } from './app-client.js';

/** The check run's name on every commit. */
export const CHECK_NAME = 'premerge-bot';

/** GitHub's limits on a check run's output (characters). */
export const SUMMARY_LIMIT = 65_535;
/** Ours for the title: GitHub shows it on one line. */
export const TITLE_LIMIT = 255;

export type Conclusion =
  | 'success'
  | 'failure'
  | 'neutral'
  | 'cancelled'
  | 'skipped'
  | 'timed_out'
  | 'action_required';

const CONCLUSIONS: Record<VerdictKind, Conclusion> = {
  landed: 'success',
  failed: 'failure',
  'timed-out': 'timed_out',
  superseded: 'cancelled',
  'needs-rebase': 'action_required',
  refused: 'action_required',
  error: 'neutral',
};

/** The check run conclusion a verdict gets. */
export function conclusionFor(kind: VerdictKind): Conclusion {
  return CONCLUSIONS[kind];
}

export interface RepoName {
  owner: string;
  repo: string;
}

export interface CheckOutput {
  title: string;
  summary: string;
}

/** What a completed check run says. */
export interface CompletedCheck {
  conclusion: Conclusion;
  output: CheckOutput;
}

/** Cuts `text` to `limit` characters, saying so at the end. */
export function fit(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const mark = '…';
  return text.slice(0, limit - mark.length) + mark;
}

/** The first line of `text`, fit for a title. */
function titleOf(text: string): string {
  return fit(text.split('\n')[0]!.trim(), TITLE_LIMIT);
}

/** A Markdown code block holding `text` whatever backticks it has. */
function codeBlock(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${text.replace(/\n$/, '')}\n${fence}`;
}

/**
 * The completed check run for `verdict`: conclusion, a title, and a summary with the verdict, the duration and (when
 * given, already redacted) the end of the log, cut from its start so the summary stays within GitHub's limit.
 */
export function completedCheck(verdict: Verdict, logTail?: string): CompletedCheck {
  const conclusion = conclusionFor(verdict.kind);
  const short = (sha: string) => sha.slice(0, 12);
  const reason = verdict.reason ?? '';
  const title =
    conclusion === 'action_required' && reason
      ? titleOf(reason)
      : titleOf(
          {
            landed: `Landed on ${verdict.target}`,
            failed: `Test failed${verdict.exitCode === null ? '' : ` (exit ${verdict.exitCode})`}`,
            'timed-out': `Test timed out after ${formatDuration(verdict.durationMs)}`,
            superseded: 'Superseded by a newer push',
            'needs-rebase': 'Needs a rebase',
            refused: 'Refused',
            error: `Could not test: ${reason || 'error'}`,
          }[verdict.kind],
        );
  const rows = [
    ['verdict', `\`${verdict.kind}\``],
    ['commit tested', `\`${short(verdict.tested)}\`${verdict.tested === verdict.sha ? '' : ' (rebased)'}`],
    ['base', `${verdict.target} \`${short(verdict.base)}\``],
    ...(verdict.durationMs > 0 ? [['duration', formatDuration(verdict.durationMs)]] : []),
    ...(verdict.exitCode !== null ? [['exit code', String(verdict.exitCode)]] : []),
    ...(verdict.runId ? [['run', `\`${verdict.runId}\``]] : []),
  ];
  const head = [
    reason ? `**${verdict.kind}**: ${reason}` : `**${verdict.kind}**`,
    '',
    '| | |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
  ].join('\n');
  let summary = head;
  if (logTail) {
    const intro = '\n\nThe end of the log:\n\n';
    // Room for the block's fences and the note that the start was cut.
    const room = SUMMARY_LIMIT - head.length - intro.length - 200;
    let tail = logTail;
    if (tail.length > room) tail = `[… cut]\n${tail.slice(tail.length - Math.max(room, 0))}`;
    summary = fit(`${head}${intro}${codeBlock(tail)}`, SUMMARY_LIMIT);
  }
  return { conclusion, output: { title, summary: fit(summary, SUMMARY_LIMIT) } };
}

/** A check run of ours as GitHub lists it. */
export interface FoundCheckRun {
  id: number;
  status: string;
  conclusion: string | null;
  externalId: string;
}

/**
 * The check runs named {@link CHECK_NAME} on `headSha` (all of them, newest first), made by App `appId` when given.
 */
export async function listCheckRuns(
  client: BotOctokit,
  repo: RepoName,
  headSha: string,
  appId?: number,
): Promise<FoundCheckRun[]> {
  try {
    const runs = await client.paginate(client.rest.checks.listForRef, {
      ...repo,
      ref: headSha,
      check_name: CHECK_NAME,
      filter: 'all',
      per_page: 100,
      ...(appId === undefined ? {} : { app_id: appId }),
    });
    return runs
      .map((r) => ({ id: r.id, status: r.status, conclusion: r.conclusion, externalId: r.external_id ?? '' }))
      .sort((a, b) => b.id - a.id);
  } catch (e) {
    throw apiError(e, `GET /repos/${repo.owner}/${repo.repo}/commits/${headSha}/check-runs`);
  }
}

/** Our check run on `headSha` for journal record `externalId`, if GitHub has one. */
export async function findCheckRun(
  client: BotOctokit,
  repo: RepoName,
  headSha: string,
  externalId: string,
  appId?: number,
): Promise<FoundCheckRun | null> {
  const runs = await listCheckRuns(client, repo, headSha, appId);
  return runs.find((r) => r.externalId === externalId) ?? null;
}

export interface NewCheckRun {
  headSha: string;
  /** The journal record the run stands for: how a lost answer is recognised. */
  externalId: string;
  /** `completed` creates it completed, with `conclusion` (one call where there was nothing to show before). */
  status: 'queued' | 'in_progress' | 'completed';
  conclusion?: Conclusion;
  output: CheckOutput;
  startedAt?: string;
}

/**
 * The check run for `run.externalId` on `run.headSha`: found, or created. Each attempt looks first; a POST that
 * got no answer or a server error is followed by another look, at most `attempts` times. Rejects with
 * `GitHubApiError` when GitHub refuses (4xx) or the attempts run out.
 */
export async function ensureCheckRun(
  client: BotOctokit,
  repo: RepoName,
  run: NewCheckRun,
  options: { appId?: number; attempts?: number; waitMs?: (attempt: number) => number } = {},
): Promise<FoundCheckRun> {
  const attempts = options.attempts ?? 4;
  const operation = `POST /repos/${repo.owner}/${repo.repo}/check-runs`;
  let last: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) {
      await new Promise((done) => setTimeout(done, options.waitMs?.(attempt) ?? 1000 * 2 ** (attempt - 1)));
    }
    const found = await findCheckRun(client, repo, run.headSha, run.externalId, options.appId);
    if (found) return found;
    try {
      const { data } = await client.rest.checks.create({
        ...repo,
        name: CHECK_NAME,
        head_sha: run.headSha,
        external_id: run.externalId,
        ...(run.status === 'completed'
          ? { conclusion: run.conclusion ?? 'neutral', completed_at: new Date().toISOString() }
          : { status: run.status }),
        ...(run.startedAt ? { started_at: run.startedAt } : {}),
        output: {
          title: fit(run.output.title, TITLE_LIMIT),
          summary: fit(run.output.summary, SUMMARY_LIMIT),
        },
        request: { retries: 0 },
      });
      return { id: data.id, status: data.status, conclusion: data.conclusion, externalId: run.externalId };
    } catch (e) {
      if (!isTransient(e)) throw apiError(e, operation);
      last = e;
    }
  }
  throw apiError(last, `${operation} (after ${attempts} attempts)`);
}

/** Moves check run `id` on: to `in_progress`, or `completed` with a conclusion. Retried by octokit (idempotent). */
export async function updateCheckRun(
  client: BotOctokit,
  repo: RepoName,
  id: number,
  update:
    | { status: 'queued' | 'in_progress'; output?: CheckOutput; startedAt?: string }
    | ({ status: 'completed'; completedAt?: string } & CompletedCheck),
): Promise<void> {
  const output = update.output
    ? { title: fit(update.output.title, TITLE_LIMIT), summary: fit(update.output.summary, SUMMARY_LIMIT) }
    : undefined;
  try {
    if (update.status === 'completed') {
      await client.rest.checks.update({
        ...repo,
        check_run_id: id,
        status: 'completed',
        conclusion: update.conclusion,
        completed_at: update.completedAt ?? new Date().toISOString(),
        ...(output ? { output } : {}),
      });
    } else {
      await client.rest.checks.update({
        ...repo,
        check_run_id: id,
        status: update.status,
        ...(update.startedAt ? { started_at: update.startedAt } : {}),
        ...(output ? { output } : {}),
      });
    }
  } catch (e) {
    throw apiError(e, `PATCH /repos/${repo.owner}/${repo.repo}/check-runs/${id}`);
  }
}
