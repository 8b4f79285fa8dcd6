/** Parse-and-run shorthands for runner tests. */

import type { RunEvent, StepResult, TranscriptResult } from '../../src/results.js';
import { type RunOptions, runTranscript } from '../../src/runner.js';
import { parseTranscript } from '../../src/transcript.js';

/** Parses `text` as `path` and runs it, collecting the events too. */
export async function run(
  text: string,
  options: RunOptions = {},
  path = 'test.txt',
): Promise<TranscriptResult & { events: RunEvent[] }> {
  const events: RunEvent[] = [];
  const result = await runTranscript(parseTranscript(text, path), options, (event) => events.push(event));
  return { ...result, events };
}

/** The statuses of the steps, in order, e.g. `['passed', 'failed', 'skipped']`. */
export function statuses(result: TranscriptResult): string[] {
  return result.steps.map((step) => step.status);
}

/** The first failed step (throws when there is none, so assertions on it cannot pass vacuously). */
export function failedStep(
  result: TranscriptResult,
): StepResult & { failure: NonNullable<StepResult['failure']> } {
  const step = result.steps.find((s) => s.status === 'failed');
  if (!step?.failure) throw new Error(`no failed step in ${JSON.stringify(statuses(result))}`);
  return step as StepResult & { failure: NonNullable<StepResult['failure']> };
}

/** Received bytes as a latin1 string (every byte visible, invalid UTF-8 included). */
export function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('latin1');
}
