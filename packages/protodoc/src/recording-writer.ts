/**
 * A recording (src/recording.ts) as transcript text: what `protodoc record` writes (FORMAT §17).
 *
 * - client bytes are send lines: `>>> TEXT` for a line ending in CRLF, `>>>(lf)` / `>>>(no-eol)` for
 *   other endings, `>>>(esc)` with escapes where the bytes are not printable text (FORMAT §4.7);
 * - server bytes are expected lines, written as `--update` writes them (src/transcript-writer.ts);
 * - several client connections are named connections (`>>>@conn1`, ...), a step that sends nothing
 *   after its connection's switch; on one connection, a first step that sends nothing is the greeting;
 * - values that change between runs become patterns: the volatile HTTP headers (src/volatile.ts) and
 *   what `--volatile REGEX` names become `...`; a reply token of 4 or more characters that a later send
 *   reuses becomes a capture, `{{name=...}}` in a `>>>$` line, and `{{name}}` where it is used after;
 * - a `--secret` value is `{{name}}`.
 *
 * Every line that holds a pattern is checked against the bytes it was made from, as the matcher reads
 * it (a capture must take exactly its value); one that does not fit falls back to fewer patterns, and
 * at last to the exact line.
 */
import { evaluateCaptures } from './capture.js';
import { formatEscaped } from './escapes.js';
import { ReplyMatcher } from './matcher.js';
import { type ReceivedLine, ReceivedLines } from './received-lines.js';
import type { RecordedStep } from './recording.js';
import { renderItem, type SecretFinder, type SecretSpan, VARIABLE_NAME } from './template.js';
import { parseTranscript } from './transcript.js';
import type { BytesTemplate, ExpectLine, Placeholder } from './transcript-model.js';
import { isPlainLine, patternLineText, writeExpectedLine } from './transcript-writer.js';
import { volatileLines } from './volatile.js';

/** How {@link recordingText} writes. */
export interface RecordingTextOptions {
  /** The target written as `>>>! connect TARGET`; none when undefined. */
  target?: string;
  /**
   * A connection's own target, by its number, where it is not `target` (a WebSocket client that asked
   * for another path): written on its first `>>>@NAME` line (FORMAT §4.3).
   */
  targets?: ReadonlyMap<number, string>;
  /** Where `--secret` values lie in some bytes (src/variables.ts `secretSpans`); they are written `{{name}}`. */
  secrets?: SecretFinder;
  /** The names of the secrets, which captures must not take. */
  reserved?: readonly string[];
  /** `--volatile REGEX`: what each matches in a reply line (or each of its groups) becomes `...`. */
  volatile?: readonly RegExp[];
  /** The fence of the Markdown block the lines go into: no line may close it. */
  fence?: string;
}

/** A recording as transcript lines. */
export interface RecordingText {
  /** The transcript's lines, each without its line ending. */
  lines: string[];
  /** Steps written. */
  steps: number;
  /** Client connections that took part. */
  connections: number;
  /** The names of the captures, in the order they are captured. */
  captures: string[];
}

/** What a capture takes: the first reply line a token came in that a later send reuses. */
interface Capture {
  name: string;
  token: string;
  step: number;
  line: number;
  start: number;
  end: number;
  /** The capture's line did not fit: its uses are written as they are. */
  dropped: boolean;
}

/** A part of a line that is not written as its bytes. */
interface Span {
  start: number;
  end: number;
  /** `name`: `{{name}}` (a secret, or a capture used); `capture`: `{{name=...}}`; `gap`: `...`. */
  kind: 'name' | 'capture' | 'gap';
  name: string;
}

interface Token {
  text: string;
  start: number;
  end: number;
}

/** Characters of a token: ids, tokens, cookies, paths, numbers (not spaces, quotes, `=`, `:`, `;`). */
const TOKEN_RUN = /[A-Za-z0-9_.~+/-]+/g;
/** Punctuation a token does not start or end with (a path's slashes, a sentence's full stop). */
const TOKEN_EDGE = /[.~+/-]/;
/** The decision's threshold: shorter values (`7`, `OK`) are too likely to recur by chance. */
const MIN_TOKEN = 4;
/**
 * What tells a value from a word: a digit, a lower-case letter before an upper-case one (`aZ`), or a
 * run of 8 or more hex digits (`deadbeef`), as ids, cas tokens, hex and base64 have and cookie names,
 * keys and header words do not.
 */
