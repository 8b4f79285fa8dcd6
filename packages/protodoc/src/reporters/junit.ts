/**
 * The JUnit XML reporter, for CI systems that show test results: one `<testsuite>` per transcript (its
 * `file` the transcript's path), one `<testcase>` per step, named `PATH:LINE TITLE` (the step's first
 * line sent) with the path as `classname` and the step's `file` and `line` as attributes, a
 * `<failure>` holding the diff for a failing step (its `line` the first line that differs), `<skipped>`
 * for the steps after it, and an `<error>` for a transcript that could not run. A flaky transcript's
 * suite says so in its `<properties>` and `<system-out>`. A run that ended early adds a
 * `<testsuite name="protodoc">` with an errored case per error (a syntax error's at its line).
 *
 * It is the Jenkins xUnit plugin's junit-10.xsd (the strictest reader's schema; checked in the tests)
 * plus `file` and `line` on `<testcase>`, which that schema lacks and which GitLab and the GitHub
 * Actions JUnit readers (action-junit-report, publish-unit-test-result) read to point at the line, as
 * pytest's and Jest's file attributes do; Jenkins' JUnit plugin ignores them.
 */
import { INVISIBLE } from '../escapes.js';
import type { RunSummary, StepResult, TranscriptResult } from '../results.js';
import { countSteps, errorWhere, formatVariables, resultLabel } from './format.js';
import { diffReply, formatReceived, type ReplyDiffOptions } from './reply-diff.js';
import type { PlannedTranscript, Reporter, ReporterOptions, RunError } from './reporter.js';

/** Options of {@link formatJunit}. */
export interface JunitOptions {
  diff?: ReplyDiffOptions;
  /** The transcripts as planned, by index: their step titles go into the case names. */
  plans?: readonly (PlannedTranscript | undefined)[];
  /** The run ended early, for this reason. */
  error?: RunError;
}

const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'g');

/**
 * Escapes text for XML content and attribute values. Characters XML 1.0 cannot hold at all (most
 * control characters, lone surrogates) become U+FFFD; the diff already shows such bytes as escapes.
 */
