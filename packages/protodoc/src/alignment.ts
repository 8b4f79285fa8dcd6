/**
 * How a whole received reply lines up with a step's expected lines, by the matcher's own rules
 * (src/matcher.ts compiles the items and tests each line; nothing here decides a match again).
 *
 * The streaming matcher only needs to know whether a reply matches; a report (and `--update`) needs to
 * know *which* lines match which items, also after the first difference. That is an edit-distance
 * problem over lines where an expected item either fits a received line (as the matcher says), or is
 * missing, or has a received line in its place (changed), or a received line is extra, and a `...` item
 * takes any number of lines for free (its self-loop in the matcher's automaton). The alignment returned
 * is the cheapest (see COST_CHANGED): so a wrong status line is one `-`/`+` pair, and the `...` and
 * in-line `...` lines after it stay equal.
 *
 * Cost: the common head and tail (items that fit their lines one to one, which an optimal alignment may
 * always take) are walked in linear time; only the region between them is aligned by dynamic
 * programming, bounded by `maxCells`. A larger region is aligned from its start up to that bound and the
 * rest reported as cut.
 */
import { compileItem, type Item, isAnyLines, matchItem } from './matcher.js';
import { ReceivedLines } from './received-lines.js';
import type { ExpectLine } from './transcript-model.js';

/**
 * A run of the alignment, in order. `item` and `line` are 0-based indexes into the expected items and
 * the received lines.
 */
export type AlignedRun =
  /** `count` items from `item`, each fitting one received line from `line`, in order. */
  | { kind: 'match'; item: number; line: number; count: number }
  /** The `...` item `item` took `count` received lines from `line` (possibly none). */
  | { kind: 'any'; item: number; line: number; count: number }
  /** `count` items from `item` that no received line fits (before received line `line`). */
  | { kind: 'missing'; item: number; line: number; count: number }
  /** `count` received lines from `line` that no item expects. */
  | { kind: 'extra'; item: number; line: number; count: number };

export interface ReplyAlignment {
  /** The received bytes, as lines. */
  readonly lines: ReceivedLines;
  /** The runs in order: every item and every line appears in exactly one (unless `cut`). */
  readonly runs: readonly AlignedRun[];
  /**
   * Set when the reply was too large to align whole: the runs stop early, and this many items and
   * lines after them were not aligned.
   */
  readonly cut: { items: number; lines: number } | null;
  /** The reply matches as a whole: no missing or extra runs, nothing cut. */
  readonly matches: boolean;
}

export interface AlignOptions {
  /**
   * Most cells (items × lines of the region between the common head and tail) aligned exactly.
   * @default 4194304
   */
  maxCells?: number;
}

const DEFAULT_MAX_CELLS = 1 << 22;

// Directions of the dynamic programme: how the cheapest path reaches a cell.
const D_MATCH = 1; // item i-1 fits line k-1
const D_SKIP = 2; // item i-1 is `...` and takes no more lines
const D_ABSORB = 3; // item i is `...` and takes line k-1
const D_MISSING = 4; // item i-1 not received
const D_EXTRA = 5; // line k-1 not expected
const D_CHANGED = 6; // item i-1 not received, line k-1 received in its place

// What each difference costs. A changed line (an expected line with a received one in its place) costs
// less than a missing line, so that a wrong line next to a `...` shows what came instead; and more than
// half of a missing plus an extra line, so that two changes never beat a line that fits (as in LCS).
const COST_EXTRA = 8;
const COST_MISSING = 12;
const COST_CHANGED = 11;

class RunBuilder {
  readonly runs: AlignedRun[] = [];

  private push(kind: AlignedRun['kind'], item: number, line: number, count: number): void {
    const last = this.runs[this.runs.length - 1];
    if (last !== undefined && last.kind === kind) {
      const contiguous =
        kind === 'match'
          ? last.item + last.count === item && last.line + last.count === line
          : kind === 'any'
            ? last.item === item && last.line + last.count === line
            : kind === 'missing'
              ? last.item + last.count === item
              : last.line + last.count === line;
      if (contiguous) {
        last.count += count;
        return;
      }
    }
    this.runs.push({ kind, item, line, count });
  }

