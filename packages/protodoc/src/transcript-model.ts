/**
 * The parsed form of a transcript: what the parser produces and the runner consumes.
 * Everything here is plain data so results can be serialised (JSON reporter) as they are.
 */

/** One expected line of a server reply, with where it was written. */
export type ExpectLine =
  /** A line written as text: `...` inside it matches any text within the line. */
  | { kind: 'text'; text: string; line: number }
  /** `...` alone on a line: zero or more whole received lines. */
  | { kind: 'any-lines'; line: number }
  /** `>>>= TEXT`: a literal line after escape processing (no ellipsis), as bytes. */
  | { kind: 'literal'; bytes: Uint8Array; noEol: boolean; eol?: LineEnding; line: number }
  /** `>>>~ REGEX`: a received line (without its line ending) that the regular expression matches whole. */
  | { kind: 'regex'; source: string; noEol: boolean; eol?: LineEnding; line: number };

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
  expect: ExpectLine[];
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
  connections: ConnectionDecl[];
  steps: Step[];
}
