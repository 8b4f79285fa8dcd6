/**
 * Transcript text → {@link Transcript}: steps (a send block and the reply expected to it) with source lines.
 * The fixed rules (`>>> TEXT`, expected lines, `...`) come from doctest; every added construct is a line that
 * starts with `>>>` and a character other than a space, so it cannot change what a plain transcript means.
 * FORMAT.md is the specification; keep the two in step.
 */
import { durationMs } from './duration.js';
import { MAX_SYNTAX_ERRORS, TranscriptParseError, TranscriptSyntaxError } from './errors.js';
import { decodeEscapes, EscapeError } from './escapes.js';
import { TemplateError, type TemplateToken, tokenize, VARIABLE_NAME } from './template.js';
import { recordStepFacts } from './transcript-facts.js';
import type {
  BytesTemplate,
  ConnectionDecl,
  ExpectLine,
  LineEnding,
  Placeholder,
  Step,
  Transcript,
} from './transcript-model.js';
import { DEFAULT_CONNECTION } from './transcript-model.js';

const CRLF = Buffer.from('\r\n');
const LF = Buffer.from('\n');
const EMPTY = new Uint8Array(0);
const CONNECTION_NAME = /^[A-Za-z0-9_-]+$/;

/** A line of the file that is not UTF-8: where its first bad byte is, and the byte. */
export interface InvalidUtf8 {
  column: number;
  byte: number;
}

/**
 * The syntax errors of one file, collected while it is parsed (a Markdown file's blocks share one):
 * at most MAX_SYNTAX_ERRORS are kept, the rest counted.
 */
export class SyntaxErrors {
  readonly path: string;
  /** Lines of the file that are not UTF-8, by line number: reported instead of being parsed. */
  readonly invalid: ReadonlyMap<number, InvalidUtf8> | null;
  private readonly errors: TranscriptSyntaxError[] = [];
  private omitted = 0;

  constructor(path: string, invalid: ReadonlyMap<number, InvalidUtf8> | null = null) {
    this.path = path;
    this.invalid = invalid;
  }

  /** Errors found so far, shown or not. */
  get count(): number {
    return this.errors.length + this.omitted;
  }

  add(err: TranscriptSyntaxError): void {
    if (this.errors.length < MAX_SYNTAX_ERRORS) this.errors.push(err);
    else this.omitted++;
  }

  /** @throws {TranscriptParseError} when any error was found */
  throwIfAny(): void {
    if (this.errors.length === 0) return;
    const omitted = this.omitted > 0 ? [{ file: this.path, count: this.omitted }] : [];
    throw new TranscriptParseError(this.errors, omitted);
  }
}

/**
 * Parses a transcript.
 * @param text the file's contents; CRLF file line endings are accepted, a leading BOM is ignored.
 * @param path the path as the user gave it, used in error messages and results.
 * @throws {TranscriptParseError} `PROTODOC_ERR_SYNTAX`: every syntax error (at most 20), each a
 *   TranscriptSyntaxError with the message `PATH:LINE:COL: reason`; a transcript without any step is one
 *   at `PATH:1:1`.
 * @example parseTranscript('>>> PING\n+PONG\n', 'ping.txt').steps[0].expect // [{ kind: 'text', text: '+PONG', line: 2 }]
 */
export function parseTranscript(text: string, path: string): Transcript {
  return parseTranscriptText(text, new SyntaxErrors(path));
}

/** {@link parseTranscript} with the file's error list (which knows the lines that are not UTF-8). */
export function parseTranscriptText(text: string, errors: SyntaxErrors): Transcript {
  const parser = new Parser(errors);
  parser.text(text);
  const transcript = parser.finish(1, 'transcript');
  errors.throwIfAny();
  return transcript;
}

/**
 * Splits a file into its lines. The final newline only ends the last line (`hello\n` is one line,
 * `hello\n\n` is `hello` and an empty line); a CR before each LF is dropped.
 */
export function splitLines(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
  }
  return lines;
}

