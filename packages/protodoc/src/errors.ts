/**
 * Every error protodoc throws on purpose is a ProtodocError with a stable `code`.
 * Tests and callers branch on `code`, never on the message. A mismatch between expected and
 * received bytes is not an error: it is a failing result.
 */
export class ProtodocError extends Error {
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ProtodocError';
    this.code = code;
  }
}

/** A transcript that cannot be parsed. `file:line:col: what is wrong` is the message's first line. */
export class TranscriptSyntaxError extends ProtodocError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  constructor(file: string, line: number, column: number, reason: string) {
    super(`${file}:${line}:${column}: ${reason}`, 'PROTODOC_ERR_SYNTAX');
    this.name = 'TranscriptSyntaxError';
    this.file = file;
    this.line = line;
    this.column = column;
  }
}

/** A bad flag, duration, target or path given by the user. */
export class UsageError extends ProtodocError {
  constructor(message: string) {
    super(message, 'PROTODOC_ERR_USAGE');
    this.name = 'UsageError';
  }
}

/** The target could not be reached (refused, unresolvable, TLS handshake failed, connect timeout). */
export class ConnectError extends ProtodocError {
  readonly target: string;
  constructor(target: string, reason: string, code = 'PROTODOC_ERR_CONNECT', options?: ErrorOptions) {
    super(`cannot connect to ${target}: ${reason}`, code, options);
    this.name = 'ConnectError';
    this.target = target;
  }
}

/** The server started by `--server` exited early or never listened. */
export class ServerStartError extends ProtodocError {
  constructor(message: string) {
    super(message, 'PROTODOC_ERR_SERVER');
    this.name = 'ServerStartError';
  }
}
