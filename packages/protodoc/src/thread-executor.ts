/**
 * `--jobs N` on N CPUs: the scheduler's worker 0 runs its files in the main thread, and each other
 * worker in a worker thread of its own (src/file-worker.ts), so the files' protocol work spreads over
 * the cores rather than sharing one event loop. Servers, planning, ordering and reports stay in the main
 * thread; a thread gets a file's parsed transcripts and its server's port and `{dir}`, and sends back
 * events and results as plain data. The threads are started before the files are parsed, so that their
 * start-up runs on the cores the parse leaves idle; the run's settings follow once they are known.
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FileEvents, FileJob, FileOutcome, FileRunSettings, ServerValues } from './file-run.js';
import type { FileWorkerData, FromWorker, ToWorker, WorkerItem } from './file-worker.js';
import type { Variables } from './variables.js';

/** The worker thread's module, beside this one (in dist/; running from src/ there is none). */
const WORKER = new URL('./file-worker.js', import.meta.url);
/** The same module with all it imports in one file (scripts/bundle-cli.mjs), made by `npm run build`. */
const WORKER_BUNDLE = new URL('./file-worker.bundle.cjs', import.meta.url);
/** Rewritten by every `tsc -b` that changes dist/: a bundle older than it is stale. */
const BUILD_INFO = new URL('./.tsbuildinfo', import.meta.url);

/**
 * The module a worker thread starts from: the bundle while it is at least as new as what `tsc -b` last
 * wrote (as src/launch.cts chooses the CLI's), else the ES modules; undefined when neither is there.
 * The bundle is one file to read and compile instead of some 30: a thread starts in about 45 ms of CPU
 * rather than 65 (an empty thread takes 27).
 */
function workerModule(): URL | undefined {
  const mtime = (url: URL): number | undefined =>
    statSync(fileURLToPath(url), { throwIfNoEntry: false })?.mtimeMs;
  const bundle = mtime(WORKER_BUNDLE);
  const built = mtime(BUILD_INFO);
  if (bundle !== undefined && (built === undefined || built <= bundle)) return WORKER_BUNDLE;
  return mtime(WORKER) === undefined ? undefined : WORKER;
}

interface Pending {
  events: FileEvents;
  resolve(outcome: FileOutcome): void;
  reject(err: unknown): void;
}

interface Slot {
  thread: Worker;
  /** The files sent to it and not ended, by job id: the one it runs, then those queued behind it. */
  pending: Map<number, Pending>;
  /** Why it cannot run files any more (it crashed or exited). */
  broken?: Error;
}

export class ThreadExecutor {
  private readonly slots: Slot[];
  private readonly variables: Variables;
  private readonly previousOnSecret: Variables['onSecret'];
  private closing: Promise<void> | undefined;
  private nextId = 1;

  /**
   * Starts `count` threads, or returns undefined when there is no worker module to start (protodoc run
   * from its TypeScript sources, as in its own unit tests): the caller then runs files in this thread.
   * {@link configure} must be called before the first {@link run}.
   */
  static create(count: number, variables: Variables): ThreadExecutor | undefined {
    const entry = workerModule();
    return entry === undefined ? undefined : new ThreadExecutor(entry, count, variables);
  }

  private constructor(entry: URL, count: number, variables: Variables) {
    this.variables = variables;
    const workerData: FileWorkerData = { variables: variables.snapshot() };
    this.slots = Array.from({ length: count }, () => this.startSlot(entry, workerData));
    // A secret one thread captures is hidden by the others, and by what this thread prints (-v).
    this.previousOnSecret = variables.onSecret;
    variables.onSecret = (name, bytes) => {
      this.previousOnSecret?.(name, bytes);
      for (const slot of this.slots) {
        if (slot.broken === undefined)
          slot.thread.postMessage({ type: 'secret', name, bytes } satisfies ToWorker);
      }
    };
  }

  /** What every file runs with: sent to each thread once, before any file. */
  configure(settings: FileRunSettings): void {
    for (const slot of this.slots) {
      if (slot.broken === undefined)
        slot.thread.postMessage({ type: 'settings', settings } satisfies ToWorker);
    }
  }

  /**
   * Runs `job` on thread `worker`. A thread runs one file at a time: a job sent while another runs waits
   * in its queue (first in, first out).
   */
  run(
    worker: number,
    job: FileJob,
    server: ServerValues | undefined,
    events: FileEvents,
  ): Promise<FileOutcome> {
    const slot = this.slots[worker]!;
    if (slot.broken !== undefined) return Promise.reject(slot.broken);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { events, resolve, reject });
      const plain = server === undefined ? undefined : { port: server.port, dir: server.dir };
      slot.thread.postMessage({ type: 'run', id, job, server: plain } satisfies ToWorker);
    });
  }

  /** Stops every thread. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.variables.onSecret = this.previousOnSecret;
      await Promise.all(this.slots.map((slot) => slot.thread.terminate()));
    })();
    return this.closing;
  }

  private startSlot(entry: URL, workerData: FileWorkerData): Slot {
    const thread = new Worker(entry, { workerData });
    const slot: Slot = { thread, pending: new Map() };
    const fail = (err: Error): void => {
      slot.broken ??= err;
      const pending = [...slot.pending.values()];
      slot.pending.clear();
      for (const p of pending) p.reject(err);
    };
    thread.on('message', (message: FromWorker) => {
      const current = slot.pending.get(message.id);
      if (current === undefined) return;
      const deliver = (items: WorkerItem[]): void => {
        for (const item of items) {
          if (item.kind === 'event') current.events.event(item.event);
          else if (item.kind === 'trace') current.events.trace(item.trace);
          else this.variables.addSecret(item.name, item.bytes);
        }
      };
      if (message.type === 'items') {
        deliver(message.items);
      } else if (message.type === 'done') {
        deliver(message.items);
        slot.pending.delete(message.id);
        current.resolve(message.outcome);
      } else {
        const err = new Error(message.message);
        if (message.stack !== undefined) err.stack = message.stack;
        slot.pending.delete(message.id);
        current.reject(err);
      }
    });
    thread.on('error', fail);
    thread.on('exit', (code) => fail(new Error(`a --jobs worker thread exited with code ${code}`)));
    return slot;
  }
}