const VALUE_LIKE = /[0-9]|[a-z][A-Z]|(?:^|[/._~+-])[0-9a-fA-F]{8,}(?:$|[/._~+-])/;

/** The tokens of a line, by byte offset. */
function tokensOf(bytes: Uint8Array): Token[] {
  if (bytes.length < MIN_TOKEN) return [];
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const out: Token[] = [];
  for (const m of text.matchAll(TOKEN_RUN)) {
    let start = m.index;
    let end = start + m[0].length;
    while (start < end && TOKEN_EDGE.test(text[start]!)) start++;
    while (end > start && TOKEN_EDGE.test(text[end - 1]!)) end--;
    const token = text.slice(start, end);
    if (token.length >= MIN_TOKEN && VALUE_LIKE.test(token)) out.push({ text: token, start, end });
  }
  return out;
}

/** A variable name for a captured value, from what precedes it on its line (`Location:`, `session=`). */
function nameFor(line: Uint8Array, start: number, taken: Set<string>): string {
  const before = Buffer.from(line.buffer, line.byteOffset, start).toString('latin1');
  const key =
    // A JSON key too: `"session":"`.
    /([A-Za-z_][A-Za-z0-9_-]*)["']?\s*[:=]\s*["'/]?$/.exec(before)?.[1] ??
    /^([A-Za-z_][A-Za-z0-9_-]*)\s/.exec(before)?.[1] ??
    'value';
  const base = key.toLowerCase().replace(/-/g, '_');
  let name = VARIABLE_NAME.test(base) ? base : 'value';
  // `port` is --server's port (FORMAT §15.4).
  for (let n = 2; taken.has(name) || name === 'port'; n++) name = `${base}_${n}`;
  taken.add(name);
  return name;
}

/**
 * Writes a recording as a transcript.
 * @example recordingText(segmentRecording(chunks, 200), { target: '127.0.0.1:6379' }).lines
 *   // ['>>>! connect 127.0.0.1:6379', '>>> PING', '+PONG']
 */
export function recordingText(
  steps: readonly RecordedStep[],
  options: RecordingTextOptions = {},
): RecordingText {
  const sends = steps.map((step) => new ReceivedLines(sendBytes(step)));
  const replies = steps.map((step) => new ReceivedLines(step.reply));
  // Each line's tokens, found once: for choosing the captures, then for writing their uses.
  const tokensOfLines = (lines: ReceivedLines): Token[][] =>
    Array.from({ length: lines.length }, (_, k) => tokensOf(lines.line(k).bytes));
  const sendTokens = sends.map(tokensOfLines);
  const replyTokens = replies.map(tokensOfLines);

  // Which tokens become captures: a token the server sent before any client did, sent by a client later.
  const known = new Set<string>();
  const offered = new Map<string, { step: number; line: number; start: number; end: number }>();
  const chosen = new Map<string, { step: number; line: number; start: number; end: number }>();
  for (const [s] of steps.entries()) {
    for (const line of sendTokens[s]!) {
      for (const { text } of line) {
        const offer = offered.get(text);
        if (offer !== undefined && !chosen.has(text)) chosen.set(text, offer);
        known.add(text);
      }
    }
    for (const [k, line] of replyTokens[s]!.entries()) {
      for (const t of line) {
        if (!known.has(t.text) && !offered.has(t.text))
          offered.set(t.text, { step: s, line: k, start: t.start, end: t.end });
      }
    }
  }
  const taken = new Set(options.reserved ?? []);
  const captures = [...chosen.entries()]
    .sort(([, a], [, b]) => a.step - b.step || a.line - b.line || a.start - b.start)
    .map(
      ([token, at]): Capture => ({
        token,
        ...at,
        name: nameFor(replies[at.step]!.line(at.line).bytes, at.start, taken),
        dropped: false,
      }),
    );
  const byToken = new Map(captures.map((c) => [c.token, c]));
  /** The captures each reply line takes, by `step:line`. */
  const byLine = new Map<string, Capture[]>();
  for (const c of captures)
    byLine.set(`${c.step}:${c.line}`, [...(byLine.get(`${c.step}:${c.line}`) ?? []), c]);
  const secrets = options.secrets ?? (() => []);

  // Connections by first appearance; one connection needs no name.
  const order = [...new Set(steps.map((step) => step.connection))];
  const names = new Map(order.map((c, i) => [c, order.length === 1 ? 'main' : `conn${i + 1}`]));

  const out: string[] = [];
  if (options.target !== undefined) out.push(`>>>! connect ${options.target}`);
  let current = 'main';
  /** The last step on the current connection has no expected line: a send would join its block. */
  let noReply = false;
  const written: string[] = [];
  const seen = new Set<number>();
  for (const [s, step] of steps.entries()) {
    const name = names.get(step.connection)!;
    const sendsNothing = step.send.length === 0 && step.message === undefined;
    // A switch starts a step that sends nothing, and keeps two sends on one connection apart.
    if (name !== current || (sendsNothing && s > 0) || (!sendsNothing && noReply)) {
      const own = seen.has(step.connection) ? undefined : options.targets?.get(step.connection);
      out.push(own === undefined || own === options.target ? `>>>@${name}` : `>>>@${name} ${own}`);
    }
    seen.add(step.connection);
    current = name;
    // The uses of captures taken by earlier steps.
    const uses = (tokens: readonly Token[]): Span[] => {
      const spans: Span[] = [];
      for (const t of tokens) {
        const c = byToken.get(t.text);
        if (c !== undefined && c.step < s && !c.dropped)
          spans.push({ start: t.start, end: t.end, kind: 'name', name: c.name });
      }
      return spans;
    };
    const send = sends[s]!;
    const message = step.message;
    if (message?.kind === 'handshake') out.push('>>>! handshake');
    if (message?.kind === 'close') out.push(closeDirective(message.code, message.reason));
    // A binary message's block says so (every line of it); an empty one is a line of no bytes.
    const flags = message?.kind === 'binary' ? ['binary'] : [];
    if (message?.kind === 'binary' && send.length === 0) out.push('>>>(binary,no-eol)');
    for (let k = 0; k < send.length; k++) {
      const line = send.line(k);
      const spans = [...secretNames(secrets(line.bytes)), ...uses(sendTokens[s]![k]!)];
      out.push(sendLine(line, ending(send, k), spans, flags));
    }
    const reply = replies[s]!;
    const volatile = reply.length > 0 ? volatileLines(reply) : new Map<number, string>();
    for (let k = 0; k < reply.length; k++) {
      const line = reply.line(k);
      const own = byLine.get(`${s}:${k}`) ?? [];
      const fixed = resolve([
        ...secretNames(secrets(line.bytes)),
        ...own.map((c): Span => ({ start: c.start, end: c.end, kind: 'capture', name: c.name })),
        ...uses(replyTokens[s]![k]!),
      ]);
      const changing = [
        ...headerGap(line, volatile.get(k), fixed),
        ...regexGaps(line.bytes, options.volatile ?? []),
      ];
      // The most patterns that fit, then fewer: without the volatile gaps, without the captures.
      let text = fitting(line, resolve([...fixed, ...changing]), options.fence);
      if (text === null && changing.length > 0) text = fitting(line, fixed, options.fence);
      if (text === null) {
        for (const c of own) c.dropped = true;
        text =
          fitting(
            line,
            fixed.filter((span) => span.kind !== 'capture'),
            options.fence,
          ) ?? writeExpectedLine(line, fenced(options.fence));
      }
      out.push(text);
    }
    for (const c of captures) if (c.step === s && !c.dropped) written.push(c.name);
    noReply = reply.length === 0;
  }
  return { lines: out, steps: steps.length, connections: order.length, captures: written };
}

const LF = 0x0a;

/**
 * The bytes of a step's block, as send lines are cut from them: a stream's as they came; a WebSocket text
 * message's lines each with a CRLF, which the replay's block joins with LF again and drops at the end
 * (FORMAT §14), so `a` LF `b` is `>>> a`, `>>> b` (and a CR before an LF an escaped `\r`).
 */
function sendBytes(step: RecordedStep): Uint8Array {
  const kind = step.message?.kind;
  if (kind === 'close') return new Uint8Array(0);
  if (kind !== 'text') return step.send;
  const parts: Uint8Array[] = [];
  let from = 0;
  const bytes = step.send;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== LF) continue;
    parts.push(bytes.subarray(from, i), CRLF);
    from = i + 1;
  }
  parts.push(bytes.subarray(from), CRLF);
  return Buffer.concat(parts);
}

