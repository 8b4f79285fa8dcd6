/**
 * A worker thread of `--jobs`: runs the files the main thread sends it (src/file-run.ts), one at a time,
 * and sends back their progress and results. Its own event loop, so N of them use N CPUs.
 *
 * Messages (src/thread-executor.ts is the other side):
 * - in: `settings` (what every file runs with; first, before any `run`), `run` (a file job, its id and
 *   its server; a job sent while another runs waits in a queue), `secret` (a secret value another thread
 *   captured);
 * - out, each for one job id: `items` (events, traces and captured secrets, in order, batched every few
 *   milliseconds), then `done` (the last items and the outcome) or `failed` (an internal error).
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  type FileEvents,
  type FileJob,
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
  | { type: 'run'; id: number; job: FileJob; server: ServerValues | undefined }
  | { type: 'secret'; name: string; bytes: Uint8Array };

export type WorkerItem =
  | { kind: 'event'; event: IndexedEvent }
  | { kind: 'trace'; trace: TraceEvent }
  | { kind: 'secret'; name: string; bytes: Uint8Array };

export type FromWorker =
  | { type: 'items'; id: number; items: WorkerItem[] }
  | { type: 'done'; id: number; items: WorkerItem[]; outcome: Awaited<ReturnType<typeof runFileJob>> }
  | { type: 'failed'; id: number; message: string; stack: string | undefined };

type RunMessage = Extract<ToWorker, { type: 'run' }>;

/** How long events wait to be sent together. */
const FLUSH_MS = 10;

const port = parentPort;
if (port !== null) {
  const { variables: snapshot } = workerData as FileWorkerData;
  const variables = Variables.fromSnapshot(snapshot);
  let settings: FileRunSettings | undefined;
  let items: WorkerItem[] = [];
  /** Set while items wait to be sent. */
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The items not sent yet. */
  const take = (): WorkerItem[] => {
    clearTimeout(timer);
    timer = undefined;
    const taken = items;
    items = [];
    return taken;
  };
  /** The job running now, whose items these are. */
  let running: RunMessage | undefined;
  /** The jobs sent while one ran, in order. */
  const queue: RunMessage[] = [];
  const flush = (): void => {
    const taken = take();
    if (taken.length > 0 && running !== undefined)
      port.postMessage({ type: 'items', id: running.id, items: taken } satisfies FromWorker);
  };
  // A message every few milliseconds, not one per event (a step is an event or two): posting costs
  // more than a small event does, and 10 ms late is still live to whoever watches.
  const push = (item: WorkerItem): void => {
    items.push(item);
    timer ??= setTimeout(flush, FLUSH_MS);
  };
  let fromMain = false;
  variables.onSecret = (name, bytes) => {
    if (!fromMain) push({ kind: 'secret', name, bytes });
  };
  const events: FileEvents = {
    event: (event) => push({ kind: 'event', event }),
    trace: (trace) => push({ kind: 'trace', trace }),
  };
  port.on('message', (message: ToWorker) => {
    if (message.type === 'secret') {
      fromMain = true;
      variables.addSecret(message.name, message.bytes);
      fromMain = false;
      return;
    }
    if (message.type === 'settings') {
      settings = message.settings;
      return;
    }
    queue.push(message);
    if (running === undefined) startNext();
  });

  /** Runs the next queued job, then the one after it, until the queue is empty. */
  const startNext = (): void => {
    const job = queue.shift();
    running = job;
    if (job === undefined) return;
    if (settings === undefined) throw new Error('a --jobs worker thread was sent a file before its settings');
    runFileJob(job.job, settings, job.server, events, variables).then(
      (outcome) => {
        // One message for the file's last events and its outcome: what they share (a step's result is in
        // its step-end event, in the file-end event and in the outcome) is copied once within a message.
        port.postMessage({ type: 'done', id: job.id, items: take(), outcome } satisfies FromWorker);
        startNext();
      },
      (err: unknown) => {
        flush();
        const error = err instanceof Error ? err : new Error(String(err));
        port.postMessage({
          type: 'failed',
          id: job.id,
          message: error.message,
          stack: error.stack,
        } satisfies FromWorker);
        startNext();
      },
    );
  };
}
