/** Small formatting helpers shared by the reporters. */
import { formatEscaped } from '../escapes.js';
import { transcriptLabel } from '../label.js';
import type { RunSummary, StepFailure, TranscriptResult, UsedVariable } from '../results.js';

/** `12ms` below a second, `1.23s` from there. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

/** `1 step`, `2 steps`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Steps of a transcript by status. */
export function countSteps(result: TranscriptResult): { passed: number; failed: number; skipped: number } {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const step of result.steps) counts[step.status]++;
  return counts;
}

/**
 * The summary line: `3 files, 41 steps: 40 passed, 1 failed, 0 skipped (0.21s)`; when a file holds
 * several transcripts (Markdown blocks), `1 file (2 transcripts), 5 steps: ...`.
 */
export function formatSummaryLine(summary: RunSummary): string {
  const errors = summary.errors > 0 ? `, ${summary.errors} could not run` : '';
  const flaky = summary.flaky > 0 ? `, ${summary.flaky} flaky` : '';
  const transcripts =
    summary.transcripts === summary.files ? '' : ` (${plural(summary.transcripts, 'transcript')})`;
  return (
    `${plural(summary.files, 'file')}${transcripts}, ${plural(summary.steps, 'step')}: ` +
    `${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped${flaky}${errors} ` +
    `(${(summary.durationMs / 1000).toFixed(2)}s)`
  );
}

/**
 * How a result is named in a report: its path, and for a Markdown file (one result per protodoc
 * block) also the line its block's first step is on, so the blocks can be told apart.
 */
export function resultLabel(result: TranscriptResult): string {
  return transcriptLabel(result.path, result.steps[0]?.line);
}

/** The one rule for labels lives beside `--filter`'s use of it (src/label.ts). */
export { transcriptLabel };

/**
 * Where a transcript that could not run failed: `PATH:LINE` when it was under way (a later connection, a
 * STARTTLS upgrade), else its label.
 */
export function errorLabel(result: TranscriptResult): string {
  const line = result.error?.line;
  return line === undefined ? resultLabel(result) : `${result.path}:${line}`;
}

function origin(used: UsedVariable): string {
  switch (used.origin) {
    case 'capture':
      return `captured at ${used.where}`;
    case 'var':
      return used.secret ? '--secret' : '--var';
    case 'vars-file':
    case 'config':
      return `from ${used.where}`;
    case 'env':
      return `from ${used.where}`;
    case 'server':
      return used.name === 'dir' ? "the --server's directory" : "the --server's port";
    default:
      return 'no value';
  }
}

/**
 * The variables a failing step used, one line each, for after its diff: what `{{name}}` stood for and
 * where the value came from; a secret's value is never shown.
 *
 *     {{job}} = 7 (captured at line 12)
 *     {{token}} is secret (--secret)
 */
export function formatVariables(failure: StepFailure): string {
  let out = '';
  for (const used of failure.variables ?? []) {
    const value =
      used.value !== undefined
        ? ` = ${formatEscaped(Buffer.from(used.value, 'utf8'))}`
        : used.secret
          ? ' is secret'
          : '';
    out += `{{${used.name}}}${value} (${origin(used)})\n`;
  }
  return out;
}

/** Where an error that ended a run is: `PATH:LINE:COLUMN` (as much as is known), or `undefined`. */
export function errorWhere(detail: { file?: string; line?: number; column?: number }): string | undefined {
  if (detail.file === undefined) return undefined;
  const line = detail.line === undefined ? '' : `:${detail.line}`;
  const column = detail.line === undefined || detail.column === undefined ? '' : `:${detail.column}`;
  return `${detail.file}${line}${column}`;
}