/**
 * `>>>! close CODE REASON` (just `>>>! close` for 1000 without a reason). A reason the directive cannot
 * hold as written (a control character, spaces at its ends) is left out.
 */
function closeDirective(code: number, reason: string): string {
  const writable = reason !== '' && reason === reason.trim() && isPlainLine(Buffer.from(reason, 'utf8'));
  if (writable) return `>>>! close ${code} ${reason}`;
  return code === 1000 ? '>>>! close' : `>>>! close ${code}`;
}

function fenced(fence: string | undefined): { fence?: string } {
  return fence === undefined ? {} : { fence };
}

function secretNames(spans: readonly SecretSpan[]): Span[] {
  return spans.map(({ start, end, name }) => ({ start, end, kind: 'name', name }));
}

/** Spans in order of priority, without overlaps: the earlier one wins. */
function resolve(spans: readonly Span[]): Span[] {
  const kept: Span[] = [];
  for (const span of spans) {
    if (!kept.some((k) => span.start < k.end && k.start < span.end)) kept.push(span);
  }
  return kept.sort((a, b) => a.start - b.start);
}

/**
 * The gap of a volatile header's value (`Date: ...`). Where a capture or a name stands in the value, the
 * gap starts one character after the last of them, so each keeps a literal end (`session={{s=...}};...`).
 */