  match(item: number, line: number, count = 1): void {
    if (count > 0) this.push('match', item, line, count);
  }

  /** `...` item `item` takes line `line`. */
  absorb(item: number, line: number): void {
    this.push('any', item, line, 1);
  }

  /** `...` item `item` is done; it took no line if no absorb() came before. */
  endAny(item: number, line: number): void {
    const last = this.runs[this.runs.length - 1];
    if (last?.kind === 'any' && last.item === item) return;
    this.runs.push({ kind: 'any', item, line, count: 0 });
  }

  missing(item: number, line: number): void {
    this.push('missing', item, line, 1);
  }

  extra(item: number, line: number): void {
    this.push('extra', item, line, 1);
  }
}

/**
 * Lines up `received` with `expect` by the matcher's rules.
 * @example
 *   const { runs, matches } = alignReply(step.expect, failure.received);
 *   for (const run of runs) if (run.kind === 'missing') ... // expected lines the server did not send
 */
export function alignReply(
  expect: readonly ExpectLine[],
  received: Uint8Array,
  options: AlignOptions = {},
): ReplyAlignment {
  const lines = new ReceivedLines(received);
  const bytes = lines.bytes;
  const n = expect.length;
  const m = lines.length;
  // The head and tail visit each item once: compile those on their own (a reply of a million distinct
  // lines must not flood the cache the steps share); the middle compiles each item once, on first use.
  const middle = new Map<number, Item>();
  const item = (i: number): Item => {
    let compiled = middle.get(i);
    if (compiled === undefined) {
      compiled = compileItem(expect[i]!, false);
      middle.set(i, compiled);
    }
    return compiled;
  };
  const fits = (it: Item, k: number): boolean =>
    matchItem(it, bytes, lines.start(k), lines.contentEnd(k), lines.ending(k));
  const onceFits = (i: number, k: number): boolean => {
    if (expect[i]!.kind === 'any-lines') return false;
    return fits(compileItem(expect[i]!, false), k);
  };

  const out = new RunBuilder();
  let e = 0;
  let r = 0;
  while (e < n && r < m && onceFits(e, r)) {
    e++;
    r++;
  }
  out.match(0, 0, e);
  let eEnd = n;
  let rEnd = m;
  while (eEnd > e && rEnd > r && onceFits(eEnd - 1, rEnd - 1)) {
    eEnd--;
    rEnd--;
  }

  const rows = eEnd - e;
  const cols = rEnd - r;
  const maxCells = options.maxCells ?? DEFAULT_MAX_CELLS;
  let a = rows;
  let b = cols;
  if ((rows + 1) * (cols + 1) > maxCells) {
    // Keep the smaller side whole where the budget allows, and cut the other.
    const side = Math.max(1, Math.floor(Math.sqrt(maxCells)) - 1);
    if (rows <= cols) {
      a = Math.min(rows, side);
      b = Math.min(cols, Math.max(1, Math.floor(maxCells / (a + 1)) - 1));
    } else {
      b = Math.min(cols, side);
      a = Math.min(rows, Math.max(1, Math.floor(maxCells / (b + 1)) - 1));
    }
  }
  alignMiddle(
    out,
    a,
    b,
    e,
    r,
    (i) => item(e + i),
    (i, k) => fits(item(e + i), r + k),
  );

  let cut: ReplyAlignment['cut'] = null;
  if (a < rows || b < cols) {
    cut = { items: n - e - a, lines: m - r - b };
  } else {
    out.match(eEnd, rEnd, n - eEnd);
  }
  const matches = cut === null && out.runs.every((run) => run.kind === 'match' || run.kind === 'any');
  return { lines, runs: out.runs, cut, matches };
}

