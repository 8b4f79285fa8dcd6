/**
 * Matches the bytes of one reply, as they arrive, against a step's expected lines.
 *
 * The expected items form an NFA over lines: state i means "item i is next", a `...` line keeps its state
 * and also lets the next one start. The set of live states is advanced once per received line, so a reply
 * costs O(lines × items) whatever it holds: no backtracking, no blow-up like doctest's old ELLIPSIS.
 * Steps without a `...` line are deterministic and use one integer instead of a set.
 *
 * Everything works on Buffers: lines are found with `indexOf(LF)` inside the received chunks, text is
 * compared against expected bytes encoded once (and shared by every step expecting the same line), and nothing is decoded except for `>>>~` lines.
 * Chunks are kept in a list (never concatenated while matching) and a line is copied only when it spans
 * chunks and its content is needed.
 */
import type { BytesTemplate, ExpectLine } from './transcript-model.js';

/** What a matcher says after each event. */
export type MatchStatus = 'pending' | 'complete' | 'failed';

const K_TEXT = 0; // whole line, exact bytes (also `>>>=`)
const K_GLOB = 1; // text line with `...` inside
const K_ANY = 2; // `...` alone: zero or more lines
const K_REGEX = 3;

const EOL_NONE = 0; // the line ended at close / quiet, without LF
const EOL_LF = 1;
const EOL_CRLF = 2;

// What line ending an item accepts.
const REQ_ANY_ENDING = 0;
const REQ_LF = 1;
const REQ_CRLF = 2;
const REQ_NONE = 3;

// Typed as number so that TypeScript does not narrow `this.status` across calls that change it.
const PENDING: number = 0;
const COMPLETE: number = 1;
const FAILED: number = 2;
const STATUS: readonly MatchStatus[] = ['pending', 'complete', 'failed'];

/**
 * A compiled expected item. Immutable once built: text items are shared between steps (see {@link textItem}).
 * Exported for src/alignment.ts only, which lines a whole reply up by these same rules.
 */
export interface Item {
  kind: number;
  req: number;
  /** K_TEXT: the whole line. */
  bytes: Buffer;
  /** K_GLOB: literal pieces between the `...`; the first is a prefix, the last a suffix. */
  segments: Buffer[];
  minLength: number;
  regex: RegExp | null;
  /** The item captures (named groups, `{{name=...}}`): the matcher keeps the line it fits on its path. */
  capture: boolean;
}

/**
 * The line a capturing item fit on the path that matched, as the item saw it: without its line ending
 * (for a `(lf)` item, a CR before the LF included). `item` is the index of the expected line.
 */
export interface MatchedLine {
  item: number;
  bytes: Buffer;
}

/** A path's captured lines, newest first, shared by the paths that branch from it. */
interface CaptureNode {
  line: MatchedLine;
  prev: CaptureNode | null;
}

const EMPTY = Buffer.alloc(0);
const ELLIPSIS = '...';

function newItem(kind: number): Item {
  return { kind, req: REQ_ANY_ENDING, bytes: EMPTY, segments: [], minLength: 0, regex: null, capture: false };
}

const ANY_ITEM = newItem(K_ANY);

/**
 * Compiled text lines by their text. A transcript repeats its replies (`+OK`, `END`, `HTTP/1.1 200 OK`),
 * and encoding each expected line once per step was most of a short step's cost. Bounded: cleared when
 * full, and long lines (rarely repeated, costly to keep) are not kept.
 */
const textItems = new Map<string, Item>();
const TEXT_CACHE_ENTRIES = 4096;
const TEXT_CACHE_MAX_LENGTH = 256;

function compileText(text: string): Item {
  if (!text.includes(ELLIPSIS)) {
    const item = newItem(K_TEXT);
    item.bytes = Buffer.from(text, 'utf8');
    return item;
  }
  const item = newItem(K_GLOB);
  item.segments = text.split(ELLIPSIS).map((s) => Buffer.from(s, 'utf8'));
  item.minLength = item.segments.reduce((n, s) => n + s.length, 0);
  return item;
}

function textItem(text: string): Item {
  let item = textItems.get(text);
  if (item === undefined) {
    item = compileText(text);
    if (text.length <= TEXT_CACHE_MAX_LENGTH) {
      if (textItems.size >= TEXT_CACHE_ENTRIES) textItems.clear();
      textItems.set(text, item);
    }
  }
  return item;
}

