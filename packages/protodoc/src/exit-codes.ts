/**
 * protodoc's exit codes, one per class of outcome (the CLI's contract with scripts and CI).
 */
export const EXIT_CODES = {
  /** Every transcript passed. */
  passed: 0,
  /** A reply differed from its transcript. */
  failed: 1,
  /** A bad flag, a missing file, no transcripts, a missing or malformed target. */
  usage: 2,
  /** A transcript cannot be parsed (every parse error is reported; nothing runs). */
  parse: 3,
  /** A target cannot be reached (refused, timed out, TLS handshake failed) or `--server` failed. */
  unreachable: 4,
  /** A bug in protodoc. */
  internal: 70,
} as const;
