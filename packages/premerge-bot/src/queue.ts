/**
 * Works through the pending candidates, one landing at a time.
 * - Without rebase: each candidate is tested as it is; one that does not descend from the target of the moment is
 *   `needs-rebase`.
 * - With rebase: up to `maxBatch` ready candidates are rebased onto the target and onto each other (a stack), and
 *   the stack's tip is tested once. A pass lands the whole stack; a failure is bisected (bors-style): the left half
 *   is tried, and when it lands the right half's tip is the very commit that already failed, so it is split again
 *   without another run. A queue of N with one bad candidate costs about 2·log2(N) runs instead of N.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_PATH, formatDuration } from './config.js';
import { checkCandidateConfig } from './config-gate.js';
import { newRunId, type Session } from './context.js';
import { MirrorTamperedError, RunSetupError } from './errors.js';
import { git, isAncestor } from './git.js';
import { land, rebaseOnto } from './landing.js';
import { KEPT_WORKTREE } from './paths.js';
import { publishNow } from './publication.js';
import type { TestOutcome, TestRunResult } from './runner.js';
import type { RunMember } from './store.js';
import type { CandidateRef, Pusher } from './types.js';

/** The facts of one finished test run, carried into the verdicts it decides. */
export interface RunFacts {
  runId: string;
  logPath: string;
  durationMs: number;
  exitCode: number | null;
  outcome: TestOutcome | 'superseded';
}

/**
 * The candidate's own config (config-gate.ts) and the forge's say (forge.ts authorize: who pushed it, what it
 * touches), before anything is tested: records a `refused` verdict and returns false when it may not land (one about
 * who pushed it names that pusher: it settles the commit for them only); else the config change it brings, if
 * `allow`, an operator or the forge let one through.
 */
async function passesConfigGate(
  s: Session,
  c: CandidateRef,
  tested: string,
  base: string,
): Promise<{ change?: string } | false> {
  const gate = await checkCandidateConfig(
    {
      mirror: s.mirror,
      config: s.config,
      defaultBranch: s.defaultBranch,
      ...(s.approvedConfigChange ? { approved: s.approvedConfigChange } : {}),
      ...(s.trustedConfig ? { known: s.trustedConfig } : {}),
    },
    c.sha,
    tested,
    base,
  );
  let reason: string | undefined;
  let change: string | undefined;
  // Set when the forge refused because of who pushed it: the refusal then holds for that pusher only.
  let refusedPusher: Pusher | null | undefined;
  if (gate.ok || gate.change !== undefined) {
    change = gate.change;
    const forge = await s.forge.authorize({
      candidate: c,
      target: s.config.target,
      base,
      tested,
      configChange: change,
      changedPaths: () => changedPaths(s, base, tested),
    });
    if (!forge.ok) {
      reason = forge.reason;
      refusedPusher = forge.pusher;
    } else if (!gate.ok && !forge.approvesConfigChange) reason = gate.reason;
  } else reason = gate.reason;
  if (reason === undefined) return change ? { change } : {};
  s.verdict({
    kind: 'refused',
    branch: c.branch,
    sha: c.sha,
    base,
    tested,
    durationMs: 0,
    exitCode: null,
    reason,
    ...(refusedPusher === undefined ? {} : { refusedPusher }),
  });
  return false;
}

/** The paths `tested` changes against `base`. */
async function changedPaths(s: Session, base: string, tested: string): Promise<string[]> {
  const r = await s.mirror.run(['diff', '--name-only', '--no-renames', '-z', base, tested]);
  return r.stdout.split('\0').filter(Boolean);
}

