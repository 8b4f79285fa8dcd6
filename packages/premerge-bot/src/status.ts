/**
 * What the bot knows of one repository, for `premerge-bot status`: the queue, the run in progress and recent
 * verdicts, read without taking the repository lock (a running bot is not disturbed) and without creating anything.
 */
import { existsSync } from 'node:fs';
import { describeQueue } from './bot-status.js';
import { selectCandidates, settlingVerdict } from './candidates.js';
import { PremergeError, unreachable } from './errors.js';
import { isAncestor } from './git.js';
import { lockHolder } from './lock.js';
import { type EngineOptions, resolveForReading } from './options.js';
import { readJournal, settlingVerdicts, summarize } from './store.js';
import { readTrustedConfig, targetMissing } from './trusted-config.js';
import type { CandidateRef, RunningRun, StatusReport } from './types.js';
import { askWatch } from './watch-ipc.js';
import { Mirror } from './workspace.js';

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
    repo: options.repo,
    ...(r.candidatesFrom ? { candidatesFrom: r.candidatesFrom } : {}),
    target: null,
    candidates: [],
    pending: [],
    running,
    recent,
    lockHolder: lockHolder(r.paths.lock),
    watch: watching,
    commits: {},
  };
  const mirror = new Mirror(r.paths.mirror);
  try {
    const defaultBranch = await mirror.defaultBranch(r.repo);
    // The config as of the bot's last fetch: reading fetches nothing.
    const config = await readTrustedConfig(mirror, r.repo, defaultBranch);
    const heads = await lsHeads(mirror, r.repo);
    const targetSha = heads.get(config.target);
    if (!targetSha) throw targetMissing(config.target, r.repo, defaultBranch);
    status.target = { branch: config.target, sha: targetSha };
    const cands = r.candidatesFrom ? await lsHeads(mirror, r.candidatesFrom) : heads;
    const listed: CandidateRef[] = [...cands].map(([branch, sha]) => ({ branch, sha }));
    const verdicts = settlingVerdicts(state);
    // The mirror may not hold the commits ls-remote just named; what it lacks cannot be shown to be landed.
    const targetKnown = (await mirror.resolve(targetSha)) !== null;
    status.candidates = await describeQueue({
      candidates: selectCandidates(listed, config),
      state,
      settled: (c) => settlingVerdict(c, targetSha, config, verdicts),
      inTarget: async (c) =>
        c.sha === targetSha ||
        (targetKnown &&
          (await mirror.resolve(c.sha)) !== null &&
          (await isAncestor(mirror.gitDir, c.sha, targetSha))),
    });
    status.pending = status.candidates.flatMap((c) =>
      c.state === 'queued' ? [{ branch: c.branch, sha: c.sha }] : [],
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
