/**
 * Runs a {@link RunPlan} on `jobs` workers: each takes the next unit (a file, or a serial group's files
 * one after another), runs it against its server, retries a failing file (`--retries`), and stops
 * starting files after the first failure (`--bail`). Results come back in input order, and events
 * through {@link OrderedEvents}, so nothing a listener sees depends on how many workers there were.
 *
 * A worker in a thread of its own may be sent its next file ahead, while its current one runs
 * ({@link ScheduleOptions.sendsAhead}), so that it does not wait for this thread between two files. Such
 * a file starts by itself only after a file that passed; otherwise this thread decides once it has seen
 * the outcome (a retry runs first; after a failure under `--bail` nothing new starts). A worker with
 * nothing left to take runs a file another worker was sent ahead and has not started, rather than let it
 * wait behind that worker's current file.
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
  /**
   * Set when the file is sent ahead: its worker still runs the file before it. The worker may start it
   * the moment that file has passed; otherwise it waits for this: `start` once this thread has seen that
   * file's final outcome and the run goes on, `drop` when the run stops or another worker takes the file.
   * runFile resolves with undefined for a file dropped before it started.
   */
  ahead?: Promise<AheadDecision>;
}

/** What a file sent ahead waits for, when the file before it did not pass. */
export type AheadDecision = 'start' | 'drop';

export interface ScheduleOptions {
  /** How many files run at once. */
  jobs: number;
  /** `--bail`: after the first file that fails (retries spent), start no new file; the rest are `skipped`. */
  bail?: boolean;
  /** `--retries`: how many more times a failing file runs. @default 0 */
  retries?: number;
  /** The servers of `--server`, started here and stopped when the run ends. */
  servers?: ServerPool;
  /**
   * Called once no file runs any more, while the servers stop (which takes a server like redis up to a
   * tenth of a second): to let go of what only the files needed (the worker threads).
   */
  filesDone?(): Promise<void>;
  events: OrderedEvents;
  /**
   * Whether `worker` is sent its next file ahead ({@link FileRunContext.ahead}): a worker in a thread of
   * its own, whose file ends in a message this thread, busy with files of its own, may answer late. Only
   * where the next file's server is at hand (server scope `run`). @default never
   */
  sendsAhead?(worker: number): boolean;
  /**
   * Runs one attempt at `file`: its transcripts in order, their results in the same order; undefined
   * only for a file sent ahead and dropped before it started.
   */
  runFile(file: PlannedFile, context: FileRunContext): Promise<TranscriptResult[] | undefined>;
}

/** A file sent ahead to a worker, until that worker (or one that takes it from it) waits for it. */
interface Ahead {
  file: PlannedFile;
  /** The first decision counts. */
  decide(decision: AheadDecision): void;
  /** Whether it ran: false when it was dropped before it started. */
  ran: Promise<boolean>;
  /** Another worker may run it instead: it is a unit of its own, not the next file of a serial group. */
  stealable: boolean;
}

/** Where a worker is in the unit it took: a serial group's files run one after another on one worker. */
interface Cursor {
  files: readonly PlannedFile[];
  next: number;
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
  /** Files sent ahead, by the worker they were sent to. */
  const aheads = new Map<number, Ahead>();
  const halt = (reason: 'bail' | 'halt'): void => {
    stop ??= reason;
    // Nothing new starts, a file sent ahead included (unless it has started already: it finishes).
    for (const ahead of aheads.values()) ahead.decide('drop');
  };

  /** Runs `file` (sent ahead when `ahead` is given); false when it was dropped before it started. */
  const runOne = async (
    file: PlannedFile,
    worker: number,
    ahead?: Promise<AheadDecision>,
  ): Promise<boolean> => {
    const channel = options.events.channel(file.position);
    const final = await runWithRetries(
      file,
      worker,
      channel,
      transcripts,
      options,
      () => halt('halt'),
      ahead,
    );
    if (final === undefined) return false;
    for (const [k, result] of final.entries()) results.set(file.transcripts[k]!, result);
    done.add(file);
    options.events.finish(file.position);
    const failed = final.some((r) => r.status === 'failed' || r.status === 'error');
    if (failed && options.bail) halt('bail');
    return true;
  };

