/**
 * Replays transcripts against live servers: opens connections lazily, runs the steps in order,
 * bounds every wait by the timeout, skips the rest of a file after a failure, and checks that
 * nothing is left over once every connection is half-closed.
 *
 * The hot path is event-driven and synchronous: a socket's `data` event feeds the step's matcher,
 * and a completed step sends the next step's block from inside that same event. No promise and
 * no timer operation per step: each wait only moves a deadline, and one timer, armed lazily,
 * checks it (a timer that fires early re-arms itself for the rest).
 */
import type * as Alignment from './alignment.js';
import type { ReplyAlignment } from './alignment.js';
import { alignedCaptureLines, evaluateCaptures } from './capture.js';
import { now } from './clock.js';
import { formatMs } from './duration.js';
import { ConnectError, locatedAt, ProtodocError, TranscriptParseError, UsageError } from './errors.js';
import { type MatchedLine, ReplyMatcher } from './matcher.js';
import type {
  FailureReason,
  RunEvent,
  RunSummary,
  StepFailure,
  StepResult,
  TraceEvent,
  TranscriptError,
  TranscriptResult,
  UsedVariable,
} from './results.js';
import { fillServerPlaceholders } from './server-placeholders.js';
import { noteStepCounts, summarize } from './summary.js';
import { parseTarget, type Target } from './target.js';
import {
  displayExpect,
  hideSecrets,
  type LineNotation,
  renderStep,
  UnboundVariableError,
} from './template.js';
import { stepFacts } from './transcript-facts.js';
import { DEFAULT_CONNECTION, type ExpectLine, type Step, type Transcript } from './transcript-model.js';
import { checkSteps, loadTransports, transportFor } from './transports/index.js';
import type { TlsOptions, Transport, TransportEvents } from './transports/transport.js';
import { undefinedVariables, type VariableScope, Variables } from './variables.js';

/** How transcripts are run. */
export interface RunOptions {
  /**
   * Target of every connection that does not name its own (`>>>@NAME TARGET`); overrides the
   * file's `>>>! connect`. `HOST:PORT`, `[::1]:PORT`, `tls://HOST:PORT`, `unix:/path`, `http://HOST:PORT`
   * or `https://HOST:PORT` (src/target.ts).
   * @default the file's `>>>! connect` target
   */
  target?: string;
  /**
   * Bound, in milliseconds, on connecting, each TLS handshake, each step's wait for its reply, and
   * the wait for the server to close at the end. Overrides the file's `>>>! timeout`.
   * @default 5000, or the file's `>>>! timeout`
   */
  timeoutMs?: number;
  /**
   * Quiet period, in milliseconds, after which a reply ending in `...` (or a `>>>~(no-eol)` line)
   * is taken as complete, and after which the rest of a mismatching reply is no longer awaited.
   * @default 200
   */
  settleMs?: number;
  /** Certificate checks for `tls://` targets and `>>>! starttls`. @default verify against Node's CAs */
  tls?: TlsOptions;
  /** Replaces `{port}` in every target (the port `--server` picked). @default undefined (no replacement) */
  port?: number;
  /**
   * Replaces `{dir}` in every target, and is `{{dir}}`: the temporary directory `--server` made for the
   * server this transcript runs against. @default undefined (no replacement)
   */
  dir?: string;
  /**
   * Receives the conversation as it happens (`-v`): connections, and every byte sent and received.
   * Without it the runner does none of that work. @default undefined
   */
  trace?: (event: TraceEvent) => void;
  /**
   * The values `{{name}}` stands for (FORMAT §15) that do not come from replies, and which are secret;
   * `port` is {@link RunOptions.port}. Captures are the transcript's own.
   * @default no variables (a transcript that uses one fails with PROTODOC_ERR_SYNTAX before sending)
   */
  variables?: Variables;
  /**
   * `--update`: every step's reply is whatever arrives until the connection has been quiet for the
   * settle time (or closes), a failing step does not stop the conversation, and each failing step whose
   * reply is known is handed to `onFailedReply` for rewriting. @default undefined (a plain check)
   */
  update?: UpdateRun;
  /**
   * Whether `onEvent` gets a `step-end` event for every step (file events always come).
   * @default true
   */
  stepEvents?: boolean;
  /**
   * The caller has checked that every step fits its connection's transport, as the run would before
   * sending anything (checkFiles does, for every file): the run does not check again. @default false
   */
  stepsChecked?: boolean;
}

/** What a run in update mode reports besides its results. */
export interface UpdateRun {
  /** A failing step's whole reply, with what was expected, rendered as it was matched. */
  onFailedReply(reply: FailedReply): void;
}

/**
 * A failing step under `--update`: its expected lines with the values they were matched with, every
 * byte of its reply (secrets and all: this is for rewriting the file, never for a report), and their
 * alignment (src/alignment.ts), which says which expected lines still fit.
 */