/**
 * Parses the lines of a Markdown file's protodoc block; `firstLine` is the file line number of
 * `lines[0]`, the block's opening fence the line before. Errors go to `errors` (thrown by the caller,
 * once every block of the file is parsed).
 */
export function parseBlockLines(
  lines: readonly string[],
  firstLine: number,
  errors: SyntaxErrors,
): Transcript {
  const parser = new Parser(errors);
  for (let i = 0; i < lines.length; i++) parser.line(lines[i]!, firstLine + i);
  return parser.finish(firstLine - 1, 'protodoc block');
}

interface SendFlags {
  esc: boolean;
  ending: Uint8Array;
}

/** The flags that pin an expected line's ending; at most one of them. */
const ENDING_FLAGS = ['no-eol', 'crlf', 'lf'];

interface ExpectFlags {
  noEol: boolean;
  eol?: LineEnding;
}

class Parser {
  private readonly path: string;
  private readonly errors: SyntaxErrors;
  private readonly invalid: ReadonlyMap<number, InvalidUtf8> | null;
  private readonly transcript: Transcript;
  private connection = DEFAULT_CONNECTION;
  /** The step lines are being added to; null after a connection switch or directive ends it. */
  private current: Step | null = null;
  /** The current step is still taking send lines (no expected line yet). */
  private sending = false;
  /**
   * The current step's send lines when it has more than one, joined once the block ends. A step with
   * one send line (the common case) takes that line's bytes as they are: no list, no copy.
   */
  private moreSends: Uint8Array[] | null = null;
  /** The current block as bytes and placeholders, once a `>>>(vars)` line is in it. */
  private sendParts: BytesTemplate | null = null;
  /** Header directives are only allowed until the first step or connection switch. */
  private inHeader = true;
  /** `>>>! starttls` waiting for the next step of a connection: name → servername and directive line. */
  private readonly pendingTls = new Map<string, { servername?: string; line: number }>();
  /** Line number of a `no-eol` expected line in the current step: nothing may follow it. */
  private noEolLine = 0;
  /** Connections by name (the same objects as `transcript.connections`). */
  private readonly decls = new Map<string, ConnectionDecl>();
  /**
   * Bytes of each distinct `>>> TEXT` line, keyed by the whole line: a transcript repeats its commands,
   * and each is encoded once. Steps share these buffers; nothing writes into a step's `send`.
   */
  private readonly sendCache = new Map<string, Uint8Array>();
  /** The last `>>> ` line, and its bytes; a line never holds a LF, so none is this at first. */
  private lastSend = '\n';
  private lastSendBytes: Uint8Array = EMPTY;
  /** The connection of the last step, already in `decls`. */
  private declared = '';
  /**
   * What the steps use, recorded as each step gets it (src/transcript-facts.ts): the connections in the
   * order of their first step, and whether a step uses variables, is special, or is WebSocket-only.
   */
  private readonly used: string[] = [];
  private variables = false;
  private specialStep = false;
  private webSocket = false;

  constructor(errors: SyntaxErrors) {
    this.path = errors.path;
    this.errors = errors;
    this.invalid = errors.invalid;
    this.transcript = { path: this.path, connections: [], steps: [] };
    this.errorsBefore = errors.count;
  }

  /** Errors of the file before this transcript (an earlier block of a Markdown file). */
  private readonly errorsBefore: number;

  private fail(line: number, column: number, reason: string): never {
    throw new TranscriptSyntaxError(this.path, line, column, reason);
  }