/** Both lists are the same text lines (so they compile to the same items); false for an empty list. */
function sameText(a: readonly ExpectLine[], b: readonly ExpectLine[]): boolean {
  const n = a.length;
  if (n === 0 || n !== b.length) return false;
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.kind !== 'text' || y.kind !== 'text' || x.text !== y.text) return false;
  }
  return true;
}

/**
 * Compiles one expected line. `shared` (the default) takes text lines from the cache that steps share;
 * without it a text line is compiled on its own, for a caller that visits many distinct lines once.
 */
export function compileItem(e: ExpectLine, shared = true): Item {
  switch (e.kind) {
    case 'text':
      return shared ? textItem(e.text) : compileText(e.text);
    case 'any-lines':
      return ANY_ITEM;
    default: {
      const item = newItem(K_TEXT);
      item.req = e.noEol ? REQ_NONE : e.eol === 'crlf' ? REQ_CRLF : e.eol === 'lf' ? REQ_LF : REQ_ANY_ENDING;
      if (e.kind === 'literal') {
        item.bytes = Buffer.from(e.bytes.buffer, e.bytes.byteOffset, e.bytes.byteLength);
      } else if (e.kind === 'pattern') {
        const segments = e.pieces.map(pieceBytes);
        if (segments.length === 1) {
          item.bytes = segments[0]!;
        } else {
          item.kind = K_GLOB;
          item.segments = segments;
          item.minLength = segments.reduce((n, seg) => n + seg.length, 0);
          item.capture = e.gaps.some((gap) => gap !== null);
        }
      } else {
        item.kind = K_REGEX;
        item.regex = new RegExp(`^(?:${e.source})$`, 'u');
        item.capture = e.captures !== undefined;
      }
      return item;
    }
  }
}

/**
 * A `>>>$` piece's bytes. Rendered for matching it holds only bytes; rendered for a report, a secret's
 * placeholder stands for its own text, `{{name}}`, which is what the report shows received in its place.
 */
function pieceBytes(piece: BytesTemplate): Buffer {
  if (piece.length === 1 && piece[0] instanceof Uint8Array) return toBuffer(piece[0]);
  return Buffer.concat(
    piece.map((part) => (part instanceof Uint8Array ? part : Buffer.from(`{{${part.name}}}`, 'utf8'))),
  );
}

/** Index of the next LF at or after `pos`, or -1. Short replies are scanned in JS: cheaper than a native call. */
function indexOfLF(buf: Buffer, pos: number): number {
  const len = buf.length;
  if (len - pos > 64) return buf.indexOf(10, pos);
  for (let i = pos; i < len; i++) if (buf[i] === 10) return i;
  return -1;
}

function eolAccepted(req: number, eol: number): boolean {
  switch (req) {
    case REQ_ANY_ENDING:
      return eol !== EOL_NONE;
    case REQ_NONE:
      return eol === EOL_NONE;
    case REQ_LF:
      return eol === EOL_LF;
    default:
      return eol === EOL_CRLF;
  }
}

/** Can a line of this length and ending possibly match? Decides without looking at its bytes. */
function mayMatch(item: Item, length: number, eol: number): boolean {
  if (item.kind === K_ANY) return true;
  if (item.req === REQ_LF && eol === EOL_CRLF) return mayMatch(item, length + 1, EOL_LF);
  if (!eolAccepted(item.req, eol)) return false;
  if (item.kind === K_TEXT) return item.bytes.length === length;
  if (item.kind === K_GLOB) return length >= item.minLength;
  return true;
}

function equalAt(buf: Buffer, start: number, expected: Buffer): boolean {
  const n = expected.length;
  // Short lines (the common case) compare faster in JS than through a native call.
  if (n <= 32) {
    for (let i = 0; i < n; i++) if (buf[start + i] !== expected[i]) return false;
    return true;
  }
  return buf.compare(expected, 0, n, start, start + n) === 0;
}

/**
 * Does the line `buf[start, end)` fit the glob's pieces? With `starts`, also where each piece was
 * found: the split a capture takes its values from (src/capture.ts), so both agree by construction.
 */
