/**
 * How the CLI shows what the engine and the daemon do: one readable line per event on a terminal, one JSON
 * object per line (with a timestamp) everywhere else, for log collectors.
 */
import type { EngineEvent, OnceReport, StatusReport, Verdict } from './engine.js';
import type { SchedulerEvent } from './scheduler.js';
import type { Pusher, PusherDecision } from './types.js';
import type { WatchEvent } from './watch.js';

const short = (sha: string) => sha.slice(0, 12);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** One line for a verdict, e.g. `landed pu 1a2b3c4d5e6f on master (3.2s)`. */
export function formatVerdict(v: Verdict): string {
  const head = `${v.kind} ${v.branch} ${short(v.sha)}`;
  switch (v.kind) {
    case 'landed':
      return `${head} on ${v.target}${v.tested === v.sha ? '' : ` as ${short(v.tested)}`} (${seconds(v.durationMs)})${v.reason ? `: ${v.reason}` : ''}`;
    case 'failed':
      return `${head}: exit ${v.exitCode ?? 'by signal'} after ${seconds(v.durationMs)}${v.logPath ? `, log ${v.logPath}` : ''}`;
    case 'timed-out':
      return `${head} after ${seconds(v.durationMs)}: ${v.reason ?? 'ran past the configured timeout'}${v.logPath ? `, log ${v.logPath}` : ''}`;
    default:
      // A refusal about who pushed it holds for that pusher only: say whom.
      return `${head}${v.refusedPusher === undefined ? '' : ` for ${pusherName(v.refusedPusher)}`}${v.reason ? `: ${v.reason}` : ''}`;
  }
}

/** `@login`, or what a refusal for no established pusher was decided for. */
function pusherName(p: Pusher | null): string {
  return p === null ? 'a pusher that could not be established' : `@${p.login}`;
}

/** `refused for @alice (REASON)`, `pushed by @max: landed`: one decision about a commit, by pusher. */
function formatDecision(d: PusherDecision): string {
  if (d.forPusher) return `${d.kind} for ${pusherName(d.pusher ?? null)}${d.reason ? ` (${d.reason})` : ''}`;
  const by = d.pusher ? `pushed by @${d.pusher.login}: ` : '';
  return `${by}${d.kind}${d.reason && d.kind !== 'landed' ? ` (${d.reason})` : ''}`;
}

/** One human line for an engine event. */
export function formatEngineEvent(e: EngineEvent): string {
  switch (e.type) {
    case 'state-moved':
      return `moved this repository's state from ${e.from} to ${e.to} (its history is kept)`;
    case 'recovered':
      return `recovered after a crash: ${e.what} ${e.detail}`;
    case 'fetched':
      return `fetched: ${e.target} at ${short(e.targetSha)}, ${e.candidates.length} candidate branch(es)`;
    case 'pending':
      return e.candidates.length === 0
        ? 'nothing pending'
        : `pending: ${e.candidates.map((c) => `${c.branch} ${short(c.sha)}`).join(', ')}`;
    case 'test-started':
      return `testing ${e.members.map((m) => `${m.branch} ${short(m.sha)}`).join(' + ')} on ${short(e.base)}, log ${e.logPath}`;
    case 'test-finished':
      return `test ${e.outcome}${e.exitCode === null ? '' : ` (exit ${e.exitCode})`} after ${seconds(e.durationMs)}`;
    case 'landing':
      return `landing: ${e.target} ${short(e.from)} -> ${short(e.to)}`;
    case 'lost-race':
      return `${e.target} moved meanwhile (expected ${short(e.expected)}, found ${short(e.actual)})`;
    case 'verdict':
      return formatVerdict(e.verdict);
    case 'published':
      return `published ${e.count} verdict(s) to ${e.repo}`;
    case 'publish-failed':
      return `could not publish verdicts to ${e.repo}: ${e.reason}`;
    case 'deferred':
      return `another bot (pid ${e.holderPid}) is working on this repository; asked it to rescan`;
    case 'isolation':
      return e.detail;
    case 'warning':
      return `warning: ${e.message}`;
    case 'compacted':
      return `compacted the journal: ${e.records} records, ${e.kept} kept`;
  }
}

/** One human line for an event of the scheduler that `watch` and `serve` share. */
export function formatSchedulerEvent(e: SchedulerEvent): string {
  switch (e.type) {
    case 'poked':
      return `${e.repo}: poked by a push`;
    case 'run-started':
      return `${e.repo}: looking for candidates`;
    case 'run-finished':
      return `${e.repo}: ${summarize(e.report)}`;
    case 'run-failed':
      return `${e.repo}: error: ${e.message}${e.stack ? `\n${e.stack}` : ''}`;
    case 'engine':
      return `${e.repo}: ${formatEngineEvent(e.event)}`;
  }
}

/** One human line for a daemon event. */
export function formatWatchEvent(e: WatchEvent): string {
  switch (e.type) {
    case 'listening':
      return `watching ${e.repos.join(', ')} (hooks poke ${e.socket})`;
    case 'stopped':
      return 'stopped';
    default:
      return formatSchedulerEvent(e);
  }
}

/** A JSON log line: the event's own fields, a timestamp first; engine events keep their own `type`. */
export function jsonLine(e: WatchEvent, now = new Date()): string {
  const fields = e.type === 'engine' ? { repo: e.repo, ...e.event } : e;
  return JSON.stringify({ time: now.toISOString(), ...fields });
}

