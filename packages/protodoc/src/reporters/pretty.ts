/**
 * The human reporter: a line per transcript (PASS / FAIL / ERROR), then for each failing step a
 * `PATH:LINE:` header and a unified diff of expected against received, and a summary line.
 *
 *     FAIL examples/protodoc/redis.txt (4 steps: 1 passed, 1 failed, 2 skipped, 3ms)
 *     examples/protodoc/redis.txt:7: the reply differs
 *     --- expected
 *     +++ received
 *     @@ -1,2 +1,2 @@
 *      $5
 *     -world
 *     +hello
 *
 *     1 file, 4 steps: 1 passed, 1 failed, 2 skipped (0.01s)
 */
import { styleText } from 'node:util';
import type { RunSummary, StepResult, TranscriptResult } from '../results.js';
import {
  countSteps,
  errorLabel,
  formatDuration,
  formatSummaryLine,
  formatVariables,
  plural,
  resultLabel,
} from './format.js';
import type { ReplyDiffOptions } from './reply-diff.js';

/** Options of the pretty reporter. */
export interface PrettyOptions {
  /**
   * Colour the output with ANSI escapes (the CLI turns this on for a terminal, or with `--color`).
   * @default false
   */
  color?: boolean;
  /** How much of a differing reply to show. */
  diff?: ReplyDiffOptions;
}

type Style = Parameters<typeof styleText>[0];

function painter(color: boolean | undefined): (style: Style, text: string) => string {
  // validateStream: false, because whether to colour was decided by the caller (a TTY, or --color).
  return color ? (style, text) => styleText(style, text, { validateStream: false }) : (_style, text) => text;
}

/** A unified diff with `-` lines red, `+` lines green, headers bold, hunk lines cyan (or as it is). */
export function colorDiff(diff: string, color: boolean | ((style: Style, text: string) => string)): string {
  const paint = typeof color === 'function' ? color : painter(color);
  return diff
    .split('\n')
    .map((line) => {
      if (line.startsWith('---') || line.startsWith('+++')) return paint('bold', line);
      if (line.startsWith('@@')) return paint('cyan', line);
      if (line.startsWith('-')) return paint('red', line);
      if (line.startsWith('+')) return paint('green', line);
      if (line.startsWith('[diff cut')) return paint('dim', line);
      return line;
    })
    .join('\n');
}

async function formatFailedStep(path: string, step: StepResult, options: PrettyOptions): Promise<string> {
  const paint = painter(options.color);
  const failure = step.failure;
  // Name the connection when there are several, unless the runner's message already does.
  const named = step.connection === 'main' || failure?.message.includes(`'${step.connection}'`);
  const where = named ? '' : ` (connection ${step.connection})`;
  // --update: a failing step left as it was says why.
  const left = step.notUpdated === undefined ? '' : ` (not updated: ${step.notUpdated})`;
  if (!failure) return `${paint('bold', `${path}:${step.line}:`)} failed${where}${left}\n`;
  const header = `${paint('bold', `${path}:${failure.line}:`)} ${failure.message}${where}${left}\n`;
  // Only failures need the diff code: a passing run does not load it.
  const { diffReply, formatReceived } = await import('./reply-diff.js');
  const diff = await diffReply(failure.expected, failure.received, options.diff);
  // Nothing differs line for line (a reply that never settled): then show what came.
  const body = diff === '' ? formatReceived(failure.received) : colorDiff(diff, paint);
  const vars = formatVariables(failure);
  // A blank line closes each failure so the next transcript's status line stands apart.
  return `${header}${body}${vars === '' ? '' : paint('dim', vars)}\n`;
}

/** The block for one transcript: its status line, and the diff of each failing step. */
export async function formatTranscriptResult(
  result: TranscriptResult,
  options: PrettyOptions = {},
): Promise<string> {
  const paint = painter(options.color);
  const time = formatDuration(result.durationMs);
  const label = resultLabel(result);
  if (result.status === 'error') {
    return `${paint(['bold', 'red'], 'ERROR')} ${errorLabel(result)}: ${result.error?.message ?? 'could not run'}\n`;
  }
  if (result.status === 'passed') {
    return `${paint(['bold', 'green'], 'PASS')} ${label} (${plural(result.steps.length, 'step')}, ${time})\n`;
  }
  if (result.status === 'flaky') {
    const attempts = result.attempts ?? 2;
    return `${paint(['bold', 'yellow'], 'FLAKY')} ${label} (${plural(result.steps.length, 'step')}, passed on attempt ${attempts}, ${time})\n`;
  }
  if (result.status === 'skipped') {
    return `${paint(['bold', 'dim'], 'SKIP')} ${label} (${plural(result.steps.length, 'step')}, not run: --bail)\n`;
  }
  const counts = countSteps(result);
  // --update: the failing steps that were rewritten are counted apart and not shown again.
  const updated = result.steps.filter((step) => step.updated).length;
  const steps = plural(result.steps.length, 'step');
  if (updated > 0 && updated === counts.failed) {
    return `${paint(['bold', 'cyan'], 'UPDATED')} ${label} (${steps}: ${counts.passed} passed, ${updated} updated, ${time})\n`;
  }
  let out =
    `${paint(['bold', 'red'], 'FAIL')} ${label} (${steps}: ${counts.passed} passed, ` +
    `${counts.failed - updated} failed, ${updated > 0 ? `${updated} updated, ` : ''}${counts.skipped} skipped, ${time})\n`;
  for (const step of result.steps) {
    if (step.status === 'failed' && !step.updated) out += await formatFailedStep(result.path, step, options);
  }
  return out;
}

/** The closing summary line. */
export function formatSummary(summary: RunSummary, options: PrettyOptions = {}): string {
  const paint = painter(options.color);
  const line = formatSummaryLine(summary);
  const ok = summary.failed === 0 && summary.errors === 0;
  return `${paint(ok ? 'green' : 'red', line)}\n`;
}

/** The whole report at once: every transcript's block, then the summary after a blank line. */
export async function formatPretty(summary: RunSummary, options: PrettyOptions = {}): Promise<string> {
  let out = '';
  for (const result of summary.results) out += await formatTranscriptResult(result, options);
  const gap = out === '' || out.endsWith('\n\n') ? '' : '\n';
  return `${out}${gap}${formatSummary(summary, options)}`;
}
