/**
 * What running transcripts produces: plain data that reporters (pretty, JSON, JUnit) render.
 * The runner fills these; nothing here knows about terminals.
 */
import type { ExpectLine, Transcript } from './transcript-model.js';

export type StepStatus = 'passed' | 'failed' | 'skipped';

/**
 * Why a step failed. `mismatch`: the bytes differ; `unsettled`: a reply ending in `...` matched so far, but
 * bytes kept coming until the timeout, so it never went quiet for the settle time; `unwritten`: the
 * reply is a `>>>?` line, not written yet; `unbound`: a variable had no value (`--update` only); the
 * others: the bytes never came or could not be read, or came after the last step (`leftover`).
 */
export type FailureReason =
  | 'mismatch'
  | 'timeout'
  | 'unsettled'
  | 'closed'
  | 'reset'
  | 'leftover'
  | 'unbound'
  | 'unwritten';

/**
 * A variable a failing step used (FORMAT §15), as a report may show it: its value, unless it is secret,
 * and where it came from (`origin` and `where` are absent when it had no value).
 */
export interface UsedVariable {
  name: string;
  secret: boolean;
  /** The value as text; absent for a secret (and for a variable without a value). */
  value?: string;
  origin?: 'capture' | 'var' | 'vars-file' | 'env' | 'server' | 'config';
  /** A capture's `line N`, a vars or config file's `PATH:LINE`, an environment variable's name. */
  where?: string;
}

export interface StepFailure {
  reason: FailureReason;
  /** One line for humans, e.g. `timed out after 5s waiting for the reply`. */
  message: string;
  /** Source line of the first expected line that differs (the step's line when nothing was expected). */
  line: number;
  /**
   * The expected items of the step; where it uses variables, with their values (a secret's stays
   * `{{name}}`).
   */
  expected: ExpectLine[];
  /**
   * Every byte the step received, including what came after the first difference (under `--update`,
   * everything until the connection was quiet); a secret's value shows as `{{name}}`.
   */
  received: Uint8Array;
  /** The variables the step uses, when it uses any. */
  variables?: UsedVariable[];
}

export interface StepResult {
  /** 0-based index of the step in the transcript; the end-of-transcript check has index `steps.length`. */
  index: number;
  /** Source line of the step (its first `>>>` line, or first expected line). */
  line: number;
  connection: string;
  status: StepStatus;
  durationMs: number;
  failure?: StepFailure;
  /** `--update`: this failing step's expected lines were rewritten with what the server sent. */
  updated?: boolean;
  /** `--update`: why this failing step was not rewritten (`skipped` when `-i` was told so). */
  notUpdated?: string;
}

/**
 * `passed`, `failed`, `error` (it could not run). Two more are part of the contract every reporter
 * renders, for runs with retries and `--bail`: `flaky` (it failed, then passed on a retry: `attempts`
 * says on which; the run still passes) and `skipped` (it never ran, each of its steps listed as skipped).
 */
export type TranscriptStatus = 'passed' | 'failed' | 'error' | 'flaky' | 'skipped';

export interface TranscriptResult {
  path: string;
  status: TranscriptStatus;
  /** How many times it ran, when more than once (a retry); a `flaky` result's steps are its last attempt's. */
  attempts?: number;
  durationMs: number;
  steps: StepResult[];
  /** Set when status is 'error': the target could not be reached, a TLS handshake failed, ... */
  error?: TranscriptError;
}

/** Why a transcript could not run. */
export interface TranscriptError {
  /** The error's code, e.g. `PROTODOC_ERR_CONNECT`, `PROTODOC_ERR_TLS`. */
  code: string;
  /** One line, e.g. `connection 'worker': cannot connect to 127.0.0.1:1: connection refused`. */
  message: string;
  /**
   * The line of the step it happened at: set when the file was already under way (a later
   * connection, a STARTTLS upgrade), absent when its very first step could not start.
   */
  line?: number;
  /** The connection it happened on (set with `line`). */
  connection?: string;
}

/** A run's totals; made by `summarize()` (src/summary.ts), the one place that counts. */
export interface RunSummary {
  /** Files on disk: a Markdown file with two protodoc blocks counts once. */
  files: number;
  /** Transcripts run: one per plain file, one per protodoc block of a Markdown file. */
  transcripts: number;
  steps: number;
  passed: number;
  failed: number;
  skipped: number;
  /** Transcripts whose status is 'error'. */
  errors: number;
  /**
   * Transcripts that passed only on a retry (status 'flaky'): the run passes, and every report shows
   * them. Their steps (those of the passing attempt) count as passed.
   */
  flaky: number;
  durationMs: number;
  results: TranscriptResult[];
}

/** Progress events, in order, for live reporters. */
export type RunEvent =
  | { type: 'file-start'; path: string }
  | { type: 'step-end'; path: string; step: StepResult }
  | { type: 'file-end'; result: TranscriptResult }
  /** `--update`: a file's transcripts have run and its failing steps are rewritten (or not: `notUpdated`). */
  | { type: 'file-updated'; path: string; results: TranscriptResult[] }
  /**
   * `--retries`: this attempt at the transcript failed, and its file runs again (`attempt` of
   * `attempts`); a `file-start` follows, and at last one `file-end` with the final result.
   */
  | { type: 'file-retry'; result: TranscriptResult; attempt: number; attempts: number };

/**
 * What `checkFiles` tells its `onEvent` listener: `run-start` once every file is parsed and checked
 * (before a `--server` starts), then the runner's events, each with the transcript's place in input
 * order (`index`; for `file-updated`, that of the file's first transcript), so a listener can tell
 * transcripts that run at the same time apart.
 */
export type CheckEvent =
  | { type: 'run-start'; transcripts: readonly Transcript[] }
  | (RunEvent & { index: number });

/** What `--update` did, over the whole run. */
export interface UpdateSummary {
  /** Failing steps rewritten. */
  steps: number;
  /** Files written. */
  files: number;
  /** Failing steps not rewritten (and transcripts that could not run): any makes the run fail. */
  failed: number;
}

/**
 * What goes over the wire, as it happens, for `-v`: connections opening and closing, and the bytes sent
 * and received on each. `at` is milliseconds since the transcript started. Only produced when asked for
 * (`RunOptions.trace`): a run without it does none of this work.
 */
export type TraceEvent = { path: string; connection: string; at: number } & (
  | { type: 'connect'; target: string }
  | { type: 'connected' }
  | { type: 'starttls'; servername?: string }
  | { type: 'secured' }
  /** Bytes written, as they went out (over `http://`, the request head as sent, then its body). */
  | { type: 'sent'; bytes: Uint8Array }
  /** Bytes received (over `http://`, the response written out as HTTP/1.1 text, §13). */
  | { type: 'received'; bytes: Uint8Array }
  /**
   * A step's reply is over (its captures taken); the last `leftover` bytes received on the connection
   * are not its own but the start of the connection's next reply.
   */
  | { type: 'reply-end'; leftover: number }
  /** protodoc sent FIN after the last step. */
  | { type: 'half-close' }
  /** The server closed the connection; `reason` is the socket error's code when it failed. */
  | { type: 'closed'; reason?: string }
);
