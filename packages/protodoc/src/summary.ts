/**
 * A run's totals, computed in one place for the runner, `checkFiles` and every reporter, so no two of
 * them can count differently.
 */
import type { RunSummary, TranscriptResult } from './results.js';

/**
 * Totals of a run's results. `files` counts files on disk (a Markdown file with two protodoc blocks is
 * one file), `transcripts` counts the results.
 */
export function summarize(results: TranscriptResult[], durationMs: number): RunSummary {
  const summary: RunSummary = {
    files: new Set(results.map((r) => r.path)).size,
    transcripts: results.length,
    steps: 0,
    passed: 0,
    failed: 0,
    skipped: 0,
    errors: 0,
    flaky: 0,
    durationMs,
    results,
  };
  // Indexed loops and local counts: a cold process interprets this once per step of the run (10,000
  // steps are common), where an iterator result and a keyed increment each step were about 1 K
  // instructions a step.
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (let r = 0; r < results.length; r++) {
    const result = results[r]!;
    const steps = result.steps;
    for (let i = 0; i < steps.length; i++) {
      const status = steps[i]!.status;
      if (status === 'passed') passed++;
      else if (status === 'failed') failed++;
      else if (status === 'skipped') skipped++;
    }
    summary.steps += steps.length;
    if (result.status === 'error') summary.errors++;
    if (result.status === 'flaky') summary.flaky++;
  }
  summary.passed = passed;
  summary.failed = failed;
  summary.skipped = skipped;
  return summary;
}

/**
 * What a run adds up to: `error` when a transcript could not run, `passed` when none failed (a `flaky`
 * one passed in the end; a `skipped` one did not run), else `failed`.
 */
export function runStatus(summary: RunSummary): 'passed' | 'failed' | 'error' {
  if (summary.errors > 0) return 'error';
  return summary.results.some((r) => r.status === 'failed') ? 'failed' : 'passed';
}
