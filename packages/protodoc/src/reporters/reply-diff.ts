/**
 * The unified diff of one failing step: expected reply vs received bytes, both written as transcript
 * lines. Only the region that differs is handed to the diff library (jsdiff's cost grows with size times
 * differences): the common head and tail are lined up here in linear time, and the region between is
 * capped, so a mismatch in a reply of many megabytes still prints a short diff quickly.
 */
import type { ExpectLine } from '../transcript-model.js';
import { lineMatches } from './line-match.js';
import { ReceivedLines } from './received-lines.js';
import { type ReceivedLine, renderExpectLine, renderReceivedLine } from './render.js';

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

function renderCapped(line: ReceivedLine, maxLineBytes: number): string {
  if (line.bytes.length <= maxLineBytes) return renderReceivedLine(line);
  const shown = renderReceivedLine({ bytes: line.bytes.subarray(0, maxLineBytes), eol: line.eol });
  return `${shown} [${line.bytes.length - maxLineBytes} more bytes not shown]`;
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
  const lines = new ReceivedLines(received);

  // The common head: received lines that fit their expected items are shown as those items.
  // Display lines: a `...` that swallowed many received lines is one line on both sides.
  const head: string[] = [];
  let e = 0;
  let r = 0;
  while (e < expected.length) {
    const item = expected[e]!;
    if (item.kind === 'any-lines') {
      const next = expected[e + 1];
      if (next?.kind === 'any-lines') {
        e++;
        continue;
      }
      let stop = lines.length;
      if (next) {
        // Stop the `...` at the first line that fits the item after it, as the matcher's lazy reading does.
        stop = r;
        while (stop < lines.length && !lineMatches(next, lines.line(stop))) stop++;
        if (stop === lines.length) break;
      }
      head.push('...');
      r = stop;
      e++;
      continue;
    }
    if (r >= lines.length || !lineMatches(item, lines.line(r))) break;
    head.push(renderExpectLine(item));
    e++;
    r++;
  }

  // The common tail, walked back from both ends; a `...` ends it (its extent is ambiguous from the end).
  let eEnd = expected.length;
  let rEnd = lines.length;
  const tail: string[] = [];
  while (eEnd > e && rEnd > r) {
    const item = expected[eEnd - 1]!;
    if (item.kind === 'any-lines' || !lineMatches(item, lines.line(rEnd - 1))) break;
    tail.push(renderExpectLine(item));
    eEnd--;
    rEnd--;
  }
  // A trailing `...` swallows whatever the reply ends with. When the items before it are plain lines,
  // line them up one to one with the received lines and let the `...` stand for the rest, so a
  // difference in a long reply does not drag everything after it into the diff.
  const last = expected[eEnd - 1];
  if (tail.length === 0 && e < eEnd && eEnd === expected.length && last?.kind === 'any-lines') {
    const items = expected.slice(e, eEnd - 1);
    if (items.every((item) => item.kind !== 'any-lines') && rEnd - r >= items.length) {
      tail.push('...');
      eEnd--;
      rEnd = r + items.length;
    }
  }
  tail.reverse();

  const oldMiddle: string[] = [];
  for (let k = e; k < eEnd && oldMiddle.length < maxLines; k++)
    oldMiddle.push(renderExpectLine(expected[k]!));
  const newMiddle: string[] = [];
  for (let k = r; k < rEnd && newMiddle.length < maxLines; k++)
    newMiddle.push(renderCapped(lines.line(k), maxLineBytes));
  const hiddenOld = eEnd - e - oldMiddle.length;
  const hiddenNew = rEnd - r - newMiddle.length;
  // When a side was cut, the tail no longer follows the shown lines: leave it out rather than mislead.
  const after = hiddenOld > 0 || hiddenNew > 0 ? [] : tail.slice(0, context);

  const before = head.slice(Math.max(0, head.length - context));
  const skipped = head.length - before.length;
  const oldText = [...before, ...oldMiddle, ...after];
  const newText = [...before, ...newMiddle, ...after];
  if (hiddenOld === 0 && hiddenNew === 0 && oldMiddle.length === 0 && newMiddle.length === 0) return '';

  const { structuredPatch, formatPatch, FILE_HEADERS_ONLY } = await loadDiff();
  const join = (text: string[]): string => (text.length === 0 ? '' : `${text.join('\n')}\n`);
  const patch = structuredPatch('expected', 'received', join(oldText), join(newText), undefined, undefined, {
    context,
  });
  // Hunk positions count display lines of the whole reply, not of the slice handed to the diff.
  for (const hunk of patch.hunks) {
    hunk.oldStart += skipped;
    hunk.newStart += skipped;
  }
  let text = formatPatch(patch, FILE_HEADERS_ONLY);
  if (hiddenOld > 0 || hiddenNew > 0) {
    text += `[diff cut: ${hiddenOld} more expected and ${hiddenNew} more received lines not shown]\n`;
  }
  return text;
}
