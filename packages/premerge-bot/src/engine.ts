/**
 * The single entry point every front end (CLI, daemon, GitHub App) uses. Nothing else in the package decides
 * what lands; the front ends only map their inputs to {@link EngineOptions}.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pendingCandidates, selectCandidates } from './candidates.js';
import { CONFIG_PATH, missingConfig, parseConfig } from './config.js';
import { Session } from './context.js';
import { IsolationError, NotACandidateError, PremergeError, StateError } from './errors.js';
import { isAncestor } from './git.js';
import { GitForge } from './git-forge.js';
import { firstAnnouncement, isolationSettings, planIsolation } from './isolation.js';
import { LocalRunner } from './local-runner.js';
import { type RepoLock, tryLock } from './lock.js';
import { type EngineOptions, type Resolved, resolveOptions, writeRepoRecord } from './options.js';
import { publishNow, startHeartbeat } from './publication.js';
import { landedMember, landStack, processQueue } from './queue.js';
import { cleanTreeCutOff, killOrphanedRuns, removeGitLocks, removeStaleWorktrees } from './recovery.js';
import { repoName } from './repo-identity.js';
import { applyRetention } from './retention.js';
import { migrateLegacyState } from './state-migration.js';
import {
  compactRecords,
  Journal,
  type JournalRecord,
  readJournal,
  removeCompactionLeftovers,
  rewriteJournal,
  settlingVerdicts,
} from './store.js';
import { TestTree } from './test-tree.js';
import { targetMissing } from './trusted-config.js';
import type { EngineEvent, OnceReport, Verdict } from './types.js';
import { pokeWatch, servesHere } from './watch-ipc.js';
import { Mirror } from './workspace.js';

export type { EngineOptions } from './options.js';
export { findRunLog, type RunLog, readRunLog } from './run-logs.js';
export { readStatus } from './status.js';
export type {
  CandidateRef,
  CommitDecisions,
  EngineEvent,
  OnceReport,
  Pusher,
  PusherDecision,
  RunningRun,
  StatusCandidate,
  StatusReport,
  Verdict,
  VerdictKind,
} from './types.js';

/**
 * The repositories this process works on now (by lock path), each with when it was last asked to look again: a
 * second engine call in the same process (a scheduler's poke, a library user's call) finds the session here.
 */
const working = new Map<string, { pokedAt: number }>();

/** How a scheduler (scheduler.ts) talks to the session it started: when it was last poked for its repository. */
export interface RunControl {
  /** The time (ms since the epoch) of the latest poke for this repository; 0 when none came. */
  pokedAt(): number;
}

/**
 * Processes every pending candidate of `options.repo` and resolves when none is left.
 *
 * Holds the repository's lock while it works. When another bot holds it, the push is not lost and the caller does
 * not wait for a test it need not run:
 * - a session of this process, or a `watch` that answers on the state directory's socket (watch-ipc.ts), is asked
 *   to look again, and this call returns at once with `deferred: true`;
 * - another process (a `once` started by a hook or cron): this call waits for the lock and then looks itself, unless
 *   another call is waiting already (that one looks after the holder, and sees this push): then `deferred: true`.
 * Rejects with a {@link PremergeError} (`PREMERGE_CONFIG_*`, `PREMERGE_TARGET_MISSING`,
 * `PREMERGE_REPO_UNREACHABLE`, ...) when the bot cannot work; a candidate's failure is a verdict, not an error.
 */
