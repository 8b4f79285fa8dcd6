/**
 * The daemon: runs the engine over one or many repositories, again every interval, and at once when a
 * repository's post-receive hook pokes it through a Unix socket in the state dir.
 */
import { mkdir, unlink } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { type EngineEvent, type OnceReport, runOnce } from './engine.js';
import { PremergeError, StateError, WatchRunningError } from './errors.js';
import { repoKey, socketPath, type WatchInfo } from './watch-ipc.js';

export { askWatch, pokeWatch, repoKey, socketPath, type WatchInfo } from './watch-ipc.js';

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
  | { type: 'poked'; repo: string }
  | { type: 'run-started'; repo: string }
  | { type: 'run-finished'; repo: string; report: OnceReport }
  | { type: 'run-failed'; repo: string; code: string | undefined; message: string; stack?: string }
  | { type: 'engine'; repo: string; event: EngineEvent }
  | { type: 'stopped' };

/** Removes a socket left by a watch that died; refuses while a live watch answers on it. */
async function claimSocket(path: string): Promise<void> {
  const alive = await new Promise<boolean>((done) => {
    const socket = connect(path);
    socket.on('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.on('error', () => done(false));
  });
  if (alive) {
    throw new WatchRunningError(path);
  }
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

interface Slot {
  target: WatchTarget;
  keys: string[];
  /** A poke arrived while running or waiting: run (again) without waiting for the interval. */
  poked: boolean;
  wake?: () => void;
  /** What it is doing, since when, and (idle) when it looks next. */
  state: 'working' | 'idle';
  since: string;
  nextPollAt?: string;
}

/** Runs until `signal` aborts. Rejects only when it cannot start (e.g. another watch owns the socket). */
export async function watch(options: WatchOptions): Promise<void> {
  const { signal, stateDir, intervalMs } = options;
  const emit = options.onEvent ?? (() => {});
  const slots: Slot[] = options.repos.map((target) => ({
    target,
    keys: [target.repo, target.candidatesFrom].filter((r) => r !== undefined).map(repoKey),
    poked: false,
    state: 'idle',
    since: new Date().toISOString(),
  }));

  await mkdir(stateDir, { recursive: true });
  const path = socketPath(stateDir);
  // Unix socket paths are limited to about 104-108 bytes depending on the system; fail with a clear line.
  if (Buffer.byteLength(path) > 100) {
    throw new StateError(
      `the state dir path is too long for the watch's Unix socket ${path}; use a shorter --state-dir`,
    );
  }
  await claimSocket(path);
  const server = createServer((socket) => {
    let text = '';
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      // One poke per connection: whatever follows the first line is ignored.
      if (text.includes('\n')) return;
      text += chunk.toString('utf8');
      if (!text.includes('\n')) return;
      let repo = '';
      try {
        const message = JSON.parse(text.slice(0, text.indexOf('\n'))) as { repo?: unknown; query?: unknown };
        if (message.query === 'info') {
          const info: WatchInfo = {
            pid: process.pid,
            intervalMs,
            repos: slots.map((s) => ({
              repo: s.target.repo,
              ...(s.target.candidatesFrom ? { candidatesFrom: s.target.candidatesFrom } : {}),
              state: s.state,
              since: s.since,
              ...(s.state === 'idle' && s.nextPollAt ? { nextPollAt: s.nextPollAt } : {}),
            })),
          };
          socket.end(`${JSON.stringify(info)}\n`);
          return;
        }
        repo = String(message.repo ?? '');
      } catch {
        // A malformed poke is answered like one for a repository we do not watch.
      }
      const slot = slots.find((s) => s.keys.includes(repo));
      if (slot) {
        emit({ type: 'poked', repo: slot.target.repo });
        slot.poked = true;
        slot.wake?.();
      }
      socket.end(slot ? 'ok\n' : 'unknown\n');
    });
  });
  await listen(server, path);
  emit({ type: 'listening', socket: path, repos: slots.map((s) => s.target.repo) });

  try {
    await Promise.all(slots.map((slot) => loop(slot, stateDir, intervalMs, signal, emit)));
  } finally {
    await new Promise<void>((done) => server.close(() => done()));
    await unlink(path).catch(() => {});
    emit({ type: 'stopped' });
  }
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(path, () => {
      server.off('error', fail);
      done();
    });
  });
}

async function loop(
  slot: Slot,
  stateDir: string,
  intervalMs: number,
  signal: AbortSignal,
  emit: (event: WatchEvent) => void,
): Promise<void> {
  const repo = slot.target.repo;
  while (!signal.aborted) {
    slot.poked = false;
    slot.state = 'working';
    slot.since = new Date().toISOString();
    emit({ type: 'run-started', repo });
    try {
      const report = await runOnce({
        ...slot.target,
        stateDir,
        signal,
        // The status it publishes says when to expect the next sign of life.
        heartbeatMs: intervalMs,
        onEvent: (event) => emit({ type: 'engine', repo, event }),
      });
      emit({ type: 'run-finished', repo, report });
    } catch (err) {
      if (signal.aborted) break;
      // The daemon outlives a bad config or an unreachable repository: both can be fixed without restarting it.
      const e = err as Error;
      const code = err instanceof PremergeError ? err.code : undefined;
      emit({
        type: 'run-failed',
        repo,
        code,
        message: e.message ?? String(err),
        ...(code === undefined && e.stack ? { stack: e.stack } : {}),
      });
    }
    slot.state = 'idle';
    slot.since = new Date().toISOString();
    slot.nextPollAt = new Date(Date.now() + intervalMs).toISOString();
    if (!slot.poked) await pause(slot, intervalMs, signal);
  }
}

/** Waits for the interval, a poke or the stop signal, whichever comes first. */
function pause(slot: Slot, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      slot.wake = undefined;
      done();
    };
    const timer = setTimeout(finish, ms);
    signal.addEventListener('abort', finish, { once: true });
    slot.wake = finish;
    if (signal.aborted || slot.poked) finish();
  });
}