export interface FailedReply {
  index: number;
  step: Step;
  expect: ExpectLine[];
  received: Uint8Array;
  alignment: ReplyAlignment;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Receives progress as it happens (file start, each step, file end). */
export type RunEventListener = (event: RunEvent) => void;

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_SETTLE_MS = 200;

/**
 * Runs one transcript. Never rejects for what the server does: mismatches are failed steps, an
 * unreachable target is a result with status 'error'. Rejects only on internal errors.
 * @example
 *   const result = await runTranscript(parseTranscript(text, 'ping.txt'), { target: '127.0.0.1:6379' });
 *   if (result.status !== 'passed') ...
 */
export function runTranscript(
  transcript: Transcript,
  options: RunOptions = {},
  onEvent?: RunEventListener,
): Promise<TranscriptResult> {
  return new Promise((resolve, reject) => {
    new TranscriptRun(transcript, options, onEvent, resolve, reject).start();
  });
}

/** Runs transcripts one after another (a failing or unreachable one does not stop the others). */
export async function runTranscripts(
  transcripts: readonly Transcript[],
  options: RunOptions = {},
  onEvent?: RunEventListener,
): Promise<RunSummary> {
  const started = now();
  const results: TranscriptResult[] = [];
  for (const transcript of transcripts) results.push(await runTranscript(transcript, options, onEvent));
  return summarize(results, now() - started);
}

/** The step being waited for. */
interface Active {
  step: Step;
  /** The expected lines as matched: the step's own, or rendered with the variables' values. */
  expect: ExpectLine[];
  conn: Transport;
  started: number;
  /** Set once the reply is known to fail: the rest of it is only being collected for the report. */
  failReason: FailureReason | null;
  /**
   * The reply is whatever arrives until the connection is quiet (`--update`, or a `>>>?` reply that is
   * not written yet): it is judged as a whole once it has ended.
   */
  quiet: boolean;
}

/** The variables of a transcript that uses none: there is nothing to look up or hide. */
const NO_VARIABLES = new Variables();

const PHASE_STEPS = 0;
const PHASE_END = 1;
const PHASE_DONE = 2;

class TranscriptRun implements TransportEvents {
  private readonly steps: readonly Step[];
  private readonly timeoutMs: number;
  private readonly settleMs: number;
  private results: StepResult[] = [];
  /**
   * The times of the passed steps since the last other result, when nobody hears of each step: their
   * results are made when the next other one is recorded, or at the end. A long run then keeps one
   * unboxed number a step instead of an object and its boxed time, which every young-generation
   * collection of the run copied (10,000 PINGs: 16 M instructions, of which making them at the end takes
   * back about half).
   */
  private readonly passedMs: number[] = [];
  /** The index of the first step {@link passedMs} holds. */
  private passedFrom = 0;
  /** Of {@link results}: what summarize() would count, counted as they are recorded. */
  private failedSteps = 0;
  private skippedSteps = 0;
  private readonly conns = new Map<string, Transport>();
  /** The connection {@link connection} gave last, and its name (no name is empty). */
  private lastName = '';
  private lastConn: Transport | null = null;
  /** Connections in the order they were opened. */
  private readonly opened: Transport[] = [];
  private readonly targets = new Map<string, Target>();
  private index = 0;
  private active: Active | null = null;
  /** The step whose STARTTLS upgrade is done (so the step itself can now run). */
  private upgradedStep = -1;
  private phase = PHASE_STEPS;
  private started = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerArmed = false;
  /** When the current wait (a step's reply, or the end-of-transcript close) times out. */
  private deadline = 0;
  /** The clock reading at which the last step completed, for the next step's start; -1 if stale. */
  private completedAt = -1;
  private settleTimer: NodeJS.Timeout | null = null;
  /** After the final half-close: no byte has arrived for the settle time. */
  private endQuiet = false;
  /** One matcher serves every step (reset, not rebuilt): the active step's reply is in it. */
  private readonly matcher = new ReplyMatcher([]);
  /** src/alignment.ts, loaded only under --update (a plain check's reports load it themselves). */
  private alignment: typeof Alignment | null = null;
  /** The transcript's variables: its captures over the run's. */
  private readonly scope: VariableScope;
  /** `--update` mode, or null for a plain check. */
  private readonly update: UpdateRun | null;
  /** A step failed and the run went on (`--update`): the transcript fails whatever the end check says. */
  private failedOn = false;
  /**
   * No step uses variables, captures or is `>>>?`, and this is not --update: each step is sent and
   * matched as written, and the step loop checks nothing else (decided once, in start).
   */
  private plain = true;

  private readonly transcript: Transcript;
  private readonly options: RunOptions;
  private readonly onEvent: RunEventListener | undefined;
  /** `onEvent`, when it is to hear of every step; null otherwise. */
  private readonly onStep: RunEventListener | null;
  private readonly trace: ((event: TraceEvent) => void) | undefined;
  private readonly resolve: (result: TranscriptResult) => void;
  private readonly reject: (err: unknown) => void;

