/**
 * The GitHub forge's publisher (publisher.ts): the bot's verdicts and status as check runs on candidate commits.
 * Each candidate tip the bot takes up gets one check run, an "attempt", created `queued` (or `in_progress` when the
 * first status that names it already shows it testing), moved to `in_progress` when its test starts and completed
 * with its verdict, after the landing attempt. A tip that leaves the queue without a verdict (its branch moved on
 * before it was tested) is completed `cancelled`; one found already in the target, `success`.
 *
 * Which check run stands for what is journaled (a small JSONL file per repository) before it is created: its
 * `external_id` is that record's id (or, for a verdict published with no attempt open, the verdict's own journal
 * id), so after a lost answer or a restart the run is found again by it rather than created twice; and a verdict
 * already completed is not completed again.
 */
import { randomBytes } from 'node:crypto';
import { type BotStatus, redact, STATUS_LOG_LINES, tailOfFile } from '../bot-status.js';
import type { PublishedVerdict, Publisher } from '../publisher.js';
import { apiError, type BotOctokit } from './app-client.js';
import {
  type CheckOutput,
  type CompletedCheck,
  completedCheck,
  ensureCheckRun,
  type RepoName,
  updateCheckRun,
} from './check-runs.js';
import { JsonlJournal } from './jsonl.js';

type Record =
  | { type: 'open'; ext: string; sha: string; branch: string; at: string }
  | { type: 'run'; ext: string; checkRunId: number; status: 'queued' | 'in_progress' }
  | { type: 'closed'; ext: string; verdictId?: string; conclusion: string; at: string };

interface Attempt {
  ext: string;
  sha: string;
  branch: string;
  checkRunId?: number;
  status?: 'queued' | 'in_progress';
}

export interface CheckRunPublisherOptions {
  client: BotOctokit;
  repo: RepoName;
  /** The App's id: runs are looked up among its own. */
  appId: number;
  /** The attempt journal (one per repository). */
  journalPath: string;
  /** Secrets to redact from log tails (the App's tokens, its key and webhook secret...), asked at each use. */
  secrets: () => readonly string[];
}

/** Closed attempts are forgotten after this long (the journal stays small); open ones are kept. */
const KEEP_CLOSED_MS = 7 * 86_400_000;

export class CheckRunPublisher implements Publisher {
  /** One destination: the repository's checks. The name never holds a credential. */
  readonly destinations = ['github-checks'] as const;
  private readonly options: CheckRunPublisherOptions;
  private readonly open = new Map<string, Attempt>();
  private readonly closedVerdicts = new Set<string>();
  /**
   * Tips whose last attempt ended `cancelled` (superseded). A status can still show such a tip queued (it comes
   * from the look before the branch moved): it gets a new check run only when its test really starts again (the
   * branch came back to it).
   */
  private readonly cancelled = new Set<string>();
  private readonly journal: JsonlJournal<Record>;

  constructor(options: CheckRunPublisherOptions) {
    this.options = options;
    const { journal } = JsonlJournal.open<Record>(options.journalPath, 'check-run journal', (records) =>
      this.load(records),
    );
    this.journal = journal;
  }

  /** Folds the journal into the open attempts and the verdicts done; returns the records worth keeping. */
  private load(records: Record[]): Record[] {
    const closedAt = new Map<string, number>();
    for (const r of records) {
      if (r.type === 'closed') closedAt.set(r.ext, Date.parse(r.at));
    }
    const now = Date.now();
    const kept = records.filter((r) => {
      const closed = closedAt.get(r.ext);
      return closed === undefined || now - closed < KEEP_CLOSED_MS;
    });
    for (const r of kept) this.apply(r);
    return kept;
  }

