/**
 * Runs a {@link RunPlan} on `jobs` workers: each takes the next unit (a file, or a serial group's files
 * one after another), runs it against its server, retries a failing file (`--retries`), and stops
 * starting files after the first failure (`--bail`). Results come back in input order, and events
 * through {@link OrderedEvents}, so nothing a listener sees depends on how many workers there were.
 */
import { ProtodocError } from './errors.js';
import type { FileChannel, IndexedEvent, OrderedEvents } from './ordered-events.js';
import type { StepResult, TraceEvent, TranscriptResult } from './results.js';
import type { PlannedFile, RunPlan } from './run-plan.js';
import type { ServerLease, ServerPool } from './server-pool.js';
import type { Transcript } from './transcript-model.js';

/** What one attempt at a file gets to run with. */
export interface FileRunContext {
  /** The worker running it (0-based). */
  worker: number;
  /** 1 for the first attempt, 2 for the first retry, ... */
  attempt: number;
  /** The server it runs against (`--server`); absent without one. */
  server: ServerLease | undefined;
  /** Where its events go. */
  channel: FileChannel;
  /** Start no further file, and leave the files not started out of the results (`-i`'s quit). */
  halt(): void;
}

export interface ScheduleOptions {
  /** How many files run at once. */
  jobs: number;
  /** `--bail`: after the first file that fails (retries spent), start no new file; the rest are `skipped`. */
  bail?: boolean;
  /** `--retries`: how many more times a failing file runs. @default 0 */
  retries?: number;
  /** The servers of `--server`: started here, each worker's stopped once it can get no more files. */
  servers?: ServerPool;
  /**
   * Called once no file runs any more, while the servers stop (which takes a server like redis up to a
   * tenth of a second): to let go of what only the files needed (the worker threads).
   */
  filesDone?(): Promise<void>;
  events: OrderedEvents;
  /** Runs one attempt at `file`: its transcripts in order, their results in the same order. */
  runFile(file: PlannedFile, context: FileRunContext): Promise<TranscriptResult[]>;
  /**
   * How many files worker `worker` is given at once (default 1). A worker that runs them one after another
   * elsewhere (a worker thread, with a queue) is given two while many remain, so that it has the next one
   * at hand when one ends rather than waiting for this thread to send it; they still run one at a time, on
   * its server.
   */
  lanes?(worker: number): number;
}

/** How many workers a run of `plan` has: `jobs`, but no more than there are units to take. */
export function workerCount(jobs: number, plan: RunPlan): number {
  return Math.max(1, Math.min(jobs, plan.units.length));
}

/**
 * Runs every file of `plan` (indices into `transcripts`) and returns their results in input order.
 * @throws ServerStartError when, with scope `run`, a worker's server cannot start (nothing ran then)
 */
export async function runScheduled(
  plan: RunPlan,
  transcripts: readonly Transcript[],
  options: ScheduleOptions,
): Promise<TranscriptResult[]> {
  const workers = workerCount(options.jobs, plan);
  const results = new Map<number, TranscriptResult>();
  const done = new Set<PlannedFile>();
  let stop: 'bail' | 'halt' | undefined;
  let next = 0;

  const runOne = async (file: PlannedFile, worker: number): Promise<void> => {
    const channel = options.events.channel(file.position);
    const final = await runWithRetries(file, worker, channel, transcripts, options, () => {
      stop ??= 'halt';
    });
    for (const [k, result] of final.entries()) results.set(file.transcripts[k]!, result);
    done.add(file);
    options.events.finish(file.position);
    const failed = final.some((r) => r.status === 'failed' || r.status === 'error');
    if (failed && options.bail) stop ??= 'bail';
  };

  /**
   * One of a worker's lanes: takes the next unit while the run goes on. A second lane takes one only while
   * more than two units a worker remain: near the end every unit goes to a worker that starts it at once, so
   * no file waits behind a long one while another worker has nothing to do.
   */
  const lane = async (worker: number, first: boolean): Promise<void> => {
    const enough = first ? 0 : 2 * workers;
    while (stop === undefined && plan.units.length - next > enough) {
      const unit = plan.units[next++]!;
      for (const file of unit.files) {
        if (stop !== undefined) break;
        await runOne(file, worker);
      }
    }
  };

  const work = async (worker: number): Promise<void> => {
    const lanes = Math.max(1, options.lanes?.(worker) ?? 1);
    const ended = await Promise.allSettled(
      Array.from({ length: lanes }, (_, k) =>
        lane(worker, k === 0).catch((err: unknown) => {
          // An internal error: the other lanes and workers finish their files and start no more.
          stop ??= 'halt';
          throw err;
        }),
      ),
    );
    // Nothing left for this worker: its server stops while the others finish their last files.
    options.servers?.retire(worker);
    const failed = ended.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  };

  const servers = options.servers;
  try {
    if (plan.units.length > 0) await servers?.open(workers);
    const outcomes = await Promise.allSettled(Array.from({ length: workers }, (_, worker) => work(worker)));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  } finally {
    await Promise.all([servers?.close(), options.filesDone?.()]);
  }

  // Files never started: under --bail they are reported skipped, in their place.
  for (const file of plan.files) {
    if (done.has(file)) continue;
    if (stop === 'bail') {
      const channel = options.events.channel(file.position);
      for (const [k, i] of file.transcripts.entries()) {
        const result = skippedResult(transcripts[i]!);
        const index = file.first + k;
        channel.event({ type: 'file-start', path: result.path, index });
        channel.event({ type: 'file-end', result, index });
        results.set(i, result);
      }
    }
    options.events.finish(file.position);
  }
  return plan.selected.flatMap((i) => {
    const result = results.get(i);
    return result === undefined ? [] : [result];
  });
}