  constructor(
    transcript: Transcript,
    options: RunOptions,
    onEvent: RunEventListener | undefined,
    resolve: (result: TranscriptResult) => void,
    reject: (err: unknown) => void,
  ) {
    this.transcript = transcript;
    this.options = options;
    this.onEvent = onEvent;
    this.onStep = options.stepEvents === false ? null : (onEvent ?? null);
    this.trace = options.trace;
    this.resolve = resolve;
    this.reject = reject;
    this.steps = transcript.steps;
    this.timeoutMs = options.timeoutMs ?? transcript.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
    const { port, dir } = options;
    this.scope = (options.variables ?? NO_VARIABLES).scope({
      ...(port === undefined ? {} : { port }),
      ...(dir === undefined ? {} : { dir }),
    });
    this.update = options.update ?? null;
  }

  start(): void {
    this.started = now();
    this.onEvent?.({ type: 'file-start', path: this.transcript.path });
    try {
      // One pass over the steps for both: a cold process interprets it, 10,000 steps at a time.
      const special = this.resolveTargets();
      this.plain = this.update === null && !special;
      if (!this.plain) this.checkVariables();
    } catch (err) {
      this.finishWithError(err);
      return;
    }
    // What only some runs need is loaded only then: a transport other than a byte stream (HTTP brings
    // undici), the alignment.
    const loading = loadTransports(this.targets.values());
    if (loading === null && this.update === null) {
      if (this.stepsFit()) this.guard(() => this.next());
      return;
    }
    Promise.all([loading, this.update !== null ? import('./alignment.js') : null]).then(
      ([, alignment]) => {
        this.alignment = alignment;
        if (this.stepsFit()) this.guard(() => this.next());
      },
      (err) => this.crash(err),
    );
  }

  /**
   * Every step can go over its connection's transport (an HTTP block is a request, ...): checked before
   * anything is sent. Otherwise the file is an error and false comes back.
   */
  private stepsFit(): boolean {
    if (this.options.stepsChecked) return true;
    try {
      checkSteps(this.transcript, (name) => this.targets.get(name));
      return true;
    } catch (err) {
      this.finishWithError(err);
      return false;
    }
  }

  // --- connection events (TransportEvents) ----------------------------------------------------

  onData(conn: Transport, chunk: Buffer): void {
    if (this.trace !== undefined) this.traced(conn, { type: 'received', bytes: chunk });
    const active = this.active;
    if (active === null || active.conn !== conn) {
      // Not being read now: it is the start of this connection's next reply (or leftover).
      conn.unread.push(chunk);
      if (this.phase === PHASE_END) {
        // Leftover after the final half-close: the end check waits until the bytes stop.
        this.endQuiet = false;
        this.armSettle();
      }
      return;
    }
    try {
      const status = this.matcher.push(chunk);
      if (active.quiet) {
        // Under --update a reply is everything until the connection is quiet.
        if (!conn.framed) this.armSettle();
      } else if (active.failReason !== null) {
        this.settleTimer!.refresh();
      } else if (status === 'complete') {
        this.completeStep(active);
        this.next();
      } else if (status === 'failed') {
        this.startCollecting(active, 'mismatch');
      } else if (this.matcher.needsSettle && !conn.framed) {
        this.armSettle();
      }
    } catch (err) {
      this.crash(err);
    }
  }

  /** Framed transports only (HTTP): the response is complete, so the reply ends here (no settle wait). */
  onReplyEnd(conn: Transport): void {
    this.guard(() => {
      const active = this.active;
      if (active === null || active.conn !== conn || this.phase !== PHASE_STEPS) return;
      this.endReply(active, 'mismatch');
    });
  }

  onClose(conn: Transport): void {
    if (this.trace !== undefined) {
      const reason = conn.error?.code ?? conn.error?.message;
      this.traced(conn, reason === undefined ? { type: 'closed' } : { type: 'closed', reason });
    }
    this.guard(() => {
      if (this.phase === PHASE_END) {
        this.maybeEndDone();
        return;
      }
      const active = this.active;
      if (active === null || active.conn !== conn) return;
      this.endReply(active, conn.error !== null ? 'reset' : 'closed');
    });
  }

  /** No more bytes belong to the reply (close, or the end of a framed reply): it passes or fails now. */
  private endReply(active: Active, incomplete: FailureReason): void {
    if (active.quiet) {
      this.endUpdatedReply(active, true);
      return;
    }
    if (active.failReason !== null) {
      this.failStep(active, active.failReason);
    } else if (this.matcher.end() === 'complete') {
      this.completeStep(active);
      this.next();
    } else {
      this.failStep(active, incomplete);
    }
  }