  /**
   * Parses a whole file's text: the same lines as splitLines gives, without holding them all in an array.
   *
   * The base rules' two lines in a run of them (`>>> PING` again, then `+PONG`) are handled in this loop,
   * without calls: V8 optimizes the loop while it runs (on the stack) with everything it calls inlined,
   * and this path alone compiles to a fraction of the whole parser (whose on-stack compile took 9-14 ms of
   * a cold process's compiling for 10,000 steps); nor does a method per line get hot and compiled beside
   * it. Any other line, or any state this path does not keep, takes {@link line}: the same steps.
   */
  text(text: string): void {
    const end = text.length;
    let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
    // The two lines before this one. A transcript repeats its lines (a command and its reply, `>>> PING`
    // and `+PONG` 10,000 times): a line equal to one of them is that same string again, not a new copy
    // (V8 copies a slice shorter than 13 characters), so the steps share it and `===` on it is one compare.
    let before = '';
    let last = '';
    const plain = this.invalid === null;
    for (let n = 1; pos < end; n++) {
      let lf = text.indexOf('\n', pos);
      if (lf < 0) lf = end;
      const stop = lf > pos && text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf;
      const length = stop - pos;
      let line: string;
      if (length === before.length && text.startsWith(before, pos)) line = before;
      else if (length === last.length && text.startsWith(last, pos)) line = last;
      else line = text.slice(pos, stop);
      before = last;
      last = line;
      pos = lf + 1;
      if (plain && this.moreSends === null && this.sendParts === null) {
        const current = this.current;
        if (line === this.lastSend) {
          // A new step sending the same line as the last `>>> ` line: newStep and send, as they would.
          if (!this.sending && this.connection === this.declared && this.pendingTls.size === 0) {
            const step: Step = {
              connection: this.connection,
              send: this.lastSendBytes,
              line: n,
              expect: [],
              sendEnd: n,
            };
            this.inHeader = false;
            this.noEolLine = 0;
            this.transcript.steps.push(step);
            this.current = step;
            this.sending = true;
            continue;
          }
        } else if (current !== null && this.noEolLine === 0 && line.charCodeAt(0) !== 62 && line !== '...') {
          // An expected text line of the current step (`>` starts no expected line here: `>>>` may follow).
          const item: ExpectLine = { kind: 'text', text: line, line: n };
          this.sending = false;
          if (current.expect.length === 0) current.expect = [item];
          else current.expect.push(item);
          continue;
        }
      }
      this.line(line, n);
    }
  }

  /** Parses one line; a line with a syntax error is reported and otherwise skipped, and parsing goes on. */
  line(text: string, n: number): void {
    try {
      const bad = this.invalid?.get(n);
      if (bad !== undefined) {
        const { column, byte } = bad;
        this.fail(
          n,
          column,
          `invalid UTF-8 (byte 0x${byte.toString(16).padStart(2, '0')}): a transcript is UTF-8 text; ` +
            "write other bytes as \\xHH in a '>>>(esc)' or '>>>=' line",
        );
      }
      this.parseLine(text, n);
    } catch (err) {
      if (!(err instanceof TranscriptSyntaxError)) throw err;
      this.errors.add(err);
    }
  }

  private parseLine(text: string, n: number): void {
    if (!text.startsWith('>>>')) {
      this.expect(text === '...' ? { kind: 'any-lines', line: n } : { kind: 'text', text, line: n }, n);
      return;
    }
    if (text.length === 3) {
      this.send(CRLF, n);
      return;
    }
    const marker = text[3]!;
    switch (marker) {
      case ' ':
        // The same command many times in a row (a benchmark, a polling loop) skips even the Map.
        this.send(text === this.lastSend ? this.lastSendBytes : this.sendBytes(text), n);
        break;
      case '#':
        break;
      case '!':
        this.directive(text, n);
        break;
      case '@':
        this.switchConnection(text, n);
        break;
      case '(':
        this.flaggedSend(text, n);
        break;
      case '=':
      case '~':
      case '$':
        this.special(text, n, marker);
        break;
      case '?':
        this.unwrittenReply(text, n);
        break;
      default:
        this.fail(n, 4, `unknown line type '>>>${marker}'`);
    }
  }

  /** The bytes a `>>> TEXT` line sends, encoded once per distinct line. */
  private sendBytes(text: string): Uint8Array {
    let bytes = this.sendCache.get(text);
    if (bytes === undefined) {
      bytes = Buffer.from(`${text.slice(4)}\r\n`, 'utf8');
      this.sendCache.set(text, bytes);
    }
    this.lastSend = text;
    this.lastSendBytes = bytes;
    return bytes;
  }

