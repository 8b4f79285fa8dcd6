/**
 * `protodoc/vitest`: a project's transcripts as Vitest tests, so `npm test` checks its protocol
 * transcripts beside its other tests. One test per transcript (or per step), named as protodoc's reports
 * name it; a failing one fails with the report `protodoc check` prints, the diff of the failing step.
 *
 * The transcripts of one call run as `protodoc check` runs them: in order, one after another, against
 * one server (`server`), started when the first of its tests runs and stopped after the last. Each
 * test waits for its own transcript's result, so the results come in as the run goes.
 *
 * vitest is an optional peer dependency of protodoc: only this module needs it.
 *
 * @example
 *   // test/protocol.test.ts
 *   import { describeTranscripts } from 'protodoc/vitest';
 *
 *   await describeTranscripts(['docs/protocol.md', 'test/transcripts/'], {
 *     server: "redis-server --port {port} --save ''",
 *   });
 */
import { afterAll, describe, test } from 'vitest';
import { type CheckOptions, checkFiles, loadAll } from './check.js';
import { TranscriptFailedError } from './errors.js';
import { planTranscript } from './reporters/hub.js';
import { formatFailedStep, formatTranscriptResult } from './reporters/pretty.js';
import type { ReplyDiffOptions } from './reporters/reply-diff.js';
import type { PlannedTranscript } from './reporters/reporter.js';
import type { StepResult, TranscriptResult } from './results.js';

/**
 * Options of {@link describeTranscripts}: those of `checkFiles` (each a flag of `protodoc check`), and how
 * to make the tests; not `filter` and `shard`, since Vitest's own `-t` and `--shard` select tests.
 */
export interface TranscriptTestsOptions
  extends Omit<CheckOptions, 'update' | 'onEvent' | 'filter' | 'shard'> {
  /**
   * `transcript`: one test per transcript (a Markdown file gives one per protodoc block). `step`: a
   * `describe` per transcript and one test per step, named `line N: WHAT IT SENDS`; the steps after a
   * failing one are skipped, as protodoc skips them.
   * @default 'transcript'
   */
  each?: 'transcript' | 'step';
  /**
   * The name of the `describe` block that holds the tests.
   * @default 'protodoc'
   */
  name?: string;
  /**
   * Each test's timeout in ms, as Vitest's `test(name, fn, timeout)` takes it. A test waits for its own
   * transcript only, but the first one also waits for the server to start.
   * @default Vitest's `testTimeout`
   */
  testTimeout?: number;
  /** How much of a differing reply the failure messages show. */
  diff?: ReplyDiffOptions;
}

/** A value that comes later, and whose failure nobody need wait for. */
class Later<T> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;
  settled = false;
  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = (value) => {
        this.settled = true;
        resolve(value);
      };
      this.reject = (error) => {
        this.settled = true;
        reject(error);
      };
    });
    // A test filtered out never waits for its result: its failure must not count as unhandled.
    this.promise.catch(() => {});
  }
}

/**
 * Registers Vitest tests for the transcripts in `paths` (files and directories, as `protodoc check`
 * takes them). Await it at the top level of a test file: it reads and parses every transcript first,
 * and a syntax error fails the test file with protodoc's `PATH:LINE:COL` message.
 * @throws TranscriptParseError, UsageError as `checkFiles` does, before any test is registered.
 */
