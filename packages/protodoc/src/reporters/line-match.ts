/**
 * Whether one received line fits one expected item, for display only: the diff shows a received line
 * that fits its expected item (`Server: nginx...` vs `Server: nginx/1.22.1`) as that item, so the diff
 * points at the lines that really differ. The runner's verdict comes from the streaming matcher;
 * this only lines the two sides up for a human.
 */
import type { ExpectLine } from '../transcript-model.js';
import type { ReceivedLine } from './render.js';

const ELLIPSIS = '...';
const utf8 = new TextDecoder();
const segmentCache = new WeakMap<ExpectLine, Buffer[]>();
// Plain text lines are compared by writing them into one reused buffer: no allocation per line,
// which matters when a reply of a million lines is lined up.
let scratch = Buffer.allocUnsafe(4096);

function textEquals(text: string, bytes: Buffer): boolean {
  // A UTF-8 encoding has at most 3 bytes per UTF-16 code unit, and at least one.
  if (bytes.length < text.length || bytes.length > text.length * 3) return false;
  if (scratch.length < bytes.length + 4) scratch = Buffer.allocUnsafe(bytes.length * 2 + 8);
  // Room for one more whole character than the line holds reveals a text longer than the line.
  const written = scratch.write(text, 0, bytes.length + 4, 'utf8');
  return written === bytes.length && scratch.compare(bytes, 0, bytes.length, 0, written) === 0;
}
const regexCache = new WeakMap<ExpectLine, RegExp | null>();

function globMatches(segments: Buffer[], line: Buffer): boolean {
  const first = segments[0]!;
  const last = segments[segments.length - 1]!;
  if (line.length < first.length + last.length) return false;
  if (!line.subarray(0, first.length).equals(first)) return false;
  if (!line.subarray(line.length - last.length).equals(last)) return false;
  let pos = first.length;
  const end = line.length - last.length;
  for (let k = 1; k < segments.length - 1; k++) {
    const found = line.subarray(0, end).indexOf(segments[k]!, pos);
    if (found === -1) return false;
    pos = found + segments[k]!.length;
  }
  return true;
}

// As in the matcher: a line needs an ending (CRLF or LF) unless it is marked no-eol, which needs none.
function endingFits(item: { noEol?: boolean; eol?: 'crlf' | 'lf' }, line: ReceivedLine): boolean {
  if (item.noEol) return !line.eol;
  if (item.eol === 'crlf') return line.eol && line.crlf === true;
  if (item.eol === 'lf') return line.eol && line.crlf !== true;
  return line.eol;
}

/** True when `line` fits `item`; `any-lines` items are handled by the caller (they span lines). */
export function lineMatches(item: ExpectLine, line: ReceivedLine): boolean {
  const bytes = Buffer.from(line.bytes.buffer, line.bytes.byteOffset, line.bytes.byteLength);
  switch (item.kind) {
    case 'any-lines':
      return false;
    case 'text': {
      if (!line.eol) return false;
      if (!item.text.includes(ELLIPSIS)) return textEquals(item.text, bytes);
      let segments = segmentCache.get(item);
      if (!segments) {
        segments = item.text.split(ELLIPSIS).map((s) => Buffer.from(s));
        segmentCache.set(item, segments);
      }
      return globMatches(segments, bytes);
    }
    case 'literal':
      return endingFits(item, line) && bytes.equals(item.bytes);
    case 'regex': {
      let re = regexCache.get(item);
      if (re === undefined) {
        try {
          re = new RegExp(`^(?:${item.source})$`, 'u');
        } catch {
          re = null;
        }
        regexCache.set(item, re);
      }
      return re !== null && endingFits(item, line) && re.test(utf8.decode(bytes));
    }
  }
}
