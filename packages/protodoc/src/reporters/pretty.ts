/**
 * The human reporter: a line per transcript (PASS / FAIL / ERROR), then for each failing step a
 * `PATH:LINE:` header and a unified diff of expected against received, and a summary line.
 *
 *     FAIL examples/protodoc/redis.txt (4 steps: 1 passed, 1 failed, 2 skipped, 3ms)
 *     examples/protodoc/redis.txt:7: the reply differs
 *     --- expected
 *     +++ received
 *     @@ -1,2 +1,2 @@
 *      $5
 *     -world
 *     +hello
 *
 *     1 file, 4 steps: 1 passed, 1 failed, 2 skipped (0.01s)
 */
import { styleText } from 'node:util';
import { now } from '../clock.js';
import type { RunSummary, StepResult, TranscriptResult, UpdateSummary } from '../results.js';
import {
  countSteps,
  errorLabel,
  formatDuration,
  formatSummaryLine,
  formatVariables,
  plural,
  resultLabel,
} from './format.js';
import type { ReplyDiffOptions } from './reply-diff.js';
import type { PlannedTranscript, Reporter, ReporterOptions, ReportOutput } from './reporter.js';

/** Options of the pretty reporter. */
export interface PrettyOptions {
  /**
   * Colour the output with ANSI escapes (the CLI turns this on for a terminal, or with `--color`).
   * @default false
   */
  color?: boolean;
  /** How much of a differing reply to show. */
  diff?: ReplyDiffOptions;
}

type Style = Parameters<typeof styleText>[0];

function painter(color: boolean | undefined): (style: Style, text: string) => string {
  // validateStream: false, because whether to colour was decided by the caller (a TTY, or --color).
  return color ? (style, text) => styleText(style, text, { validateStream: false }) : (_style, text) => text;
}

/** A unified diff with `-` lines red, `+` lines green, headers bold, hunk lines cyan (or as it is). */
export function colorDiff(diff: string, color: boolean | ((style: Style, text: string) => string)): string {
  const paint = typeof color === 'function' ? color : painter(color);
  return diff
    .split('\n')
    .map((line) => {
      if (line.startsWith('---') || line.startsWith('+++')) return paint('bold', line);
      if (line.startsWith('@@')) return paint('cyan', line);
      if (line.startsWith('-')) return paint('red', line);
      if (line.startsWith('+')) return paint('green', line);
      if (line.startsWith('[diff cut')) return paint('dim', line);
      return line;
    })
    .join('\n');
}

/** A failing step as the pretty report shows it: its `PATH:LINE:` header, then the diff (or what came). */
export async function formatFailedStep(
  path: string,
  step: StepResult,
  options: PrettyOptions = {},
): Promise<string> {
  const paint = painter(options.color);
  const failure = step.failure;
  // Name the connection when there are several, unless the runner's message already does.
  const named = step.connection === 'main' || failure?.message.includes(`'${step.connection}'`);
  const where = named ? '' : ` (connection ${step.connection})`;
  // --update: a failing step left as it was says why.
  const left = step.notUpdated === undefined ? '' : ` (not updated: ${step.notUpdated})`;
  if (!failure) return `${paint('bold', `${path}:${step.line}:`)} failed${where}${left}\n`;
  const header = `${paint('bold', `${path}:${failure.line}:`)} ${failure.message}${where}${left}\n`;
  // Only failures need the diff code: a passing run does not load it.
  const { diffReply, formatReceived } = await import('./reply-diff.js');
  const diff = await diffReply(failure.expected, failure.received, options.diff);
  // Nothing differs line for line (a reply that never settled): then show what came.
  const body = diff === '' ? formatReceived(failure.received) : colorDiff(diff, paint);
  const vars = formatVariables(failure);
  // A blank line closes each failure so the next transcript's status line stands apart.
  return `${header}${body}${vars === '' ? '' : paint('dim', vars)}\n`;
}

/** The block for one transcript: its status line, and the diff of each failing step. */
export async function formatTranscriptResult(
  result: TranscriptResult,
  options: PrettyOptions = {},
): Promise<string> {
  const paint = painter(options.color);
  const time = formatDuration(result.durationMs);
  const label = resultLabel(result);
  if (result.status === 'error') {
    return `${paint(['bold', 'red'], 'ERROR')} ${errorLabel(result)}: ${result.error?.message ?? 'could not run'}\n`;
  }
  if (result.status === 'passed') {
    return `${paint(['bold', 'green'], 'PASS')} ${label} (${plural(result.steps.length, 'step')}, ${time})\n`;
  }
  if (result.status === 'flaky') {
    const attempt = result.attempts === undefined ? 'on a retry' : `on attempt ${result.attempts}`;
    return `${paint(['bold', 'yellow'], 'FLAKY')} ${label} (${plural(result.steps.length, 'step')}, passed ${attempt}, ${time})\n`;
  }
  if (result.status === 'skipped') {
    return `${paint(['bold', 'dim'], 'SKIP')} ${label} (${plural(result.steps.length, 'step')}, not run)\n`;
  }
  const counts = countSteps(result);
  // --update: the failing steps that were rewritten are counted apart and not shown again.
  const updated = result.steps.filter((step) => step.updated).length;
  const steps = plural(result.steps.length, 'step');
  if (updated > 0 && updated === counts.failed) {
    return `${paint(['bold', 'cyan'], 'UPDATED')} ${label} (${steps}: ${counts.passed} passed, ${updated} updated, ${time})\n`;
  }
  let out =
    `${paint(['bold', 'red'], 'FAIL')} ${label} (${steps}: ${counts.passed} passed, ` +
    `${counts.failed - updated} failed, ${updated > 0 ? `${updated} updated, ` : ''}${counts.skipped} skipped, ${time})\n`;
  for (const step of result.steps) {
    if (step.status === 'failed' && !step.updated) out += await formatFailedStep(result.path, step, options);
  }
  return out;
}

