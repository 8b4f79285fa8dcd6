/**
 * Captures: the values a step's reply sets (FORMAT §15), taken out of the lines the capturing items fit.
 * Which line fits which item is the matcher's decision (src/matcher.ts `captured()`, or an alignment's
 * `match` runs under `--update`); this module only reads the values out of those lines: a `>>>~` line's
 * named groups, a `>>>$` line's `{{name=...}}` gaps, split where the matcher's own glob test splits.
 */
import type { ReplyAlignment } from './alignment.js';
import { compileItem, globSplit, type MatchedLine } from './matcher.js';
import type { ExpectLine } from './transcript-model.js';

const utf8 = new TextDecoder();

/**
 * The values captured by one reply, by variable name, from the lines its capturing items fit. A named
 * group that took no part in the match captures the empty string.
 * @example evaluateCaptures(step.expect, matcher.captured()) // Map { 'job' => <Buffer 37> }
 */
export function evaluateCaptures(
  expect: readonly ExpectLine[],
  matched: readonly MatchedLine[],
): Map<string, Buffer> {
  const values = new Map<string, Buffer>();
  for (const { item: index, bytes } of matched) {
    const item = expect[index];
    if (item?.kind === 'regex' && item.captures !== undefined) {
      const groups = new RegExp(`^(?:${item.source})$`, 'u').exec(utf8.decode(bytes))?.groups ?? {};
      for (const name of item.captures) values.set(name, Buffer.from(groups[name] ?? '', 'utf8'));
    } else if (item?.kind === 'pattern') {
      const compiled = compileItem(item, false);
      const starts = globSplit(compiled, bytes);
      if (starts === null) continue;
      for (const [k, name] of item.gaps.entries()) {
        if (name === null) continue;
        values.set(
          name,
          Buffer.from(bytes.subarray(starts[k]! + compiled.segments[k]!.length, starts[k + 1]!)),
        );
      }
    }
  }
  return values;
}

/**
 * The lines the capturing items fit in an alignment's `match` runs: under `--update` a failing step's
 * reply is not matched, only aligned, and the captures of the lines that still fit carry on.
 */
export function alignedCaptureLines(expect: readonly ExpectLine[], alignment: ReplyAlignment): MatchedLine[] {
  const out: MatchedLine[] = [];
  const { lines } = alignment;
  for (const run of alignment.runs) {
    if (run.kind !== 'match') continue;
    for (let k = 0; k < run.count; k++) {
      const item = expect[run.item + k]!;
      if (!captures(item)) continue;
      const line = run.line + k;
      // A `(lf)` item takes a CR before the LF as content, as the matcher does.
      const crlf =
        lines.ending(line) === 2 && item.kind !== 'any-lines' && item.kind !== 'text' && item.eol === 'lf';
      const end = lines.contentEnd(line) + (crlf ? 1 : 0);
      out.push({ item: run.item + k, bytes: lines.bytes.subarray(lines.start(line), end) });
    }
  }
  return out;
}

function captures(item: ExpectLine): boolean {
  if (item.kind === 'regex') return item.captures !== undefined;
  return item.kind === 'pattern' && item.gaps.some((gap) => gap !== null);
}