/**
 * Runs `file` until it passes or its retries are spent. With retries, each attempt's events are held
 * until it is over: an attempt that will be retried ends in `file-retry` rather than `file-end`, and the
 * last one's `file-end` carries the final status (`flaky` for a transcript that failed before).
 */
async function runWithRetries(
  file: PlannedFile,
  worker: number,
  channel: FileChannel,
  transcripts: readonly Transcript[],
  options: ScheduleOptions,
  halt: () => void,
): Promise<TranscriptResult[]> {
  const attempts = 1 + (options.retries ?? 0);
  if (attempts === 1) return attempt(file, worker, 1, channel, transcripts, options, halt);
  const failedBefore = new Set<number>();
  for (let n = 1; ; n++) {
    // Events and traces in one list, in the order they came.
    const held: ({ event: IndexedEvent } | { trace: TraceEvent })[] = [];
    const holding: FileChannel = {
      event: (event) => void held.push({ event }),
      trace: (trace) => void held.push({ trace }),
    };
    const results = await attempt(file, worker, n, holding, transcripts, options, halt);
    const passed = results.every((r) => r.status === 'passed');
    const last = passed || n === attempts;
    const final = !last
      ? results
      : results.map((result, k): TranscriptResult => {
          if (n === 1) return result;
          const flaky = result.status === 'passed' && failedBefore.has(k);
          return { ...result, ...(flaky ? { status: 'flaky' as const } : {}), attempts: n };
        });
    for (const [k, r] of results.entries()) if (r.status !== 'passed') failedBefore.add(k);
    let ended = 0;
    for (const item of held) {
      if ('trace' in item) {
        channel.trace(item.trace);
        continue;
      }
      const { event } = item;
      if (event.type !== 'file-end') {
        channel.event(event);
        continue;
      }
      // The attempt's results are in the order its file-end events came.
      const result = final[ended++] ?? event.result;
      const { index } = event;
      channel.event(
        last
          ? { type: 'file-end', result, index }
          : { type: 'file-retry', result, attempt: n, attempts, index },
      );
    }
    if (last) return final;
  }
}

/** One attempt: the file's server, then its transcripts. A server that cannot start is an error result. */
async function attempt(
  file: PlannedFile,
  worker: number,
  n: number,
  channel: FileChannel,
  transcripts: readonly Transcript[],
  options: ScheduleOptions,
  halt: () => void,
): Promise<TranscriptResult[]> {
  let server: ServerLease | undefined;
  if (options.servers !== undefined) {
    try {
      server = await options.servers.acquire(worker);
    } catch (err) {
      if (!(err instanceof ProtodocError)) throw err;
      // Scope `file`: this file's fresh server would not start. The others may still run.
      return file.transcripts.map((i, k) => {
        const result = errorResult(transcripts[i]!, err);
        const index = file.first + k;
        channel.event({ type: 'file-start', path: result.path, index });
        channel.event({ type: 'file-end', result, index });
        return result;
      });
    }
  }
  try {
    return await options.runFile(file, { worker, attempt: n, server, channel, halt });
  } finally {
    await server?.release();
  }
}

function notRunSteps(transcript: Transcript): StepResult[] {
  return transcript.steps.map((step, index) => ({
    index,
    line: step.line,
    connection: step.connection,
    status: 'skipped',
    durationMs: 0,
  }));
}

/** A transcript `--bail` did not start. */
export function skippedResult(transcript: Transcript): TranscriptResult {
  return { path: transcript.path, status: 'skipped', durationMs: 0, steps: notRunSteps(transcript) };
}

/** A transcript that could not run because of `err` (its server would not start). */
function errorResult(transcript: Transcript, err: ProtodocError): TranscriptResult {
  return {
    path: transcript.path,
    status: 'error',
    durationMs: 0,
    steps: notRunSteps(transcript),
    error: { code: err.code, message: err.message },
  };
}