/** The closing summary line. */
export function formatSummary(summary: RunSummary, options: PrettyOptions = {}): string {
  const paint = painter(options.color);
  const line = formatSummaryLine(summary);
  const ok = summary.failed === 0 && summary.errors === 0;
  return `${paint(ok ? 'green' : 'red', line)}\n`;
}

/** The whole report at once: every transcript's block, then the summary after a blank line. */
export async function formatPretty(summary: RunSummary, options: PrettyOptions = {}): Promise<string> {
  let out = '';
  for (const result of summary.results) out += await formatTranscriptResult(result, options);
  const gap = out === '' || out.endsWith('\n\n') ? '' : '\n';
  return `${out}${gap}${formatSummary(summary, options)}`;
}

/** `updated 3 steps in 1 file`, the last line of an `--update` run. */
export function formatUpdated(update: UpdateSummary): string {
  return `updated ${plural(update.steps, 'step')} in ${plural(update.files, 'file')}\n`;
}

/** How often a running file's line is redrawn at most as its steps pass, in ms. */
const REDRAW_MS = 100;

/**
 * The live lines on a terminal: one per running transcript, `RUN PATH (step 3/11, file 2/5)`, redrawn in
 * place as steps pass and replaced by the file's block when it ends.
 */
class LiveLines {
  private readonly running = new Map<number, { label: string; steps: number; done: number; place: number }>();
  private drawn = 0;
  private lastDraw = 0;
  total = 0;
  private readonly out: ReportOutput;
  private readonly paint: (style: Style, text: string) => string;

  constructor(out: ReportOutput, paint: (style: Style, text: string) => string) {
    this.out = out;
    this.paint = paint;
  }

  start(transcript: PlannedTranscript): void {
    this.running.set(transcript.index, {
      label: transcript.label,
      steps: transcript.steps.length,
      done: 0,
      place: transcript.index + 1,
    });
    this.draw();
  }

  step(transcript: PlannedTranscript): void {
    const state = this.running.get(transcript.index);
    if (state === undefined) return;
    state.done++;
    if (now() - this.lastDraw >= REDRAW_MS) this.draw();
  }

  /** Takes the lines away, so that what is written next starts where they began. */
  clear(): void {
    if (this.drawn === 0) return;
    this.out.write(`\r\x1b[2K${'\x1b[1A\x1b[2K'.repeat(this.drawn - 1)}`);
    this.drawn = 0;
  }

  end(transcript: PlannedTranscript): void {
    this.running.delete(transcript.index);
  }

  draw(): void {
    this.clear();
    this.lastDraw = now();
    if (this.running.size === 0) return;
    const width = Math.max((this.out.columns ?? 80) - 1, 20);
    const lines = [...this.running.values()].map(({ label, steps, done, place }) => {
      // Which step is under way, and which of the run's files (its place in input order) this is.
      const counter = ` (step ${Math.min(done + 1, steps)}/${steps}, file ${place}/${this.total || '?'})`;
      const room = width - 4 - counter.length;
      const shown = label.length > room ? `...${label.slice(label.length - room + 3)}` : label;
      return `${this.paint(['bold', 'yellow'], 'RUN')} ${shown}${counter}`;
    });
    this.out.write(lines.join('\n'));
    this.drawn = lines.length;
  }
}

/**
 * The `pretty` reporter: each transcript's block as it ends, then the summary (and `--update`'s line).
 * On a terminal (`out.live`) a line per running file shows its progress meanwhile. A run that ended
 * early before any transcript ran writes nothing here: its error is the CLI's `error:` line on stderr.
 */
export function createReporter({ out, color, diff }: ReporterOptions): Reporter {
  const paint = painter(color);
  const live = out.live ? new LiveLines(out, paint) : undefined;
  // A failing transcript's block ends with a blank line already; the summary needs one before it.
  let endsWithBlankLine = false;
  return {
    onRunStart(run) {
      if (live !== undefined) live.total = run.transcripts.length;
    },
    ...(live === undefined
      ? {}
      : {
          onTranscriptStart: (transcript: PlannedTranscript) => live.start(transcript),
          onStepEnd: (transcript: PlannedTranscript) => live.step(transcript),
        }),
    async onTranscriptEnd(result, transcript) {
      const text = await formatTranscriptResult(result, { color, ...(diff ? { diff } : {}) });
      live?.clear();
      out.write(text);
      endsWithBlankLine = text.endsWith('\n\n');
      live?.end(transcript);
      live?.draw();
    },
    onRunEnd({ summary, error, update }) {
      live?.clear();
      if (error !== undefined && summary.results.length === 0) return;
      const options = { color };
      out.write(
        `${endsWithBlankLine ? '' : '\n'}${formatSummary(summary, options)}${update ? formatUpdated(update) : ''}`,
      );
    },
  };
}
