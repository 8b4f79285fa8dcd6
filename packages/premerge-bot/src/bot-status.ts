/**
 * What the bot says about one repository, wherever it says it: the status ref a developer reads with plain git
 * (`git pu-status`), `premerge-bot status`, and the hook's answer at push time. One model ({@link BotStatus}) built
 * by one function ({@link describeQueue}), so the three cannot disagree about what is queued or running.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { PremergeConfig } from './config.js';
import type { JournalState } from './store.js';
import { TEST_ENV_DENYLIST } from './test-run.js';
import type { CandidateTip, Verdict, VerdictKind } from './types.js';

/** A candidate tip and where it stands. */
export type CandidateState =
  /** Waiting for its test; `ahead` candidates are tested or decided before it. */
  | { state: 'queued'; branch: string; sha: string; ahead: number }
  /** Its test runs (alone or in a stack) since `since`. */
  | { state: 'testing'; branch: string; sha: string; since: string; runId: string }
  /** It has a verdict that settles it (the git note on it holds the verdict). */
  | { state: 'settled'; branch: string; sha: string; kind: VerdictKind; at: string }
  /** It is already in the target: nothing to test. */
  | { state: 'in-target'; branch: string; sha: string };

/** The bot's state of one repository as it publishes it. */
export interface BotStatus {
  /** The repository as the bot names it (a path or a URL without credentials). */
  repo: string;
  /** When this status was published; the bot was alive then. */
  seenAt: string;
  /**
   * A `watch` publishes its status again this often (seconds), also while a test runs: a status older than three
   * of these means the watch is gone. Absent for `once` runs (cron, hooks), which publish when they work.
   */
  heartbeatSeconds?: number;
  /** The trusted config's `timeout` in milliseconds (what `git pu-status --wait` waits for by default), when read. */
  timeoutMs?: number;
  /** The target branch and its commit, when known. */
  target?: { branch: string; sha: string };
  /** Why the bot cannot work (an invalid config, a missing target, an unreachable repository), when it cannot. */
  problem?: { code: string; message: string };
  /** Every candidate tip the bot saw at its last look, in queue order. */
  candidates: CandidateState[];
  /** For recent failures (failed, timed-out, error): the end of the log, secrets redacted; or all of it. */
  logs: Array<{ sha: string; text: string; whole: boolean }>;
}

/** Status lines a shell reads (`git pu-status`): one record per line, its kind first, fields separated by spaces. */
export const STATUS_FILE = 'status';
/** The same as JSON, for tools. */
export const STATUS_JSON = 'status.json';
/** `logs/SHA.log` in the status commit: the end of a failed run's log (or the whole log with `publish-logs: true`). */
export const STATUS_LOGS = 'logs';

/** What decides where the candidates stand: the run in progress, the candidate tips, what settles them. */
export interface QueueInput {
  /** Candidate tips (selected by the config), in queue order. */
  candidates: readonly CandidateTip[];
  /** The journal's state (runs in progress, verdicts). */
  state: JournalState;
  /** The verdicts that settle commits (store.ts settlingVerdicts), and the test that decides whether one does. */
  settled: (c: CandidateTip) => Verdict | undefined;
  /** Whether a tip is already in the target (false when that cannot be known). */
  inTarget: (c: CandidateTip) => Promise<boolean>;
}

/** Where every candidate tip stands: testing first (the runs in progress), then the queue, then the rest. */
export async function describeQueue(input: QueueInput): Promise<CandidateState[]> {
  const testing = new Map<string, { since: string; runId: string }>();
  for (const [runId, run] of input.state.runs) {
    if (run.ended || run.passed) continue;
    for (const m of run.started.members)
      testing.set(`${m.branch} ${m.sha}`, { since: run.started.at, runId });
  }
  const out: CandidateState[] = [];
  const queued: CandidateTip[] = [];
  for (const c of input.candidates) {
    const run = testing.get(`${c.branch} ${c.sha}`);
    if (run) {
      out.push({ state: 'testing', branch: c.branch, sha: c.sha, ...run });
      continue;
    }
    const verdict = input.settled(c);
    if (verdict)
      out.push({ state: 'settled', branch: c.branch, sha: c.sha, kind: verdict.kind, at: verdict.at });
    else if (await input.inTarget(c)) out.push({ state: 'in-target', branch: c.branch, sha: c.sha });
    else queued.push(c);
  }
  const running = out.filter((c) => c.state === 'testing').length;
  const queue: CandidateState[] = queued.map((c, i) => ({
    state: 'queued',
    branch: c.branch,
    sha: c.sha,
    ahead: running + i,
  }));
  return [...out.filter((c) => c.state === 'testing'), ...queue, ...out.filter((c) => c.state !== 'testing')];
}

