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

/** At most this many syntax errors are reported per file; the rest are counted. */
export const MAX_SYNTAX_ERRORS = 20;

/**
 * Transcripts that cannot be parsed: every syntax error found (at most {@link MAX_SYNTAX_ERRORS} per
 * file, in order; `omitted` counts the rest per file). What `parseTranscript`, `parseMarkdown`,
 * `loadTranscripts` and `checkFiles` throw. Nothing was run.
 */
export class TranscriptParseError extends ProtodocError {
  readonly errors: TranscriptSyntaxError[];
  /** Per file, how many more syntax errors it holds than are in `errors`. */
  readonly omitted: readonly { file: string; count: number }[];
  /**
   * The lines to show, in order: each error's message (`PATH:LINE:COL: what is wrong`), and after the
   * last one of a file with more, `PATH: N more syntax errors not shown (...)`. The message joins them.
   */
  readonly report: readonly string[];
  constructor(errors: TranscriptSyntaxError[], omitted: readonly { file: string; count: number }[] = []) {
    const report: string[] = [];
    const more = new Map(omitted.map((o) => [o.file, o.count]));
    for (const [i, err] of errors.entries()) {
      report.push(err.message);
      const count = more.get(err.file);
      if (count !== undefined && errors[i + 1]?.file !== err.file) {
        report.push(
          `${err.file}: ${count} more syntax error${count === 1 ? '' : 's'} not shown ` +
            `(at most ${MAX_SYNTAX_ERRORS} are reported per file)`,
        );
      }
    }
    super(report.join('\n'), 'PROTODOC_ERR_SYNTAX');
    this.name = 'TranscriptParseError';
    this.errors = errors;
    this.omitted = omitted;
    this.report = report;
  }

  /** The errors of several files as one, in the order given. */
  static merge(all: readonly TranscriptParseError[]): TranscriptParseError {
    return new TranscriptParseError(
      all.flatMap((e) => e.errors),
      all.flatMap((e) => e.omitted),
    );
  }
}

/** A bad flag, duration, target or path given by the user. */
export class UsageError extends ProtodocError {
  constructor(message: string) {
    super(message, 'PROTODOC_ERR_USAGE');
    this.name = 'UsageError';
  }
}

/**
 * `fn()`, with the message of a UsageError it throws put after `where` (`PATH:LINE`): how a mistake
 * found in something the file wrote (a target) is named at its place in the file.
 */
export function locatedAt<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`${where}: ${err.message}`);
    throw err;
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

/**
 * A `>>>! starttls` upgrade failed: the TLS handshake on an open connection (certificate not trusted,
 * wrong name, the server not speaking TLS, a timeout). Code `PROTODOC_ERR_TLS`, or
 * `PROTODOC_ERR_CONNECT_TIMEOUT` when the handshake took longer than the timeout.
 */
export class StartTlsError extends ProtodocError {
  readonly target: string;
  constructor(target: string, message: string, code = 'PROTODOC_ERR_TLS', options?: ErrorOptions) {
    super(message, code, options);
    this.name = 'StartTlsError';
    this.target = target;
  }
}

/**
 * `protodoc.config.yaml` (or `--config FILE`) is not valid: not YAML, an unknown key, a bad value. The
 * message starts with `FILE:LINE:COL:`. Code `PROTODOC_ERR_CONFIG`.
 */
export class ConfigError extends ProtodocError {
  /** `FILE:LINE:COL` (or `FILE:LINE`, or `FILE`) of the mistake. */
  readonly where: string;
  constructor(where: string, reason: string) {
    super(`${where}: ${reason}`, 'PROTODOC_ERR_CONFIG');
    this.name = 'ConfigError';
    this.where = where;
  }
}

/** The server started by `--server` exited early or never listened. */
export class ServerStartError extends ProtodocError {
  constructor(message: string) {
    super(message, 'PROTODOC_ERR_SERVER');
    this.name = 'ServerStartError';
  }
}

/**
 * Thrown only by the tests `protodoc/vitest` makes: a transcript (or one of its steps) failed or could
 * not run. The message is its report as `protodoc check` prints it (the diff of each failing step).
 */
export class TranscriptFailedError extends ProtodocError {
  /** The transcript's path. */
  readonly path: string;
  constructor(message: string, path: string) {
    super(message, 'PROTODOC_ERR_FAILED');
    this.name = 'TranscriptFailedError';
    this.path = path;
    // The report says where; a stack through protodoc's runner would only bury it.
    this.stack = `${this.name}: ${message}`;
  }
}