export async function processQueue(s: Session, pending: CandidateRef[]): Promise<void> {
  if (!s.config.rebase) {
    for (const c of pending) {
      if (s.aborted) return;
      const base = s.targetSha;
      if (!(await isAncestor(s.mirror.gitDir, base, c.sha))) {
        needsRebase(
          s,
          c,
          base,
          `does not descend from ${s.config.target} (${base.slice(0, 12)}); rebase it or set rebase: true`,
        );
        continue;
      }
      const gate = await passesConfigGate(s, c, c.sha, base);
      if (!gate) continue;
      await processStack(
        s,
        [{ ...c, tested: c.sha, ...(gate.change ? { configChange: gate.change } : {}) }],
        base,
      );
      // Verdicts recorded, target moved: the runner may clean up after the run while the bot goes on.
      s.runner.release();
    }
    return;
  }
  let queue = [...pending];
  while (queue.length > 0 && !s.aborted) {
    const batch = queue.splice(0, Math.max(1, s.maxBatch));
    const { members, base, deferred } = await buildStack(s, batch);
    const requeue = members.length > 0 ? await processStack(s, members, base) : [];
    s.runner.release();
    queue = [...requeue, ...deferred, ...queue];
  }
}

/** A `needs-rebase` verdict decided before any test ran. */
function needsRebase(s: Session, c: CandidateRef, base: string, reason: string): void {
  s.verdict({
    kind: 'needs-rebase',
    branch: c.branch,
    sha: c.sha,
    base,
    tested: c.sha,
    durationMs: 0,
    exitCode: null,
    reason,
  });
}

/** The first merge commit in `upstream..sha`, or null when the range has none. */
async function firstMerge(gitDir: string, upstream: string, sha: string): Promise<string | null> {
  const r = await git(['--git-dir', gitDir, 'rev-list', '--merges', '--max-count=1', `${upstream}..${sha}`]);
  return r.stdout.trim() || null;
}

/** The one worktree runs and rebases use, one at a time (see Mirror.prepareWorktree). */
function keptWorktree(s: Session): string {
  return join(s.paths.worktrees, KEPT_WORKTREE);
}

/**
 * Rebases `batch` onto the target, each onto the previous one. A conflict with the target itself is a
 * `needs-rebase` verdict; a conflict with a candidate stacked before it is not the candidate's fault, so it waits
 * for a later stack.
 */
async function buildStack(
  s: Session,
  batch: CandidateRef[],
): Promise<{ members: RunMember[]; base: string; deferred: CandidateRef[] }> {
  const base = s.targetSha;
  const members: RunMember[] = [];
  const deferred: CandidateRef[] = [];
  const dir = keptWorktree(s);
  // Made ready on the first real rebase: a stack of candidates that already sit on each other needs no worktree.
  let prepared = false;
  const worktree = async () => {
    if (!prepared) await s.mirror.prepareWorktree(dir, base);
    prepared = true;
    return dir;
  };
  try {
    let prev = base;
    for (const c of batch) {
      if (!(await isAncestor(s.mirror.gitDir, prev, c.sha))) {
        // A rebase flattens merge commits, and drops the resolutions they carry: never rebase one.
        const merge = await firstMerge(s.mirror.gitDir, base, c.sha);
        if (merge !== null) {
          // Sitting on the target already, it can be tested as it is in a stack of its own.
          if (prev !== base && (await isAncestor(s.mirror.gitDir, base, c.sha))) deferred.push(c);
          else {
            needsRebase(
              s,
              c,
              base,
              `contains merge commits (${merge.slice(0, 12)}): rebase it onto ${s.config.target} yourself, or use rebase: false`,
            );
          }
          continue;
        }
      }
      const r = await rebaseOnto(s.mirror, worktree, c.sha, base, prev);
      if (!r.ok) {
        if (prev !== base) {
          deferred.push(c);
          continue;
        }
        needsRebase(
          s,
          c,
          base,
          `rebase onto ${s.config.target} (${base.slice(0, 12)}) conflicts: ${r.conflict}`,
        );
        continue;
      }
      if (r.sha === base) {
        // Every change of the candidate is already in the target: nothing to test or land.
        s.verdict({
          kind: 'landed',
          branch: c.branch,
          sha: c.sha,
          base,
          tested: base,
          durationMs: 0,
          exitCode: null,
          reason: `its changes are already in ${s.config.target}`,
        });
        continue;
      }
      const gate = await passesConfigGate(s, c, r.sha, base);
      if (!gate) continue;
      members.push({ ...c, tested: r.sha, ...(gate.change ? { configChange: gate.change } : {}) });
      prev = r.sha;
    }
  } finally {
    if (prepared) await s.mirror.cleanWorktree(dir);
  }
  return { members, base, deferred };
}

