/**
 * The `dot` reporter, for long runs in a CI log: one character per transcript as it ends (`.` passed,
 * `F` failed, `E` could not run, `!` flaky, `-` not run), 80 to a line, then the block of every
 * transcript that did not simply pass (as `pretty` prints it) and the summary line.
 */

import { styleText } from 'node:util';
import type { TranscriptResult, TranscriptStatus } from '../results.js';
import { formatSummary, formatTranscriptResult, formatUpdated } from './pretty.js';
import type { Reporter, ReporterOptions } from './reporter.js';

type Style = Parameters<typeof styleText>[0];

const MARKS: Record<TranscriptStatus, [string, Style]> = {
  passed: ['.', 'green'],
  failed: ['F', ['bold', 'red']],
  error: ['E', ['bold', 'red']],
  flaky: ['!', ['bold', 'yellow']],
  skipped: ['-', 'dim'],
};

const WIDTH = 80;

export function createReporter({ out, color, diff }: ReporterOptions): Reporter {
  let column = 0;
  const shown: TranscriptResult[] = [];
  return {
    onTranscriptEnd(result) {
      const [mark, style] = MARKS[result.status];
      // Another reporter on the same stdout (github's annotations) may have ended the line.
      if (out.atLineStart) column = 0;
      column++;
      const wrap = column === WIDTH ? '\n' : '';
      if (wrap) column = 0;
      out.write(`${color ? styleText(style, mark, { validateStream: false }) : mark}${wrap}`);
      if (result.status !== 'passed' && result.status !== 'skipped') shown.push(result);
    },
    async onRunEnd({ summary, error, update }) {
      if (error !== undefined && summary.results.length === 0) return;
      let text = out.atLineStart ? '\n' : '\n\n';
      for (const result of shown)
        text += await formatTranscriptResult(result, { color, ...(diff ? { diff } : {}) });
      if (!text.endsWith('\n\n')) text += '\n';
      out.write(`${text}${formatSummary(summary, { color })}${update ? formatUpdated(update) : ''}`);
    },
  };
}
