/**
 * Templates: `{{name}}` placeholders in the lines that opt into substitution (`>>>(vars)` sends, `>>>$`
 * lines, `>>>~(vars)` lines; FORMAT §15), found when a transcript is parsed and rendered with the values
 * of the variables when a step runs. A value is always literal: bytes in a send or a `>>>$` line (never
 * read as `...`, never as an escape), a regular expression's escaped text in a `>>>~` line.
 *
 * The step loop (src/runner.ts) only asks {@link renderStep} for a step's bytes and expected lines; which
 * values there are and which of them are secret is src/variables.ts's business.
 */
import type { BytesTemplate, ExpectLine, Placeholder, Step } from './transcript-model.js';

/** What a variable's name may be: letters, digits and `_`, not starting with a digit. */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One piece of a line that may hold placeholders, by offset in the text given to {@link tokenize}. */
export type TemplateToken =
  /** Literal text (escapes, where the line has them, not yet decoded). */
  | { kind: 'text'; text: string; offset: number }
  /** `{{name}}`. */
  | { kind: 'var'; name: string; offset: number }
  /** In a `>>>$` line: `...` (`capture` null) or `{{name=...}}`. */
  | { kind: 'gap'; capture: string | null; offset: number };

/** A malformed placeholder; `offset` is where it starts in the text given to {@link tokenize}. */
export class TemplateError extends Error {
  readonly offset: number;
  constructor(offset: number, reason: string) {
    super(reason);
    this.name = 'TemplateError';
    this.offset = offset;
  }
}

/**
 * Splits a line into literal text, `{{name}}` placeholders and, with `gaps` (a `>>>$` line), the `...`
 * and `{{name=...}}` gaps. Spaces inside the braces are allowed (`{{ name }}`). A `{{` that does not
 * start a well-formed placeholder is an error: in these lines `{{` always means a placeholder (write a
 * literal one as `\x7b{` where escapes apply, `\{\{` in a regular expression).
 * @throws {TemplateError}
 * @example tokenize('delete {{job}}', false) // [{ kind: 'text', text: 'delete ', ... }, { kind: 'var', name: 'job', ... }]
 */
export function tokenize(text: string, gaps: boolean): TemplateToken[] {
  const tokens: TemplateToken[] = [];
  let runStart = 0;
  let i = 0;
  const flush = (end: number): void => {
    if (end > runStart) tokens.push({ kind: 'text', text: text.slice(runStart, end), offset: runStart });
  };
  while (i < text.length) {
    if (gaps && text.startsWith('...', i)) {
      flush(i);
      tokens.push({ kind: 'gap', capture: null, offset: i });
      i += 3;
      runStart = i;
      continue;
    }
    if (!text.startsWith('{{', i)) {
      i++;
      continue;
    }
    const close = text.indexOf('}}', i + 2);
    if (close < 0) throw new TemplateError(i, "unterminated placeholder: '{{' without '}}'");
    const body = text.slice(i + 2, close);
    const eq = body.indexOf('=');
    const name = (eq < 0 ? body : body.slice(0, eq)).trim();
    if (!VARIABLE_NAME.test(name)) {
      throw new TemplateError(
        i,
        name === ''
          ? "empty placeholder: write '{{NAME}}'"
          : `invalid variable name '${name}': use letters, digits and '_', not starting with a digit`,
      );
    }
    flush(i);
    if (eq < 0) {
      tokens.push({ kind: 'var', name, offset: i });
    } else {
      if (!gaps) {
        throw new TemplateError(
          i,
          `'{{${name}=...}}' captures only in a '>>>$' line; here write '{{${name}}}'`,
        );
      }
      if (body.slice(eq + 1).trim() !== '...') {
        throw new TemplateError(i, `a capture is written '{{${name}=...}}'`);
      }
      tokens.push({ kind: 'gap', capture: name, offset: i });
    }
    i = close + 2;
    runStart = i;
  }
  flush(text.length);
  return tokens;
}

/** What rendering needs to know about the variables (src/variables.ts's VariableScope). */
export interface VariableLookup {
  /** The variable's value as bytes, or undefined when it is not defined (yet). */
  value(name: string): Uint8Array | undefined;
  /** Whether the value must never be shown (`--secret`). */
  isSecret(name: string): boolean;
}

