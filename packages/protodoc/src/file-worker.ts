/**
 * A worker thread of `--jobs`: runs the files the main thread sends it (src/file-run.ts), one at a time,
 * and sends back their progress and results. Its own event loop, so N of them use N CPUs.
 *
 * A file may be sent ahead, while the one before it still runs, so that the thread need not wait for the
 * busy main thread between two files: it starts that file by itself the moment the one before passes.
 * When that one did not pass, the main thread decides (a retry comes first, `--bail` stops the run): the
 * file waits for `start` or `drop`. A file sent the usual way goes before one that waits.
 *
 * Messages (src/thread-executor.ts is the other side), each about one file by its `id`:
 * - in: `settings` (what every file runs with; first, before any `run`), `run` (a file job and its
 *   server; `ahead` when sent ahead), `start` and `drop` (for a file sent ahead: the main thread has seen
 *   the outcome of the one before), `secret` (a secret value another thread captured);
 * - out: `items` (events, traces and captured secrets, in order, batched every few milliseconds), then
 *   `done` (the last items and the outcome) or `failed` (an internal error); `dropped` for a file sent
 *   ahead that was dropped before it started.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  type FileEvents,
  type FileJob,
  type FileOutcome,
  type FileRunSettings,
  runFileJob,
  type ServerValues,
} from './file-run.js';
import type { IndexedEvent } from './ordered-events.js';
import type { TraceEvent } from './results.js';
import { Variables, type VariablesSnapshot } from './variables.js';

/** What the main thread gives every worker as it starts (before the files are parsed). */
export interface FileWorkerData {
  variables: VariablesSnapshot;
}

export type ToWorker =
  | { type: 'settings'; settings: FileRunSettings }
  | { type: 'run'; id: number; job: FileJob; server: ServerValues | undefined; ahead: boolean }
  | { type: 'start' | 'drop'; id: number }
  | { type: 'secret'; name: string; bytes: Uint8Array };

export type WorkerItem =
  | { kind: 'event'; event: IndexedEvent }
  | { kind: 'trace'; trace: TraceEvent }
  | { kind: 'secret'; name: string; bytes: Uint8Array };

export type FromWorker =
  | { type: 'items'; id: number; items: WorkerItem[] }
  | { type: 'done'; id: number; items: WorkerItem[]; outcome: FileOutcome }
  | { type: 'failed'; id: number; message: string; stack: string | undefined }
  | { type: 'dropped'; id: number };

/** How long events wait to be sent together. */
const FLUSH_MS = 10;

type Run = Extract<ToWorker, { type: 'run' }>;

const port = parentPort;
if (port !== null) {
  const { variables: snapshot } = workerData as FileWorkerData;
  const variables = Variables.fromSnapshot(snapshot);
  let settings: FileRunSettings | undefined;
  /** The file running now, if any. */
  let running: number | undefined;
  /** Files sent the usual way while one ran (not expected, but they keep their order). */
  const queued: Run[] = [];
  /** The file sent ahead, not started yet; `started` once the main thread said `start`. */
  let ahead: { run: Run; started: boolean } | undefined;
  /** Whether the last file to finish passed: a file sent ahead starts by itself after one that did. */
  let passed = false;

  let items: WorkerItem[] = [];
  let flushing = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = (): void => {
    flushing = false;
    timer = undefined;
    if (items.length === 0 || running === undefined) return;
    port.postMessage({ type: 'items', id: running, items } satisfies FromWorker);
    items = [];
  };
  /** The items not sent yet, for the message that ends the file. */
  const take = (): WorkerItem[] => {
    if (timer !== undefined) clearTimeout(timer);
    flushing = false;
    timer = undefined;
    const taken = items;
    items = [];
    return taken;
  };
  // A message every few milliseconds, not one per event (a step is an event or two): posting costs
  // more than a small event does, and 10 ms late is still live to whoever watches.
  const push = (item: WorkerItem): void => {
    items.push(item);
    if (!flushing) {
      flushing = true;
      timer = setTimeout(flush, FLUSH_MS);
    }
  };
  let fromMain = false;
  variables.onSecret = (name, bytes) => {
    if (!fromMain) push({ kind: 'secret', name, bytes });
  };
  const events: FileEvents = {
    event: (event) => push({ kind: 'event', event }),
    trace: (trace) => push({ kind: 'trace', trace }),
  };

  const run = (message: Run): void => {
    if (settings === undefined) throw new Error('a --jobs worker thread was sent a file before its settings');
    const { id } = message;
    running = id;
    runFileJob(message.job, settings, message.server, events, variables).then(
      (outcome) => {
        passed = outcome.results.every((result) => result.status === 'passed');
        // One message for the file's last events and its outcome: an object in both (a step's result is
        // in its step-end event, in the file-end event and in the outcome) is then copied once, not thrice.
        port.postMessage({ type: 'done', id, items: take(), outcome } satisfies FromWorker);
        running = undefined;
        next();
      },
      (err: unknown) => {
        passed = false;
        flush();
        const error = err instanceof Error ? err : new Error(String(err));
        port.postMessage({
          type: 'failed',
          id,
          message: error.message,
          stack: error.stack,
        } satisfies FromWorker);
        running = undefined;
        next();
      },
    );
  };
  /** Starts what comes next, if anything may start now. */
  const next = (): void => {
    if (running !== undefined) return;
    const first = queued.shift();
    if (first !== undefined) {
      run(first);
    } else if (ahead !== undefined && (ahead.started || passed)) {
      const { run: message } = ahead;
      ahead = undefined;
      run(message);
    }
  };

  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'secret':
        fromMain = true;
        variables.addSecret(message.name, message.bytes);
        fromMain = false;
        return;
      case 'settings':
        settings = message.settings;
        return;
      case 'run':
        if (message.ahead) ahead = { run: message, started: false };
        else queued.push(message);
        next();
        return;
      case 'start':
        // Too late for a file that started by itself, or ran already: nothing to do.
        if (ahead?.run.id === message.id) {
          ahead.started = true;
          next();
        }
        return;
      case 'drop':
        if (ahead?.run.id === message.id) {
          ahead = undefined;
          port.postMessage({ type: 'dropped', id: message.id } satisfies FromWorker);
        }
        return;
    }
  });
}