  private readonly onTimeout = (): void => {
    this.timerArmed = false;
    this.guard(() => {
      if (this.phase === PHASE_DONE) return;
      // Between waits (connecting, handshaking) nothing times out here; the next wait re-arms.
      if (this.phase === PHASE_STEPS && this.active === null) return;
      const left = this.deadline - now();
      if (left > 0) {
        // The deadline moved on since the timer was set: sleep for the rest of it.
        this.armTimer(left);
        return;
      }
      if (this.phase === PHASE_END) {
        this.finishEnd();
        return;
      }
      const active = this.active!;
      if (active.quiet && this.matcher.bytesReceived === 0) {
        // Waited the whole timeout for a first byte: the reply is empty.
        this.endUpdatedReply(active, false);
        return;
      }
      if (active.quiet) {
        // Under --update (or for a `>>>?` reply) a reply ends when the connection goes quiet: it never did.
        this.recordFailure(
          active,
          'unsettled',
          this.matcher.all(),
          `the reply never went quiet: it ends after ${formatMs(this.settleMs)} without a byte or a close, ` +
            `and bytes kept coming for ${formatMs(this.timeoutMs)}`,
        );
        this.skipRest();
        this.finish('failed');
        return;
      }
      // A reply ending in `...` that matched all along but never went quiet did not "time out" on
      // the server's silence: say so.
      this.failStep(active, active.failReason ?? (this.matcher.wouldSettle() ? 'unsettled' : 'timeout'));
    });
  };

  private readonly onSettle = (): void => {
    this.guard(() => {
      if (this.phase === PHASE_END) {
        this.endQuiet = true;
        this.maybeEndDone();
        return;
      }
      const active = this.active;
      if (active === null || this.phase !== PHASE_STEPS) return;
      if (active.quiet) {
        this.endUpdatedReply(active, false);
        return;
      }
      if (active.failReason !== null) {
        this.failStep(active, active.failReason);
        return;
      }
      if (!this.matcher.needsSettle) return; // stale
      const status = this.matcher.settle();
      if (status === 'complete') {
        this.completeStep(active);
        this.next();
      } else if (status === 'failed') {
        this.failStep(active, 'mismatch');
      }
      // 'pending': an unfinished line; wait for more bytes, close or the timeout.
    });
  };

  // --- steps ------------------------------------------------------------------------------------

  /** Runs steps until one has to wait for bytes, a connection or a handshake; then returns. */
  private next(): void {
    while (this.index < this.steps.length) {
      const step = this.steps[this.index]!;
      // Consecutive steps mostly share a connection: the last one is at hand without a call and the Map.
      const conn = step.connection === this.lastName ? this.lastConn! : this.connection(step.connection);
      if (!conn.opened && !conn.closed) {
        this.open(conn, step);
        return;
      }
      if (step.startTls && this.upgradedStep !== this.index) {
        if (conn.unread.length > 0) this.failPlainText(step, conn.unread.splice(0));
        else this.upgrade(conn, step);
        return;
      }
      // The previous step's completion time is this one's start: one clock reading per step.
      const started = this.completedAt >= 0 ? this.completedAt : now();
      this.completedAt = -1;
      let send = step.send;
      let expect = step.expect;
      let quiet = false;
      if (!this.plain) {
        // Variables, captures, `>>>?` or --update: the steps that need them take the long way.
        const prepared = this.prepare(step, conn, started);
        if (prepared === null) return;
        send = prepared.send;
        expect = prepared.expect;
        quiet = prepared.quiet;
      }
      if (send.length > 0 || step.close !== undefined || step.handshake !== undefined) conn.send(send, step);
      // The previous step's bytes were taken already (completeStep / failStep).
      const matcher = this.matcher;
      matcher.reset(expect);
      let status = matcher.result;
      const unread = conn.unread;
      if (unread.length > 0) {
        for (let i = 0; i < unread.length; i++) status = matcher.push(unread[i]!);
        unread.length = 0;
      }
      const active: Active = { step, expect, conn, started, failReason: null, quiet };
      if (quiet) {
        this.active = active;
        this.awaitQuiet(active, send.length > 0);
        return;
      }
      if (status === 'pending' && conn.closed) status = matcher.end();
      if (status === 'complete') {
        this.completeStep(active);
        continue;
      }
      this.active = active;
      if (status === 'failed') {
        if (conn.closed) {
          this.failStep(active, 'mismatch');
        } else {
          this.setDeadline(started);
          this.startCollecting(active, 'mismatch');
        }
        return;
      }
      this.setDeadline(started);
      if (matcher.needsSettle && !conn.framed) this.armSettle();
      return;
    }
    this.startEnd();
  }

  private completeStep(active: Active): void {
    this.active = null;
    const rest = this.matcher.leftover();
    if (rest.length > 0) active.conn.unread.push(rest);
    if (!this.plain && active.step.captures !== undefined) this.takeCaptures(active, this.matcher.captured());
    if (this.trace !== undefined) this.traced(active.conn, { type: 'reply-end', leftover: rest.length });
    const done = now();
    this.completedAt = done;
    if (this.onStep === null) {
      // Nobody hears of each step: only its time is kept now (see passedMs).
      if (this.passedMs.length === 0) this.passedFrom = this.index;
      this.passedMs.push(done - active.started);
    } else {
      this.record({
        index: this.index,
        line: active.step.line,
        connection: active.step.connection,
        status: 'passed',
        durationMs: done - active.started,
      });
    }
    this.index++;
  }