export function escapeXml(text: string): string {
  return (
    text
      .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
      // Characters a reader of the file would not see (C1, zero-width, bidi): as character references.
      .replace(INVISIBLE_ALL, (c) => `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`)
      .replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`)
  );
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function attributes(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => ` ${name}="${escapeXml(String(value))}"`)
    .join('');
}

async function testcase(
  result: TranscriptResult,
  step: StepResult,
  name: string,
  diff?: ReplyDiffOptions,
): Promise<string> {
  const line = step.failure?.line ?? step.line;
  const head = `    <testcase${attributes({ name, classname: result.path, file: result.path, line, time: seconds(step.durationMs) })}`;
  if (step.status === 'passed') return `${head}/>\n`;
  if (step.status === 'skipped') {
    const why =
      result.status === 'skipped'
        ? 'the transcript did not run'
        : result.status === 'error'
          ? 'the transcript could not run'
          : 'after a failing step';
    return `${head}>\n      <skipped${attributes({ message: why })}/>\n    </testcase>\n`;
  }
  const failure = step.failure;
  const message = failure?.message ?? 'failed';
  let body = failure ? await diffReply(failure.expected, failure.received, diff) : '';
  if (failure && body === '') body = formatReceived(failure.received);
  if (failure) body += formatVariables(failure);
  return (
    `${head}>\n` +
    `      <failure${attributes({ message, type: failure?.reason ?? 'mismatch' })}>${escapeXml(body)}</failure>\n` +
    '    </testcase>\n'
  );
}

async function testsuite(
  result: TranscriptResult,
  plan: PlannedTranscript | undefined,
  diff?: ReplyDiffOptions,
): Promise<string> {
  const counts = countSteps(result);
  const errors = result.status === 'error' ? 1 : 0;
  let out = `  <testsuite${attributes({
    name: resultLabel(result),
    tests: result.steps.length + errors,
    failures: counts.failed,
    errors,
    skipped: counts.skipped,
    time: seconds(result.durationMs),
    file: result.path,
  })}>\n`;
  if (result.status === 'flaky') {
    out +=
      '    <properties>\n' +
      `      <property${attributes({ name: 'status', value: 'flaky' })}/>\n` +
      `      <property${attributes({ name: 'attempts', value: result.attempts ?? 2 })}/>\n` +
      '    </properties>\n' +
      `    <system-out>${escapeXml(`flaky: failed, then passed on attempt ${result.attempts ?? 2}\n`)}</system-out>\n`;
  }
  const names = new Set<string>();
  for (const step of result.steps) {
    const title =
      plan === undefined
        ? undefined
        : step.index < plan.steps.length
          ? plan.steps[step.index]?.title
          : '(end of transcript)';
    // The end-of-transcript check is reported at the last line, which a step may already name.
    let name = `${result.path}:${step.line}${title ? ` ${title}` : ''}`;
    if (names.has(name)) {
      const what = step.failure?.reason === 'leftover' ? 'end of transcript' : `step ${step.index + 1}`;
      name = `${name} (${what}, connection ${step.connection})`;
    }
    names.add(name);
    out += await testcase(result, step, name, diff);
  }
  if (result.error) {
    // A transcript that could not run (unreachable target, ...) is one errored case of its own.
    const { code, message } = result.error;
    const line = result.error.line ?? result.steps[0]?.line ?? 1;
    const name = `${resultLabel(result)} (could not run)`;
    out +=
      `    <testcase${attributes({ name, classname: result.path, file: result.path, line, time: seconds(0) })}>\n` +
      `      <error${attributes({ message, type: code })}/>\n` +
      '    </testcase>\n';
  }
  return `${out}  </testsuite>\n`;
}

/** The errors that ended a run early, as a suite of errored cases of their own. */
function runErrorSuite(error: RunError): string {
  let cases = '';
  for (const detail of error.errors) {
    const where = errorWhere(detail);
    const name = where === undefined ? 'protodoc run' : `${where} (cannot run)`;
    cases +=
      `    <testcase${attributes({ name, classname: detail.file ?? 'protodoc', file: detail.file, line: detail.file === undefined ? undefined : (detail.line ?? 1), time: seconds(0) })}>\n` +
      `      <error${attributes({ message: detail.message, type: error.code })}>${escapeXml(`${where === undefined ? '' : `${where}: `}${detail.message}\n`)}</error>\n` +
      '    </testcase>\n';
  }
  const count = error.errors.length;
  return (
    `  <testsuite${attributes({ name: 'protodoc', tests: count, failures: 0, errors: count, skipped: 0, time: seconds(0) })}>\n` +
    `${cases}  </testsuite>\n`
  );
}

/** The run as a JUnit XML document. */
export async function formatJunit(summary: RunSummary, options: JunitOptions = {}): Promise<string> {
  let suites = '';
  for (const [i, result] of summary.results.entries()) {
    suites += await testsuite(result, options.plans?.[i], options.diff);
  }
  const early = options.error?.errors.length ?? 0;
  if (options.error !== undefined) suites += runErrorSuite(options.error);
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites${attributes({
      name: 'protodoc',
      tests: summary.steps + summary.errors + early,
      failures: summary.failed,
      errors: summary.errors + early,
      // No `skipped` here: junit-10.xsd has it on <testsuite> only.
      time: seconds(summary.durationMs),
    })}>\n${suites}</testsuites>\n`
  );
}

/** The `junit` reporter: the whole document at the end of the run. */
export function createReporter({ out, diff }: ReporterOptions): Reporter {
  let plans: readonly PlannedTranscript[] = [];
  return {
    onRunStart(run) {
      plans = run.transcripts;
    },
    async onRunEnd({ summary, error }) {
      out.write(
        await formatJunit(summary, { plans, ...(diff ? { diff } : {}), ...(error ? { error } : {}) }),
      );
    },
  };
}