  private apply(r: Record): void {
    if (r.type === 'open') {
      this.open.set(r.sha, { ext: r.ext, sha: r.sha, branch: r.branch });
      this.cancelled.delete(r.sha);
    } else if (r.type === 'run') {
      const a = [...this.open.values()].find((x) => x.ext === r.ext);
      if (a) {
        a.checkRunId = r.checkRunId;
        a.status = r.status;
      }
    } else {
      for (const [sha, a] of this.open) {
        if (a.ext !== r.ext) continue;
        this.open.delete(sha);
        if (r.conclusion === 'cancelled') this.cancelled.add(sha);
      }
      if (r.verdictId) this.closedVerdicts.add(r.verdictId);
    }
  }

  private record(r: Record): void {
    this.journal.append(r);
    this.apply(r);
  }

  close(): void {
    this.journal.close();
  }

  /** The attempts not completed yet, by candidate sha (for tests and reconcile). */
  openAttempts(): ReadonlyMap<string, Readonly<Attempt>> {
    return this.open;
  }

  /** Calls one after another: the engine's publications and the App's {@link queued} must not interleave. */
  private chain: Promise<unknown> = Promise.resolve();

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * A `queued` check run for a candidate tip a push just named, before the engine looks (which takes a fetch):
   * GitHub shows at once that the bot took it. Nothing when the tip already has an attempt open or was superseded.
   */
  queued(sha: string, branch: string): Promise<void> {
    return this.serialized(async () => {
      if (this.open.has(sha) || this.cancelled.has(sha)) return;
      const a = this.attemptFor(sha, branch);
      await this.ensureRun(a, 'queued', { title: 'Queued', summary: 'Waiting for its test.' });
    });
  }

  publish(
    destination: string,
    verdicts: readonly PublishedVerdict[],
    status: BotStatus | null,
  ): Promise<string | null> {
    return this.serialized(() => this.publishNow(destination, verdicts, status));
  }

  private async publishNow(
    _destination: string,
    verdicts: readonly PublishedVerdict[],
    status: BotStatus | null,
  ): Promise<string | null> {
    const failures: string[] = [];
    const attempt = async (what: () => Promise<void>) => {
      try {
        await what();
      } catch (e) {
        failures.push((e as Error).message);
      }
    };
    for (const v of verdicts) await attempt(() => this.complete(v));
    if (status) {
      await attempt(() => this.follow(status));
    }
    return failures.length === 0 ? null : failures.join('; ');
  }

  /** The attempt of `sha`, opened (journaled) if there is none; `ext` names a new one. */
  private attemptFor(sha: string, branch: string, ext = newExternalId()): Attempt {
    const known = this.open.get(sha);
    if (known) return known;
    this.record({ type: 'open', ext, sha, branch, at: new Date().toISOString() });
    return this.open.get(sha)!;
  }

  /** Makes sure the attempt's check run exists (found by its external id, or created) with `status`. */
  private async ensureRun(
    a: Attempt,
    status: 'queued' | 'in_progress',
    output: CheckOutput,
  ): Promise<number> {
    const { client, repo, appId } = this.options;
    if (a.checkRunId === undefined) {
      const run = await ensureCheckRun(
        client,
        repo,
        { headSha: a.sha, externalId: a.ext, status, output },
        { appId },
      );
      this.record({ type: 'run', ext: a.ext, checkRunId: run.id, status });
    } else if (a.status !== status) {
      await updateCheckRun(client, repo, a.checkRunId, { status, output });
      this.record({ type: 'run', ext: a.ext, checkRunId: a.checkRunId, status });
    }
    return a.checkRunId!;
  }

  private async closeAttempt(a: Attempt, done: CompletedCheck, verdictId?: string): Promise<void> {
    const { client, repo, appId } = this.options;
    if (a.checkRunId === undefined) {
      // Nothing was shown for it yet: one call makes it, completed (or finds it, made before a lost answer).
      const run = await ensureCheckRun(
        client,
        repo,
        {
          headSha: a.sha,
          externalId: a.ext,
          status: 'completed',
          conclusion: done.conclusion,
          output: done.output,
        },
        { appId },
      );
      if (run.status !== 'completed')
        await updateCheckRun(client, repo, run.id, { status: 'completed', ...done });
    } else {
      await updateCheckRun(client, repo, a.checkRunId, { status: 'completed', ...done });
    }
    this.record({
      type: 'closed',
      ext: a.ext,
      ...(verdictId ? { verdictId } : {}),
      conclusion: done.conclusion,
      at: new Date().toISOString(),
    });
  }