/**
 * Tests the stack `members` (built on `base`) and lands it, or bisects it. `knownFailure` is a run that already
 * tested exactly this stack's tip and failed. Returns the candidates to put back in the queue.
 */
/**
 * The bot's git directories must hold only what it wrote before it runs git in them again: a tampered one gets the
 * run's members an `error` verdict saying so, and stops the bot (MirrorTamperedError).
 */
async function guardAfterRun(
  s: Session,
  members: RunMember[],
  base: string,
  runId: string,
  logPath: string,
): Promise<void> {
  try {
    await s.guard();
  } catch (e) {
    if (!(e instanceof MirrorTamperedError)) throw e;
    for (const m of members) {
      s.verdict({
        ...fromMember(m, base, { runId, logPath, durationMs: 0, exitCode: null, outcome: 'failed' }),
        kind: 'error',
        reason: `the bot's repository changed during this candidate's test: ${e.message}`,
      });
    }
    throw e;
  }
}

async function processStack(
  s: Session,
  members: RunMember[],
  base: string,
  knownFailure?: RunFacts,
): Promise<CandidateRef[]> {
  let facts: RunFacts;
  if (knownFailure) facts = knownFailure;
  else {
    const run = await testStack(s, members, base);
    if (!run) return []; // stopped, or an error verdict was recorded
    facts = run.facts;
    if (facts.outcome === 'cancelled') return [];
    if (facts.outcome === 'superseded') {
      const by = run.moved.map((m) => {
        const to = run.movedTo.get(m.branch);
        return to ? `${m.branch} moved to ${short(to)}` : `${m.branch} was deleted`;
      });
      appendLog(
        facts.logPath,
        `premerge-bot: superseded: ${by.join(', ')} during the test, so it was stopped\n`,
      );
      for (const [i, m] of run.moved.entries()) {
        s.verdict({
          ...fromMember(m, base, facts),
          kind: 'superseded',
          reason: `superseded: ${by[i]} during the test${run.movedTo.get(m.branch) ? ' (the new tip is tested next)' : ''}`,
        });
      }
      return members.filter((m) => !run.moved.includes(m)).map(({ branch, sha }) => ({ branch, sha }));
    }
    if (facts.outcome === 'passed') return landStack(s, members, base, facts);
  }

  if (members.length === 1) {
    const m = members[0]!;
    s.verdict({
      ...fromMember(m, base, facts),
      kind: facts.outcome === 'timed-out' ? 'timed-out' : 'failed',
      ...(facts.outcome === 'timed-out' ? { reason: timedOutReason(s.config.timeoutMs) } : {}),
    });
    return [];
  }
  const mid = Math.ceil(members.length / 2);
  const left = members.slice(0, mid);
  const right = members.slice(mid);
  const leftRequeue = await processStack(s, left, base);
  if (s.aborted) return [];
  if (leftRequeue.length === 0 && s.targetSha === left.at(-1)!.tested) {
    // The left half landed, so the right half sits on the target as it is: its tip is the commit that just failed.
    return processStack(s, right, s.targetSha, facts);
  }
  return [...leftRequeue, ...right.map(({ branch, sha }) => ({ branch, sha }))];
}

/** Why a run timed out, naming the configured limit. */
export function timedOutReason(timeoutMs: number): string {
  return `ran past the configured limit, timeout: ${formatDuration(timeoutMs)} (${CONFIG_PATH}); everything it started was stopped`;
}

/** Appends a line of the bot's own to a run's log (the run is over). */
function appendLog(path: string, text: string): void {
  try {
    appendFileSync(path, text, { mode: 0o600 });
  } catch {
    // The log is gone (retention, a full disk): the verdict still says it.
  }
}