/**
 * How a connection's received lines show bytes, so that a value can be put into an expected line as the
 * line shows it, and a value taken from a line (a capture) be the bytes it stands for: as they are over
 * a byte stream and HTTP ({@link AS_BYTES}); in the notation of escapes on a WebSocket, whose line shows
 * a message's backslash as `\\` and its line feed as `\n` (FORMAT §14).
 */
export interface LineNotation {
  /** The value as a line shows it. */
  show(value: Uint8Array): Uint8Array;
  /** What a line shows, as the bytes it stands for. */
  read(shown: Uint8Array): Uint8Array;
}

/** Lines that are the received bytes themselves (tcp, tls, unix, HTTP). */
export const AS_BYTES: LineNotation = { show: (value) => value, read: (shown) => shown };

/** A placeholder whose variable has no value when its step runs (possible only under `--update`). */
export class UnboundVariableError extends Error {
  readonly placeholder: Placeholder;
  constructor(placeholder: Placeholder) {
    super(`'{{${placeholder.name}}}' has no value: the step that captures it did not match`);
    this.name = 'UnboundVariableError';
    this.placeholder = placeholder;
  }
}

function isPlaceholder(part: Uint8Array | string | Placeholder): part is Placeholder {
  return typeof part === 'object' && !(part instanceof Uint8Array);
}

function valueFor(vars: VariableLookup, p: Placeholder): Uint8Array {
  const value = vars.value(p.name);
  if (value === undefined) throw new UnboundVariableError(p);
  return value;
}

/** A send block or `>>>$` piece with every placeholder replaced by its value. */
export function renderBytes(template: BytesTemplate, vars: VariableLookup): Buffer {
  const parts: Uint8Array[] = [];
  for (const part of template) parts.push(isPlaceholder(part) ? valueFor(vars, part) : part);
  return Buffer.concat(parts);
}

const REGEX_SYNTAX = /[\\^$.*+?()[\]{}|/]/g;
const utf8 = new TextDecoder();

/** A value as regular-expression source that matches exactly its text (with the `u` flag). */
export function escapeRegex(value: Uint8Array): string {
  return utf8.decode(value).replace(REGEX_SYNTAX, '\\$&');
}

/** A report shows a secret's placeholder, and one without a value (a step that could not render), as such. */
function shownAsPlaceholder(vars: VariableLookup, p: Placeholder): boolean {
  return vars.isSecret(p.name) || vars.value(p.name) === undefined;
}

/** The bytes a placeholder compiles to where its value must not be known: its own text, `{{name}}`. */
export function placeholderText(p: Placeholder): Buffer {
  return Buffer.from(`{{${p.name}}}`, 'utf8');
}

/**
 * How an expected line renders: `match` with every value, for matching and `--update`; `display` with
 * every value but the secret ones, which stay placeholders (a report shows `{{name}}`, and what it is
 * compared with, the received bytes, shows `{{name}}` where the secret's bytes were: src/variables.ts).
 */
export type RenderMode = 'match' | 'display';

/**
 * One expected line with its placeholders rendered (lines without any come back as they are), each value
 * as the connection's lines show it (`notation`).
 */
export function renderItem(
  item: ExpectLine,
  vars: VariableLookup,
  mode: RenderMode,
  notation: LineNotation = AS_BYTES,
): ExpectLine {
  if (item.kind === 'regex' && item.template !== undefined) {
    let source = '';
    for (const part of item.template) {
      if (!isPlaceholder(part)) source += part;
      else if (mode === 'display' && shownAsPlaceholder(vars, part))
        source += escapeRegex(placeholderText(part));
      else source += escapeRegex(notation.show(valueFor(vars, part)));
    }
    const { template: _, ...rest } = item;
    return { ...rest, source };
  }
  if (item.kind === 'pattern') {
    const pieces = item.pieces.map((piece): BytesTemplate => {
      if (!piece.some(isPlaceholder)) return piece;
      const out: BytesTemplate = [];
      for (const part of piece) {
        if (!isPlaceholder(part)) out.push(part);
        else if (mode === 'display' && shownAsPlaceholder(vars, part)) out.push(part);
        else out.push(notation.show(valueFor(vars, part)));
      }
      return out;
    });
    return { ...item, pieces };
  }
  return item;
}

/** A step as it is sent and matched now: its bytes and expected lines with the current values. */
export interface RenderedStep {
  send: Uint8Array;
  expect: ExpectLine[];
}

/**
 * Renders a step that has placeholders (`step.uses`).
 * @throws {UnboundVariableError} when a variable has no value (only under `--update`, where a step that
 *   captures may fail and the run goes on; otherwise every use was checked before anything was sent)
 */
