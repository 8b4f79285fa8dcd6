/**
 * The JSON reporter: the run's results as one JSON document, for tools. Bytes are given twice, as
 * (lossy) UTF-8 text to read and as base64 to trust; each failure carries the same diff the pretty
 * reporter prints, without colour.
 */
import { INVISIBLE } from '../escapes.js';
import type { RunSummary, StepFailure, StepResult, TranscriptResult } from '../results.js';
import { runStatus } from '../summary.js';
import { renderExpectLine } from './render.js';
import { diffReply, type ReplyDiffOptions } from './reply-diff.js';
import type { Reporter, ReporterOptions, RunError } from './reporter.js';

/** Version of the document's shape; bumped when a field changes meaning or goes away. */
export const JSON_REPORT_VERSION = 1;

/** An expected item as JSON: its kind, its source line, and how it reads in the transcript. */
export interface JsonExpectLine {
  kind: 'text' | 'any-lines' | 'literal' | 'regex' | 'pattern';
  line: number;
  /** The item as a transcript line, e.g. `+OK`, `...`, `>>>= \x00`, `>>>~ \d+`, `>>>$ RESERVED 7 ...`. */
  source: string;
}

export interface JsonStepFailure extends Omit<StepFailure, 'expected' | 'received'> {
  expected: JsonExpectLine[];
  received: { text: string; base64: string };
  /** Unified diff, expected vs received, as the pretty reporter prints it (no colour); `''` if none. */
  diff: string;
}

export interface JsonStepResult extends Omit<StepResult, 'failure'> {
  failure?: JsonStepFailure;
}

export interface JsonTranscriptResult extends Omit<TranscriptResult, 'steps'> {
  steps: JsonStepResult[];
}

export interface JsonReport {
  version: typeof JSON_REPORT_VERSION;
  /**
   * `passed` when no transcript failed, `error` when one could not run or the run ended early, else
   * `failed`.
   */
  status: 'passed' | 'failed' | 'error';
  summary: Omit<RunSummary, 'results'>;
  transcripts: JsonTranscriptResult[];
  /** Why the run ended early (a syntax error, a server that would not start); `transcripts` holds what ran. */
  error?: RunError;
}

/** Options of {@link toJsonReport} and {@link formatJson}. */
export interface JsonOptions {
  diff?: ReplyDiffOptions;
  /** The run ended early, for this reason. */
  error?: RunError;
}

const utf8 = new TextDecoder();

async function toJsonFailure(failure: StepFailure, diff?: ReplyDiffOptions): Promise<JsonStepFailure> {
  const { expected, received, ...rest } = failure;
  return {
    ...rest,
    expected: expected.map((item) => ({ kind: item.kind, line: item.line, source: renderExpectLine(item) })),
    received: {
      text: utf8.decode(received),
      base64: Buffer.from(received.buffer, received.byteOffset, received.byteLength).toString('base64'),
    },
    diff: await diffReply(expected, received, diff),
  };
}

/** The report as a plain object (what `formatJson` serialises). */
export async function toJsonReport(summary: RunSummary, options: JsonOptions = {}): Promise<JsonReport> {
  const { results, ...totals } = summary;
  const transcripts: JsonTranscriptResult[] = [];
  for (const result of results) {
    const steps: JsonStepResult[] = [];
    for (const { failure, ...step } of result.steps) {
      steps.push(failure ? { ...step, failure: await toJsonFailure(failure, options.diff) } : step);
    }
    transcripts.push({ ...result, steps });
  }
  if (options.error !== undefined) {
    return {
      version: JSON_REPORT_VERSION,
      status: 'error',
      summary: totals,
      transcripts,
      error: options.error,
    };
  }
  return { version: JSON_REPORT_VERSION, status: runStatus(summary), summary: totals, transcripts };
}

const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'g');

/**
 * The report as JSON text, indented, ending in a newline. Characters a terminal would not show
 * (control, zero-width, bidi) are written as JSON's `\uXXXX` escapes: the same string to a JSON
 * reader, and no hidden text for whoever opens the file.
 */
export async function formatJson(summary: RunSummary, options: JsonOptions = {}): Promise<string> {
  const text = JSON.stringify(await toJsonReport(summary, options), null, 2);
  return `${text.replace(INVISIBLE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

/** The `json` reporter: the whole document at the end of the run (packages/protodoc/report.schema.json). */
export function createReporter({ out, diff }: ReporterOptions): Reporter {
  return {
    async onRunEnd({ summary, error }) {
      out.write(await formatJson(summary, { ...(diff ? { diff } : {}), ...(error ? { error } : {}) }));
    },
  };
}
