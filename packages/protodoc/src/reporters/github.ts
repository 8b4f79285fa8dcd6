/**
 * The `github` reporter: GitHub Actions workflow commands that annotate the failing lines of a pull
 * request's files (https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions):
 *
 *     ::error file=tests/redis.txt,line=5,title=the reply differs from the transcript::--- expected%0A...
 *
 * one `::error` per failing step (at the first line that differs, the diff as its message), per
 * transcript that could not run and per error that ended the run early (a syntax error at its line and
 * column), and a `::warning` per flaky transcript. Beside `pretty` on stdout each transcript's lines
 * follow its block; beside `dot` they wait for the line of marks to end. Values are escaped as GitHub's toolkit escapes them
 * (@actions/core `command.ts`): `%`, CR and LF in the message, and `:` and `,` too in a property.
 */
import type { TranscriptResult } from '../results.js';
import { errorLabel, formatVariables, resultLabel } from './format.js';
import type { Reporter, ReporterOptions } from './reporter.js';

/** The message of a workflow command, escaped. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A property value of a workflow command, escaped. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** One workflow command line: `::NAME KEY=VALUE,...::MESSAGE`. */
export function workflowCommand(
  name: string,
  properties: Record<string, string | number | undefined>,
  message: string,
): string {
  const props = Object.entries(properties)
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([key, value]) => `${key}=${escapeProperty(String(value))}`)
    .join(',');
  return `::${name}${props === '' ? '' : ` ${props}`}::${escapeData(message)}\n`;
}

/** The annotations of one transcript's result. */
async function annotations(result: TranscriptResult): Promise<string> {
  if (result.status === 'error') {
    const line = result.error?.line;
    return workflowCommand(
      'error',
      { file: result.path, line, title: `${errorLabel(result)}: could not run` },
      result.error?.message ?? 'could not run',
    );
  }
  if (result.status === 'flaky') {
    const attempt = result.attempts === undefined ? 'on a retry' : `on attempt ${result.attempts}`;
    return workflowCommand(
      'warning',
      { file: result.path, line: result.steps[0]?.line, title: `${resultLabel(result)}: flaky` },
      `failed, then passed ${attempt}`,
    );
  }
  let out = '';
  for (const step of result.steps) {
    if (step.status !== 'failed' || step.updated) continue;
    const failure = step.failure;
    const where = step.connection === 'main' ? '' : ` (connection ${step.connection})`;
    const title = `${failure?.message ?? 'failed'}${where}`;
    let message = title;
    if (failure !== undefined) {
      const { diffReply, formatReceived } = await import('./reply-diff.js');
      const diff = await diffReply(failure.expected, failure.received);
      message = `${diff === '' ? formatReceived(failure.received) : diff}${formatVariables(failure)}`.replace(
        /\n$/,
        '',
      );
    }
    out += workflowCommand('error', { file: result.path, line: failure?.line ?? step.line, title }, message);
  }
  return out;
}

export function createReporter({ out }: ReporterOptions): Reporter {
  // The runner reads a command only at the start of a line. Beside `pretty` each transcript's lines
  // follow its block; beside `dot`, whose marks share a line, they wait until that line ends.
  let pending = '';
  const flush = (force: boolean): void => {
    if (pending === '' || !(force || out.atLineStart)) return;
    out.write(out.atLineStart ? pending : `\n${pending}`);
    pending = '';
  };
  return {
    async onTranscriptEnd(result) {
      pending += await annotations(result);
      flush(false);
    },
    onRunEnd({ error }) {
      for (const detail of error?.errors ?? []) {
        const title = detail.file === undefined ? 'protodoc could not run' : 'protodoc cannot run this file';
        pending += workflowCommand(
          'error',
          { file: detail.file, line: detail.line, col: detail.column, title },
          detail.message,
        );
      }
      flush(true);
    },
  };
}
