/**
 * `--update`: rewrites the expected lines of each failing step with what the server sent, keeping every
 * line that still fits. Which lines fit is the alignment's answer (src/alignment.ts, the matcher's own
 * item tests): a line in a `match` or `any` run stays as written (`...`, `>>>~`, `>>>$`, text with
 * `...` inside), a `missing` one goes, and each `extra` received line is written in where it belongs
 * (src/transcript-writer.ts, with the volatile defaults of src/volatile.ts and secrets as `{{name}}`).
 * Comments and directives are never touched; in a Markdown file only lines inside the block change.
 *
 * Each rewritten step is checked before it is written: its new expected lines must match the reply it
 * was made from as a plain check would (src/matcher.ts), so a rewritten file passes. The file keeps
 * its line endings and byte-order mark, and is replaced atomically (a temporary file, then rename).
 */
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ProtodocError } from './errors.js';
import { parseTranscriptFile } from './load.js';
import { ReplyMatcher } from './matcher.js';
import type { StepResult, TranscriptResult } from './results.js';
import type { FailedReply } from './runner.js';
import { parseTranscript } from './transcript.js';
import type { ExpectLine, Transcript } from './transcript-model.js';
import { writeExpectedLine } from './transcript-writer.js';
import type { Variables } from './variables.js';
import { volatileLines } from './volatile.js';

const LF = 0x0a;

/** One line of a file: its text and the line ending after it (`''` for a last line without one). */
interface FileLine {
  text: string;
  eol: string;
}

/** A file as lines, with what must survive a rewrite: its byte-order mark and its line endings. */
export interface FileText {
  path: string;
  bom: boolean;
  lines: FileLine[];
  /** The ending of lines protodoc adds: the file's (CRLF when most of its lines end so). */
  eol: string;
}

/** A failing step of a file, with the transcript it belongs to. */
export interface FileReply {
  transcript: Transcript;
  reply: FailedReply;
}

/**
 * A rewrite of one step: lines `start` to `start + deleteCount - 1` (1-based) are replaced by `lines`;
 * with `deleteCount` 0, `lines` are inserted before line `start`.
 */
export interface StepChange {
  transcript: Transcript;
  /** The step's index in its transcript. */
  index: number;
  /** The step's line (its first `>>>` line, or its first expected line). */
  line: number;
  start: number;
  deleteCount: number;
  /** The new lines; a line kept as it was keeps its own ending (`eol`), a new one takes the file's. */
  lines: { text: string; eol?: string }[];
}

/** A step that cannot be rewritten, and why. */
export interface RefusedStep {
  transcript: Transcript;
  index: number;
  reason: string;
}

/** What `--update` would do to one file. */
export interface FilePlan {
  file: FileText;
  changes: StepChange[];
  refused: RefusedStep[];
}

/** The file cannot be rewritten as a whole (it changed while the transcripts ran, or cannot be read). */
export class UpdateError extends ProtodocError {
  constructor(message: string) {
    super(message, 'PROTODOC_ERR_FILE');
    this.name = 'UpdateError';
  }
}

/** Splits a file into lines, each with its own ending, and notes its byte-order mark. */
export function splitFile(path: string, text: string): FileText {
  const bom = text.charCodeAt(0) === 0xfeff;
  const body = bom ? text.slice(1) : text;
  const lines: FileLine[] = [];
  let crlf = 0;
  let pos = 0;
  while (pos < body.length) {
    const lf = body.indexOf('\n', pos);
    if (lf < 0) {
      lines.push({ text: body.slice(pos), eol: '' });
      break;
    }
    const cr = lf > pos && body.charCodeAt(lf - 1) === 13;
    if (cr) crlf++;
    lines.push({ text: body.slice(pos, cr ? lf - 1 : lf), eol: cr ? '\r\n' : '\n' });
    pos = lf + 1;
  }
  return { path, bom, lines, eol: crlf * 2 > lines.length ? '\r\n' : '\n' };
}

/** The file's text again. */
export function joinFile(file: FileText): string {
  let out = file.bom ? '\uFEFF' : '';
  for (const line of file.lines) out += line.text + line.eol;
  return out;
}

/** Where a transcript's steps are, to tell that the file on disk is still the one that ran. */
function layout(transcript: Transcript): string {
  return JSON.stringify(transcript.steps.map((s) => [s.line, s.sendEnd ?? 0, s.expect.map((e) => e.line)]));
}

