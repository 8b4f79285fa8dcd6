/**
 * The `tap` reporter: TAP version 14 (https://testanything.org/tap-version-14-specification.html), as
 * it happens. Each transcript is a test point with its steps as a subtest; a failing step carries a
 * YAML diagnostic (message, `at` file and line, reason, diff, variables), a step after it is `# SKIP`.
 * The plan comes last (`1..N`, the transcripts that ended), so a run cut short still adds up; a run
 * that ended early says why in `Bail out!`, after a `# error:` comment per error.
 *
 *     TAP version 14
 *     # Subtest: tests/redis.txt
 *         ok 1 - line 1: PING
 *         not ok 2 - line 3: GET greeting
 *           ---
 *           message: the reply differs from the transcript
 *           ...
 *         1..2
 *     not ok 1 - tests/redis.txt
 *     1..1
 */
import type { StepResult, TranscriptResult } from '../results.js';
import { errorWhere, formatSummaryLine, formatVariables } from './format.js';
import type { ReplyDiffOptions } from './reply-diff.js';
import type { PlannedTranscript, Reporter, ReporterOptions } from './reporter.js';

/** A TAP description: `#` would start a directive and `\` escapes, so both are escaped. */
function description(text: string): string {
  return text.replace(/[\\#]/g, (c) => `\\${c}`).replace(/[\r\n]/g, ' ');
}

/** A YAML diagnostic block at `indent`, between `---` and `...`. */
async function diagnostic(data: Record<string, unknown>, indent: string): Promise<string> {
  const { stringify } = await import('yaml');
  const body = stringify(data, { lineWidth: 0 }).replace(/\n$/, '');
  return `${indent}---\n${body.replace(/^/gm, indent)}\n${indent}...\n`;
}

async function stepPoint(
  result: TranscriptResult,
  step: StepResult,
  n: number,
  title: string | undefined,
  diff: ReplyDiffOptions | undefined,
): Promise<string> {
  const indent = '    ';
  const name = description(`line ${step.line}${title ? `: ${title}` : ''}`);
  if (step.status === 'passed') return `${indent}ok ${n} - ${name}\n`;
  if (step.status === 'skipped') {
    const why = result.status === 'failed' ? 'after a failing step' : 'the transcript did not run';
    return `${indent}ok ${n} - ${name} # SKIP ${why}\n`;
  }
  const failure = step.failure;
  const data: Record<string, unknown> = {
    message: failure?.message ?? 'failed',
    severity: 'fail',
    at: { file: result.path, line: failure?.line ?? step.line, connection: step.connection },
  };
  if (failure !== undefined) {
    const { diffReply, formatReceived } = await import('./reply-diff.js');
    const text = await diffReply(failure.expected, failure.received, diff);
    data.reason = failure.reason;
    data.diff = text === '' ? formatReceived(failure.received) : text;
    const variables = formatVariables(failure);
    if (variables !== '') data.variables = variables;
  }
  if (step.notUpdated !== undefined) data.notUpdated = step.notUpdated;
  return `${indent}not ok ${n} - ${name}\n${await diagnostic(data, `${indent}  `)}`;
}

/** A transcript's test point, with its steps as a subtest. */
async function transcriptPoint(
  result: TranscriptResult,
  plan: PlannedTranscript,
  n: number,
  diff: ReplyDiffOptions | undefined,
): Promise<string> {
  const name = description(plan.label);
  if (result.status === 'skipped') return `ok ${n} - ${name} # SKIP not run\n`;
  if (result.status === 'error') {
    const error = result.error;
    const at: Record<string, unknown> = { file: result.path };
    if (error?.line !== undefined) at.line = error.line;
    if (error?.connection !== undefined) at.connection = error.connection;
    return `not ok ${n} - ${name}\n${await diagnostic(
      { message: error?.message ?? 'could not run', severity: 'error', code: error?.code, at },
      '  ',
    )}`;
  }
  let out = `# Subtest: ${name}\n`;
  for (const [i, step] of result.steps.entries()) {
    const title = step.index < plan.steps.length ? plan.steps[step.index]?.title : '(end of transcript)';
    out += await stepPoint(result, step, i + 1, title, diff);
  }
  out += `    1..${result.steps.length}\n`;
  const ok = result.status === 'passed' || result.status === 'flaky';
  out += `${ok ? 'ok' : 'not ok'} ${n} - ${name}\n`;
  if (result.status === 'flaky') {
    out += await diagnostic({ flaky: true, attempts: result.attempts ?? 2 }, '  ');
  }
  return out;
}

export function createReporter({ out, diff }: ReporterOptions): Reporter {
  let started = false;
  let count = 0;
  const start = (): void => {
    if (started) return;
    started = true;
    out.write('TAP version 14\n');
  };
  return {
    onRunStart: start,
    async onTranscriptEnd(result, plan) {
      start();
      count++;
      out.write(await transcriptPoint(result, plan, count, diff));
    },
    onRunEnd({ summary, error }) {
      start();
      const summaryLine = `# ${formatSummaryLine(summary)}\n`;
      if (error === undefined) {
        out.write(`1..${count}\n${summaryLine}`);
        return;
      }
      let text = count > 0 ? summaryLine : '';
      for (const detail of error.errors) {
        const at = errorWhere(detail);
        const where = at === undefined ? '' : `${at}: `;
        text += `# error: ${where}${detail.message}`.replace(/\n/g, '\n# ') + '\n';
      }
      const more = error.errors.length > 1 ? ` (and ${error.errors.length - 1} more)` : '';
      text += `Bail out! ${error.message.split('\n')[0]}${more}\n`;
      out.write(text);
    },
  };
}
