/**
 * The parsed form of a transcript: what the parser produces and the runner consumes.
 * Everything here is plain data so results can be serialised (JSON reporter) as they are.
 */

/** The connection every transcript starts on. */
export const DEFAULT_CONNECTION = 'main';

/**
 * `{{name}}` in a line that opts into substitution (FORMAT §15): the value of the variable NAME when the
 * step runs, always taken literally. `line` and `column` are where it is written, for errors.
 */
export interface Placeholder {
  name: string;
  line: number;
  column: number;
}

/**
 * A `>>>$` line's literal piece: bytes (escapes decoded) and placeholders, in order. Rendered for a step
 * (src/template.ts), every placeholder is bytes; shown in a report, a secret's stays a placeholder.
 */
export type BytesTemplate = (Uint8Array | Placeholder)[];

/** A capture a step's reply makes: the variable's name and the line that captures it. */
export interface CaptureDecl {
  name: string;
  line: number;
}

/** One expected line of a server reply, with where it was written. */
export type ExpectLine =
  /** A line written as text: `...` inside it matches any text within the line. */
  | { kind: 'text'; text: string; line: number }
  /** `...` alone on a line: zero or more whole received lines. */
  | { kind: 'any-lines'; line: number }
  /** `>>>= TEXT`: a literal line after escape processing (no ellipsis), as bytes. */
  | { kind: 'literal'; bytes: Uint8Array; noEol: boolean; eol?: LineEnding; line: number }
  /**
   * `>>>~ REGEX`: a received line (without its line ending) that the regular expression matches whole.
   * `captures`: the names of its named groups, each of which sets a variable. `template`: with the `vars`
   * flag, the source as written, placeholders and all; `source` is then rendered from it when the step runs.
   */
  | {
      kind: 'regex';
      source: string;
      noEol: boolean;
      eol?: LineEnding;
      line: number;
      captures?: string[];
      template?: (string | Placeholder)[];
    }
  /**
   * `>>>$ TEXT`: a line of literal pieces (escapes decoded, placeholders substituted) with a gap between
   * each two: `...` (`null`, any text within the line) or `{{name=...}}` (any text, captured as NAME).
   * `pieces.length === gaps.length + 1`.
   */
  | {
      kind: 'pattern';
      pieces: BytesTemplate[];
      gaps: (string | null)[];
      noEol: boolean;
      eol?: LineEnding;
      line: number;
    };

/**
 * The exact line ending a `>>>=(crlf)` / `>>>=(lf)` (or `>>>~`) line requires. Absent: CRLF or LF both match
 * (unless `noEol`, which requires no ending at all).
 */
export type LineEnding = 'crlf' | 'lf';

/** One step: an optional send on a connection, then the reply expected on that connection. */
export interface Step {
  /** Connection the step talks on; `main` unless the transcript names another with `>>>@NAME`. */
  connection: string;
  /** Bytes sent before waiting for the reply; empty for the greeting step or an expect-only step. */
  send: Uint8Array;
  /** Line of the first `>>>` line of the block, or of the first expected line for a send-less step. */
  line: number;
  /** Upgrade this connection to TLS before sending (`>>>! starttls`), with an optional server name. */
  startTls?: { servername?: string };
  /** A WebSocket block sent as one binary message (`>>>(binary)` on one of its lines), not text. */
  binary?: true;
  /**
   * `>>>! handshake`: the first step of a WebSocket connection, which does its opening handshake. Its
   * block is the handshake request's extra header lines (`Name: value`), its reply the server's answer
   * (the response head, as HTTP/1.1 text).
   */
  handshake?: true;
  /** `>>>! close CODE REASON`: the step sends a WebSocket close frame (and nothing else). */
  close?: { code: number; reason: string };
  expect: ExpectLine[];
  /** Line of the block's last send line (absent for a step that sends nothing): where `--update` writes a reply. */
  sendEnd?: number;
  /**
   * Line of a `>>>?` line: the reply is not written yet (FORMAT §16.1). `check` shows what came and
   * fails; `--update` writes it there.
   */
  unwritten?: number;
  /**
   * The block as bytes and placeholders when a `>>>(vars)` line is in it: rendered when the step runs
   * (`send` is then empty).
   */
  sendTemplate?: BytesTemplate;
  /** Every `{{name}}` the step uses (send and expected lines), in file order; absent when none. */
  uses?: Placeholder[];
  /** The variables the step's reply captures; absent when none. */
  captures?: CaptureDecl[];
}

/** A connection declared by `>>>@NAME TARGET`; without its own target it uses the file's. */
export interface ConnectionDecl {
  name: string;
  target?: string;
  line: number;
}

export interface Transcript {
  /** The path as the user gave it (used verbatim in reports: `PATH:LINE:`). */
  path: string;
  /** `>>>! connect TARGET` from the header, if any; the CLI's `--connect` overrides it. */
  target?: string;
  /** The line of the `>>>! connect` directive (set with `target`), for errors about the target. */
  targetLine?: number;
  /** `>>>! timeout DURATION` from the header, in milliseconds. */
  timeoutMs?: number;
  /**
   * `>>>! serial NAME` from the header: the file runs one at a time with the other files of group NAME,
   * in their order, never beside one of them (`--jobs`).
   */
  serial?: { name: string; line: number };
  connections: ConnectionDecl[];
  steps: Step[];
  /**
   * For a Markdown block: the indentation of its fence (removed from its lines) and the fence itself
   * (```` ``` ````, `~~~~`), so that lines written into the block (`--update`) stay inside it.
   */
  block?: { indent: number; fence: string };
}