function globMatch(segments: Buffer[], buf: Buffer, start: number, end: number, starts?: number[]): boolean {
  const first = segments[0]!;
  const last = segments[segments.length - 1]!;
  if (!equalAt(buf, start, first) || !equalAt(buf, end - last.length, last)) return false;
  if (starts !== undefined) {
    starts.length = 0;
    starts.push(start);
  }
  if (segments.length > 2) {
    // Middle pieces: leftmost occurrence of each is always the best choice for `*`-only globs (and it
    // makes each `...` before a piece take as little as it can).
    const limit = end - last.length;
    const view = buf.subarray(0, limit); // indexOf must not search past the line
    let pos = start + first.length;
    for (let i = 1; i < segments.length - 1; i++) {
      const seg = segments[i]!;
      const at = view.indexOf(seg, pos);
      if (at < 0) return false;
      starts?.push(at);
      pos = at + seg.length;
    }
  }
  starts?.push(end - last.length);
  return true;
}

/**
 * Where each piece of a glob item (a text line with `...` inside, or a `>>>$` line with gaps) lies in a
 * line it fits, or null when it does not fit: the matcher's own split, for captures.
 */
export function globSplit(item: Item, line: Buffer): number[] | null {
  if (item.kind !== K_GLOB || line.length < item.minLength) return null;
  const starts: number[] = [];
  return globMatch(item.segments, line, 0, line.length, starts) ? starts : null;
}

/** Is this item `...` alone (zero or more whole lines)? */
export function isAnyLines(item: Item): boolean {
  return item.kind === K_ANY;
}

/**
 * Does the line `buf[start, end)` (ending excluded) with ending `eol` (0 none, 1 LF, 2 CRLF, the CR
 * at `buf[end]`) match a non-`...` item? The one test of a line against an item, for every caller.
 */
export function matchItem(item: Item, buf: Buffer, start: number, end: number, eol: number): boolean {
  // For an LF-only line the CR before the LF is content: `a\r\n` is `>>>=(lf) a\r`, never `>>>=(lf) a`.
  if (item.req === REQ_LF && eol === EOL_CRLF) return matchItem(item, buf, start, end + 1, EOL_LF);
  if (!eolAccepted(item.req, eol)) return false;
  const length = end - start;
  switch (item.kind) {
    case K_TEXT:
      return item.bytes.length === length && equalAt(buf, start, item.bytes);
    case K_GLOB:
      return length >= item.minLength && globMatch(item.segments, buf, start, end);
    default:
      return item.regex!.test(buf.toString('utf8', start, end));
  }
}

/** The bytes of a line as `matchItem` tests them against the item: for a `(lf)` item, a CR before the LF is content. */
function lineContent(item: Item, buf: Buffer, start: number, end: number, eol: number): Buffer {
  return buf.subarray(start, item.req === REQ_LF && eol === EOL_CRLF ? end + 1 : end);
}

function toBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Incremental matcher for one step's reply. Feed it every chunk the connection delivers with
 * {@link ReplyMatcher.push}; tell it about close ({@link ReplyMatcher.end}) and, when
 * {@link ReplyMatcher.needsSettle}, about a quiet period ({@link ReplyMatcher.settle}).
 *
 * Completion is lazy: the reply is complete as soon as the expected items are all matched by the fewest
 * lines; bytes after that are {@link ReplyMatcher.leftover} for the next step on the connection.
 * Chunks are kept by reference: do not modify a chunk after pushing it.
 * @example
 * const m = new ReplyMatcher(step.expect);
 * socket.on('data', (chunk) => { if (m.push(chunk) !== 'pending') done(m); });
 */
export class ReplyMatcher {
  private expect: readonly ExpectLine[] = [];
  private readonly items: Item[] = [];
  private n = 0;
  private deterministic = true;
  private lastNoEolBytes: Buffer | null = null;
  /**
   * The one line this reply is, when the step expects exactly one text line (any line ending, no `...`):
   * then a first chunk that is that line and its ending completes the reply in {@link push} at once.
   */
  private wholeLine: Buffer | null = null;
  private settleNeeded = false;