/** One line of `status` per field; values never hold a newline (messages are flattened). */
export function statusText(s: BotStatus): string {
  const flat = (text: string) => text.replace(/\s+/g, ' ').trim();
  const lines = [
    'premerge-bot-status 1',
    `repo ${flat(s.repo)}`,
    `seen ${s.seenAt}`,
    // For shells, which cannot read an ISO time portably.
    `seen-unix ${Math.floor(Date.parse(s.seenAt) / 1000)}`,
  ];
  if (s.heartbeatSeconds !== undefined) lines.push(`heartbeat ${s.heartbeatSeconds}`);
  if (s.timeoutMs !== undefined) lines.push(`timeout-ms ${s.timeoutMs}`);
  if (s.target) lines.push(`target ${s.target.branch} ${s.target.sha}`);
  if (s.problem) lines.push(`problem ${s.problem.code} ${flat(s.problem.message)}`);
  for (const c of s.candidates) {
    switch (c.state) {
      case 'queued':
        lines.push(`queued ${c.sha} ${c.branch} ${c.ahead}`);
        break;
      case 'testing':
        lines.push(`testing ${c.sha} ${c.branch} ${c.since}`);
        break;
      case 'settled':
        lines.push(`settled ${c.sha} ${c.branch} ${c.kind} ${c.at}`);
        break;
      case 'in-target':
        lines.push(`in-target ${c.sha} ${c.branch}`);
        break;
    }
  }
  for (const log of s.logs)
    lines.push(`log ${log.sha} ${STATUS_LOGS}/${log.sha}.log ${log.whole ? 'whole' : 'tail'}`);
  return `${lines.join('\n')}\n`;
}

/** The status as it is published, less the time: two statuses with the same key say the same thing. */
export function statusKey(s: BotStatus): string {
  return JSON.stringify({ ...s, seenAt: '' });
}

/**
 * Secrets the bot knows of, to keep out of what it publishes: the values of its environment's credentials (the
 * test environment's denylist, every `PREMERGE_*` variable, and any variable named like a token, secret, password or
 * key), and `extra` (the push token). Values shorter than 8 characters are not secrets worth the name (and would
 * redact common words).
 */
export function knownSecrets(env: NodeJS.ProcessEnv = process.env, extra: readonly string[] = []): string[] {
  const named = /TOKEN|SECRET|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|API_?KEY|AUTH/i;
  const values: string[] = [...extra];
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (TEST_ENV_DENYLIST.includes(name) || name.startsWith('PREMERGE_') || named.test(name))
      values.push(value);
  }
  const out = new Set<string>();
  for (const value of values) {
    if (value.length >= 8) out.add(value);
    // A multi-line secret (a private key) can show one line at a time.
    for (const line of value.split('\n')) if (line.trim().length >= 16) out.add(line.trim());
  }
  // Longest first, so a secret containing another is replaced whole.
  return [...out].sort((a, b) => b.length - a.length);
}

/** `text` with every known secret, and the password of any URL (`https://user:pass@host`), replaced. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi, '$1[redacted]@');
}

/** The last `lines` lines of the file at `path`, read from its end (never the whole file); '' when unreadable. */
export function tailOfFile(path: string, lines: number, maxBytes = 64 * 1024): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(path).size;
    const length = Math.min(size, maxBytes);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    const all = buf.toString('utf8').replace(/\n$/, '').split('\n');
    // A partial first line (the read started mid-line) is dropped, unless the file was read whole.
    const whole = length === size ? all : all.slice(1);
    return `${whole.slice(-lines).join('\n')}\n`;
  } finally {
    closeSync(fd);
  }
}

/** The kinds whose log the status carries. */
export const FAILURE_KINDS: readonly VerdictKind[] = ['failed', 'timed-out', 'error'];

/** How many failed runs' logs the status carries at most (the latest). */
export const STATUS_LOG_COUNT = 20;

/** How many lines of a failed run's log the status carries (unless `publish-logs: true`). */
export const STATUS_LOG_LINES = 50;

/** Options of {@link failureLogs}. */
export interface FailureLogOptions {
  config: Pick<PremergeConfig, 'publishLogs'> | undefined;
  secrets: readonly string[];
  /** Reads a whole log (with `publish-logs: true`), capped as logs are. */
  readWhole: (path: string) => string;
}

/** The logs a status carries: the latest failures' tails (or whole logs), redacted. */
export function failureLogs(verdicts: readonly Verdict[], options: FailureLogOptions): BotStatus['logs'] {
  const seen = new Set<string>();
  const out: BotStatus['logs'] = [];
  for (let i = verdicts.length - 1; i >= 0 && out.length < STATUS_LOG_COUNT; i--) {
    const v = verdicts[i]!;
    if (seen.has(v.sha)) continue;
    seen.add(v.sha);
    if (!FAILURE_KINDS.includes(v.kind) || !v.logPath) continue;
    const whole = options.config?.publishLogs === true;
    const text = whole ? options.readWhole(v.logPath) : tailOfFile(v.logPath, STATUS_LOG_LINES);
    if (text) out.push({ sha: v.sha, text: redact(text, options.secrets), whole });
  }
  return out;
}