/**
 * Whether every transcript that ran is still in the file as it was, in order (`--filter` may have run
 * only some blocks of a Markdown file).
 */
function unchanged(ran: readonly Transcript[], now: readonly Transcript[]): boolean {
  const layouts = now.map(layout);
  let k = 0;
  for (const transcript of ran) {
    const wanted = layout(transcript);
    while (k < layouts.length && layouts[k] !== wanted) k++;
    if (k === layouts.length) return false;
    k++;
  }
  return true;
}

/**
 * Plans the rewrite of one file from its failing steps: reads it, checks that it is still the file the
 * transcripts were parsed from, and works out each step's new lines (or why it cannot have any).
 * @throws {UpdateError} when the file cannot be read or no longer has the transcripts' steps
 */
export async function planFile(
  path: string,
  transcripts: readonly Transcript[],
  replies: readonly FileReply[],
  variables: Variables,
): Promise<FilePlan> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new UpdateError(
      `cannot update ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let again: Transcript[];
  try {
    again = parseTranscriptFile(bytes, path);
  } catch {
    again = [];
  }
  if (!unchanged(transcripts, again)) {
    throw new UpdateError(`cannot update ${path}: it changed while its transcripts ran; nothing was written`);
  }
  const file = splitFile(path, bytes.toString('utf8'));
  const plan: FilePlan = { file, changes: [], refused: [] };
  for (const { transcript, reply } of replies) {
    const change = planStep(file, transcript, reply, variables);
    if (typeof change === 'string') plan.refused.push({ transcript, index: reply.index, reason: change });
    else plan.changes.push(change);
  }
  return plan;
}

/** A step's new lines, or why it has none. */
function planStep(
  file: FileText,
  transcript: Transcript,
  reply: FailedReply,
  variables: Variables,
): StepChange | string {
  const { step, expect, received, alignment } = reply;
  if (alignment.cut !== null) {
    return `the reply is too large to line up with the expected lines (${alignment.lines.length} lines)`;
  }
  const lines = alignment.lines;
  // Secrets are written `{{name}}` line by line: a value across a line break would be written as it is.
  for (const { start, end, name } of variables.secretSpans(lines.bytes)) {
    if (lines.bytes.subarray(start, end).includes(LF)) {
      return `the reply holds the value of secret '${name}' across a line break, which no line can show as {{${name}}}`;
    }
  }
  const n = expect.length;
  const kept = new Array<boolean>(n).fill(false);
  const extras: number[][] = Array.from({ length: n + 1 }, () => []);
  for (const run of alignment.runs) {
    if (run.kind === 'match') for (let k = 0; k < run.count; k++) kept[run.item + k] = true;
    else if (run.kind === 'any') kept[run.item] = true;
    else if (run.kind === 'extra') for (let k = 0; k < run.count; k++) extras[run.item]!.push(run.line + k);
  }

  const indent = ' '.repeat(transcript.block?.indent ?? 0);
  const fence = transcript.block?.fence;
  const volatile = volatileLines(lines);
  const written = (k: number): string => {
    const line = lines.line(k);
    const pattern = volatile.get(k);
    if (pattern !== undefined) return indent + pattern;
    const secrets = variables.secretSpans(line.bytes);
    return indent + writeExpectedLine(line, fence === undefined ? { secrets } : { secrets, fence });
  };
  // What the new lines expect, to check them against the reply they were made from.
  const item = (k: number): ExpectLine => {
    const pattern = volatile.get(k);
    if (pattern !== undefined)
      return parseTranscript(`>>> x\n${pattern}\n`, transcript.path).steps[0]!.expect[0]!;
    const line = lines.line(k);
    return { kind: 'literal', bytes: line.bytes, noEol: !line.eol, line: 0 };
  };
  const items: ExpectLine[] = extras[0]!.map(item);
  for (let i = 0; i < n; i++) {
    if (kept[i]) items.push(expect[i]!);
    for (const k of extras[i + 1]!) items.push(item(k));
  }
  if (!passes(items, received)) {
    return (
      'rewritten, it would still not pass: its lines fit the reply, but matching ends before the reply ' +
      'does (a `...` line ends at its first chance, FORMAT §8.1); write the rest of the reply by hand'
    );
  }

  if (n === 0) {
    // A `>>>?` line is replaced by the reply (an empty one takes it away); otherwise the reply goes
    // right after the block's last send line.
    const unwritten = step.unwritten;
    if (unwritten === undefined && step.sendEnd === undefined)
      return 'a step that sends nothing has no place for a reply';
    return {
      transcript,
      index: reply.index,
      line: step.line,
      start: unwritten ?? step.sendEnd! + 1,
      deleteCount: unwritten === undefined ? 0 : 1,
      lines: extras[0]!.map((k) => ({ text: written(k) })),
    };
  }
  // The lines from the first expected line to the last: expected lines and comments.
  const first = step.expect[0]!.line;
  const last = step.expect[n - 1]!.line;
  const itemAt = new Map(step.expect.map((e, i) => [e.line, i]));
  const out: { text: string; eol?: string }[] = [];
  for (let line = first; line <= last; line++) {
    const i = itemAt.get(line);
    const own = file.lines[line - 1]!;
    if (i === undefined) {
      out.push(own);
      continue;
    }
    if (i === 0) for (const k of extras[0]!) out.push({ text: written(k) });
    if (kept[i]) out.push(own);
    // A received line in place of, or after, item i goes right after its line, before any comment.
    for (const k of extras[i + 1]!) out.push({ text: written(k) });
  }
  return {
    transcript,
    index: reply.index,
    line: step.line,
    start: first,
    deleteCount: last - first + 1,
    lines: out,
  };
}

/** Would these expected lines pass for this reply in a plain check? (Lazily complete, nothing left.) */
function passes(items: readonly ExpectLine[], received: Uint8Array): boolean {
  const matcher = new ReplyMatcher(items);
  let status = received.length > 0 ? matcher.push(received) : matcher.result;
  if (status === 'pending' && matcher.needsSettle) status = matcher.settle();
  return status === 'complete' && matcher.leftover().length === 0;
}

/** `file` with `changes` made (each replacing its own lines; they never overlap), in one pass. */
export function applyChanges(file: FileText, changes: readonly StepChange[]): FileText {
  const sorted = [...changes].sort((a, b) => a.start - b.start);
  const old = file.lines;
  const lines: FileLine[] = [];
  let next = 0; // the next old line (0-based) not yet copied
  for (const change of sorted) {
    const at = change.start - 1;
    while (next < at) lines.push(old[next++]!);
    const lastOld = change.deleteCount > 0 ? old[at + change.deleteCount - 1] : undefined;
    next = at + change.deleteCount;
    const added = change.lines.map((l): FileLine => ({ text: l.text, eol: l.eol || file.eol }));
    if (added.length > 0 && next === old.length) {
      // At the end of the file, its final newline (or its absence) stays as it was.
      const before = lastOld ?? lines[lines.length - 1];
      if (before !== undefined && before.eol === '') {
        added[added.length - 1]!.eol = '';
        if (lastOld === undefined) lines[lines.length - 1] = { ...before, eol: file.eol };
      }
    }
    for (const line of added) lines.push(line);
  }
  while (next < old.length) lines.push(old[next++]!);
  return { ...file, lines };
}

/**
 * The change as a unified diff of the file (`--- PATH`, `+++ PATH`, one hunk with 3 lines of context):
 * what `-i` shows before it asks.
 */
export async function formatChange(file: FileText, change: StepChange): Promise<string> {
  const { structuredPatch, formatPatch, FILE_HEADERS_ONLY } = await import('diff');
  const context = 3;
  const from = Math.max(0, change.start - 1 - context);
  const to = Math.min(file.lines.length, change.start - 1 + change.deleteCount + context);
  const before = file.lines.slice(from, change.start - 1).map((l) => l.text);
  const after = file.lines.slice(change.start - 1 + change.deleteCount, to).map((l) => l.text);
  const old = file.lines.slice(change.start - 1, change.start - 1 + change.deleteCount).map((l) => l.text);
  const text = (lines: string[]): string => lines.map((l) => `${l}\n`).join('');
  const patch = structuredPatch(
    file.path,
    file.path,
    text([...before, ...old, ...after]),
    text([...before, ...change.lines.map((l) => l.text), ...after]),
    undefined,
    undefined,
    { context },
  );
  for (const hunk of patch.hunks) {
    hunk.oldStart += from;
    hunk.newStart += from;
  }
  return formatPatch({ ...patch, oldHeader: undefined, newHeader: undefined }, FILE_HEADERS_ONLY);
}

/**
 * Replaces the file at `path` with `text` atomically: a temporary file beside it (with the old file's
 * permissions), flushed to disk, then renamed over it, so a crash leaves the old file or the new one,
 * never half of one. For a file that does not exist yet, `mode` is used (`record` writes new files).
 */
export async function writeFileAtomically(path: string, text: string, mode = 0o644): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.protodoc-${process.pid}-${Date.now()}.tmp`);
  const kept = await stat(path).then(
    (info) => info.mode & 0o7777,
    () => mode,
  );
  const handle = await open(temp, 'wx', kept);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}