  /** Makes the results of the passed steps {@link passedMs} holds, in their place among the others. */
  private takePassed(): void {
    const ms = this.passedMs;
    if (ms.length === 0) return;
    const steps = this.steps;
    const from = this.passedFrom;
    // map, not a loop here: V8 would compile this function on the stack (OSR) for its one pass, where
    // the small callback is compiled as any hot function is, for less. The passed steps of a plain run
    // are all its first ones, so their list is the results; a loop only after an earlier failure (--update).
    const passed = ms.map((durationMs, i): StepResult => {
      const step = steps[from + i]!;
      return { index: from + i, line: step.line, connection: step.connection, status: 'passed', durationMs };
    });
    if (this.results.length === 0) this.results = passed;
    else for (const result of passed) this.results.push(result);
    ms.length = 0;
  }

  /** The reply is wrong: keep reading until close, quiet or timeout, so the report shows all of it. */
  private startCollecting(active: Active, reason: FailureReason): void {
    // The step's timeout keeps running: collecting never extends the wait beyond it.
    active.failReason = reason;
    this.armSettle();
  }

  private failStep(active: Active, reason: FailureReason): void {
    this.recordFailure(active, reason, this.matcher.received());
    this.skipRest();
    this.finish('failed');
  }

  /** Records the active step as failed with what it received; the caller decides what comes next. */
  private recordFailure(active: Active, reason: FailureReason, received: Uint8Array, message?: string): void {
    this.active = null;
    // A failing step takes every byte it was shown.
    if (this.trace !== undefined) this.traced(active.conn, { type: 'reply-end', leftover: 0 });
    const { step } = active;
    const where = this.matcher.failure();
    this.record({
      index: this.index,
      line: step.line,
      connection: step.connection,
      status: 'failed',
      durationMs: now() - active.started,
      failure: this.failure(
        step,
        {
          reason,
          message: message ?? this.failureMessage(reason, active.conn),
          line: where.line > 0 ? where.line : step.line,
          expected: step.expect,
          received,
        },
        active.conn.notation,
      ),
    });
    this.index++;
  }

  /**
   * A step's failure as reports show it: expected lines with the values they had, a secret's as
   * `{{name}}`, and the received bytes with every secret value as `{{name}}` (src/variables.ts).
   */
  private failure(step: Step, failure: StepFailure, notation?: LineNotation): StepFailure {
    const scope = this.scope;
    if (step.uses !== undefined) {
      failure.expected = displayExpect(step, scope, notation);
      failure.variables = this.usedVariables(step);
    }
    if (scope.hasSecrets) {
      failure.received = scope.redact(failure.received);
      failure.expected = failure.expected.map((item) =>
        hideSecrets(item, (bytes) => scope.secretSpans(bytes)),
      );
    }
    return failure;
  }

  /** The variables a step uses, once each, with their values as a report may show them. */
  private usedVariables(step: Step): UsedVariable[] {
    const seen = new Set<string>();
    const out: UsedVariable[] = [];
    for (const { name } of step.uses ?? []) {
      if (seen.has(name)) continue;
      seen.add(name);
      const known = this.scope.get(name);
      const used: UsedVariable = { name, secret: this.scope.isSecret(name) };
      if (known !== undefined) {
        used.origin = known.origin;
        if (known.where !== undefined) used.where = known.where;
        if (!used.secret) used.value = new TextDecoder().decode(known.value);
      }
      out.push(used);
    }
    return out;
  }

  // --- variables --------------------------------------------------------------------------------

  /**
   * Every `{{name}}` must have a value when its step runs: given, or captured by an earlier step.
   * Checked before anything is sent (checkFiles checks every file first; this covers library callers).
   */
  private checkVariables(): void {
    const errors = undefinedVariables(this.transcript, (name) => this.scope.get(name) !== undefined);
    if (errors.length > 0) throw new TranscriptParseError(errors);
  }

  /**
   * What a step that is not plain sends and expects, and whether its reply is judged once the connection
   * is quiet (`--update`, `>>>?`); null when the step cannot run (it is then failed, or the file stopped).
   */
  private prepare(
    step: Step,
    conn: Transport,
    started: number,
  ): { send: Uint8Array; expect: ExpectLine[]; quiet: boolean } | null {
    let send = step.send;
    let expect = step.expect;
    if (step.uses !== undefined) {
      const rendered = this.render(step, conn, started);
      if (rendered === null) return null;
      send = rendered.send;
      expect = rendered.expect;
    }
    const quiet = this.update !== null || step.unwritten !== undefined;
    if (quiet && conn.closed && send.length > 0) {
      // Under --update a close ends a reply; a step after it has nobody to talk to.
      const active: Active = { step, expect, conn, started, failReason: null, quiet };
      this.matcher.reset(expect);
      this.failStep(active, 'closed');
      return null;
    }
    return { send, expect, quiet };
  }