/** The verdict fields a run member and its run's facts give. */
export function fromMember(m: RunMember, base: string, f: RunFacts) {
  return {
    branch: m.branch,
    sha: m.sha,
    base,
    tested: m.tested,
    durationMs: f.durationMs,
    exitCode: f.exitCode,
    logPath: f.logPath,
    runId: f.runId,
  };
}

/**
 * A landed member's verdict fields, with the reason it landed: what was tested on which base (and the config change
 * it brought, which `allow` or an operator let through).
 */
export function landedMember(
  m: RunMember,
  base: string,
  f: RunFacts,
  stack: readonly RunMember[],
  target: string,
) {
  const tip = stack.at(-1)!.tested;
  const what =
    stack.length > 1
      ? `its test passed in a stack of ${stack.length} candidates (tip ${short(tip)}) on ${target} ${short(base)}`
      : m.tested === m.sha
        ? `its test passed on ${target} ${short(base)}`
        : `its test passed rebased onto ${target} ${short(base)} (as ${short(m.tested)})`;
  const change = m.configChange ? `; with a change to .github/premerge.yml: ${m.configChange}` : '';
  return {
    ...fromMember(m, base, f),
    kind: 'landed' as const,
    reason: `${what}, and ${target} was fast-forwarded to ${short(tip)}${change}`,
  };
}

const short = (sha: string) => sha.slice(0, 12);

/** Lands a passed stack; on a lost race the candidates go back in the queue (rebase) or get `needs-rebase`. */
export async function landStack(
  s: Session,
  members: RunMember[],
  base: string,
  facts: RunFacts,
): Promise<CandidateRef[]> {
  const tip = members.at(-1)!.tested;
  s.emit({ type: 'landing', target: s.config.target, from: base, to: tip });
  const r = await land(s.forge, s.mirror, s.config.target, base, tip);
  if (r.ok) {
    s.targetSha = tip;
    for (const m of members) s.verdict(landedMember(m, base, facts, members, s.config.target));
    return [];
  }
  if (r.reason === 'moved') {
    s.emit({ type: 'lost-race', target: s.config.target, expected: base, actual: r.actual ?? '(deleted)' });
    // Learn the new target (its objects too) before anything is stacked on it.
    s.snapshot = await s.forge.fetch();
    s.targetSha = s.snapshot.branches.get(s.config.target) ?? r.actual ?? base;
    s.record({ type: 'run-ended', runId: facts.runId, at: new Date().toISOString(), outcome: 'lost-race' });
    if (s.config.rebase) return members.map(({ branch, sha }) => ({ branch, sha }));
    for (const m of members) {
      s.verdict({
        ...fromMember(m, r.actual ?? base, facts),
        kind: 'needs-rebase',
        reason: `${s.config.target} moved from ${base.slice(0, 12)} to ${r.actual?.slice(0, 12)} during the test`,
      });
    }
    return [];
  }
  const reason =
    r.reason === 'not-descendant'
      ? `tested commit does not descend from ${base.slice(0, 12)}`
      : `push refused: ${r.detail}`;
  for (const m of members) s.verdict({ ...fromMember(m, base, facts), kind: 'error', reason });
  return [];
}

/**
 * One test run of the stack's tip by the session's runner, watching the member branches for new pushes.
 * Returns null when the bot is stopping or the run could not even start (then an `error` verdict is recorded).
 * After the run, before the bot's next git command, its own git directories are checked (mirror-guard.ts).
 */
