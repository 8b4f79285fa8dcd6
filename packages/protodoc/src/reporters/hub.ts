/**
 * The report hub: turns `checkFiles`' events into the calls of the reporter contract
 * (src/reporters/reporter.ts) and keeps its promises, the same for one transcript at a time or many:
 * transcript ends reach the reporters in input order, each reporter's call finished before the next
 * call of any reporter begins (so several reporters on one stdout never interleave), and the run's end
 * reaches every reporter once, also when the run ended early.
 */
import { ProtodocError, TranscriptParseError } from '../errors.js';
import { formatEscaped } from '../escapes.js';
import type { CheckEvent, RunEvent, TranscriptResult } from '../results.js';
import type { Step, Transcript } from '../transcript-model.js';
import { transcriptLabel } from './format.js';
import type {
  PlannedStep,
  PlannedTranscript,
  Reporter,
  RunEnd,
  RunError,
  RunErrorDetail,
} from './reporter.js';

/** Options of {@link createReportHub}. */
export interface ReportHubOptions {
  /**
   * `--update`: a transcript's result is final once its file is rewritten (`file-updated`), not when
   * it ends.
   * @default false
   */
  updating?: boolean;
  /** Hides secret values in step titles (`Variables.redact`). @default no secrets */
  redact?: (bytes: Uint8Array) => Uint8Array;
}

/** What {@link createReportHub} returns. */
export interface ReportHub {
  /** The listener to give `checkFiles` as `onEvent`. */
  onEvent(event: CheckEvent): void;
  /** Whether a reporter hears of each step (`onStepEnd`): else `checkFiles` may leave `step-end` out. */
  readonly wantsSteps: boolean;
  /** Resolves once every reporter has handled everything it was given so far. */
  idle(): Promise<void>;
  /** The results that ended so far, in input order (for a run that ends early). */
  results(): TranscriptResult[];
  /**
   * Ends the run: results the events did not bring (a caller that runs without them) reach the
   * reporters first, then `onRunEnd`. Rejects with the first error a reporter threw.
   */
  end(end: RunEnd): Promise<void>;
}

const TITLE_MAX = 60;
const utf8 = new TextEncoder();

/** The step's first line sent, as a report names the step (see {@link PlannedStep.title}). */
export function stepTitle(step: Step, index: number, redact?: (bytes: Uint8Array) => Uint8Array): string {
  let bytes: Uint8Array;
  if (step.sendTemplate !== undefined) {
    const parts = step.sendTemplate.map((part) =>
      part instanceof Uint8Array ? part : utf8.encode(`{{${part.name}}}`),
    );
    bytes = Buffer.concat(parts);
  } else {
    bytes = step.send;
  }
  if (bytes.length === 0) return index === 0 ? '(greeting)' : '(reply)';
  if (redact !== undefined) bytes = redact(bytes);
  const lf = bytes.indexOf(0x0a);
  let line = lf < 0 ? bytes : bytes.subarray(0, lf);
  if (line.at(-1) === 0x0d) line = line.subarray(0, -1);
  const text = formatEscaped(line);
  return text.length > TITLE_MAX ? `${text.slice(0, TITLE_MAX - 3)}...` : text;
}

/**
 * A transcript as reporters see it before it runs. Its steps are planned when a reporter first reads
 * them (`junit`, `tap`, a live terminal): most runs never do, and making every title first took about
 * 30 ms of a 10,000-step run.
 */
export function planTranscript(
  transcript: Transcript,
  index: number,
  redact?: (bytes: Uint8Array) => Uint8Array,
): PlannedTranscript {
  let steps: PlannedStep[] | undefined;
  return {
    index,
    path: transcript.path,
    label: transcriptLabel(transcript.path, transcript.steps[0]?.line),
    get steps(): PlannedStep[] {
      steps ??= transcript.steps.map((step, i) => ({
        line: step.line,
        connection: step.connection,
        title: stepTitle(step, i, redact),
      }));
      return steps;
    },
  };
}

/** The plan of a result whose transcript the hub never saw (a caller that sent no `run-start`). */
function planOfResult(result: TranscriptResult, index: number): PlannedTranscript {
  const steps = result.steps.map((step) => ({ line: step.line, connection: step.connection, title: '' }));
  return { index, path: result.path, label: transcriptLabel(result.path, steps[0]?.line), steps };
}