  private status = PENDING;
  private chunks: Buffer[] = [];
  /** Start of the line not yet ended by LF: chunk index and offset. */
  private lineChunk = 0;
  private lineOffset = 0;
  /** Bytes received so far, and the absolute position where the unterminated line starts. */
  private total = 0;
  private lineStart = 0;
  /** Where the match ended (after 'complete'): chunk index and offset. */
  private endChunk = 0;
  private endOffset = 0;
  /** Deterministic mode: index of the next expected item. */
  private state = 0;
  /** NFA mode: cur[i] = 1 when state i is live; next is scratch space for the step. */
  private cur: Uint8Array = EMPTY;
  private next: Uint8Array = EMPTY;
  private failedAt = -1;
  /** Some item captures: the lines capturing items fit are kept, per path. */
  private capturing = false;
  /** Deterministic mode: the capturing items' lines so far. */
  private capLines: MatchedLine[] = [];
  /**
   * NFA mode: each live state's path's captured lines. Where two paths reach one state, the one that got
   * there first (a `...` that stays) wins, so each `...` takes as few lines as it can.
   */
  private capCur: (CaptureNode | null)[] = [];
  private capNext: (CaptureNode | null)[] = [];

  constructor(expect: readonly ExpectLine[]) {
    this.reset(expect);
  }

  /**
   * Starts over for another reply, as a new matcher would: one matcher can serve every step of a run,
   * so a step allocates nothing here and the hot path keeps one object shape.
   * Forgets the bytes of the previous reply: read its {@link leftover} / {@link received} first.
   */
  reset(expect: readonly ExpectLine[]): void {
    const n = expect.length;
    // The same reply as the last step's (`+OK` after `+OK`) keeps its compiled items.
    if (!sameText(expect, this.expect)) this.compile(expect);
    this.expect = expect;
    this.n = n;
    // A new list, not `length = 0`: setting an array's length is a call into the runtime before V8 compiles this.
    this.chunks = [];
    this.lineChunk = 0;
    this.lineOffset = 0;
    this.total = 0;
    this.lineStart = 0;
    this.endChunk = 0;
    this.endOffset = 0;
    this.state = 0;
    this.failedAt = -1;
    if (this.capturing) {
      this.capLines = [];
      this.capCur = new Array<CaptureNode | null>(n + 1).fill(null);
      this.capNext = new Array<CaptureNode | null>(n + 1).fill(null);
    }
    if (this.deterministic) {
      this.cur = EMPTY;
      this.next = EMPTY;
    } else {
      this.cur = new Uint8Array(n + 1);
      this.next = new Uint8Array(n + 1);
      this.cur[0] = 1;
      this.closure(this.cur, this.capCur);
    }
    // Nothing expected: complete before any byte; whatever arrives is leftover.
    this.status = n === 0 ? COMPLETE : PENDING;
  }

  private compile(expect: readonly ExpectLine[]): void {
    const n = expect.length;
    const items = this.items;
    items.length = 0;
    let deterministic = true;
    let capturing = false;
    for (let i = 0; i < n; i++) {
      const item = compileItem(expect[i]!);
      if (item.kind === K_ANY) deterministic = false;
      if (item.capture) capturing = true;
      items.push(item);
    }
    this.deterministic = deterministic;
    this.capturing = capturing;
    const last = n > 0 ? items[n - 1]! : undefined;
    this.settleNeeded =
      last !== undefined && (last.kind === K_ANY || (last.kind === K_REGEX && last.req === REQ_NONE));
    this.lastNoEolBytes =
      last !== undefined && last.kind === K_TEXT && last.req === REQ_NONE ? last.bytes : null;
    // A line holding a LF could not be received whole (the matcher ends lines at LF): it never fits.
    this.wholeLine =
      n === 1 && last!.kind === K_TEXT && last!.req === REQ_ANY_ENDING && !last!.bytes.includes(10)
        ? last!.bytes
        : null;
  }

  /** Completion can only be decided by close ({@link end}) or a quiet period ({@link settle}). */
  get needsSettle(): boolean {
    return this.settleNeeded;
  }

  /** The current outcome without feeding anything ('complete' at once for a step that expects nothing). */
  get result(): MatchStatus {
    return STATUS[this.status]!;
  }

  /** Feeds received bytes. After 'complete' or 'failed' further bytes are only collected. */
  push(chunk: Uint8Array): MatchStatus {
    const buf = toBuffer(chunk);
    const whole = this.wholeLine;
    if (whole !== null && this.chunks.length === 0 && this.status === PENDING) {
      // The most common reply (`+PONG`, `+OK`, `250 ok`) in one chunk: what the loop below would find, in a
      // few lines that V8 compiles small when every step of a long run takes them.
      const last = buf.length - 1;
      if (last >= 0 && buf[last] === 10) {
        const end = last > 0 && buf[last - 1] === 13 ? last - 1 : last;
        // Compared here, not by equalAt: a helper with a loop gets hot, and compiled, before its caller.
        let same = end === whole.length;
        for (let i = 0; same && i < end; i++) same = buf[i] === whole[i];
        if (same) {
          this.chunks.push(buf);
          this.total = this.lineStart = this.lineOffset = this.endOffset = buf.length;
          this.state = 1;
          this.status = COMPLETE;
          return 'complete';
        }
      }
    }
    return this.pushLines(buf);
  }

