/**
 * The JUnit XML reporter, for CI systems that show test results: one `<testsuite>` per transcript,
 * one `<testcase>` per step (named `PATH:LINE`), a `<failure>` holding the diff for a failing step,
 * `<skipped/>` for the steps after it, and an `<error>` for a transcript that could not run.
 */
import { INVISIBLE } from '../escapes.js';
import type { RunSummary, StepResult, TranscriptResult } from '../results.js';
import { countSteps, formatVariables, resultLabel } from './format.js';
import { diffReply, formatReceived, type ReplyDiffOptions } from './reply-diff.js';

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

function attributes(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([name, value]) => ` ${name}="${escapeXml(String(value))}"`)
    .join('');
}

async function testcase(
  result: TranscriptResult,
  step: StepResult,
  name: string,
  diff?: ReplyDiffOptions,
): Promise<string> {
  const head = `    <testcase${attributes({ name, classname: result.path, time: seconds(step.durationMs) })}`;
  if (step.status === 'passed') return `${head}/>\n`;
  if (step.status === 'skipped') return `${head}>\n      <skipped/>\n    </testcase>\n`;
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

async function testsuite(result: TranscriptResult, diff?: ReplyDiffOptions): Promise<string> {
  const counts = countSteps(result);
  const errors = result.status === 'error' ? 1 : 0;
  let out = `  <testsuite${attributes({
    name: resultLabel(result),
    tests: result.steps.length + errors,
    failures: counts.failed,
    errors,
    skipped: counts.skipped,
    time: seconds(result.durationMs),
  })}>\n`;
  // --retries: a transcript that passed only on a retry passes, and says so where CI dashboards look.
  if (result.attempts !== undefined) {
    out +=
      '    <properties>\n' +
      `      <property${attributes({ name: 'protodoc.status', value: result.status })}/>\n` +
      `      <property${attributes({ name: 'protodoc.attempts', value: result.attempts })}/>\n` +
      '    </properties>\n';
  }
  const names = new Set<string>();
  for (const step of result.steps) {
    // The end-of-transcript check is reported at the last line, which a step may already name.
    let name = `${result.path}:${step.line}`;
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
    out +=
      `    <testcase${attributes({ name: `${resultLabel(result)} (could not run)`, classname: result.path, time: seconds(0) })}>\n` +
      `      <error${attributes({ message, type: code })}/>\n` +
      '    </testcase>\n';
  }
  return `${out}  </testsuite>\n`;
}

/** The run as a JUnit XML document. */
export async function formatJunit(
  summary: RunSummary,
  options: { diff?: ReplyDiffOptions } = {},
): Promise<string> {
  let suites = '';
  for (const result of summary.results) suites += await testsuite(result, options.diff);
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites${attributes({
      name: 'protodoc',
      tests: summary.steps + summary.errors,
      failures: summary.failed,
      errors: summary.errors,
      skipped: summary.skipped,
      time: seconds(summary.durationMs),
    })}>\n${suites}</testsuites>\n`
  );
}