function headerGap(line: ReceivedLine, pattern: string | undefined, fixed: readonly Span[]): Span[] {
  if (pattern === undefined) return [];
  let start = Buffer.byteLength(pattern.slice(0, -3), 'utf8');
  const end = line.bytes.length;
  for (const span of fixed) if (span.end > start) start = Math.max(start, span.end + 1);
  return start < end ? [{ start, end, kind: 'gap', name: '' }] : [];
}

/** What each `--volatile` regular expression matches in a line (each group's part, if it has groups). */
function regexGaps(bytes: Uint8Array, regexes: readonly RegExp[]): Span[] {
  if (regexes.length === 0) return [];
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return []; // a line that is not UTF-8 has no text to match
  }
  const offset = (i: number): number => Buffer.byteLength(text.slice(0, i), 'utf8');
  const spans: Span[] = [];
  for (const regex of regexes) {
    const global = new RegExp(regex.source, `${regex.flags.replace(/[gyd]/g, '')}gd`);
    for (const m of text.matchAll(global)) {
      const parts = m.indices!.length > 1 ? m.indices!.slice(1) : [m.indices![0]];
      for (const part of parts) {
        if (part === undefined || part[0] === part[1]) continue;
        spans.push({ start: offset(part[0]), end: offset(part[1]), kind: 'gap', name: '' });
      }
    }
  }
  return spans;
}

/** How send line `k` ends: CRLF (a plain send), LF, or not at all (the last bytes of the block). */
function ending(lines: ReceivedLines, k: number): 'crlf' | 'lf' | 'none' {
  const e = lines.ending(k);
  return e === 2 ? 'crlf' : e === 1 ? 'lf' : 'none';
}