  /**
   * {@link push} for everything but a one-line reply in one chunk. A method of its own: V8 optimizes a function
   * after a number of runs through its bytecode that grows with its length, so the short push above is
   * optimized sooner in a run of such replies, and without this part.
   */
  private pushLines(buf: Buffer): MatchStatus {
    const ci = this.chunks.push(buf) - 1;
    const base = this.total;
    this.total += buf.length;
    if (this.status !== PENDING) return STATUS[this.status]!;
    // A line that started at the very end of an earlier chunk really starts here.
    while (this.lineChunk < ci && this.lineOffset >= this.chunks[this.lineChunk]!.length) {
      this.lineChunk++;
      this.lineOffset = 0;
    }
    let pos = 0;
    for (;;) {
      const lf = indexOfLF(buf, pos);
      if (lf < 0) break;
      if (this.lineChunk === ci) {
        const start = this.lineOffset;
        if (lf > start && buf[lf - 1] === 13) this.feed(buf, start, lf - 1, EOL_CRLF, false);
        else this.feed(buf, start, lf, EOL_LF, false);
      } else {
        this.feedSpanning(ci, lf, EOL_LF);
      }
      this.lineChunk = ci;
      this.lineOffset = pos = lf + 1;
      this.lineStart = base + pos;
      if (this.status !== PENDING) {
        this.endChunk = ci;
        this.endOffset = pos;
        return STATUS[this.status]!;
      }
    }
    // `>>>=(no-eol) TEXT` ends the reply the moment the unterminated line equals TEXT.
    const want = this.lastNoEolBytes;
    if (want !== null && this.isLive(this.n - 1) && this.partialLength() === want.length) {
      // Only an exact match ends the reply; otherwise the line may still grow or end, so state stays put.
      const partial = this.slice(this.lineChunk, this.lineOffset, this.chunks.length, 0);
      if (Buffer.compare(partial, want) === 0) {
        this.feedPartial();
        if (this.status === COMPLETE) this.markEndOfData();
      }
    }
    return STATUS[this.status]!;
  }

  /** The connection closed: an unterminated last line counts as a line without ending. */
  end(): 'complete' | 'failed' {
    if (this.status === PENDING) {
      if (this.partialLength() > 0) this.feedPartial();
      if (this.status === PENDING) {
        if (this.isLive(this.n)) this.status = COMPLETE;
        else this.fail();
      }
      if (this.status === COMPLETE) this.markEndOfData();
    }
    return this.status === COMPLETE ? 'complete' : 'failed';
  }

  /**
   * The connection has been quiet for the settle time. For a reply ending in `...` or `>>>~(no-eol)`,
   * what arrived so far is the whole reply if it matches; otherwise keep waiting ('pending').
   */
  settle(): MatchStatus {
    if (!this.wouldSettle()) return STATUS[this.status]!;
    // An unterminated line ends the reply only because that completes it (wouldSettle said so).
    if (this.partialLength() > 0) this.feedPartial();
    this.status = COMPLETE;
    this.markEndOfData();
    return 'complete';
  }

  /**
   * Would a quiet period now complete the reply? True for a pending reply ending in `...` (or
   * `>>>~(no-eol)`) whose bytes so far match: what a timeout must tell apart from a reply that is wrong
   * or short. Changes nothing.
   */
  wouldSettle(): boolean {
    if (this.status !== PENDING || !this.needsSettle) return false;
    if (this.partialLength() === 0) return this.isLive(this.n);
    const saved = this.deterministic ? null : this.cur.slice();
    const savedState = this.state;
    const savedLines = this.capLines.length;
    const savedCaps = this.capCur.slice();
    this.feedPartial();
    const complete = this.status === COMPLETE || (this.status === PENDING && this.isLive(this.n));
    this.status = PENDING;
    this.failedAt = -1;
    this.state = savedState;
    if (saved) this.cur.set(saved);
    if (this.capturing) {
      this.capLines.length = savedLines;
      this.capCur = savedCaps;
    }
    return complete;
  }