export async function runOnce(options: EngineOptions, control?: RunControl): Promise<OnceReport> {
  const r = resolveOptions(options);
  ensureRoot(r, options.onEvent);
  const report = emptyReport(options.repo);
  const emit = (e: EngineEvent) => {
    try {
      options.onEvent?.(e);
    } catch {
      // A listener's failure must not stop a landing.
    }
  };
  const deferred = (holderPid: number) => {
    report.deferred = true;
    emit({ type: 'deferred', reason: 'another bot holds the repository lock; it will rescan', holderPid });
    return report;
  };
  let lock: RepoLock;
  const attempt = tryLock(r.paths.lock);
  if (attempt.acquired) lock = attempt.lock;
  else {
    const inProcess = working.get(r.paths.lock);
    if (inProcess) {
      inProcess.pokedAt = Date.now();
      return deferred(process.pid);
    }
    if (!servesHere(r.paths.stateDir) && (await pokeWatch(r.paths.stateDir, r.identity)))
      return deferred(attempt.holderPid);
    // One waiter per repository is enough: it looks after the holder, so it sees every push made before it looks.
    const next = tryLock(r.paths.nextLock);
    if (!next.acquired) return deferred(attempt.holderPid);
    let waited: RepoLock | null;
    try {
      waited = await waitForLock(r, options);
    } finally {
      // Released before the look it waited for begins: a push arriving now finds no waiter and waits itself.
      next.lock.release();
    }
    if (!waited) {
      report.aborted = true;
      return report;
    }
    lock = waited;
  }
  const entry = { pokedAt: 0 };
  working.set(r.paths.lock, entry);
  const pokedAt = () => Math.max(entry.pokedAt, control?.pokedAt() ?? 0);
  try {
    for (let round = 0; ; round++) {
      const lastScan = await work(options, r, report, round === 0, pokedAt);
      // A poke during the session's last steps (publishing, closing) asks for another look.
      if (report.aborted || pokedAt() < lastScan) return report;
    }
  } finally {
    working.delete(r.paths.lock);
    lock.release();
  }
}

function emptyReport(repo: string): OnceReport {
  return {
    repo,
    target: '',
    targetSha: '',
    verdicts: [],
    testRuns: 0,
    candidateRuns: 0,
    pendingAtStart: 0,
    deferred: false,
    aborted: false,
  };
}