export async function describeTranscripts(
  paths: string | readonly string[],
  options: TranscriptTestsOptions = {},
): Promise<void> {
  const list = typeof paths === 'string' ? [paths] : [...paths];
  const { each = 'transcript', name = 'protodoc', testTimeout, diff, ...check } = options;
  const plans = (await loadAll(list)).map((transcript, i) => planTranscript(transcript, i));
  const ends = plans.map(() => new Later<TranscriptResult>());
  const steps = plans.map((plan) => plan.steps.map(() => new Later<StepResult>()));

  let run: Promise<unknown> | undefined;
  const start = (): void => {
    run ??= checkFiles(list, {
      ...check,
      onEvent(event) {
        if (event.type === 'step-end') steps[event.index]?.[event.step.index]?.resolve(event.step);
        if (event.type !== 'file-end') return;
        // The steps that never ran (after a failure, or of a transcript that could not run) end here.
        for (const step of event.result.steps) {
          const later = steps[event.index]?.[step.index];
          if (later !== undefined && !later.settled) later.resolve(step);
        }
        ends[event.index]?.resolve(event.result);
      },
    }).then(
      ({ summary }) => {
        // Every transcript ends with an event; a result without one (a bug) still ends its tests.
        for (const [i, later] of ends.entries()) {
          const result = summary.results[i];
          if (later.settled) continue;
          if (result === undefined) later.reject(new Error(`protodoc did not run ${plans[i]!.label}`));
          else later.resolve(result);
        }
        for (const [i, transcript] of steps.entries()) {
          for (const [j, later] of transcript.entries()) {
            const step = summary.results[i]?.steps[j];
            if (later.settled) continue;
            if (step === undefined) later.reject(new Error(`protodoc did not run ${plans[i]!.label}`));
            else later.resolve(step);
          }
        }
      },
      (error: unknown) => {
        // The run stopped (a server that would not start, a bad target): every test still waiting fails with it.
        for (const later of [...ends, ...steps.flat()]) if (!later.settled) later.reject(error);
      },
    );
  };

  describe(name, () => {
    // The server is stopped once the run is over, whichever tests ran.
    afterAll(async () => {
      await run;
    });
    for (const [i, plan] of plans.entries()) {
      if (each === 'transcript') {
        test(
          plan.label,
          async ({ skip, annotate }) => {
            start();
            const result = await ends[i]!.promise;
            if (result.status === 'skipped') skip('not run');
            if (result.status === 'flaky')
              await annotate(`flaky: passed on attempt ${result.attempts ?? 2}`, 'warning');
            if (result.status === 'failed' || result.status === 'error') {
              throw new TranscriptFailedError(
                await formatTranscriptResult(result, diff ? { diff } : {}),
                plan.path,
              );
            }
          },
          testTimeout,
        );
        continue;
      }
      describe(plan.label, () => {
        for (const [j, planned] of plan.steps.entries()) {
          test(
            `line ${planned.line}: ${planned.title}`,
            async ({ skip }) => {
              start();
              const step = await steps[i]![j]!.promise;
              const last = j === plan.steps.length - 1;
              // The last step's test also answers for the end of the transcript (nothing left unread).
              const result = last || step.status === 'skipped' ? await ends[i]!.promise : undefined;
              const failure = await stepFailure(plan, step, result, diff);
              if (failure !== undefined) throw new TranscriptFailedError(failure, plan.path);
              if (step.status === 'skipped')
                skip(result?.status === 'skipped' ? 'not run' : 'after a failing step');
            },
            testTimeout,
          );
        }
      });
    }
  });
}

/** Why a step's test fails: its diff, the end-of-transcript check's, or why the transcript could not run from it. */
async function stepFailure(
  plan: PlannedTranscript,
  step: StepResult,
  result: TranscriptResult | undefined,
  diff: ReplyDiffOptions | undefined,
): Promise<string | undefined> {
  const options = diff ? { diff } : {};
  if (step.status === 'failed') return formatFailedStep(plan.path, step, options);
  if (result === undefined) return undefined;
  const end = result.steps.find((s) => s.index === plan.steps.length && s.status === 'failed');
  if (end !== undefined && step.index === plan.steps.length - 1)
    return formatFailedStep(plan.path, end, options);
  if (result.status === 'error' && step.status === 'skipped') {
    // The first step that did not run is where it could not go on.
    const first = result.steps.find((s) => s.status === 'skipped');
    if (first?.index === step.index) return formatTranscriptResult(result, options);
  }
  return undefined;
}
