/**
 * The reporter contract: what every report format (`pretty`, `dot`, `json`, `junit`, `tap`, `github`)
 * implements, and the one shape the report hub (src/reporters/hub.ts) feeds. A reporter is told of the
 * run as it happens and of the summary at the end; it writes text to the one output it was given and
 * never knows whether that is the terminal or a file. Adding a format is one module that exports a
 * {@link ReporterFactory} as `createReporter`, plus one line in src/reporters/registry.ts.
 *
 * What the hub promises every reporter, whatever the number of transcripts running at once:
 * - `onRunStart` comes first (when the run got as far as parsing), then per transcript `onTranscriptStart`
 *   and its `onStepEnd`s as they happen (with several running, these interleave: tell them apart by
 *   `transcript.index`);
 * - `onTranscriptEnd` comes once per transcript, **in input order** (a transcript that finished early
 *   waits for the ones before it), each call finished before the next begins, so a file's block is
 *   written whole and never interleaved with another's;
 * - `onRunEnd` comes last, exactly once, also when the run ended early (a syntax error, a server that
 *   would not start): then `error` says why, and `summary` holds what ran before.
 */
import type { RunSummary, StepResult, TranscriptResult, UpdateSummary } from '../results.js';
import type { ReplyDiffOptions } from './reply-diff.js';

/** A transcript as planned, before it runs: what a live reporter needs to show progress. */
export interface PlannedTranscript {
  /** Its place in input order (0-based); results and every report follow this order. */
  index: number;
  path: string;
  /** How reports name it: the path, or `PATH:LINE` for a Markdown block. */
  label: string;
  steps: PlannedStep[];
}

/** A step as planned: where it is and a one-line title for reports that name each step. */
export interface PlannedStep {
  line: number;
  connection: string;
  /**
   * The step's first line sent, as written (escaped where it is not printable, `{{name}}` for a
   * variable, a secret's value never), cut at 60 characters; `(greeting)` for a step that sends nothing
   * first, `(reply)` for one that sends nothing later.
   */
  title: string;
}

/** The start of a run: every transcript that will run, in input order. */
export interface RunStart {
  transcripts: PlannedTranscript[];
}

/** One error that ended the run early, as reports show it. */
export interface RunErrorDetail {
  message: string;
  /** Where it is, when it is in a file (a syntax error): the path, and its line and column. */
  file?: string;
  line?: number;
  column?: number;
}

/** Why a run ended before its transcripts ran to the end. */
export interface RunError {
  /** The error's code: `PROTODOC_ERR_SYNTAX`, `PROTODOC_ERR_SERVER`, `PROTODOC_ERR_USAGE`, ... */
  code: string;
  /** One line (the first of them for several syntax errors). */
  message: string;
  /** Each error on its own: several for syntax errors (one per error), one otherwise. */
  errors: RunErrorDetail[];
}

/** The end of a run. */
export interface RunEnd {
  /** The totals, and the results in input order (those that ran, when the run ended early). */
  summary: RunSummary;
  /** Set when the run ended early; the reports say so, each in its own way. */
  error?: RunError;
  /** `--update`: what was rewritten. */
  update?: UpdateSummary;
}

/**
 * A report format. Every method may return a promise; the hub waits for it before the next call to the
 * same reporter, so a reporter's writes stay in the order of its calls. Only `onRunEnd` is required: a
 * format written all at once (JSON, JUnit) needs nothing else.
 */
export interface Reporter {
  onRunStart?(run: RunStart): void | Promise<void>;
  onTranscriptStart?(transcript: PlannedTranscript): void | Promise<void>;
  onStepEnd?(transcript: PlannedTranscript, step: StepResult): void | Promise<void>;
  /** Once per transcript, in input order; under `--update`, once its file is rewritten. */
  onTranscriptEnd?(result: TranscriptResult, transcript: PlannedTranscript): void | Promise<void>;
  onRunEnd(end: RunEnd): void | Promise<void>;
}

/** Where a reporter writes: the terminal's stdout, or a file (written when the run ends). */
export interface ReportOutput {
  write(text: string): void;
  /** True when this is a terminal the reporter may redraw (a live progress line). */
  readonly live: boolean;
  /** The terminal's width, when it is one. */
  readonly columns?: number;
  /**
   * True when nothing was written yet or the last write ended a line (whoever wrote it): a reporter
   * that writes whole lines beside another on the same stdout (`github` beside `dot`) checks it.
   */
  readonly atLineStart: boolean;
}

/** What a reporter is made with. */
export interface ReporterOptions {
  out: ReportOutput;
  /** Colour the text with ANSI escapes (decided once by the CLI: flags, FORCE_COLOR, NO_COLOR, a TTY). */
  color: boolean;
  /** How much of a differing reply the diffs show. */
  diff?: ReplyDiffOptions;
}

/** What a reporter module exports as `createReporter`. */
export type ReporterFactory = (options: ReporterOptions) => Reporter;