/** `2 verdict(s) in 1 test run(s): landed 1, failed 1` or `nothing to do`. */
export function summarize(r: OnceReport): string {
  if (r.aborted) return 'stopped before finishing; nothing half-done was recorded';
  if (r.deferred) return 'another bot holds the lock and will rescan';
  if (r.verdicts.length === 0) return `nothing to do (${r.target || 'target'} at ${short(r.targetSha)})`;
  const counts = new Map<string, number>();
  for (const v of r.verdicts) counts.set(v.kind, (counts.get(v.kind) ?? 0) + 1);
  const kinds = [...counts].map(([k, n]) => `${k} ${n}`).join(', ');
  return `${r.verdicts.length} verdict(s) in ${r.testRuns} test run(s): ${kinds}; ${r.target} at ${short(r.targetSha)}`;
}

/** The `status` command's text form. */
export function formatStatus(s: StatusReport): string {
  const commit = (sha: string) => {
    const c = s.commits[sha];
    return c ? `${short(sha)} "${c.subject}" (${c.author})` : short(sha);
  };
  const lines = [`repository: ${s.repo}${s.candidatesFrom ? ` (candidates from ${s.candidatesFrom})` : ''}`];
  lines.push(s.target ? `target: ${s.target.branch} at ${short(s.target.sha)}` : 'target: unknown');
  if (s.problem) lines.push(`problem: ${s.problem.code}: ${s.problem.message}`);
  const watching = s.watch?.repos.find((r) => r.repo === s.repo || r.candidatesFrom === s.repo);
  const kind = s.watch?.kind ?? 'watch';
  if (s.watch && watching) {
    lines.push(
      watching.state === 'idle'
        ? `bot: ${kind} (pid ${s.watch.pid}) running, idle since ${watching.since}${watching.nextPollAt ? `, next look at ${watching.nextPollAt}` : ''}`
        : `bot: ${kind} (pid ${s.watch.pid}) running, working since ${watching.since}`,
    );
  } else if (s.lockHolder !== null) lines.push(`bot: running (pid ${s.lockHolder})`);
  else if (s.watch)
    lines.push(`bot: a ${kind} (pid ${s.watch.pid}) runs on this state dir, for other repositories`);
  else lines.push('bot: not running');
  const alive = s.lockHolder !== null || watching?.state === 'working';
  for (const r of s.running) {
    const members = r.members.map((m) => `${m.branch} ${commit(m.sha)}`).join(' + ');
    lines.push(
      alive
        ? `testing: ${members} since ${r.startedAt}`
        : `cut off: ${members} (started ${r.startedAt}; tested again at the next run)`,
    );
  }
  const queued = s.candidates.flatMap((c) => (c.state === 'queued' ? [c] : []));
  if (queued.length === 0) lines.push('pending: none');
  else {
    lines.push('pending:');
    for (const c of queued)
      lines.push(
        `  ${c.branch} ${commit(c.sha)}${c.pusher ? `, pushed by @${c.pusher.login}` : ''}, ${c.ahead} ahead of it`,
      );
  }
  // Where the forge knows pushers (GitHub), what was decided for whom: a refusal about one pusher leaves the same
  // commit open to another's push.
  const byPusher = s.decided.filter((d) => d.decisions.some((x) => x.pusher !== undefined));
  if (byPusher.length > 0) {
    lines.push('decided, by pusher:');
    for (const d of byPusher)
      lines.push(
        `  ${commit(d.sha)} on ${d.branches.join(', ')}: ${d.decisions.map(formatDecision).join('; ')}`,
      );
  }
  if (s.recent.length > 0) {
    lines.push('recent verdicts:');
    for (const v of s.recent) {
      const c = s.commits[v.sha];
      lines.push(`  ${v.at}  ${formatVerdict(v)}${c ? ` ("${c.subject}", ${c.author})` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `42s`, `3m05s`, `1h02m`: how long a test has run, as the elapsed line shows it. */
export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * On a terminal, a line under the last one saying how long the running test has taken, rewritten in place every
 * second (`  testing pu 1a2b3c4d5e6f: 1m05s`) and cleared before the next line is printed.
 */
export class ElapsedLine {
  private timer: NodeJS.Timeout | undefined;
  private shown = false;
  private readonly write: (text: string) => void;

  constructor(write: (text: string) => void) {
    this.write = write;
  }

  /** Shows the events' lines, keeping the elapsed line of the test in progress below them. */
  event(e: EngineEvent, line: string, prefix = ''): void {
    this.clear();
    this.write(`${line}\n`);
    if (e.type === 'test-started') {
      const what = e.members.map((m) => `${m.branch} ${short(m.sha)}`).join(' + ');
      this.start(`${prefix}testing ${what}`);
    } else if (e.type === 'test-finished') this.stop();
    else if (this.label) this.show();
  }

  private label: string | undefined;
  private startedAt = 0;

  private start(label: string): void {
    this.stop();
    this.label = label;
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.show(), 1000);
    this.timer.unref();
  }

  private show(): void {
    if (!this.label) return;
    this.write(`\r\x1b[K  ${this.label}: ${formatElapsed(Date.now() - this.startedAt)}`);
    this.shown = true;
  }

  private clear(): void {
    if (this.shown) this.write('\r\x1b[K');
    this.shown = false;
  }

  /** Another line, printed above the elapsed line. */
  print(line: string): void {
    this.clear();
    this.write(`${line}\n`);
    if (this.label) this.show();
  }

  /** No test runs any more: the line goes. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.label = undefined;
    this.clear();
  }
}
