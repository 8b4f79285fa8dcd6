/**
 * A run's totals, computed in one place for the runner, `checkFiles` and every reporter, so no two of
 * them can count differently.
 */
import type { RunSummary, StepResult, TranscriptResult } from './results.js';

/** How many of a result's steps failed and were skipped (the rest passed), as whoever filled it counted. */
interface StepCounts {
  /** The steps' length when counted: a list that changed since is counted again. */
  total: number;
  failed: number;
  skipped: number;
}

const counted = new WeakMap<readonly StepResult[], StepCounts>();

/**
 * Tells {@link summarize} how many of `steps` failed and were skipped, so that it need not look at
 * each: the runner counts as it records, and a long transcript's steps are then never gone over again
 * (a loop over 10,000 steps, interpreted in a cold process and then compiled, was 1% of such a run).
 * The list is not to change afterwards, except by growing (which makes it count again).
 */
export function noteStepCounts(steps: readonly StepResult[], failed: number, skipped: number): void {
  counted.set(steps, { total: steps.length, failed, skipped });
}

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
    summary.steps += steps.length;
    if (result.status === 'error') summary.errors++;
    if (result.status === 'flaky') summary.flaky++;
    const known = counted.get(steps);
    if (known !== undefined && known.total === steps.length) {
      failed += known.failed;
      skipped += known.skipped;
      passed += known.total - known.failed - known.skipped;
      continue;
    }
    for (let i = 0; i < steps.length; i++) {
      const status = steps[i]!.status;
      if (status === 'passed') passed++;
      else if (status === 'failed') failed++;
      else if (status === 'skipped') skipped++;
    }
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