/** A send line: `>>> TEXT`, with flags for another ending, escapes or variables. */
function sendLine(
  line: ReceivedLine,
  end: 'crlf' | 'lf' | 'none',
  spans: readonly Span[],
  extra: readonly string[] = [],
): string {
  const names = resolve(spans);
  const flags: string[] = [...extra];
  let text: string;
  const bytes = Buffer.from(line.bytes.buffer, line.bytes.byteOffset, line.bytes.byteLength);
  if (names.length === 0) {
    const plain = isPlainLine(bytes);
    if (!plain) flags.push('esc');
    text = plain ? bytes.toString('utf8') : formatEscaped(bytes);
  } else {
    const parts: (Buffer | Placeholder)[] = [];
    let from = 0;
    for (const span of names) {
      if (span.start > from) parts.push(bytes.subarray(from, span.start));
      parts.push({ name: span.name, line: 0, column: 0 });
      from = span.end;
    }
    if (from < bytes.length) parts.push(bytes.subarray(from));
    // In a `vars` line `{{` always starts a placeholder: a literal one needs the escape `\x7b{`.
    const esc = parts.some(
      (p, i) =>
        Buffer.isBuffer(p) &&
        (!isPlainLine(p) || p.includes('{{') || (p.at(-1) === 0x7b && parts[i + 1] !== undefined)),
    );
    flags.push(...(esc ? ['esc', 'vars'] : ['vars']));
    text = parts
      .map((p) => {
        if (!Buffer.isBuffer(p)) return `{{${p.name}}}`;
        return esc ? formatEscaped(p).replace(/\{/g, '\\x7b') : p.toString('utf8');
      })
      .join('');
  }
  if (end === 'lf') flags.push('lf');
  if (end === 'none') flags.push('no-eol');
  if (flags.length === 0) return text === '' ? '>>>' : `>>> ${text}`;
  return `>>>(${flags.join(',')})${text === '' ? '' : ` ${text}`}`;
}

/**
 * The line with these spans written as placeholders and gaps, if it reads back as this line (and each
 * capture takes exactly its value); null when it does not.
 */
function fitting(line: ReceivedLine, spans: readonly Span[], fence: string | undefined): string | null {
  if (spans.length === 0) return writeExpectedLine(line, fenced(fence));
  const bytes = line.bytes;
  if (!spans.some((span) => span.kind !== 'name')) {
    // Only names: the `>>>$` line `--update` writes for a secret.
    return writeExpectedLine(line, { ...fenced(fence), secrets: spans });
  }
  const pieces: BytesTemplate[] = [[]];
  const gaps: (string | null)[] = [];
  const values = new Map<string, Uint8Array>();
  let from = 0;
  for (const span of spans) {
    const piece = pieces[pieces.length - 1]!;
    if (span.start > from) piece.push(bytes.subarray(from, span.start));
    from = span.end;
    const value = bytes.subarray(span.start, span.end);
    if (span.kind === 'name') {
      piece.push({ name: span.name, line: 0, column: 0 });
      values.set(span.name, value);
      continue;
    }
    // Two gaps side by side match what one does.
    if (span.kind === 'gap' && piece.length === 0 && gaps.at(-1) === null) continue;
    gaps.push(span.kind === 'capture' ? span.name : null);
    if (span.kind === 'capture') values.set(span.name, value);
    pieces.push([]);
  }
  if (from < bytes.length) pieces[pieces.length - 1]!.push(bytes.subarray(from));
  const item = { kind: 'pattern' as const, pieces, gaps, noEol: !line.eol, line: 0 };
  const candidates = [patternLineText(item)];
  const text = plainGlob(item, fence);
  if (text !== null) candidates.unshift(text);
  for (const candidate of candidates) if (readsBack(candidate, line, values, gaps)) return candidate;
  return null;
}

/**
 * The pattern as a text line with `...` inside (`Date: ...`), where it can be one: no placeholders or
 * captures, printable pieces without `...`, not a line the format reads otherwise.
 */
function plainGlob(
  item: { pieces: BytesTemplate[]; gaps: (string | null)[]; noEol: boolean },
  fence: string | undefined,
): string | null {
  if (item.noEol || item.gaps.some((g) => g !== null)) return null;
  let text = '';
  for (const [k, piece] of item.pieces.entries()) {
    for (const part of piece) {
      if (!(part instanceof Uint8Array) || !isPlainLine(part)) return null;
      text += Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('utf8');
    }
    if (k < item.gaps.length) {
      // `a.` before `...` would read as `a` before `...` and a dot (a run of dots is read from the left).
      if (text.endsWith('.')) return null;
      text += '...';
    }
  }
  if (text === '...' || text.startsWith('>>>')) return null;
  if (fence !== undefined && /^ {0,3}(`{3,}|~{3,})/.test(text)) return null;
  return text;
}

/** Whether `text`, as an expected line, matches `line` completely, each capture taking `values`' value. */
function readsBack(
  text: string,
  line: ReceivedLine,
  values: ReadonlyMap<string, Uint8Array>,
  gaps: readonly (string | null)[],
): boolean {
  let item: ExpectLine;
  try {
    const parsed = parseTranscript(`>>> x\n${text}\n`, 'record').steps[0]?.expect;
    if (parsed?.length !== 1) return false;
    item = renderItem(parsed[0]!, { value: (name) => values.get(name), isSecret: () => false }, 'match');
  } catch {
    return false;
  }
  const matcher = new ReplyMatcher([item]);
  let status = matcher.push(line.eol ? Buffer.concat([line.bytes, CRLF]) : line.bytes);
  if (status === 'pending') status = matcher.end();
  if (status !== 'complete' || matcher.leftover().length > 0) return false;
  const got = evaluateCaptures([item], matcher.captured());
  for (const name of gaps) {
    if (name === null) continue;
    const want = values.get(name)!;
    if (!got.get(name)?.equals(want)) return false;
  }
  return true;
}

const CRLF = Buffer.from('\r\n');
