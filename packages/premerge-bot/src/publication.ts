/**
 * When and what a session publishes through its {@link Publisher}: the verdicts each destination has not received
 * yet (journaled first, so none is lost in a crash) and the bot's status (the queue, the runs, when it was seen,
 * what stops it). Publications of a session are serialized; a status that says nothing new is not published again,
 * except to show a `watch` is alive (its heartbeat).
 */
import {
  type BotStatus,
  describeQueue,
  failureLogs,
  knownSecrets,
  statusKey,
  tailOfFile,
} from './bot-status.js';
import { selectCandidates, settlingVerdict } from './candidates.js';
import type { Session } from './context.js';
import { isAncestor } from './git.js';
import type { PublishedVerdict } from './publisher.js';
import { settlingVerdicts } from './store.js';

/** The last status published per repository in this process (a watch runs one session after another). */
const lastPublished = new Map<string, { key: string; at: number }>();

/** The session's status as it would be published now. */
export async function sessionStatus(s: Session): Promise<BotStatus> {
  const status: BotStatus = { repo: s.repo, seenAt: new Date().toISOString(), candidates: [], logs: [] };
  if (s.heartbeatMs !== undefined) status.heartbeatSeconds = Math.max(1, Math.round(s.heartbeatMs / 1000));
  if (s.problem) status.problem = s.problem;
  const config = s.configIfRead;
  if (!config) return status;
  status.timeoutMs = config.timeoutMs;
  if (s.targetSha) status.target = { branch: config.target, sha: s.targetSha };
  const verdicts = settlingVerdicts(s.state);
  status.candidates = await describeQueue({
    candidates: selectCandidates(s.candidateTips(), config),
    state: s.state,
    settled: (c) => settlingVerdict(c, s.targetSha, config, verdicts),
    inTarget: async (c) =>
      s.targetSha !== '' &&
      (c.sha === s.targetSha || (await isAncestor(s.mirror.gitDir, c.sha, s.targetSha))),
  });
  status.logs = failureLogs(
    s.state.verdicts.map((v) => v.verdict),
    {
      config,
      secrets: knownSecrets(process.env, s.forge.secrets()),
      readWhole: (path) => tailOfFile(path, Number.MAX_SAFE_INTEGER, s.logLimit + 64 * 1024),
    },
  );
  return status;
}

/**
 * Publishes what is new (verdicts each destination lacks, the status when it changed or a heartbeat is due),
 * after whatever the session is publishing already. `force` publishes the status even when it says nothing new.
 * Resolves once done; failures are reported as `publish-failed` events and tried again at the next publication.
 */
export function publishNow(s: Session, options: { force?: boolean } = {}): Promise<void> {
  // Never rejects: publishing runs beside the work (a test in progress), and a failure to publish stops nothing.
  const next = s.publishing.then(() =>
    publishOnce(s, options.force === true).catch((e: Error) => {
      s.emit({ type: 'publish-failed', repo: s.repo, reason: e.message });
    }),
  );
  s.publishing = next;
  return next;
}

async function publishOnce(s: Session, force: boolean): Promise<void> {
  let status: BotStatus | null = await sessionStatus(s);
  try {
    s.onStatus?.(status);
  } catch {
    // The listener's problem.
  }
  const key = statusKey(status);
  const last = lastPublished.get(s.paths.root);
  const heartbeatDue = s.heartbeatMs !== undefined && (!last || Date.now() - last.at >= s.heartbeatMs / 2);
  if (!force && !heartbeatDue && last?.key === key) status = null;
  let allDone = true;
  for (const destination of s.forge.publisher.destinations) {
    const done = s.state.published.get(destination) ?? new Set<string>();
    const todo = s.state.verdicts.filter((v) => !done.has(v.id));
    // Only the latest verdict per commit is published.
    const latest = new Map<string, PublishedVerdict>();
    for (const v of todo) latest.set(v.verdict.sha, v);
    if (latest.size === 0 && status === null) continue;
    const failure = await s.forge.publisher
      .publish(destination, [...latest.values()], status)
      .catch((e: Error) => e.message);
    if (failure) {
      allDone = false;
      s.emit({ type: 'publish-failed', repo: destination, reason: failure });
      continue;
    }
    if (todo.length > 0) s.record({ type: 'published', remote: destination, ids: todo.map((v) => v.id) });
    if (latest.size > 0) s.emit({ type: 'published', count: latest.size, repo: destination });
  }
  if (status && allDone) lastPublished.set(s.paths.root, { key, at: Date.now() });
}

/** While the session works, a `watch`'s status is published every heartbeat, also during a long test. */
export function startHeartbeat(s: Session): () => void {
  if (s.heartbeatMs === undefined) return () => {};
  const timer = setInterval(() => {
    void publishNow(s, { force: true });
  }, s.heartbeatMs);
  timer.unref();
  return () => clearInterval(timer);
}