  private connectionDecl(name: string, line: number): ConnectionDecl {
    let decl = this.decls.get(name);
    if (!decl) {
      decl = { name, line };
      this.addDecl(decl);
    }
    return decl;
  }

  private addDecl(decl: ConnectionDecl): void {
    this.decls.set(decl.name, decl);
    this.transcript.connections.push(decl);
  }

  /** Starts a step on the current connection, taking a pending `starttls` for it. */
  private newStep(line: number, sending: boolean): Step {
    this.joinSends();
    this.inHeader = false;
    this.noEolLine = 0;
    if (this.connection !== this.declared) {
      this.connectionDecl(this.connection, line);
      this.declared = this.connection;
      if (!this.used.includes(this.connection)) this.used.push(this.connection);
    }
    // A step that sends has its last send line from the start: one object shape, set in the literal.
    const step: Step = sending
      ? { connection: this.connection, send: EMPTY, line, expect: [], sendEnd: line }
      : { connection: this.connection, send: EMPTY, line, expect: [] };
    if (this.pendingTls.size > 0) {
      const tls = this.pendingTls.get(this.connection);
      if (tls) {
        step.startTls = tls.servername === undefined ? {} : { servername: tls.servername };
        this.pendingTls.delete(this.connection);
      }
    }
    this.transcript.steps.push(step);
    this.current = step;
    this.sending = sending;
    return step;
  }

  /** The step a send line joins: the current block's, or a new one (a `close` step takes no send lines). */
  private sendingStep(n: number): Step {
    const current = this.current;
    return current !== null && this.sending && current.close === undefined ? current : this.newStep(n, true);
  }

  private send(bytes: Uint8Array, n: number): void {
    const step = this.sendingStep(n);
    step.sendEnd = n;
    if (this.sendParts !== null) this.sendParts.push(bytes);
    else if (this.moreSends !== null) this.moreSends.push(bytes);
    else if (step.send === EMPTY) step.send = bytes;
    else this.moreSends = [step.send, bytes];
  }

  /** A `>>>(vars)` line: from here on the block is a template, rendered when the step runs. */
  private sendTemplated(parts: BytesTemplate, n: number): void {
    const step = this.sendingStep(n);
    step.sendEnd = n;
    if (this.sendParts === null) {
      this.sendParts = this.moreSends ?? (step.send === EMPTY ? [] : [step.send]);
      this.moreSends = null;
      step.send = EMPTY;
    }
    for (const part of parts) {
      this.sendParts.push(part);
      if (!(part instanceof Uint8Array)) this.use(step, part);
    }
  }

  /** The current send block is over: join its lines into one buffer, so the runner writes once. */
  private joinSends(): void {
    if (this.sendParts !== null) {
      this.current!.sendTemplate = this.sendParts;
      this.sendParts = null;
      return;
    }
    if (this.moreSends === null) return;
    this.current!.send = Buffer.concat(this.moreSends);
    this.moreSends = null;
  }

  private use(step: Step, placeholder: Placeholder): void {
    this.variables = true;
    if (step.uses === undefined) step.uses = [placeholder];
    else step.uses.push(placeholder);
  }

  /** A capture of the step's reply; a name captured twice in one reply is an error. */
  private capture(step: Step, name: string, n: number, col: number): void {
    const earlier = step.captures?.find((c) => c.name === name);
    if (earlier !== undefined) {
      this.fail(n, col, `'${name}' is already captured by line ${earlier.line} of this reply`);
    }
    this.specialStep = true;
    if (step.captures === undefined) step.captures = [{ name, line: n }];
    else step.captures.push({ name, line: n });
  }