/** What `-i` is asked about each change: the step, its failure, and the change as a diff of the file. */
export interface ChangeToDecide {
  path: string;
  step: StepResult;
  /** The change as a unified diff of the file (see {@link formatChange}). */
  diff: string;
}

/** An answer of `-i`: write the change, leave it, or stop (write what was accepted, run nothing more). */
export type Decision = 'accept' | 'skip' | 'quit';

/** Why a failing step that was not handed over for rewriting cannot be. */
function notUpdatable(step: StepResult): string {
  switch (step.failure?.reason) {
    case 'timeout':
    case 'unsettled':
      return 'the reply never went quiet';
    case 'closed':
    case 'reset':
      return 'the connection was gone';
    case 'leftover':
      return 'bytes came after the last step';
    case 'unbound':
      return 'a variable had no value';
    default:
      return 'the rest of the transcript could not run';
  }
}

/**
 * Rewrites one file after its transcripts ran under `--update`: plans each failing step's new lines,
 * asks `decide` (if given) about each, writes the accepted ones atomically, and marks the results
 * (`updated`, `notUpdated`).
 * @returns how many steps were written, how many failing steps were not, and whether to stop (`quit`)
 */
export async function updateFile(
  path: string,
  transcripts: readonly Transcript[],
  results: readonly TranscriptResult[],
  replies: readonly FileReply[],
  variables: Variables,
  decide?: (change: ChangeToDecide) => Promise<Decision>,
): Promise<{ written: number; failed: number; quit: boolean }> {
  // Step results by transcript and index (a file may have thousands of failing steps).
  const byTranscript = new Map<Transcript, Map<number, StepResult>>();
  for (const [t, transcript] of transcripts.entries()) {
    byTranscript.set(transcript, new Map(results[t]?.steps.map((step) => [step.index, step])));
  }
  const stepOf = (transcript: Transcript, index: number): StepResult | undefined =>
    byTranscript.get(transcript)?.get(index);
  let plan: FilePlan | null = null;
  if (replies.length > 0) {
    try {
      plan = await planFile(path, transcripts, replies, variables);
    } catch (err) {
      if (!(err instanceof UpdateError)) throw err;
      for (const { transcript, reply } of replies) {
        const step = stepOf(transcript, reply.index);
        if (step !== undefined) step.notUpdated = err.message;
      }
    }
  }
  for (const refused of plan?.refused ?? []) {
    const step = stepOf(refused.transcript, refused.index);
    if (step !== undefined) step.notUpdated = refused.reason;
  }
  const accepted: StepChange[] = [];
  let quit = false;
  for (const change of plan?.changes ?? []) {
    const step = stepOf(change.transcript, change.index)!;
    const answer: Decision = quit
      ? 'skip'
      : decide === undefined
        ? 'accept'
        : await decide({ path, step, diff: await formatChange(plan!.file, change) });
    if (answer === 'quit') quit = true;
    if (answer === 'accept') accepted.push(change);
    else step.notUpdated = 'skipped';
  }
  if (plan !== null && accepted.length > 0) {
    try {
      await writeFileAtomically(path, joinFile(applyChanges(plan.file, accepted)));
      for (const change of accepted) stepOf(change.transcript, change.index)!.updated = true;
    } catch (err) {
      // A directory that cannot be written, a full disk: said at each step; the file is as it was.
      const why = `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      for (const change of accepted) stepOf(change.transcript, change.index)!.notUpdated = why;
      accepted.length = 0;
    }
  }
  let failed = 0;
  for (const result of results) {
    if (result.status === 'error') failed++;
    for (const step of result.steps) {
      if (step.status !== 'failed' || step.updated) continue;
      step.notUpdated ??= notUpdatable(step);
      failed++;
    }
  }
  return { written: accepted.length, failed, quit };
}