  /** The branch's tip as GitHub has it now; null when it does not exist. */
  private async tipOf(branch: string): Promise<string | null> {
    const { client, repo } = this.options;
    try {
      return (await client.rest.git.getRef({ ...repo, ref: `heads/${branch}` })).data.object.sha;
    } catch (e) {
      if ((e as { status?: number }).status === 404) return null;
      throw apiError(e, `GET /repos/${repo.owner}/${repo.repo}/git/ref/heads/${branch}`);
    }
  }

  private async complete(p: PublishedVerdict): Promise<void> {
    if (this.closedVerdicts.has(p.id)) return;
    const v = p.verdict;
    const a = this.attemptFor(v.sha, v.branch, p.id);
    const tail = v.logPath ? tailOfFile(v.logPath, STATUS_LOG_LINES) : '';
    const done = completedCheck(v, tail ? redact(tail, this.options.secrets()) : undefined);
    await this.closeAttempt(a, done, p.id);
  }

  /** The status's queue as check runs: new ones for tips taken up, `in_progress` for those testing, the rest closed. */
  private async follow(status: BotStatus): Promise<void> {
    // The trusted config is missing or invalid (or names no existing target): nothing can be tested, and the tips
    // taken up say why. They get new runs once it is fixed and the bot looks again.
    if (status.problem && /^PREMERGE_(CONFIG_|TARGET_MISSING)/.test(status.problem.code)) {
      for (const a of [...this.open.values()]) {
        await this.closeAttempt(a, {
          conclusion: 'action_required',
          output: {
            title: status.problem.message.split('\n')[0]!,
            summary: `**The bot cannot work on this repository**: ${status.problem.message}\n\nFix the trusted config on the default branch; the candidates are looked at again then.`,
          },
        });
      }
      return;
    }
    const listed = new Set<string>();
    const target = status.target?.branch ?? 'the target';
    for (const c of status.candidates) {
      listed.add(c.sha);
      if (c.state === 'queued') {
        if (this.cancelled.has(c.sha) && !this.open.has(c.sha)) continue;
        const a = this.attemptFor(c.sha, c.branch);
        const ahead = c.ahead === 0 ? 'nothing ahead of it' : `${c.ahead} ahead of it`;
        await this.ensureRun(a, 'queued', { title: 'Queued', summary: `Waiting for its test (${ahead}).` });
      } else if (c.state === 'testing') {
        const a = this.attemptFor(c.sha, c.branch);
        const base = status.target ? ` on ${status.target.branch} \`${status.target.sha.slice(0, 12)}\`` : '';
        await this.ensureRun(a, 'in_progress', {
          title: 'Testing',
          summary: `Its test runs${base} since ${c.since} (run \`${c.runId}\`).`,
        });
      } else if (c.state === 'in-target') {
        const a = this.open.get(c.sha);
        if (a) {
          await this.closeAttempt(a, {
            conclusion: 'success',
            output: {
              title: `Already in ${target}`,
              summary: `It is already in ${target}: nothing to test or land.`,
            },
          });
        }
      }
    }
    // A tip that left the candidates without a verdict (its branch moved on, or went) will never be tested. The
    // status may be older than the push that opened the attempt (the App opens one as a push arrives, and the
    // engine's look predates it), so the branch itself is asked before anything is closed.
    if (status.target && !status.problem) {
      for (const a of [...this.open.values()]) {
        if (listed.has(a.sha)) continue;
        if ((await this.tipOf(a.branch)) === a.sha) continue;
        await this.closeAttempt(a, {
          conclusion: 'cancelled',
          output: {
            title: 'Superseded by a newer push',
            summary: `${a.branch} moved on before this commit was tested: it will not be tested. Push it again to have it tested.`,
          },
        });
      }
    }
  }
}

function newExternalId(): string {
  return `attempt-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