  private expect(item: ExpectLine, n: number): void {
    if (this.noEolLine) {
      const noEol = this.noEolLine;
      // Said once per reply: the lines after this one are not reported again.
      this.noEolLine = 0;
      this.fail(n, 1, `no expected line may follow the no-eol line ${noEol} in the same reply`);
    }
    const step = this.current ?? this.newStep(n, false);
    if (this.sending) {
      this.joinSends();
      this.sending = false;
    }
    // A first push into `[]` reserves room for 17 items; most replies have one or two lines, and every
    // byte of a parsed transcript survives the young-generation GCs that run while it is parsed.
    if (step.expect.length === 0) step.expect = [item];
    else step.expect.push(item);
    if ((item.kind === 'literal' || item.kind === 'regex') && item.noEol) this.noEolLine = n;
  }

  /** `>>>?`: the current block's reply (or, after a switch, the connection's next reply) is not written yet. */
  private unwrittenReply(text: string, n: number): void {
    if (text.slice(4).trim() !== '') {
      this.fail(n, 5, "'>>>?' stands alone on its line: it marks a reply that is not written yet");
    }
    if (this.current !== null && !this.sending) {
      const first = this.current.expect[0]?.line ?? this.current.line;
      this.fail(n, 1, `this reply is written already (line ${first}): '>>>?' marks one that is not`);
    }
    const step = this.current ?? this.newStep(n, false);
    step.unwritten = n;
    this.specialStep = true;
    this.endStep();
  }

  /** Ends the current step so the next line starts a new one. */
  private endStep(): void {
    this.joinSends();
    this.current = null;
    this.sending = false;
    this.noEolLine = 0;
  }

  private directive(text: string, n: number): void {
    // `>>>!name args` and `>>>! name args` are the same.
    const body = text.slice(4);
    const lead = body.length - body.trimStart().length;
    const words = body.trim().split(/\s+/);
    const name = words[0] ?? '';
    const nameCol = 5 + lead;
    const args = words.slice(1);
    const argCol = (i: number): number => nameCol + body.trim().indexOf(args[i]!, name.length);
    if (name === '') this.fail(n, 5, "missing directive after '>>>!'");
    switch (name) {
      case 'connect':
      case 'timeout': {
        if (!this.inHeader) {
          this.fail(n, nameCol, `'${name}' is a header directive: put it before the first step`);
        }
        if (args.length !== 1) {
          this.fail(n, nameCol, `'${name}' takes exactly one argument`);
        }
        const arg = args[0]!;
        if (name === 'connect') {
          if (this.transcript.target !== undefined) this.fail(n, nameCol, "duplicate 'connect' directive");
          this.transcript.target = arg;
          this.transcript.targetLine = n;
        } else {
          if (this.transcript.timeoutMs !== undefined) this.fail(n, nameCol, "duplicate 'timeout' directive");
          const ms = durationMs(arg);
          if (ms === undefined || ms <= 0) {
            this.fail(n, argCol(0), `invalid duration '${arg}': expected a number and a unit (ms, s, m, h)`);
          }
          this.transcript.timeoutMs = ms;
        }
        return;
      }
      case 'serial': {
        if (!this.inHeader) {
          this.fail(n, nameCol, `'${name}' is a header directive: put it before the first step`);
        }
        if (args.length !== 1)
          this.fail(n, nameCol, "'serial' takes exactly one argument (the group's name)");
        if (this.transcript.serial !== undefined) this.fail(n, nameCol, "duplicate 'serial' directive");
        const group = args[0]!;
        if (!/^[A-Za-z0-9_.-]+$/.test(group)) {
          this.fail(
            n,
            argCol(0),
            `invalid serial group name '${group}': use letters, digits, '.', '-' and '_'`,
          );
        }
        this.transcript.serial = { name: group, line: n };
        return;
      }
      case 'starttls': {
        if (args.length > 1)
          this.fail(n, argCol(1), "'starttls' takes at most one argument (the server name)");
        if (this.pendingTls.has(this.connection)) {
          this.fail(n, nameCol, `a 'starttls' is already pending on connection '${this.connection}'`);
        }
        this.pendingTls.set(
          this.connection,
          args[0] === undefined ? { line: n } : { servername: args[0], line: n },
        );
        this.inHeader = false;
        this.endStep();
        return;
      }
      case 'close': {
        const codeText = args[0] ?? '1000';
        if (!/^\d{4}$/.test(codeText) || Number(codeText) < 1000 || Number(codeText) > 4999) {
          this.fail(n, argCol(0), `invalid close code '${codeText}': expected a number from 1000 to 4999`);
        }
        // The reason is the rest of the line as written, inner spaces kept.
        const reason =
          args.length < 2
            ? ''
            : body.trim().slice(body.trim().indexOf(args[1]!, name.length + 1 + codeText.length));
        if (Buffer.byteLength(reason) > 123) {
          this.fail(n, argCol(1), 'a close reason is at most 123 bytes of UTF-8 (RFC 6455 §5.5)');
        }
        this.endStep();
        // A step of its own that sends the close frame; the lines after it are its reply.
        this.newStep(n, true).close = { code: Number(codeText), reason };
        this.webSocket = true;
        return;
      }
      case 'handshake': {
        if (args.length > 0)
          this.fail(n, argCol(0), "'handshake' takes no arguments: its headers are the '>>>' lines after it");
        if (this.transcript.steps.some((step) => step.connection === this.connection)) {
          this.fail(
            n,
            nameCol,
            `'handshake' must come before the first step on connection '${this.connection}': the handshake opens it`,
          );
        }
        this.endStep();
        // A step of its own whose send lines are the request's headers; the lines after it, the answer.
        this.newStep(n, true).handshake = true;
        this.webSocket = true;
        return;
      }
      default:
        this.fail(n, nameCol, `unknown directive '${name}'`);
    }
  }