/** Creates the repository's state root, moving there the state an earlier keying left (state-migration.ts). */
function ensureRoot(r: Resolved, onEvent?: (e: EngineEvent) => void): void {
  const moved = migrateLegacyState(r);
  if (moved !== null) {
    try {
      onEvent?.({ type: 'state-moved', from: moved, to: r.paths.root });
    } catch {
      // The listener's problem.
    }
  }
  try {
    mkdirSync(r.paths.root, { recursive: true });
  } catch (e) {
    throw new StateError(`cannot create the state directory ${r.paths.root}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * Lands a candidate that changes `.github/premerge.yml` (what `config-changes: refuse` leaves to an operator, and
 * how the very first config arrives when the target is protected): `sha` (at least 4 hex digits) must be the tip
 * of a candidate branch; its own config must be valid, and it is tested under that new config (its test, timeout,
 * rebase, sandbox...) and lands on the target that config names, by the same compare-and-swap as any landing.
 * Waits while another bot holds the repository's lock. Resolves with the report (its one verdict says whether it
 * landed); rejects with `PREMERGE_NOT_A_CANDIDATE` when no candidate branch points at `sha`, `PREMERGE_CONFIG_*`
 * when its config is missing or invalid.
 */
export async function landConfigChange(options: EngineOptions, sha: string): Promise<OnceReport> {
  const r = resolveOptions(options);
  ensureRoot(r, options.onEvent);
  const report = emptyReport(options.repo);
  const lock = await waitForLock(r, options);
  if (!lock) {
    report.aborted = true;
    return report;
  }
  try {
    await withSession(options, r, report, async (s) => {
      s.snapshot = await s.forge.fetch();
      s.defaultBranch = s.snapshot.defaultBranch;
      const trusted = await s.forge
        .readTrustedConfig(s.snapshot)
        .then((t) => t.config)
        .catch((e) => {
          if (e instanceof PremergeError && e.code === 'PREMERGE_CONFIG_MISSING') return null;
          throw e;
        });
      const wanted = sha.toLowerCase();
      if (!/^[0-9a-f]{4,64}$/.test(wanted)) throw new NotACandidateError(`'${sha}' is not a commit id`);
      const tips = s.candidateTips().filter((b) => b.sha.startsWith(wanted));
      const shas = new Set(tips.map((b) => b.sha));
      if (shas.size !== 1) {
        throw new NotACandidateError(
          shas.size === 0
            ? `no branch of ${s.candidatesFrom ?? s.repo} points at ${sha}: push it to a candidate branch first`
            : `${sha} is ambiguous: ${[...shas].join(', ')}`,
        );
      }
      const full = [...shas][0]!;
      const text = await s.mirror.readFile(full, CONFIG_PATH);
      if (text === null) throw missingConfig(`commit ${full.slice(0, 12)}`);
      const config = parseConfig(text, `commit ${full.slice(0, 12)}`, s.defaultBranch);
      const candidate =
        selectCandidates(tips, config)[0] ?? (trusted ? selectCandidates(tips, trusted)[0] : undefined);
      if (!candidate) {
        throw new NotACandidateError(
          `${tips.map((t) => t.branch).join(', ')} (at ${sha}) is not a candidate branch under its config (candidates: ${config.candidates.join(', ')})`,
        );
      }
      s.config = config;
      const targetSha = s.snapshot.branches.get(config.target);
      if (!targetSha) {
        throw targetMissing(config.target, s.repo, s.defaultBranch);
      }
      await s.forge.checkTarget(config.target);
      s.targetSha = targetSha;
      s.approvedConfigChange = full;
      await chooseRunner(s, options);
      report.pendingAtStart = 1;
      if (targetSha === full || (await isAncestor(s.mirror.gitDir, full, targetSha))) {
        s.verdict({
          kind: 'landed',
          branch: candidate.branch,
          sha: full,
          base: targetSha,
          tested: full,
          durationMs: 0,
          exitCode: null,
          reason: `it is already in ${config.target}: nothing to test or land`,
        });
      } else await processQueue(s, [candidate]);
      await publishNow(s);
      report.target = config.target;
      report.targetSha = s.targetSha;
      report.aborted = s.aborted;
    });
  } finally {
    lock.release();
  }
  return report;
}

/** Takes the repository's lock, waiting (and saying so once) while another bot holds it; null when stopped. */
async function waitForLock(r: Resolved, options: EngineOptions): Promise<RepoLock | null> {
  let said = false;
  for (;;) {
    const attempt = tryLock(r.paths.lock);
    if (attempt.acquired) return attempt.lock;
    if (options.signal?.aborted) return null;
    if (!said) {
      said = true;
      options.onEvent?.({
        type: 'warning',
        message: `another bot (pid ${attempt.holderPid}) is working on this repository; waiting for it to finish`,
      });
    }
    await new Promise((done) => setTimeout(done, 200));
  }
}

/**
 * Opens a locked session (the caller holds the lock): journal, mirror, the recovery of what a crash left, then
 * `fn`; closes the journal and lets the runner tidy up whatever happens.
 */
async function withSession<T>(
  options: EngineOptions,
  r: Resolved,
  report: OnceReport,
  fn: (s: Session) => Promise<T>,
): Promise<T> {
  let { records, tornLines } = readJournal(r.paths.journal);
  removeCompactionLeftovers(r.paths.journal);
  const compacted = compactIfLarge(r, records, options.journalCompactBytes ?? 4 * 1024 * 1024);
  if (compacted) {
    options.onEvent?.({ type: 'compacted', records: records.length, kept: compacted.length });
    records = compacted;
    tornLines = 0;
  }
  const journal = Journal.open(r.paths.journal);
  const mirror = new Mirror(r.paths.mirror);
  const forge = (options.forge ?? ((c) => new GitForge(c)))({
    repo: r.repo,
    candidatesFrom: r.candidatesFrom,
    mirror,
    stateDir: r.paths.stateDir,
  });
  const s = new Session({
    paths: r.paths,
    repo: forge.name,
    candidatesFrom: r.candidatesFrom === undefined ? undefined : repoName(r.candidatesFrom),
    mirror,
    journal,
    records,
    tornLines,
    report,
    onEvent: options.onEvent,
    signal: options.signal,
    pollIntervalMs: options.pollIntervalMs ?? 2000,
    maxBatch: options.maxBatch ?? 16,
    logLimit: r.logs.limit,
    forge,
    heartbeatMs: options.heartbeatMs,
    onStatus: options.onStatus,
  });
  const stopHeartbeat = startHeartbeat(s);
  try {
    if (journal.repairedTail) {
      s.emit({ type: 'recovered', what: 'torn-journal-line', detail: `last line of ${r.paths.journal}` });
    }
    writeRepoRecord(r);
    applyRetention(r.paths.stateDir, r.logs);
    await mirror.ensure();
    await s.guard();
    const { tree, home, tmp } = r.paths.trees;
    await killOrphanedRuns(s.state, [tree, home, tmp], (e) => s.emit(e));
    await cleanTreeCutOff(new TestTree(r.paths.trees, r.paths.treeGit, mirror), (e) => s.emit(e));
    // Runs cut off by a crash are not verdicts: close them (their candidates stay pending and run again).
    for (const [runId, run] of s.state.runs) {
      if (!run.ended && !run.passed)
        s.record({ type: 'run-ended', runId, at: new Date().toISOString(), outcome: 'cut-off' });
    }
    await removeStaleWorktrees(mirror, r.paths.worktrees, (e) => s.emit(e));
    await removeGitLocks(mirror, (e) => s.emit(e));
    return await fn(s);
  } finally {
    stopHeartbeat();
    await s.publishing;
    journal.close();
    await s.runner?.idle().catch(() => undefined);
  }
}

/**
 * A journal larger than `threshold` bytes is rewritten with only what still counts (store.ts compactRecords), when
 * that drops a quarter of its records at least. Returns the records kept, or null when it was left as it is.
 */
function compactIfLarge(r: Resolved, records: JournalRecord[], threshold: number): JournalRecord[] | null {
  let size: number;
  try {
    size = statSync(r.paths.journal).size;
  } catch {
    return null;
  }
  if (size <= threshold) return null;
  const kept = compactRecords(records);
  if (kept.length > records.length * 0.75) return null;
  rewriteJournal(r.paths.journal, kept);
  return kept;
}

/** One locked session: recover, then fetch/decide/land until a scan finds nothing new. Returns the last scan time. */
function work(
  options: EngineOptions,
  r: Resolved,
  report: OnceReport,
  firstRound: boolean,
  pokedAt: () => number,
): Promise<number> {
  return withSession(options, r, report, (s) => workLoop(s, options, report, firstRound, pokedAt));
}

/** Scan, decide, test and land until a scan finds nothing new (and no poke came); returns the last scan's time. */
async function workLoop(
  s: Session,
  options: EngineOptions,
  report: OnceReport,
  firstRound: boolean,
  pokedAt: () => number,
): Promise<number> {
  {
    const { mirror } = s;
    let first = firstRound;
    for (;;) {
      const scanStart = Date.now();
      try {
        await scan(s);
      } catch (e) {
        // Said where developers look, too: a broken config or a missing target stops every landing.
        if (e instanceof PremergeError && existsSync(join(s.mirror.gitDir, 'HEAD'))) {
          s.problem = { code: e.code, message: e.message };
          await publishNow(s, { force: true });
        }
        throw e;
      }
      await chooseRunner(s, options);
      await finishPassedRuns(s);
      const listed = s.candidateTips();
      const candidates = selectCandidates(listed, s.config);
      s.emit({ type: 'fetched', repo: s.repo, target: s.config.target, targetSha: s.targetSha, candidates });
      const verdicts = settlingVerdicts(s.state);
      const pending = await pendingCandidates(mirror.gitDir, candidates, s.targetSha, s.config, verdicts);
      if (first) report.pendingAtStart = pending.length;
      first = false;
      s.emit({ type: 'pending', candidates: pending });
      const before = report.verdicts.length + report.testRuns;
      await processQueue(s, pending);
      await publishNow(s);
      report.target = s.config.target;
      report.targetSha = s.targetSha;
      if (s.aborted) {
        report.aborted = true;
        return scanStart;
      }
      const progressed = report.verdicts.length + report.testRuns !== before;
      if (!progressed && pokedAt() < scanStart) return scanStart;
    }
  }
}

/**
 * `premerge-bot retry SHA`: tests again a candidate whose verdict (a failure, a time-out, an error) came from a
 * flake. `sha` (at least 4 hex digits) must be the tip of a candidate branch. Its verdicts recorded so far no longer
 * settle it (a `retry` record in the journal), and the queue is worked as `runOnce` does, so a pass lands it. Waits
 * while another bot holds the repository's lock. Resolves with the report; `retried` is the full sha, and a
 * commit that already landed is not retried (its landed verdict is `already`).
 */
export async function retryCandidate(
  options: EngineOptions,
  sha: string,
): Promise<OnceReport & { retried: string; already?: Verdict }> {
  const r = resolveOptions(options);
  ensureRoot(r, options.onEvent);
  const report = emptyReport(options.repo);
  const lock = await waitForLock(r, options);
  if (!lock) return { ...report, aborted: true, retried: '' };
  try {
    return await withSession(options, r, report, async (s) => {
      await scan(s);
      const full = uniqueTip(s, sha);
      const landed = s.state.verdicts.find((v) => v.verdict.sha === full && v.verdict.kind === 'landed');
      if (landed) return { ...report, retried: full, already: landed.verdict };
      s.record({ type: 'retry', sha: full, at: new Date().toISOString() });
      await workLoop(s, options, report, true, () => 0);
      return { ...report, retried: full };
    });
  } finally {
    lock.release();
  }
}

/** The one candidate tip `sha` (4 or more hex digits) abbreviates; NotACandidateError otherwise. */
function uniqueTip(s: Session, sha: string): string {
  const wanted = sha.toLowerCase();
  if (!/^[0-9a-f]{4,64}$/.test(wanted)) throw new NotACandidateError(`'${sha}' is not a commit id`);
  const shas = new Set(
    selectCandidates(s.candidateTips(), s.config)
      .filter((b) => b.sha.startsWith(wanted))
      .map((b) => b.sha),
  );
  if (shas.size === 1) return [...shas][0]!;
  throw new NotACandidateError(
    shas.size === 0
      ? `no candidate branch of ${s.candidatesFrom ?? s.repo} points at ${sha}: only a candidate's tip can be retried (push it again to test another commit)`
      : `${sha} is ambiguous: ${[...shas].join(', ')}`,
  );
}

/**
 * Picks how this repository's tests run, for the config in force (isolation.ts), and says so once per process.
 * A new runner only when the settings change.
 */
async function chooseRunner(s: Session, options: EngineOptions): Promise<void> {
  const settings = isolationSettings(s.config, options);
  const key = JSON.stringify([settings, s.config.sandboxWritable]);
  if (s.runner && s.runnerKey === key) return;
  const plan = await planIsolation(settings, s.config, [s.paths.stateDir, s.paths.treesDir]);
  if (plan.mode === 'same-user' && options.allowSameUser === false) {
    throw new IsolationError(
      `refusing to run tests as the bot's own user: ${plan.detail.replace(/^warning: /, '')}; install bubblewrap or set a test-user`,
    );
  }
  await s.runner?.idle();
  s.runner = new LocalRunner(plan, s.paths, s.mirror);
  s.runnerKey = key;
  if (firstAnnouncement(s.repo, plan)) s.emit({ type: 'isolation', mode: plan.mode, detail: plan.detail });
}

/**
 * Fetches, reads the trusted config from the default branch and the target's commit. Re-runs asked for on the forge
 * since the last look (a check run's "Re-run") are journaled as `premerge-bot retry` would journal them.
 */
async function scan(s: Session): Promise<void> {
  s.snapshot = await s.forge.fetch();
  s.defaultBranch = s.snapshot.defaultBranch;
  for (const [sha, at] of s.snapshot.retries ?? []) {
    if ((s.state.retries.get(sha) ?? '') < at) s.record({ type: 'retry', sha, at });
  }
  const trusted = await s.forge.readTrustedConfig(s.snapshot);
  s.config = trusted.config;
  s.trustedConfig = { commit: trusted.commit, oid: trusted.oid };
  const sha = s.snapshot.branches.get(s.config.target);
  if (!sha) {
    throw targetMissing(s.config.target, s.repo, s.defaultBranch);
  }
  await s.forge.checkTarget(s.config.target);
  s.targetSha = sha;
}

/**
 * Runs whose test passed but whose landing the journal does not show (the bot died in between). The exact tested
 * commit lands from the exact base, and only while every member branch still points where it did; a target that
 * already contains it means the push went through before the crash.
 */
async function finishPassedRuns(s: Session): Promise<void> {
  for (const [runId, run] of s.state.runs) {
    if (!run.passed || run.ended) continue;
    const { base, tested, members, target, configHash, logPath } = run.started;
    const facts = {
      runId,
      logPath,
      durationMs: run.passed.durationMs,
      exitCode: run.passed.exitCode,
      outcome: 'passed' as const,
    };
    const landedAlready = s.targetSha === tested || (await isAncestor(s.mirror.gitDir, tested, s.targetSha));
    if (landedAlready) {
      for (const m of members) {
        s.verdict({ ...landedMember(m, base, facts, members, target), target, configHash });
      }
      continue;
    }
    let stillValid = target === s.config.target && configHash === s.config.hash && s.targetSha === base;
    for (const m of members) {
      if (!stillValid) break;
      stillValid = s.candidateTip(m.branch) === m.sha;
    }
    if (!stillValid) {
      s.record({ type: 'run-ended', runId, at: new Date().toISOString(), outcome: 'pass-no-longer-valid' });
      continue;
    }
    await landStack(s, members, base, facts);
    // A lost race leaves no verdict with rebase: true; close the run so it is not retried from a stale base.
    if (s.state.runs.get(runId)?.ended === false) {
      s.record({ type: 'run-ended', runId, at: new Date().toISOString(), outcome: 'lost-race' });
    }
  }
}