  /**
   * The step's bytes and expected lines with the variables' current values; null when it cannot be
   * rendered (the step is then failed or the file stopped).
   */
  private render(
    step: Step,
    conn: Transport,
    started: number,
  ): { send: Uint8Array; expect: ExpectLine[] } | null {
    let rendered: { send: Uint8Array; expect: ExpectLine[] };
    try {
      rendered = renderStep(step, this.scope, conn.notation);
    } catch (err) {
      if (!(err instanceof UnboundVariableError)) throw err;
      // Only under --update: the step that captures it failed and the run went on.
      const active: Active = { step, expect: step.expect, conn, started, failReason: null, quiet: false };
      this.matcher.reset([]);
      this.recordFailure(
        active,
        'unbound',
        new Uint8Array(0),
        `${err.message} (line ${err.placeholder.line})`,
      );
      this.skipRest();
      this.finish('failed');
      return null;
    }
    if (rendered.send.length > 0) {
      // Its shape was checked with stand-ins for the values; the values themselves may still break it.
      const wrong = conn.checkBlock(rendered.send, step);
      if (wrong !== null) {
        this.finishWithError(new UsageError(`${this.transcript.path}:${step.line}: ${wrong}`));
        return null;
      }
    }
    return rendered;
  }

  /** The values a completed reply captured become the transcript's variables for the steps after it. */
  private takeCaptures(active: Active, lines: MatchedLine[]): void {
    const values = evaluateCaptures(active.expect, lines);
    for (const { name, line } of active.step.captures ?? []) {
      const value = values.get(name);
      // The bytes the line stands for: a WebSocket line shows a message in the notation of escapes.
      if (value !== undefined) this.scope.capture(name, active.conn.notation.read(value), line);
    }
  }

  // --- update mode ------------------------------------------------------------------------------

  /**
   * Under --update a reply ends when the connection has been quiet for the settle time, or closes, or
   * (a framed transport: HTTP) when the response has ended; then it passes or fails as a whole.
   */
  private awaitQuiet(active: Active, sent: boolean): void {
    const conn = active.conn;
    if (conn.closed) {
      this.endUpdatedReply(active, true);
      return;
    }
    // On a framed transport (HTTP) a step that sends nothing gets no reply: there is nothing to wait for.
    if (conn.framed && !sent) {
      this.endUpdatedReply(active, true);
      return;
    }
    this.setDeadline(active.started);
    if (conn.framed) return;
    // A step that expects lines waits for its reply's first byte (as a check would, up to the timeout)
    // before quiet means anything: a reply slower than the settle time is late, not empty. Only a step
    // that expects nothing (a blocking `reserve`, a `>>>?`) has nothing to wait for but quiet.
    if (active.expect.length > 0 && this.matcher.bytesReceived === 0) {
      this.stopSettle();
      return;
    }
    this.armSettle();
  }

  /**
   * The reply is over (quiet, or `ended`: closed, or the HTTP response is complete). It passes when it
   * matches with nothing left over; otherwise it fails, is handed on for rewriting, and the run goes on.
   */
  private endUpdatedReply(active: Active, ended: boolean): void {
    const matcher = this.matcher;
    let status = matcher.result;
    if (status === 'pending') status = ended ? matcher.end() : matcher.settle();
    const unwritten = active.step.unwritten;
    if (status === 'complete' && matcher.leftover().length === 0 && unwritten === undefined) {
      this.completeStep(active);
      this.next();
      return;
    }
    const received = matcher.all();
    if (this.update === null) {
      // A `>>>?` reply in a plain check: show what came, and stop there.
      this.recordFailure(active, 'unwritten', received);
      this.skipRest();
      this.finish('failed');
      return;
    }
    const alignment = this.alignment!.alignReply(active.expect, received);
    if (active.step.captures !== undefined)
      this.takeCaptures(active, alignedCaptureLines(active.expect, alignment));
    const reply: FailedReply = {
      index: this.index,
      step: active.step,
      expect: active.expect,
      received,
      alignment,
    };
    this.recordFailure(active, 'mismatch', received);
    this.failedOn = true;
    this.update!.onFailedReply(reply);
    this.next();
  }

  private failureMessage(reason: FailureReason, conn: Transport): string {
    switch (reason) {
      case 'mismatch':
        return 'the reply differs from the transcript';
      case 'timeout':
        return `timed out after ${formatMs(this.timeoutMs)} waiting for the reply`;
      case 'unsettled':
        return (
          `the reply never settled: it ends in \`...\`, so it is complete only after ${formatMs(this.settleMs)} ` +
          `without a byte or a close, and bytes kept coming for ${formatMs(this.timeoutMs)}`
        );
      case 'closed':
        return 'the server closed the connection before the reply was complete';
      case 'reset':
        return `the connection failed before the reply was complete (${conn.error?.code ?? conn.error?.message ?? 'reset'})`;
      case 'leftover':
        return `the server sent more than the transcript expects on connection '${conn.name}'`;
      case 'unbound':
        return 'a variable of this step has no value';
      case 'unwritten':
        return "the reply is not written yet ('>>>?'): `protodoc check --update` writes what the server sent";
    }
  }