  private switchConnection(text: string, n: number): void {
    const body = text.slice(4).trimEnd();
    const space = body.search(/\s/);
    const name = space < 0 ? body : body.slice(0, space);
    if (name === '') this.fail(n, 5, "missing connection name after '>>>@'");
    if (!CONNECTION_NAME.test(name)) {
      const bad = name.search(/[^A-Za-z0-9_-]/);
      this.fail(n, 5 + bad, `invalid connection name '${name}': use letters, digits, '-' and '_'`);
    }
    const rest = space < 0 ? '' : body.slice(space).trim();
    const restCol = 5 + body.indexOf(rest, name.length);
    if (/\s/.test(rest)) this.fail(n, restCol, "'>>>@NAME' takes at most one target");
    const known = this.decls.has(name);
    if (rest !== '') {
      if (known) {
        this.fail(
          n,
          restCol,
          `connection '${name}' is already in use: give its target at its first '>>>@${name}'`,
        );
      }
      this.addDecl({ name, target: rest, line: n });
    } else if (!known && name !== DEFAULT_CONNECTION) {
      this.connectionDecl(name, n);
    }
    this.inHeader = false;
    this.connection = name;
    this.endStep();
  }

  /** Parses `(flag,flag)` at `open` (index of `(`); returns the flags, the text after `) `, and its column. */
  private flags(
    text: string,
    n: number,
    open: number,
    allowed: readonly string[],
  ): { flags: Set<string>; rest: string; restCol: number } {
    const close = text.indexOf(')', open);
    if (close < 0) this.fail(n, open + 1, "unterminated flag list: missing ')'");
    const flags = new Set<string>();
    let col = open + 2;
    for (const raw of text.slice(open + 1, close).split(',')) {
      const flag = raw.trim();
      const flagCol = col + (raw.length - raw.trimStart().length);
      if (flag === '') this.fail(n, flagCol, 'empty flag');
      if (!allowed.includes(flag)) {
        this.fail(n, flagCol, `unknown flag '${flag}' (allowed here: ${allowed.join(', ')})`);
      }
      if (flags.has(flag)) this.fail(n, flagCol, `duplicate flag '${flag}'`);
      flags.add(flag);
      col += raw.length + 1;
    }
    const after = text.slice(close + 1);
    if (after !== '' && after[0] !== ' ') this.fail(n, close + 2, "expected a space after ')'");
    return { flags, rest: after.slice(1), restCol: close + 3 };
  }

