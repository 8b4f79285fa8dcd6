/**
 * Runs reporters from the registry over a fixture run, through the report hub as the CLI does, and
 * returns what each wrote.
 */
import { createReportHub } from '../../src/reporters/hub.js';
import { TextOutput } from '../../src/reporters/output.js';
import { REPORTERS, type ReporterName } from '../../src/reporters/registry.js';
import type { Reporter, RunError } from '../../src/reporters/reporter.js';
import type { CheckEvent, RunSummary } from '../../src/results.js';

export interface ReportOptions {
  /** The run ended early, for this reason. */
  error?: RunError;
  color?: boolean;
  /** Events to send before the end (e.g. a `run-start` with the transcripts, for step titles). */
  events?: CheckEvent[];
}

/** What the reporters `names` write, all on one output (as `github` shares stdout with `dot`). */
export async function reportShared(
  names: readonly ReporterName[],
  summary: RunSummary,
  options: ReportOptions = {},
): Promise<string> {
  const out = new TextOutput();
  const reporters: Reporter[] = [];
  for (const name of names) {
    const { createReporter } = await REPORTERS[name].load();
    reporters.push(createReporter({ out, color: options.color ?? false }));
  }
  const hub = createReportHub(reporters);
  for (const event of options.events ?? []) hub.onEvent(event);
  await hub.end({ summary, ...(options.error !== undefined ? { error: options.error } : {}) });
  return out.text;
}

/** What the reporter `name` writes for `summary`. */
export function report(
  name: ReporterName,
  summary: RunSummary,
  options: ReportOptions = {},
): Promise<string> {
  return reportShared([name], summary, options);
}
