/**
 * The unified diff of one failing step: expected reply vs received bytes, both written as transcript
 * lines. The lines are lined up by the matcher's own rules (src/alignment.ts), never compared again
 * here: a received line that fits its item shows as that item (`Server: nginx...`), the lines a `...`
 * took show as that one `...` line, and only what really differs is `-` or `+`. jsdiff writes the hunks
 * out. A reply of many megabytes costs the alignment's linear head and tail, and the diff is capped.
 */
import type { StructuredPatch } from 'diff';
import { type AlignedRun, alignReply } from '../alignment.js';
import { ReceivedLines } from '../received-lines.js';
import type { ExpectLine } from '../transcript-model.js';
import { renderCapped, renderExpectLine } from './render.js';

/** How much of a differing reply the diff shows. */
export interface ReplyDiffOptions {
  /**
   * Unchanged lines shown before and after each change.
   * @default 3
   */
  context?: number;
  /**
   * Most lines of each side shown from the region that differs; the rest is counted, not shown.
   * @default 100
   */
  maxLines?: number;
  /**
   * Most bytes of one received line shown; the rest of the line is counted, not shown.
   * @default 1000
   */
  maxLineBytes?: number;
}

type DiffModule = typeof import('diff');
let diffModule: Promise<DiffModule> | undefined;

/** The diff library is only needed when something failed: load it then, not at start-up. */
function loadDiff(): Promise<DiffModule> {
  diffModule ??= import('diff');
  return diffModule;
}

/** A display row: ' ' equal, '-' expected only, '+' received only. */
const EQUAL = 0;
const REMOVED = 1;
const ADDED = 2;

/** The display rows of the alignment: a `match` run is one row per line, an `any` run one row in all. */
class Rows {
  /** rowStart[j]: the first row of run j; one more entry holds the total. */
  private readonly rowStart: number[] = [];
  private readonly runs: readonly AlignedRun[];
  private readonly expect: readonly ExpectLine[];
  private readonly lines: ReceivedLines;
  private readonly maxLineBytes: number;

  constructor(
    runs: readonly AlignedRun[],
    expect: readonly ExpectLine[],
    lines: ReceivedLines,
    maxLineBytes: number,
  ) {
    this.runs = runs;
    this.expect = expect;
    this.lines = lines;
    this.maxLineBytes = maxLineBytes;
    let row = 0;
    for (const run of runs) {
      this.rowStart.push(row);
      row += run.kind === 'any' ? 1 : run.count;
    }
    this.rowStart.push(row);
  }

  get length(): number {
    return this.rowStart[this.rowStart.length - 1]!;
  }

  /** The runs' rows as [kind, first row, end row) of each run, in order. */
  *spans(): Generator<[number, number, number]> {
    for (const [j, run] of this.runs.entries()) {
      const kind = run.kind === 'missing' ? REMOVED : run.kind === 'extra' ? ADDED : EQUAL;
      yield [kind, this.rowStart[j]!, this.rowStart[j + 1]!];
    }
  }

  /** The run holding row `row` and the row's offset in it. */
  private find(row: number): [AlignedRun, number] {
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.rowStart[mid]! <= row) lo = mid;
      else hi = mid - 1;
    }
    return [this.runs[lo]!, row - this.rowStart[lo]!];
  }

  kind(row: number): number {
    const [run] = this.find(row);
    return run.kind === 'missing' ? REMOVED : run.kind === 'extra' ? ADDED : EQUAL;
  }

  text(row: number): string {
    const [run, offset] = this.find(row);
    if (run.kind === 'any') return '...';
    if (run.kind === 'extra') return renderCapped(this.lines.line(run.line + offset), this.maxLineBytes);
    return renderExpectLine(this.expect[run.item + offset]!);
  }

  /** The expected (old) and received (new) display lines before row `row`. */
  position(row: number): [number, number] {
    let old = 0;
    let neu = 0;
    for (const [j, run] of this.runs.entries()) {
      const start = this.rowStart[j]!;
      if (start >= row) break;
      const taken = Math.min(row, this.rowStart[j + 1]!) - start;
      if (run.kind !== 'extra') old += taken;
      if (run.kind !== 'missing') neu += taken;
    }
    return [old, neu];
  }
}

/**
 * Returns a unified diff (`--- expected`, `+++ received`, hunks; no colour) of what a step expected
 * against what it received, or `''` when the two agree line for line (a reply that stopped short of
 * nothing, e.g. a timeout after everything expected had arrived).
 */