async function testStack(
  s: Session,
  members: RunMember[],
  base: string,
): Promise<{ facts: RunFacts; moved: RunMember[]; movedTo: Map<string, string | null> } | null> {
  if (s.aborted) return null;
  const tested = members.at(-1)!.tested;
  const runId = newRunId();
  const logPath = join(s.paths.logs, `${runId}.log`);
  mkdirSync(s.paths.logs, { recursive: true, mode: 0o700 });
  s.record({
    type: 'run-started',
    runId,
    at: new Date().toISOString(),
    target: s.config.target,
    configHash: s.config.hash,
    base,
    tested,
    members,
    logPath,
  });
  s.emit({ type: 'test-started', runId, members, base, tested, logPath });
  // "testing since": published while the test runs, except as the bot's own user, where the test could change the
  // mirror meanwhile: then before it starts.
  const published = publishNow(s);
  if (s.runner.isolation.mode === 'same-user') await published;
  const errorVerdicts = (reason: string) => {
    for (const m of members) {
      s.verdict({
        ...fromMember(m, base, { runId, logPath, durationMs: 0, exitCode: null, outcome: 'failed' }),
        kind: 'error',
        reason,
      });
    }
  };

  const controller = new AbortController();
  const onStop = () => controller.abort();
  s.signal?.addEventListener('abort', onStop, { once: true });
  if (s.signal?.aborted) controller.abort();
  const moved: RunMember[] = [];
  const movedTo = new Map<string, string | null>();
  let polling = false;
  const poll = setInterval(async () => {
    if (polling || controller.signal.aborted) return;
    polling = true;
    try {
      const tips = await s.forge.currentTips(members.map((m) => m.branch));
      for (const m of members) {
        const now = tips.get(m.branch) ?? null;
        if (now !== m.sha) {
          moved.push(m);
          movedTo.set(m.branch, now);
        }
      }
      if (moved.length > 0) controller.abort();
    } catch {
      // The candidates repository is briefly unreachable: keep testing, look again next time.
    } finally {
      polling = false;
    }
  }, s.pollIntervalMs);

  let result: TestRunResult;
  let spawned = false;
  try {
    result = await s.runner.run({
      runId,
      sha: tested,
      target: s.config.target,
      base,
      refs: s.testRefs(base),
      command: s.config.test,
      timeoutMs: s.config.timeoutMs,
      logPath,
      logLimit: s.logLimit,
      signal: controller.signal,
      onSpawn: (pgid, startTime) => {
        spawned = true;
        s.record({ type: 'run-process', runId, pgid, startTime });
      },
    });
  } catch (e) {
    if (!(e instanceof RunSetupError)) throw e;
    appendFileSync(logPath, `premerge-bot: ${e.message}\n`, { mode: 0o600 });
    await guardAfterRun(s, members, base, runId, logPath);
    if (s.aborted) {
      s.record({ type: 'run-ended', runId, at: new Date().toISOString(), outcome: 'stopped' });
      return null;
    }
    errorVerdicts(e.message);
    return null;
  } finally {
    clearInterval(poll);
    s.signal?.removeEventListener('abort', onStop);
  }
  for (const message of result.warnings) s.emit({ type: 'warning', message });
  await guardAfterRun(s, members, base, runId, logPath);
  if (!spawned && result.outcome === 'cancelled') {
    // Stopped before the test started: no test, no verdict.
    s.record({ type: 'run-ended', runId, at: new Date().toISOString(), outcome: 'stopped' });
    return null;
  }
  if (result.outcome === 'error') {
    errorVerdicts(result.reason ?? 'the test could not be started');
    return null;
  }
  s.report.testRuns++;
  s.report.candidateRuns += members.length;
  const outcome: RunFacts['outcome'] =
    result.outcome === 'cancelled' && moved.length > 0 && !s.aborted ? 'superseded' : result.outcome;
  const facts: RunFacts = {
    runId,
    logPath,
    durationMs: result.durationMs,
    exitCode: result.exitCode,
    outcome,
  };
  s.emit({ type: 'test-finished', runId, outcome, exitCode: result.exitCode, durationMs: result.durationMs });
  if (outcome === 'passed') {
    s.record({
      type: 'run-passed',
      runId,
      at: new Date().toISOString(),
      durationMs: result.durationMs,
      exitCode: 0,
    });
  } else if (outcome === 'cancelled') {
    // Stopped by the bot's own shutdown: not a verdict; the candidates stay pending for the next start.
    s.record({ type: 'run-ended', runId, at: new Date().toISOString(), outcome: 'stopped' });
  }
  return { facts, moved, movedTo };
}