  private flaggedSend(text: string, n: number): void {
    const { flags, rest, restCol } = this.flags(text, n, 3, ['esc', 'lf', 'no-eol', 'vars', 'binary']);
    if (flags.has('lf') && flags.has('no-eol')) this.fail(n, 5, "flags 'lf' and 'no-eol' exclude each other");
    // One line's flag makes the whole block one binary message (FORMAT §14).
    if (flags.has('binary')) {
      this.sendingStep(n).binary = true;
      this.webSocket = true;
    }
    const f: SendFlags = {
      esc: flags.has('esc'),
      ending: flags.has('no-eol') ? EMPTY : flags.has('lf') ? LF : CRLF,
    };
    if (flags.has('vars')) {
      const parts: BytesTemplate = [];
      for (const token of this.tokens(rest, n, restCol, false)) {
        if (token.kind === 'var') parts.push(this.placeholder(token.name, n, restCol + token.offset));
        else if (token.kind === 'text') {
          parts.push(
            f.esc
              ? this.unescape(token.text, n, restCol + token.offset, true)
              : Buffer.from(token.text, 'utf8'),
          );
        }
      }
      if (f.ending.length > 0) parts.push(f.ending);
      this.sendTemplated(parts, n);
      return;
    }
    const body = f.esc ? this.unescape(rest, n, restCol, true) : Buffer.from(rest, 'utf8');
    this.send(f.ending.length === 0 ? body : Buffer.concat([body, f.ending]), n);
  }

  /**
   * `>>>= TEXT`, `>>>~ REGEX` and `>>>$ PATTERN`, each with an optional `(no-eol|crlf|lf)` flag;
   * `>>>~` also takes `vars`.
   */
  private special(text: string, n: number, marker: '=' | '~' | '$'): void {
    let rest = '';
    let restCol = 6;
    const f: ExpectFlags = { noEol: false };
    let vars = false;
    const c = text[4];
    if (c === '(') {
      const allowed = marker === '~' ? [...ENDING_FLAGS, 'vars'] : ENDING_FLAGS;
      const parsed = this.flags(text, n, 4, allowed);
      if (ENDING_FLAGS.filter((flag) => parsed.flags.has(flag)).length > 1) {
        this.fail(n, 6, "flags 'no-eol', 'crlf' and 'lf' exclude each other");
      }
      f.noEol = parsed.flags.has('no-eol');
      if (parsed.flags.has('crlf')) f.eol = 'crlf';
      if (parsed.flags.has('lf')) f.eol = 'lf';
      vars = parsed.flags.has('vars');
      rest = parsed.rest;
      restCol = parsed.restCol;
    } else if (c === ' ') {
      rest = text.slice(5);
    } else if (c !== undefined) {
      this.fail(n, 5, `expected a space or '(' after '>>>${marker}'`);
    }
    const eol = f.eol === undefined ? {} : { eol: f.eol };
    if (marker === '=') {
      this.expect(
        { kind: 'literal', bytes: this.unescape(rest, n, restCol, false), noEol: f.noEol, ...eol, line: n },
        n,
      );
      return;
    }
    if (marker === '$') {
      this.pattern(rest, n, restCol, f);
      return;
    }
    // With `vars`, a placeholder stands for an escaped literal: check the rest with an empty group there.
    let template: (string | Placeholder)[] | undefined;
    let checked = rest;
    if (vars) {
      template = [];
      checked = '';
      for (const token of this.tokens(rest, n, restCol, false)) {
        if (token.kind === 'var') {
          template.push(this.placeholder(token.name, n, restCol + token.offset));
          checked += '(?:)';
        } else if (token.kind === 'text') {
          template.push(token.text);
          checked += token.text;
        }
      }
    }
    try {
      new RegExp(`^(?:${checked})$`, 'u');
    } catch (err) {
      this.fail(n, restCol, `invalid regular expression: ${(err as Error).message}`);
    }
    // An alternative that matches the empty string lists every named group, whatever the rest needs.
    const groups = Object.keys(new RegExp(`^(?:${checked})$|`, 'u').exec('')?.groups ?? {});
    const step = this.current ?? this.newStep(n, false);
    for (const name of groups) {
      const col = restCol + Math.max(0, rest.indexOf(`(?<${name}>`));
      if (!VARIABLE_NAME.test(name)) {
        this.fail(
          n,
          col,
          `invalid capture name '${name}': use letters, digits and '_', not starting with a digit`,
        );
      }
      this.capture(step, name, n, col);
    }
    const item: ExpectLine = { kind: 'regex', source: rest, noEol: f.noEol, ...eol, line: n };
    if (groups.length > 0) item.captures = groups;
    if (template !== undefined) {
      item.template = template;
      for (const part of template) if (typeof part !== 'string') this.use(step, part);
    }
    this.expect(item, n);
  }