export async function diffReply(
  expected: readonly ExpectLine[],
  received: Uint8Array,
  options: ReplyDiffOptions = {},
): Promise<string> {
  const context = options.context ?? 3;
  const maxLines = options.maxLines ?? 100;
  const maxLineBytes = options.maxLineBytes ?? 1000;
  const alignment = alignReply(expected, received);
  if (alignment.matches) return '';
  const rows = new Rows(alignment.runs, expected, alignment.lines, maxLineBytes);

  // The changed rows, as spans; the hunks are these spans with context, merged where they touch.
  const changes: [number, number][] = [];
  for (const [kind, start, end] of rows.spans()) {
    if (kind === EQUAL || start === end) continue;
    const last = changes[changes.length - 1];
    if (last !== undefined && last[1] === start) last[1] = end;
    else changes.push([start, end]);
  }
  const hunkSpans: [number, number][] = [];
  for (const [start, end] of changes) {
    const from = Math.max(0, start - context);
    const to = Math.min(rows.length, end + context);
    const last = hunkSpans[hunkSpans.length - 1];
    if (last !== undefined && from <= last[1]) last[1] = to;
    else hunkSpans.push([from, to]);
  }

  // Rows are written until either side has shown maxLines changed lines; the rest is counted.
  let removedShown = 0;
  let addedShown = 0;
  let capped = false;
  const hunks: StructuredPatch['hunks'] = [];
  for (const [from, to] of hunkSpans) {
    const [oldBefore, newBefore] = rows.position(from);
    const lines: string[] = [];
    let oldLines = 0;
    let newLines = 0;
    for (let row = from; row < to; row++) {
      const kind = rows.kind(row);
      if (kind === REMOVED && removedShown === maxLines) capped = true;
      if (kind === ADDED && addedShown === maxLines) capped = true;
      if (capped) break;
      const text = rows.text(row);
      if (kind === REMOVED) {
        lines.push(`-${text}`);
        removedShown++;
        oldLines++;
      } else if (kind === ADDED) {
        lines.push(`+${text}`);
        addedShown++;
        newLines++;
      } else {
        lines.push(` ${text}`);
        oldLines++;
        newLines++;
      }
    }
    if (lines.length > 0)
      hunks.push({ oldStart: oldBefore + 1, oldLines, newStart: newBefore + 1, newLines, lines });
    if (capped) break;
  }

  let text = '';
  if (hunks.length > 0) {
    const { formatPatch, FILE_HEADERS_ONLY } = await loadDiff();
    text = formatPatch(
      { oldFileName: 'expected', newFileName: 'received', oldHeader: undefined, newHeader: undefined, hunks },
      FILE_HEADERS_ONLY,
    );
  }
  let hiddenOld = alignment.cut?.items ?? 0;
  let hiddenNew = alignment.cut?.lines ?? 0;
  if (capped) {
    let removed = 0;
    let added = 0;
    for (const [kind, start, end] of rows.spans()) {
      if (kind === REMOVED) removed += end - start;
      if (kind === ADDED) added += end - start;
    }
    hiddenOld += removed - removedShown;
    hiddenNew += added - addedShown;
  }
  if (hiddenOld > 0 || hiddenNew > 0) {
    if (text === '') text = '--- expected\n+++ received\n';
    text += `[diff cut: ${hiddenOld} more expected and ${hiddenNew} more received lines not shown]\n`;
  }
  return text;
}

/** How much of a reply {@link formatReceived} shows. */
export interface ReceivedOptions {
  /**
   * Lines shown from each end of the reply; the ones between are counted.
   * @default 10
   */
  headTail?: number;
  /** @default 1000 */
  maxLineBytes?: number;
}

/**
 * The received bytes themselves, in transcript notation, indented: for a failure whose diff has nothing
 * to show (every line fitted, but the reply never went quiet, or the wait ran out with nothing missing).
 * Returns `''` for no bytes.
 *
 *     received, 30 lines:
 *       tick 1
 *       ...
 *       [10 lines not shown]
 */
export function formatReceived(received: Uint8Array, options: ReceivedOptions = {}): string {
  const headTail = options.headTail ?? 10;
  const maxLineBytes = options.maxLineBytes ?? 1000;
  const lines = new ReceivedLines(received);
  const n = lines.length;
  if (n === 0) return '';
  const show = (k: number): string => `  ${renderCapped(lines.line(k), maxLineBytes)}\n`;
  let out = `received, ${n} line${n === 1 ? '' : 's'}:\n`;
  if (n <= 2 * headTail) {
    for (let k = 0; k < n; k++) out += show(k);
    return out;
  }
  for (let k = 0; k < headTail; k++) out += show(k);
  out += `  [${n - 2 * headTail} lines not shown]\n`;
  for (let k = n - headTail; k < n; k++) out += show(k);
  return out;
}