export function renderStep(
  step: Step,
  vars: VariableLookup,
  notation: LineNotation = AS_BYTES,
): RenderedStep {
  return {
    // A send is bytes: a value goes out as itself, whatever the lines show.
    send: step.sendTemplate === undefined ? step.send : renderBytes(step.sendTemplate, vars),
    expect: step.expect.map((item) => renderItem(item, vars, 'match', notation)),
  };
}

/** The expected lines as a report shows them: values in (as the lines show them), secrets as `{{name}}`. */
export function displayExpect(
  step: Step,
  vars: VariableLookup,
  notation: LineNotation = AS_BYTES,
): ExpectLine[] {
  return step.expect.map((item) => renderItem(item, vars, 'display', notation));
}

/** Where a secret's value lies in some bytes (src/variables.ts `secretSpans`). */
export interface SecretSpan {
  start: number;
  end: number;
  name: string;
}

/** Where secret values lie in some bytes (src/variables.ts `secretSpans`). */
export type SecretFinder = (bytes: Uint8Array) => SecretSpan[];

/** `bytes` as a template with each secret's value (in order, not overlapping) a placeholder for it. */
export function withPlaceholders(bytes: Uint8Array, spans: readonly SecretSpan[], line = 0): BytesTemplate {
  const piece: BytesTemplate = [];
  let from = 0;
  for (const { start, end, name } of spans) {
    if (start > from) piece.push(bytes.subarray(from, start));
    piece.push({ name, line, column: 0 });
    from = end;
  }
  if (from < bytes.length) piece.push(bytes.subarray(from));
  return piece;
}

/** Regular-expression syntax that a `\\` makes literal: a secret may be written escaped (`a\\.b`). */
const ESCAPABLE = new Set([...'\\^$.*+?()[]{}|/-'].map((c) => c.charCodeAt(0)));

/**
 * A `>>>~` line's source with each secret's value, written as is or with regular-expression escapes,
 * as the regular expression `\{\{name\}\}`: what the redacted received line then shows, and matches.
 */
function hideInRegex(source: string, find: SecretFinder): string {
  const bytes = Buffer.from(source, 'utf8');
  // The source with its escapes of syntax characters undone, and where each byte of it came from.
  const plain: number[] = [];
  const from: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const escaped = bytes[i] === 0x5c && i + 1 < bytes.length && ESCAPABLE.has(bytes[i + 1]!);
    from.push(i);
    plain.push(bytes[escaped ? ++i : i]!);
  }
  from.push(bytes.length);
  const spans = find(Uint8Array.from(plain));
  if (spans.length === 0) return source;
  const parts: Buffer[] = [];
  let at = 0;
  for (const { start, end, name } of spans) {
    parts.push(
      bytes.subarray(at, from[start]!),
      Buffer.from(escapeRegex(placeholderText({ name, line: 0, column: 0 }))),
    );
    at = from[end]!;
  }
  parts.push(bytes.subarray(at));
  return Buffer.concat(parts).toString('utf8');
}

/**
 * An expected line as a report shows it when secrets are about: a text or `>>>=` line that holds a
 * secret's value as written becomes the `>>>$` line that shows `{{name}}` there instead, as the received
 * bytes do (and lines up with them the same way); in a `>>>~` line the value, as written or escaped, is
 * `\{\{name\}\}`. Other lines come back as they are.
 */
export function hideSecrets(item: ExpectLine, find: SecretFinder): ExpectLine {
  if (item.kind === 'regex') {
    const source = hideInRegex(item.source, find);
    return source === item.source ? item : { ...item, source };
  }
  let pieces: Uint8Array[];
  if (item.kind === 'text') pieces = item.text.split('...').map((piece) => Buffer.from(piece, 'utf8'));
  else if (item.kind === 'literal') pieces = [item.bytes];
  else return item;
  let hidden = false;
  const out = pieces.map((bytes): BytesTemplate => {
    const spans = find(bytes);
    if (spans.length === 0) return [bytes];
    hidden = true;
    return withPlaceholders(bytes, spans, item.line);
  });
  if (!hidden) return item;
  const flags =
    item.kind === 'literal'
      ? { noEol: item.noEol, ...(item.eol === undefined ? {} : { eol: item.eol }) }
      : { noEol: false };
  return { kind: 'pattern', pieces: out, gaps: out.slice(1).map(() => null), ...flags, line: item.line };
}