  /** Bytes received after the end of the match (after 'complete'); empty otherwise. */
  leftover(): Uint8Array {
    if (this.status !== COMPLETE) return EMPTY;
    const chunks = this.chunks;
    const last = chunks.length - 1;
    // The match ended with the last chunk (a reply without leftover): no call below, so little to compile.
    if (this.endChunk === last && this.endOffset === chunks[last]!.length) return EMPTY;
    return this.slice(this.endChunk, this.endOffset, chunks.length, 0);
  }

  /** Bytes this step consumed: up to the end of the match after 'complete', everything otherwise. */
  received(): Uint8Array {
    if (this.status === COMPLETE) return this.slice(0, 0, this.endChunk, this.endOffset);
    return this.slice(0, 0, this.chunks.length, 0);
  }

  /** How many bytes were fed since the last reset. */
  get bytesReceived(): number {
    return this.total;
  }

  /** Every byte fed since the last reset, leftover included (`--update` takes a whole quiet reply). */
  all(): Uint8Array {
    return this.slice(0, 0, this.chunks.length, 0);
  }

  /**
   * After 'complete': the lines the capturing items fit on the path that matched, in item order (the
   * values are src/capture.ts's to take out). Empty when nothing captures.
   */
  captured(): MatchedLine[] {
    if (!this.capturing || this.status !== COMPLETE) return [];
    if (this.deterministic) return this.capLines.slice();
    const out: MatchedLine[] = [];
    for (let node = this.capCur[this.n] ?? null; node !== null; node = node.prev) out.push(node.line);
    return out.reverse();
  }

  /**
   * The first expected item that the reply does not match, and its source line: where the failure
   * was found, or (still pending, e.g. at a timeout) the furthest item the reply has reached.
   * `line` is 0 when the step expects nothing.
   */
  failure(): { expectIndex: number; line: number } {
    let index = this.failedAt;
    if (index < 0) index = this.furthestLive();
    if (index >= this.n) index = this.n - 1;
    if (index < 0) return { expectIndex: 0, line: 0 };
    return { expectIndex: index, line: this.expect[index]!.line };
  }

  // --- internals -------------------------------------------------------------------------------

  private isLive(state: number): boolean {
    return this.deterministic ? this.state === state : this.cur[state] === 1;
  }

  private furthestLive(): number {
    if (this.deterministic) return this.state;
    for (let i = this.n; i >= 0; i--) if (this.cur[i] === 1) return i;
    return 0;
  }

  /**
   * `...` at state i also lets state i+1 start (in index order, so chains of `...` close in one pass).
   * A state that is live already keeps its path's captures.
   */
  private closure(set: Uint8Array, caps: (CaptureNode | null)[]): void {
    const items = this.items;
    for (let i = 0; i < this.n; i++) {
      if (set[i] === 1 && items[i]!.kind === K_ANY && set[i + 1] !== 1) {
        set[i + 1] = 1;
        if (this.capturing) caps[i + 1] = caps[i]!;
      }
    }
  }

  private fail(): void {
    this.failedAt = this.furthestLive();
    this.status = FAILED;
  }

  /**
   * Advances the states over one line `buf[start, end)` with ending `eol`. With `blind`, the line's bytes
   * were not materialised because no live item could match it (only `...` lines move).
   */
  private feed(buf: Buffer, start: number, end: number, eol: number, blind: boolean): void {
    const items = this.items;
    if (this.deterministic) {
      const item = items[this.state]!;
      if (!blind && matchItem(item, buf, start, end, eol)) {
        if (item.capture)
          this.capLines.push({ item: this.state, bytes: lineContent(item, buf, start, end, eol) });
        if (++this.state === this.n) this.status = COMPLETE;
      } else {
        this.failedAt = this.state;
        this.status = FAILED;
      }
      return;
    }
    const cur = this.cur;
    const next = this.next;
    next.fill(0);
    const capturing = this.capturing;
    const capCur = this.capCur;
    const capNext = this.capNext;
    let furthest = -1;
    for (let i = 0; i < this.n; i++) {
      if (cur[i] !== 1) continue;
      furthest = i;
      const item = items[i]!;
      if (item.kind === K_ANY) {
        // Staying in `...` reached this state before any line that fits item i-1 now: that path wins.
        next[i] = 1;
        if (capturing) capNext[i] = capCur[i]!;
      } else if (!blind && matchItem(item, buf, start, end, eol)) {
        next[i + 1] = 1;
        if (capturing) {
          capNext[i + 1] = item.capture
            ? { line: { item: i, bytes: lineContent(item, buf, start, end, eol) }, prev: capCur[i]! }
            : capCur[i]!;
        }
      }
    }
    this.closure(next, capNext);
    this.cur = next;
    this.next = cur;
    if (capturing) {
      this.capCur = capNext;
      this.capNext = capCur;
    }
    let live = false;
    for (let i = 0; i <= this.n; i++) {
      if (next[i] === 1) {
        live = true;
        break;
      }
    }
    if (!live) {
      this.failedAt = furthest;
      this.status = FAILED;
    } else if (next[this.n] === 1 && !this.needsSettle) {
      // Lazy: the fewest lines that match end the reply. Only a trailing `...` (needsSettle) waits.
      this.status = COMPLETE;
    }
  }

