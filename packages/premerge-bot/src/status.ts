/**
 * What the bot knows of one repository, for `premerge-bot status`: the queue, the run in progress and recent
 * verdicts, read without taking the repository lock (a running bot is not disturbed) and without creating anything.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeQueue } from './bot-status.js';
import { pusherKey, selectCandidates, settlingVerdict } from './candidates.js';
import { NoStateError, PremergeError, unreachable } from './errors.js';
import { isAncestor } from './git.js';
import { DeliveryJournal } from './github/deliveries.js';
import { lockHolder } from './lock.js';
import { type EngineOptions, type Resolved, resolveForReading } from './options.js';
import { type JournalState, readJournal, settlingVerdicts, summarize } from './store.js';
import { readTrustedConfig, targetMissing } from './trusted-config.js';
import type {
  CandidateTip,
  CommitDecisions,
  Pusher,
  PusherDecision,
  RunningRun,
  StatusReport,
  Verdict,
} from './types.js';
import { askWatch } from './watch-ipc.js';
import { DEFAULT_BRANCH_REF, Mirror } from './workspace.js';

/**
 * The queue and recent verdicts of `options.repo`, read without taking the repository lock (a running bot is not
 * disturbed). The target and candidate tips are asked of the repositories; the config as of the bot's last fetch.
 */
export async function readStatus(options: EngineOptions): Promise<StatusReport> {
  const r = await resolveForReading(options);
  const { records, tornLines } = readJournal(r.paths.journal);
  const state = summarize(records, tornLines);
  const recent = state.verdicts
    .map((v) => v.verdict)
    .reverse()
    .slice(0, 50);
  const running: RunningRun[] = [];
  for (const [runId, run] of state.runs) {
    if (run.ended || run.passed) continue;
    running.push({
      runId,
      members: run.started.members,
      base: run.started.base,
      tested: run.started.tested,
      logPath: run.started.logPath,
      startedAt: run.started.at,
      pid: run.process?.pgid ?? 0,
    });
  }
  const watching = await askWatch(r.paths.stateDir);
  const status: StatusReport = {
    // The GitHub App's state is found by the URL given; it knows the repository by its clone URL.
    repo: r.identity.startsWith('github:') ? r.repo : options.repo,
    ...(r.candidatesFrom ? { candidatesFrom: r.candidatesFrom } : {}),
    target: null,
    candidates: [],
    pending: [],
    running,
    recent,
    lockHolder: lockHolder(r.paths.lock),
    watch: watching,
    commits: {},
    decided: [],
  };
  const mirror = new Mirror(r.paths.mirror);
  try {
    const view = await repositoryView(r, mirror);
    // The config as of the bot's last fetch: reading fetches nothing.
    const config = await readTrustedConfig(mirror, r.repo, view.defaultBranch);
    const targetSha = view.heads.get(config.target);
    if (!targetSha) throw targetMissing(config.target, r.repo, view.defaultBranch);
    status.target = { branch: config.target, sha: targetSha };
    const cands = r.candidatesFrom ? await lsHeads(mirror, r.candidatesFrom) : view.heads;
    const listed: CandidateTip[] = [...cands].map(([branch, sha]) => {
      const pusher = view.pusherOf(branch, sha);
      return { branch, sha, ...(pusher ? { pusher } : {}) };
    });
    const candidates = selectCandidates(listed, config);
    const verdicts = settlingVerdicts(state);
    // The mirror may not hold the commits ls-remote just named; what it lacks cannot be shown to be landed.
    const targetKnown = (await mirror.resolve(targetSha)) !== null;
    const states = await describeQueue({
      candidates,
      state,
      // Each tip with its own pusher: a refusal about one pusher does not settle another's push of the commit.
      settled: (c) => settlingVerdict(c, targetSha, config, verdicts),
      inTarget: async (c) =>
        c.sha === targetSha ||
        (targetKnown &&
          (await mirror.resolve(c.sha)) !== null &&
          (await isAncestor(mirror.gitDir, c.sha, targetSha))),
    });
    const tipPusher = new Map(candidates.map((c) => [`${c.branch} ${c.sha}`, c.pusher]));
    status.candidates = states.map((c) => {
      const pusher = tipPusher.get(`${c.branch} ${c.sha}`);
      return pusher ? { ...c, pusher } : c;
    });
    status.pending = status.candidates.flatMap((c) =>
      c.state === 'queued' ? [{ branch: c.branch, sha: c.sha }] : [],
    );
    status.decided = decisionsOf(
      candidates,
      verdicts,
      config.hash,
      (v) => testedPusher(state, v) ?? view.pusherOf(v.branch, v.sha),
    );
  } catch (e) {
    if (!(e instanceof PremergeError)) throw e;
    status.problem = { code: e.code, message: e.message };
  }
  const shas = new Set([
    ...status.candidates.map((c) => c.sha),
    ...running.flatMap((run) => run.members.map((m) => m.sha)),
    ...recent.map((v) => v.sha),
  ]);
  status.commits = await commitInfo(mirror, [...shas]);
  return status;
}