  private skipRest(): void {
    for (; this.index < this.steps.length; this.index++) {
      const step = this.steps[this.index]!;
      this.record({
        index: this.index,
        line: step.line,
        connection: step.connection,
        status: 'skipped',
        durationMs: 0,
      });
    }
  }

  private record(result: StepResult): void {
    this.takePassed();
    this.results.push(result);
    if (result.status !== 'passed') {
      if (result.status === 'failed') this.failedSteps++;
      else this.skippedSteps++;
    }
    if (this.onStep !== null) this.onStep({ type: 'step-end', path: this.transcript.path, step: result });
  }

  // --- connections ------------------------------------------------------------------------------

  /**
   * The target of every connection the steps use. Returns whether a step uses variables, captures or is
   * `>>>?` (then the run is not {@link plain}). Both come from the transcript's one pass over its steps
   * (src/transcript-facts.ts), which checkFiles has made already.
   */
  private resolveTargets(): boolean {
    const transcript = this.transcript;
    const facts = stepFacts(transcript);
    const declared = new Map(transcript.connections.map((decl) => [decl.name, decl]));
    for (const name of facts.connections) {
      const decl = declared.get(name);
      const written = decl?.target ?? this.options.target ?? transcript.target;
      if (written === undefined) {
        throw new ProtodocError(
          `${transcript.path}: no target for connection '${name}': give --connect TARGET or '>>>! connect TARGET'`,
          'PROTODOC_ERR_USAGE',
        );
      }
      const text = fillServerPlaceholders(written, this.options);
      // A target written in the file is named at its line; the caller's speaks for itself.
      const line =
        decl?.target !== undefined
          ? decl.line
          : this.options.target === undefined
            ? transcript.targetLine
            : undefined;
      const where = line === undefined ? undefined : `${transcript.path}:${line}`;
      this.targets.set(
        name,
        where === undefined ? parseTarget(text) : locatedAt(where, () => parseTarget(text)),
      );
    }
    return facts.special;
  }

  private connection(name: string): Transport {
    let conn = this.conns.get(name);
    if (conn === undefined) {
      const target = this.targets.get(name)!;
      // start() loaded every transport the targets need.
      conn = transportFor(target)!.create(name, target, this);
      if (this.trace !== undefined) conn.onSent = (c, bytes) => this.traced(c, { type: 'sent', bytes });
      this.conns.set(name, conn);
    }
    this.lastName = name;
    this.lastConn = conn;
    return conn;
  }

  /** Opens `conn` for `first`, its first step (a WebSocket's `>>>! handshake` step does the handshake). */
  private open(conn: Transport, first: Step): void {
    this.completedAt = -1; // the step starts after the connection is up
    this.opened.push(conn);
    if (this.trace !== undefined) this.traced(conn, { type: 'connect', target: conn.target.text });
    conn.open(this.timeoutMs, this.options.tls, first).then(
      () =>
        this.guard(() => {
          if (this.trace !== undefined) this.traced(conn, { type: 'connected' });
          this.next();
        }),
      (err) => this.finishWithError(err, conn),
    );
  }

  private upgrade(conn: Transport, step: Step): void {
    this.completedAt = -1;
    const servername = step.startTls?.servername;
    if (this.trace !== undefined) {
      this.traced(conn, servername === undefined ? { type: 'starttls' } : { type: 'starttls', servername });
    }
    conn.startTls(this.timeoutMs, this.options.tls, servername).then(
      (plainText) =>
        this.guard(() => {
          if (this.trace !== undefined) this.traced(conn, { type: 'secured' });
          if (plainText.length > 0) {
            this.failPlainText(step, plainText);
            return;
          }
          this.upgradedStep = this.index;
          this.next();
        }),
      (err) => this.finishWithError(err, conn, true),
    );
  }

  /**
   * Bytes that arrived in plain text before a STARTTLS upgrade fail the upgrading step: taking them
   * as part of the TLS session is the STARTTLS command-injection hole (CVE-2011-0411 and kin).
   */
  private failPlainText(step: Step, plainText: Uint8Array[]): void {
    this.record({
      index: this.index,
      line: step.line,
      connection: step.connection,
      status: 'failed',
      durationMs: 0,
      failure: this.failure(step, {
        reason: 'mismatch',
        message:
          'the server sent bytes in plain text before the TLS handshake; they are not part of the TLS session',
        line: step.expect[0]?.line ?? step.line,
        expected: step.expect,
        received: plainText.length === 1 ? plainText[0]! : Buffer.concat(plainText),
      }),
    });
    this.index++;
    this.skipRest();
    this.finish('failed');
  }

  // --- end of transcript ------------------------------------------------------------------------