  /** `>>>$ PATTERN`: literal pieces (escapes, placeholders) between `...` and `{{name=...}}` gaps. */
  private pattern(rest: string, n: number, restCol: number, f: ExpectFlags): void {
    const step = this.current ?? this.newStep(n, false);
    const pieces: BytesTemplate[] = [[]];
    const gaps: (string | null)[] = [];
    const uses: Placeholder[] = [];
    for (const token of this.tokens(rest, n, restCol, true)) {
      const col = restCol + token.offset;
      if (token.kind === 'gap') {
        if (token.capture !== null) this.capture(step, token.capture, n, col);
        gaps.push(token.capture);
        pieces.push([]);
      } else {
        const piece = pieces[pieces.length - 1]!;
        if (token.kind === 'var') {
          const p = this.placeholder(token.name, n, col);
          uses.push(p);
          piece.push(p);
        } else {
          piece.push(this.unescape(token.text, n, col, false));
        }
      }
    }
    for (const p of uses) this.use(step, p);
    const eol = f.eol === undefined ? {} : { eol: f.eol };
    this.expect({ kind: 'pattern', pieces, gaps, noEol: f.noEol, ...eol, line: n }, n);
  }

  private placeholder(name: string, n: number, column: number): Placeholder {
    return { name, line: n, column };
  }

  private tokens(text: string, n: number, col: number, gaps: boolean): TemplateToken[] {
    try {
      return tokenize(text, gaps);
    } catch (err) {
      if (err instanceof TemplateError) this.fail(n, col + err.offset, err.message);
      throw err;
    }
  }

  private unescape(text: string, n: number, col: number, allowNewline: boolean): Uint8Array {
    try {
      return decodeEscapes(text, allowNewline);
    } catch (err) {
      if (err instanceof EscapeError) this.fail(n, col + err.offset, err.message);
      throw err;
    }
  }

  /** Ends the transcript; one without any step is an error at `emptyLine`, column 1. */
  finish(emptyLine: number, what: string): Transcript {
    this.endStep();
    // A starttls with no step after it still has to happen: give it an empty step.
    for (const [connection, tls] of this.pendingTls) {
      const startTls = tls.servername === undefined ? {} : { servername: tls.servername };
      this.connectionDecl(connection, tls.line);
      if (!this.used.includes(connection)) this.used.push(connection);
      this.transcript.steps.push({ connection, send: EMPTY, line: tls.line, startTls, expect: [] });
    }
    this.pendingTls.clear();
    // A transcript whose every line was wrong has no steps either; its errors say enough.
    if (this.transcript.steps.length === 0 && this.errors.count === this.errorsBefore) {
      this.errors.add(
        new TranscriptSyntaxError(
          this.path,
          emptyLine,
          1,
          `the ${what} has no steps: write '>>> ' lines to send and the lines expected after them`,
        ),
      );
    }
    const { used: connections, variables, specialStep, webSocket } = this;
    recordStepFacts(this.transcript.steps, {
      connections,
      variables,
      special: specialStep || variables,
      webSocket,
    });
    return this.transcript;
  }
}