  /**
   * The next file for a worker at `cursor`: the next of its unit, or the first of a new unit. Sent ahead,
   * a file never starts a serial group, whose files would all wait behind the worker's current file.
   */
  const take = (cursor: Cursor, ahead = false): { file: PlannedFile; unit: boolean } | undefined => {
    if (stop !== undefined) return undefined;
    const inUnit = cursor.files[cursor.next];
    if (inUnit !== undefined) {
      cursor.next++;
      return { file: inUnit, unit: false };
    }
    const unit = plan.units[next];
    if (unit === undefined || (ahead && unit.files.length > 1)) return undefined;
    next++;
    cursor.files = unit.files;
    cursor.next = 1;
    return { file: unit.files[0]!, unit: unit.files.length === 1 };
  };

  const sendAhead = (file: PlannedFile, worker: number, stealable: boolean): Ahead => {
    let decide: (decision: AheadDecision) => void = () => {};
    const decision = new Promise<AheadDecision>((resolve) => {
      decide = resolve;
    });
    const ran = runOne(file, worker, decision);
    // Awaited later, by whichever worker waits for it; until then a failure is not unhandled.
    ran.catch(() => {});
    return { file, decide, ran, stealable };
  };

  const work = async (worker: number): Promise<void> => {
    const cursor: Cursor = { files: [], next: 0 };
    const ahead = options.sendsAhead?.(worker) === true;
    for (;;) {
      let running: Promise<boolean>;
      const mine = aheads.get(worker);
      if (mine !== undefined) {
        aheads.delete(worker);
        mine.decide(stop === undefined ? 'start' : 'drop');
        running = mine.ran;
      } else {
        const taken = take(cursor);
        if (taken === undefined) break;
        running = runOne(taken.file, worker);
      }
      const following = ahead ? take(cursor, true) : undefined;
      if (following !== undefined) aheads.set(worker, sendAhead(following.file, worker, following.unit));
      await running;
    }
    // Nothing left to take: a file sent ahead to another worker, not started, need not wait behind it.
    for (;;) {
      const entry = [...aheads].find(([, a]) => a.stealable);
      if (entry === undefined || stop !== undefined) return;
      const [owner, stolen] = entry;
      aheads.delete(owner);
      stolen.decide('drop');
      if (!(await stolen.ran) && stop === undefined) await runOne(stolen.file, worker);
    }
  };

  const servers = options.servers;
  try {
    if (plan.units.length > 0) await servers?.open(workers);
    const outcomes = await Promise.allSettled(
      Array.from({ length: workers }, (_, worker) =>
        work(worker).catch((err: unknown) => {
          // An internal error: the other workers finish their files and start no more.
          halt('halt');
          throw err;
        }),
      ),
    );
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
  ahead: Promise<AheadDecision> | undefined,
): Promise<TranscriptResult[] | undefined> {
  const attempts = 1 + (options.retries ?? 0);
  if (attempts === 1) return attempt(file, worker, 1, channel, transcripts, options, halt, ahead);
  const failedBefore = new Set<number>();
  for (let n = 1; ; n++) {
    // Events and traces in one list, in the order they came.
    const held: ({ event: IndexedEvent } | { trace: TraceEvent })[] = [];
    const holding: FileChannel = {
      event: (event) => void held.push({ event }),
      trace: (trace) => void held.push({ trace }),
    };
    // Only the first attempt can have been sent ahead: a retry is sent once the attempt before is over.
    const results = await attempt(
      file,
      worker,
      n,
      holding,
      transcripts,
      options,
      halt,
      n === 1 ? ahead : undefined,
    );
    if (results === undefined) return undefined;
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
  ahead: Promise<AheadDecision> | undefined,
): Promise<TranscriptResult[] | undefined> {
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
    const context: FileRunContext = { worker, attempt: n, server, channel, halt };
    if (ahead !== undefined) context.ahead = ahead;
    return await options.runFile(file, context);
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