  /** Could any live item match a line of this length and ending? If not, its bytes are never needed. */
  private needsBytes(length: number, eol: number): boolean {
    if (this.deterministic) return mayMatch(this.items[this.state]!, length, eol);
    for (let i = 0; i < this.n; i++) {
      if (this.cur[i] === 1 && this.items[i]!.kind !== K_ANY && mayMatch(this.items[i]!, length, eol))
        return true;
    }
    return false;
  }

  /** A line from (lineChunk, lineOffset) to chunk `ci` at `lf` (exclusive), across chunk boundaries. */
  private feedSpanning(ci: number, lf: number, eol: number): void {
    const chunks = this.chunks;
    let length = chunks[this.lineChunk]!.length - this.lineOffset + lf;
    for (let k = this.lineChunk + 1; k < ci; k++) length += chunks[k]!.length;
    if (eol !== EOL_NONE) {
      // The CR of a CRLF may sit at the end of an earlier chunk.
      if (length > 0 && this.byteBefore(ci, lf) === 13) {
        eol = EOL_CRLF;
        length--;
      }
    }
    if (!this.needsBytes(length, eol)) {
      this.feed(EMPTY, 0, 0, eol, true);
      return;
    }
    const line = this.slice(this.lineChunk, this.lineOffset, ci, lf);
    this.feed(toBuffer(line), 0, length, eol, false);
  }

  private byteBefore(ci: number, offset: number): number {
    let c = ci;
    let o = offset;
    while (o === 0) {
      if (c === this.lineChunk) return -1;
      c--;
      o = this.chunks[c]!.length;
      if (c === this.lineChunk && o <= this.lineOffset) return -1;
    }
    return this.chunks[c]![o - 1]!;
  }

  private partialLength(): number {
    return this.total - this.lineStart;
  }

  /** Feeds the unterminated line at the end of the data as a line without ending. */
  private feedPartial(): void {
    const last = this.chunks.length - 1;
    if (this.lineChunk === last) {
      const buf = this.chunks[last]!;
      this.feed(buf, this.lineOffset, buf.length, EOL_NONE, false);
      return;
    }
    const length = this.partialLength();
    if (!this.needsBytes(length, EOL_NONE)) this.feed(EMPTY, 0, 0, EOL_NONE, true);
    else
      this.feed(
        toBuffer(this.slice(this.lineChunk, this.lineOffset, this.chunks.length, 0)),
        0,
        length,
        EOL_NONE,
        false,
      );
  }

  private markEndOfData(): void {
    this.endChunk = this.chunks.length;
    this.endOffset = 0;
  }

  /** Bytes from (chunk a, offset ao) to (chunk b, offset bo), exclusive; `b` may be chunks.length. */
  private slice(a: number, ao: number, b: number, bo: number): Uint8Array {
    const chunks = this.chunks;
    if (a === b) return ao === bo ? EMPTY : chunks[a]!.subarray(ao, bo);
    if (b === a + 1 && bo === 0) {
      const only = chunks[a]!;
      if (ao === 0) return only;
      return ao === only.length ? EMPTY : only.subarray(ao);
    }
    const parts: Buffer[] = [chunks[a]!.subarray(ao)];
    for (let k = a + 1; k < b; k++) parts.push(chunks[k]!);
    if (b < chunks.length && bo > 0) parts.push(chunks[b]!.subarray(0, bo));
    return Buffer.concat(parts);
  }
}
