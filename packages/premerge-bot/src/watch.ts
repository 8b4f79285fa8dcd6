/**
 * The daemon: the scheduler (scheduler.ts) over one or many repositories, looking again every interval and at once
 * when a repository's post-receive hook pokes it through the state directory's socket (watch-ipc.ts).
 */
import { mkdir } from 'node:fs/promises';
import { Scheduler, type SchedulerEvent } from './scheduler.js';
import { serveWatch, socketPath, type WatchInfo } from './watch-ipc.js';

export { type ScheduledRepo, Scheduler, type SchedulerEvent, type SchedulerOptions } from './scheduler.js';
export {
  askQueue,
  askWatch,
  pokeWatch,
  type QueueAnswer,
  repoKey,
  socketPath,
  type WatchInfo,
} from './watch-ipc.js';

/** One repository the daemon looks after, as for `premerge-bot once`. */
export interface WatchTarget {
  /** Repository holding the target branch (path or URL). */
  repo: string;
  /** Repository holding the candidate branches, when they are pushed elsewhere (3-repo workflow). */
  candidatesFrom?: string;
}

export interface WatchOptions {
  repos: WatchTarget[];
  /** Absolute state dir (the engine's, and where the socket lives). */
  stateDir: string;
  /** Time between two polls of a repository, in milliseconds; a poke starts a run before it elapses. */
  intervalMs: number;
  /** Abort to stop: runs in progress are cancelled (the engine's clean stop) and watch() resolves. */
  signal: AbortSignal;
  /** Progress, for live output on a terminal or JSON-lines logs. */
  onEvent?: (event: WatchEvent) => void;
}

/** What the daemon reports; `repo` is the repository as given on the command line. */
export type WatchEvent =
  | { type: 'listening'; socket: string; repos: string[] }
  | SchedulerEvent
  | { type: 'stopped' };

/** Runs until `signal` aborts. Rejects only when it cannot start (e.g. another watch owns the socket). */
export async function watch(options: WatchOptions): Promise<void> {
  const { signal, stateDir, intervalMs } = options;
  const emit = options.onEvent ?? (() => {});
  await mkdir(stateDir, { recursive: true });
  const scheduler = new Scheduler({ stateDir, intervalMs, signal, onEvent: emit });
  const close = await serveWatch(stateDir, {
    poke: (key) => scheduler.poke(key),
    info: (): WatchInfo => ({ pid: process.pid, kind: 'watch', intervalMs, repos: scheduler.info() }),
    queue: (key) => {
      const status = scheduler.status(key);
      return status ? { repo: status.repo, at: status.seenAt, candidates: status.candidates } : null;
    },
  });
  emit({ type: 'listening', socket: socketPath(stateDir), repos: options.repos.map((r) => r.repo) });
  try {
    await Promise.all(options.repos.map((target) => scheduler.add(target)));
  } finally {
    await scheduler.stop();
    await close();
    emit({ type: 'stopped' });
  }
}
