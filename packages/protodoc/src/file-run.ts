/**
 * One attempt at one file: its transcripts in order against one server, and under `--update` the file
 * rewritten after. Everything it takes is plain data, so it runs the same in the main thread and in a
 * worker thread (src/file-worker.ts).
 */

import type { IndexedEvent } from './ordered-events.js';
import type { RunEvent, TraceEvent, TranscriptResult } from './results.js';
import { type RunOptions, runTranscript } from './runner.js';
import type { Transcript } from './transcript-model.js';
import type { TlsOptions } from './transports/transport.js';
import type { ChangeToDecide, Decision, FileReply } from './update.js';
import type { Variables } from './variables.js';

/** What every file of a run is run with. */
export interface FileRunSettings {
  tls: TlsOptions;
  /** A `--connect` was given: each transcript's target overrides the file's own. */
  connect: boolean;
  timeoutMs?: number;
  settleMs?: number;
  /** `-v`: the conversation goes to the channel's `trace`. */
  trace: boolean;
  /** `--update`: rewrite the file's failing steps once its transcripts have run. */
  update: boolean;
  /** `step-end` events are wanted (CheckOptions.stepEvents). */
  stepEvents: boolean;
}

/** One file's transcripts (those selected), with the target each connects to when the caller decides it. */
export interface FileJob {
  path: string;
  /** Place of its first transcript among all that run: events carry `first + k` as their `index`. */
  first: number;
  transcripts: Transcript[];
  targets: (string | undefined)[];
}

/** The server the attempt runs against (`--server`): what `{port}` and `{dir}` stand for. */
export interface ServerValues {
  port: number | undefined;
  dir: string | undefined;
}

/** What one attempt did. */
export interface FileOutcome {
  results: TranscriptResult[];
  /** `--update`: steps written, failing steps not rewritten, and whether `-i` was told to quit. */
  update?: { written: number; failed: number; quit: boolean };
}

/** Where an attempt's progress goes. */
export interface FileEvents {
  event(event: IndexedEvent): void;
  trace(event: TraceEvent): void;
}

/**
 * Runs `job`'s transcripts in order and returns their results (and, under `--update`, what was written).
 * `decide` is `-i`'s question, only in the main thread.
 */
export async function runFileJob(
  job: FileJob,
  settings: FileRunSettings,
  server: ServerValues | undefined,
  events: FileEvents,
  variables: Variables,
  decide?: (change: ChangeToDecide) => Promise<Decision>,
): Promise<FileOutcome> {
  const results: TranscriptResult[] = [];
  const replies: FileReply[] = [];
  for (const [k, transcript] of job.transcripts.entries()) {
    const index = job.first + k;
    // The event gets its `index` in place: it is the runner's fresh object and goes nowhere else. Copying it
    // (`{ ...event, index }`, which V8 cannot optimise over the several shapes of events) was the largest self
    // time of protodoc's own code in a 10,000-step run.
    const onEvent = (event: RunEvent): void => {
      (event as RunEvent & { index: number }).index = index;
      events.event(event as RunEvent & { index: number });
    };
    // checkFiles checked every step against its transport before anything ran.
    const run: RunOptions = { tls: settings.tls, stepsChecked: true };
    if (!settings.stepEvents) run.stepEvents = false;
    const target = job.targets[k];
    // The runner's target overrides every file's own: --connect, or the file's own moved to --server's port.
    if (target !== undefined && (settings.connect || server)) run.target = target;
    if (server?.port !== undefined) run.port = server.port;
    if (server?.dir !== undefined) run.dir = server.dir;
    if (settings.timeoutMs !== undefined) run.timeoutMs = settings.timeoutMs;
    if (settings.settleMs !== undefined) run.settleMs = settings.settleMs;
    if (settings.trace) run.trace = (event) => events.trace(event);
    run.variables = variables;
    if (settings.update) run.update = { onFailedReply: (reply) => replies.push({ transcript, reply }) };
    results.push(await runTranscript(transcript, run, onEvent));
  }
  if (!settings.update) return { results };
  // The file's transcripts have run: rewrite it. Only the transcripts that ran are rewritten.
  const { updateFile } = await import('./update.js');
  const done = await updateFile(job.path, job.transcripts, results, replies, variables, decide);
  events.event({ type: 'file-updated', path: job.path, results, index: job.first });
  return { results, update: { written: done.written, failed: done.failed, quit: done.quit } };
}