  /**
   * Every step passed: half-close each connection and read until each server closes or, for a
   * connection that stays open, until it has been quiet for the settle time.
   */
  private startEnd(): void {
    this.phase = PHASE_END;
    for (const conn of this.opened) {
      if (this.trace !== undefined && !conn.closed) this.traced(conn, { type: 'half-close' });
      conn.end();
    }
    this.setDeadline(now());
    this.armSettle();
    this.maybeEndDone();
  }

  /**
   * The end check is decided once every connection has closed or (where quiet means something: not a
   * framed transport such as HTTP, whose close waits for the last response) has been quiet since the
   * half-close.
   */
  private maybeEndDone(): void {
    for (const conn of this.opened) if (!conn.closed && !(!conn.framed && this.endQuiet)) return;
    this.finishEnd();
  }

  /** Anything a connection received after the last step's reply fails the end-of-transcript check. */
  private finishEnd(): void {
    if (this.phase !== PHASE_END) return;
    let failed = false;
    let lastLine = 0;
    for (const conn of this.opened) {
      if (conn.unread.length === 0) continue;
      failed = true;
      if (lastLine === 0) lastLine = this.lastLine();
      this.record({
        index: this.steps.length,
        line: lastLine,
        connection: conn.name,
        status: 'failed',
        durationMs: 0,
        failure: {
          reason: 'leftover',
          message: this.failureMessage('leftover', conn),
          line: lastLine,
          expected: [],
          received: this.scope.redact(
            conn.unread.length === 1 ? conn.unread[0]! : Buffer.concat(conn.unread),
          ),
        },
      });
    }
    this.finish(failed || this.failedOn ? 'failed' : 'passed');
  }

  /** The last line the transcript mentions: where the end-of-transcript check is reported. */
  private lastLine(): number {
    let line = 0;
    const steps = this.steps;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      if (step.line > line) line = step.line;
      const expect = step.expect;
      for (let k = 0; k < expect.length; k++) if (expect[k]!.line > line) line = expect[k]!.line;
    }
    return line;
  }

  // --- finishing --------------------------------------------------------------------------------

  private finish(status: 'passed' | 'failed', error?: TranscriptError): void {
    if (this.phase === PHASE_DONE) return;
    this.phase = PHASE_DONE;
    this.active = null;
    this.cleanup();
    this.takePassed();
    const result: TranscriptResult = {
      path: this.transcript.path,
      status: error ? 'error' : status,
      durationMs: now() - this.started,
      steps: this.results,
    };
    if (error) result.error = error;
    noteStepCounts(this.results, this.failedSteps, this.skippedSteps);
    this.onEvent?.({ type: 'file-end', result });
    this.resolve(result);
  }

  /**
   * Connecting or a TLS handshake failed, or the target is unusable: the file is an 'error'. Once the
   * file is under way (a later connection, a STARTTLS upgrade), the error names the step's line and,
   * unless it is `main`, its connection.
   */
  private finishWithError(err: unknown, conn?: Transport, upgrading = false): void {
    if (!(err instanceof ConnectError || err instanceof ProtodocError)) {
      this.crash(err);
      return;
    }
    const error: TranscriptError = { code: err.code, message: err.message };
    if (conn !== undefined) {
      if (conn.name !== DEFAULT_CONNECTION) error.message = `connection '${conn.name}': ${err.message}`;
      const step = this.steps[this.index];
      if (step !== undefined && (this.index > 0 || upgrading)) {
        error.line = step.line;
        error.connection = conn.name;
      }
    }
    this.skipRest();
    this.finish('failed', error);
  }

  /** An internal error: release everything and reject. */
  private crash(err: unknown): void {
    if (this.phase === PHASE_DONE) return;
    this.phase = PHASE_DONE;
    this.cleanup();
    this.reject(err);
  }

  private cleanup(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.settleTimer !== null) clearTimeout(this.settleTimer);
    for (const conn of this.conns.values()) conn.destroy();
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.crash(err);
    }
  }

  /** Hands a trace event to `options.trace`, with the file, the connection and the time. */
  private traced(conn: Transport, event: DistributiveOmit<TraceEvent, 'path' | 'connection' | 'at'>): void {
    const at = now() - this.started;
    this.trace!({ ...event, path: this.transcript.path, connection: conn.name, at } as TraceEvent);
  }

  // --- timers -----------------------------------------------------------------------------------

  /** Starts a wait that times out `timeoutMs` after `now`. Only arms the timer if it is idle. */
  private setDeadline(now: number): void {
    this.deadline = now + this.timeoutMs;
    if (!this.timerArmed) this.armTimer(this.timeoutMs);
  }

  private armTimer(ms: number): void {
    this.timerArmed = true;
    this.timer = setTimeout(this.onTimeout, ms);
  }

  /** No quiet period is running (a stale one would end the next reply early). */
  private stopSettle(): void {
    if (this.settleTimer !== null) clearTimeout(this.settleTimer);
    this.settleTimer = null;
  }

  private armSettle(): void {
    if (this.settleTimer === null) this.settleTimer = setTimeout(this.onSettle, this.settleMs);
    else this.settleTimer.refresh();
  }
}