/**
 * Aligns items [e, e+a) with lines [r, r+b) (given relative to e and r) by dynamic programming, and
 * appends the runs. A line that fits its item, and a `...` taking lines, cost nothing; an extra line,
 * a missing item and a changed line cost COST_EXTRA, COST_MISSING and COST_CHANGED.
 */
function alignMiddle(
  out: RunBuilder,
  a: number,
  b: number,
  e: number,
  r: number,
  item: (i: number) => Item,
  fits: (i: number, k: number) => boolean,
): void {
  const width = b + 1;
  const dir = new Uint8Array((a + 1) * width);
  let prev = new Float64Array(width);
  let cur = new Float64Array(width);
  const any: boolean[] = [];
  for (let i = 0; i < a; i++) any.push(isAnyLines(item(i)));
  for (let i = 0; i <= a; i++) {
    const before = i > 0 ? any[i - 1]! : false;
    const next = i < a ? any[i]! : false;
    for (let k = 0; k <= b; k++) {
      if (i === 0 && k === 0) {
        cur[0] = 0;
        continue;
      }
      let best = Number.POSITIVE_INFINITY;
      let d = 0;
      // On a tie the first choice wins: a fitting line, then `...` (free), then a missing item, then an extra line.
      if (i > 0 && k > 0 && !before && prev[k - 1]! < best && fits(i - 1, k - 1)) {
        best = prev[k - 1]!;
        d = D_MATCH;
      }
      if (i > 0 && before && prev[k]! < best) {
        best = prev[k]!;
        d = D_SKIP;
      }
      if (k > 0 && next && cur[k - 1]! < best) {
        best = cur[k - 1]!;
        d = D_ABSORB;
      }
      if (i > 0 && k > 0 && !before && prev[k - 1]! + COST_CHANGED < best) {
        best = prev[k - 1]! + COST_CHANGED;
        d = D_CHANGED;
      }
      if (i > 0 && !before && prev[k]! + COST_MISSING < best) {
        best = prev[k]! + COST_MISSING;
        d = D_MISSING;
      }
      if (k > 0 && !next && cur[k - 1]! + COST_EXTRA < best) {
        best = cur[k - 1]! + COST_EXTRA;
        d = D_EXTRA;
      }
      cur[k] = best;
      dir[i * width + k] = d;
    }
    const swap = prev;
    prev = cur;
    cur = swap;
  }

  // Walk back from the end, then replay forwards. Within a stretch of differences, the missing items
  // come before the extra lines, as a unified diff shows a change.
  const path: number[] = [];
  let i = a;
  let k = b;
  while (i > 0 || k > 0) {
    const d = dir[i * width + k]!;
    path.push(d, i, k);
    if (d === D_MATCH || d === D_CHANGED) {
      i--;
      k--;
    } else if (d === D_SKIP || d === D_MISSING) {
      i--;
    } else {
      k--;
    }
  }
  let missing: number[] = [];
  let extra: number[] = [];
  const flush = (): void => {
    for (let x = 0; x < missing.length; x += 2) out.missing(e + missing[x]!, r + missing[x + 1]!);
    for (let x = 0; x < extra.length; x += 2) out.extra(e + extra[x]!, r + extra[x + 1]!);
    missing = [];
    extra = [];
  };
  for (let p = path.length - 3; p >= 0; p -= 3) {
    const d = path[p]!;
    const pi = path[p + 1]!;
    const pk = path[p + 2]!;
    if (d === D_MISSING) {
      missing.push(pi - 1, pk);
      continue;
    }
    if (d === D_EXTRA) {
      extra.push(pi, pk - 1);
      continue;
    }
    if (d === D_CHANGED) {
      missing.push(pi - 1, pk - 1);
      extra.push(pi, pk - 1);
      continue;
    }
    flush();
    if (d === D_MATCH) out.match(e + pi - 1, r + pk - 1);
    else if (d === D_ABSORB) out.absorb(e + pi, r + pk - 1);
    else out.endAny(e + pi - 1, r + pk);
  }
  flush();
}