/** Feeds `reporters`, in their order, from the events of one run. */
export function createReportHub(reporters: readonly Reporter[], options: ReportHubOptions = {}): ReportHub {
  let chain: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  let plans: PlannedTranscript[] = [];
  /** Results that ended, by index; delivered in order from `next` on. */
  const ended = new Map<number, TranscriptResult>();
  const results: TranscriptResult[] = [];
  let next = 0;
  let over = false;

  /** Runs `call` for every reporter, after everything queued before it. */
  const queue = (call: (reporter: Reporter) => void | Promise<void>): void => {
    chain = chain.then(async () => {
      if (failure !== undefined) return;
      try {
        for (const reporter of reporters) await call(reporter);
      } catch (error) {
        failure = { error };
      }
    });
  };
  /** The plan of transcript `index`; made from what is known of it when no `run-start` came. */
  const plan = (
    index: number,
    known: { path: string; steps?: TranscriptResult['steps'] },
  ): PlannedTranscript => {
    let planned = plans[index];
    if (planned === undefined) {
      planned = planOfResult(
        { path: known.path, status: 'passed', durationMs: 0, steps: known.steps ?? [] },
        index,
      );
      plans[index] = planned;
    }
    return planned;
  };
  const deliverInOrder = (): void => {
    for (let result = ended.get(next); result !== undefined; result = ended.get(next)) {
      ended.delete(next);
      const planned = plan(next, result);
      queue((reporter) => reporter.onTranscriptEnd?.(result, planned));
      next++;
    }
  };
  const finished = (index: number, result: TranscriptResult): void => {
    results[index] = result;
    ended.set(index, result);
    deliverInOrder();
  };
  const stepListeners = reporters.some((reporter) => reporter.onStepEnd !== undefined);

  return {
    wantsSteps: stepListeners,
    onEvent(event: CheckEvent): void {
      if (over) return;
      switch (event.type) {
        case 'run-start':
          plans = event.transcripts.map((transcript, i) => planTranscript(transcript, i, options.redact));
          queue((reporter) => reporter.onRunStart?.({ transcripts: plans }));
          return;
        case 'file-start': {
          const planned = plan(event.index, event);
          queue((reporter) => reporter.onTranscriptStart?.(planned));
          return;
        }
        case 'step-end': {
          if (!stepListeners) return;
          const planned = plan(event.index, event);
          const { step } = event;
          queue((reporter) => reporter.onStepEnd?.(planned, step));
          return;
        }
        case 'file-end':
          if (!options.updating) finished(event.index, event.result);
          return;
        case 'file-updated':
          for (const [i, result] of (event as RunEvent & { type: 'file-updated' }).results.entries()) {
            finished(event.index + i, result);
          }
      }
    },
    idle: async () => {
      await chain;
      if (failure !== undefined) throw failure.error;
    },
    results: () => results.filter((result) => result !== undefined),
    async end(end: RunEnd): Promise<void> {
      over = true;
      // Results no event brought (a caller without events, or the last file of a run cut short by -i's quit).
      for (const [i, result] of end.summary.results.entries()) {
        if (i >= next && !ended.has(i)) ended.set(i, result);
      }
      deliverInOrder();
      queue((reporter) => reporter.onRunEnd(end));
      await chain;
      if (failure !== undefined) throw failure.error;
    },
  };
}

/** How the reports show an error that ended a run early (see {@link RunEnd.error}). */
export function runErrorOf(err: unknown): RunError {
  if (err instanceof TranscriptParseError) {
    const errors: RunErrorDetail[] = err.errors.map((e) => ({
      message: e.message.slice(`${e.file}:${e.line}:${e.column}: `.length),
      file: e.file,
      line: e.line,
      column: e.column,
    }));
    for (const { file, count } of err.omitted) {
      errors.push({ message: `${count} more syntax error${count === 1 ? '' : 's'} not shown`, file });
    }
    return { code: err.code, message: err.report[0] ?? err.message, errors };
  }
  if (err instanceof ProtodocError) {
    return { code: err.code, message: err.message.split('\n')[0]!, errors: [{ message: err.message }] };
  }
  const message = `internal error: ${err instanceof Error ? err.message : String(err)}`;
  return { code: 'PROTODOC_ERR_INTERNAL', message, errors: [{ message }] };
}