/** Subject and author of each of `shas` that the mirror holds (one git call; the others are left out). */
async function commitInfo(
  mirror: Mirror,
  shas: string[],
): Promise<Record<string, { subject: string; author: string }>> {
  const out: Record<string, { subject: string; author: string }> = {};
  if (shas.length === 0 || !existsSync(mirror.gitDir)) return out;
  const r = await mirror.run(
    ['log', '--no-walk=unsorted', '--ignore-missing', '--format=%H%x00%s%x00%an', ...shas],
    [128],
  );
  for (const line of r.stdout.split('\n')) {
    const [sha, subject, author] = line.split('\0');
    if (sha && subject !== undefined && author !== undefined) out[sha] = { subject, author };
  }
  return out;
}

/** What the repository holds as the status reads it: its default branch, branch tips, and who pushed them. */
interface RepositoryView {
  defaultBranch: string;
  heads: Map<string, string>;
  pusherOf: (branch: string, sha: string) => Pusher | undefined;
}

/**
 * Plain git: the repository itself, asked now (a path or a URL the bot's host can read); it knows no pushers. The
 * GitHub App (identity `github:HOST:ID`): its mirror as of its last fetch (GitHub wants a token the reader has not
 * got; the default branch is the mirror's `refs/origin/HEAD`), and the pushers its webhooks named (the App's delivery
 * journal, read without writing).
 */
async function repositoryView(r: Resolved, mirror: Mirror): Promise<RepositoryView> {
  const github = /^github:.*:(\d+)$/.exec(r.identity);
  if (!github) {
    return {
      defaultBranch: await mirror.defaultBranch(r.repo),
      heads: await lsHeads(mirror, r.repo),
      pusherOf: () => undefined,
    };
  }
  const repositoryId = Number(github[1]);
  if (!existsSync(mirror.gitDir)) {
    throw new NoStateError(`the App has not fetched ${r.repo} yet: nothing to show`);
  }
  const head = await mirror.run(['symbolic-ref', '--quiet', DEFAULT_BRANCH_REF], [1, 128]);
  const defaultBranch = head.code === 0 ? head.stdout.trim().replace(/^refs\/origin\/heads\//, '') : 'master';
  const heads = new Map<string, string>();
  for (const [ref, sha] of await mirror.refs()) {
    if (ref.startsWith('refs/origin/heads/')) heads.set(ref.slice('refs/origin/heads/'.length), sha);
  }
  const deliveries = DeliveryJournal.read(join(r.paths.stateDir, 'github', 'deliveries.jsonl'));
  return {
    defaultBranch,
    heads,
    pusherOf: (branch, sha) => deliveries.pusherOf(repositoryId, `refs/heads/${branch}`, sha),
  };
}

/**
 * The latest decision per pusher about each candidate commit: refusals about the pusher by the pusher they were
 * decided for, other verdicts by who pushed the commit tested (`pusherOf`). Only verdicts under the config in
 * force count, and landings.
 */
function decisionsOf(
  candidates: readonly CandidateTip[],
  verdicts: readonly Verdict[],
  configHash: string,
  pusherOf: (v: Verdict) => Pusher | undefined,
): CommitDecisions[] {
  const out: CommitDecisions[] = [];
  const seen = new Set<string>();
  for (const c of candidates) {
    if (seen.has(c.sha)) continue;
    seen.add(c.sha);
    const latest = new Map<string, PusherDecision>();
    for (const v of verdicts) {
      if (v.sha !== c.sha || (v.kind !== 'landed' && v.configHash !== configHash)) continue;
      const forPusher = v.refusedPusher !== undefined;
      const pusher = forPusher ? v.refusedPusher : pusherOf(v);
      const who = `${forPusher ? 'for' : 'by'} ${pusher === undefined ? '?' : pusherKey(pusher)}`;
      latest.delete(who);
      latest.set(who, {
        kind: v.kind,
        at: v.at,
        ...(v.reason ? { reason: v.reason } : {}),
        ...(pusher === undefined ? {} : { pusher }),
        forPusher,
      });
    }
    if (latest.size === 0) continue;
    out.push({
      sha: c.sha,
      branches: candidates.filter((x) => x.sha === c.sha).map((x) => x.branch),
      decisions: [...latest.values()],
    });
  }
  return out;
}

/**
 * Who pushed the commit a verdict's run tested, as the run's journal record names its member (a pusher the forge
 * found only when it asked, from GitHub's activity, is not there: the delivery journal has it).
 */
function testedPusher(state: JournalState, v: Verdict): Pusher | undefined {
  const run = v.runId ? state.runs.get(v.runId) : undefined;
  return run?.started.members.find((m) => m.sha === v.sha && m.branch === v.branch)?.pusher;
}

async function lsHeads(mirror: Mirror, repo: string): Promise<Map<string, string>> {
  let out: string;
  try {
    out = (await mirror.run(['ls-remote', '--heads', repo])).stdout;
  } catch (e) {
    throw unreachable('read', repo, e);
  }
  const map = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sha, ref] = line.split('\t');
    if (sha && ref?.startsWith('refs/heads/')) map.set(ref.slice('refs/heads/'.length), sha);
  }
  return map;
}
