/**
 * `protodoc check` as a library function: find the transcript files, parse every one of them (and run
 * nothing if any cannot be parsed), start the server under test if asked, run, stop it, and return
 * the results. The CLI is a thin layer over this; it only maps flags and prints.
 */
import { locatedAt, ProtodocError, TranscriptParseError, UsageError } from './errors.js';
import { expandPaths } from './files.js';
import { loadTranscripts } from './load.js';
import type {
  CheckEvent,
  RunEvent,
  RunSummary,
  TraceEvent,
  TranscriptResult,
  UpdateSummary,
} from './results.js';
import { type RunEventListener, type RunOptions, runTranscript } from './runner.js';
import type { RunningServer } from './server.js';
import { runStatus, summarize } from './summary.js';
import { onServerPort, PORT_PLACEHOLDER, parseTarget, substitutePort, type Target } from './target.js';
import type { Transcript } from './transcript-model.js';
import { checkSteps, loadTransports } from './transports/index.js';
import type { ChangeToDecide, Decision, FileReply } from './update.js';
import { undefinedVariables, Variables } from './variables.js';

/** Options of {@link checkFiles}; each mirrors a flag of `protodoc check`. */
export interface CheckOptions {
  /**
   * `--connect`: target of every connection that does not name its own; overrides the files'
   * `>>>! connect`. `{port}` in it is replaced by the port `--server` picked.
   * @default each file's `>>>! connect`; with a `server` whose command has `{port}`, that target's scheme
   *   and host on the server's port (`127.0.0.1:{port}` for a file without one)
   */
  connect?: string;
  /** `--cacert`: path of a PEM file with the CA certificate(s) a TLS server's certificate must chain to. */
  cacert?: string;
  /**
   * `--insecure`: accept any TLS certificate.
   * @default false
   */
  insecure?: boolean;
  /**
   * `--server`: shell command that starts the server under test; `{port}` is replaced by a free port.
   * The server is stopped (its whole process group) when the run ends, also on failure. Without
   * `connect`, a file's `>>>! connect` target moves to that port (a `unix:` one is a usage error).
   * Targets of `>>>@NAME TARGET` lines stay as written.
   */
  server?: string;
  /**
   * How long the `server` may take to accept its first connection, in milliseconds.
   * @default 10000
   */
  serverStartTimeoutMs?: number;
  /**
   * `--timeout`: bound on connecting, each TLS handshake, each reply and the final close, in ms.
   * @default 5000, or the file's `>>>! timeout`
   */
  timeoutMs?: number;
  /**
   * `--settle`: quiet period that ends a reply whose last expected line is `...`, in ms.
   * @default 200
   */
  settleMs?: number;
  /**
   * Called with progress as it happens: `run-start` with every transcript once all are parsed and
   * checked, then each transcript's start, steps and end (with its `index` in input order), e.g. for
   * the reporters (src/reporters/hub.ts).
   */
  onEvent?: (event: CheckEvent) => void;
  /**
   * `-v`: called with the conversation as it happens, every connection event and every byte sent and
   * received (`createVerbose` prints it). Without it no such work is done.
   */
  trace?: (event: TraceEvent) => void;
  /**
   * `--var`, `--vars-file`, `--secret` and `PROTODOC_VAR_<NAME>`: the values of `{{name}}` (FORMAT §15)
   * that do not come from replies, and which values are secret (`loadVariables` reads them; `port` is
   * `--server`'s port). Every use of a variable is checked before anything runs.
   * @default no variables
   */
  variables?: Variables;
  /**
   * `--update` (and `-i`): every step's reply is what arrives until the connection is quiet for the
   * settle time, the conversation goes on after a failing step, and each failing step's expected lines
   * are rewritten with what the server sent (keeping every line that still fits). Each file is written
   * once its transcripts have run.
   * @default undefined (check only)
   */
  update?: UpdateOptions;
}

/** How `--update` rewrites. */
export interface UpdateOptions {
  /**
   * `-i`: asked about each change before it is written. `quit` writes what was accepted and runs no
   * further file. @default every change is written
   */
  decide?: (change: ChangeToDecide) => Promise<Decision>;
}

/** What {@link checkFiles} returns: the results, and the outcome they add up to. */
export interface CheckResult {
  /** With `update`: what was rewritten, and how many failing steps could not be. */
  update?: UpdateSummary;
  summary: RunSummary;
  /**
   * `passed`: every transcript passed; `failed`: a reply differed (and every transcript could run);
   * `error`: a transcript could not run (unreachable target, failed TLS handshake).
   */
  outcome: 'passed' | 'failed' | 'error';
}

/**
 * Reads every transcript first: one that cannot be read or parsed stops everything before a
 * single byte is sent, and all of the parse errors are reported together.
 */
export async function loadAll(paths: readonly string[]): Promise<Transcript[]> {
  const files = await expandPaths(paths);
  const transcripts: Transcript[] = [];
  const syntaxErrors: TranscriptParseError[] = [];
  for (const file of files) {
    let found: Transcript[];
    try {
      found = await loadTranscripts(file.path);
    } catch (err) {
      if (err instanceof TranscriptParseError) {
        syntaxErrors.push(err);
        continue;
      }
      if (err instanceof ProtodocError && err.code === 'PROTODOC_ERR_FILE') throw new UsageError(err.message);
      throw err;
    }
    if (found.length === 0 && file.explicit) {
      throw new UsageError(`${file.path}: no \`\`\`protodoc blocks in this Markdown file`);
    }
    transcripts.push(...found);
  }
  if (syntaxErrors.length > 0) throw TranscriptParseError.merge(syntaxErrors);
  if (transcripts.length === 0) throw new UsageError(`no transcripts found in ${paths.join(', ')}`);
  return transcripts;
}

/** How `--server` bears on the targets: not at all, or with the free port it picks for `{port}`. */
interface ServerPort {
  /** A `--server` was given. */
  server: boolean;
  /** Its command has `{port}`: the server listens on the port protodoc picks. */
  picksPort: boolean;
}

/**
 * Which target a transcript's connections use, checked before anything runs, so a missing or
 * malformed target is one usage error rather than a failure per file. Without `--connect`, a file's
 * `>>>! connect` target follows a `--server` that picks the port: same scheme and host, the server's port.
 */
function targetFor(transcript: Transcript, options: CheckOptions, port: ServerPort): string | undefined {
  const fileTarget = transcript.target;
  const fileWhere = `${transcript.path}:${transcript.targetLine ?? 1}`;
  let fallback: string | undefined = options.connect;
  if (fallback === undefined && fileTarget !== undefined) {
    fallback = port.picksPort ? locatedAt(fileWhere, () => onServerPort(fileTarget)) : fileTarget;
  }
  if (fallback === undefined && port.server) fallback = `127.0.0.1:${PORT_PLACEHOLDER}`;
  const declared = new Map(transcript.connections.map((decl) => [decl.name, decl]));
  // With --server, `{port}` is filled in later: check the shape with a stand-in port. A target written
  // in the file is reported at its place in the file; --connect's speaks for itself.
  const check = (text: string): void => void parseTarget(port.server ? substitutePort(text, 1) : text);
  // Only without a fallback can a step lack a target: then find the first such step.
  for (const step of fallback === undefined ? transcript.steps : []) {
    const decl = declared.get(step.connection);
    if (decl?.target !== undefined) continue;
    throw new UsageError(
      `${transcript.path}:${step.line}: no target for connection '${step.connection}': ` +
        `give --connect TARGET or write '>>>! connect TARGET' in the file`,
    );
  }
  for (const decl of transcript.connections) {
    const target = decl.target;
    if (target !== undefined) locatedAt(`${transcript.path}:${decl.line}`, () => check(target));
  }
  if (fallback !== undefined) {
    const target = fallback;
    if (options.connect === undefined && fileTarget !== undefined) locatedAt(fileWhere, () => check(target));
    else check(target);
  }
  return fallback;
}

/**
 * Every step must fit its connection's transport (on an `http://` connection a send block is an HTTP
 * request, ...): checked before anything runs, like the targets, so a mistake is one usage error naming
 * its file and line. The transports the targets need are loaded here (HTTP brings undici), and only then.
 */
async function checkTransports(
  transcripts: readonly Transcript[],
  targets: readonly (string | undefined)[],
  port: ServerPort,
): Promise<void> {
  // The targets were checked already (targetFor); with --server, `{port}` stands in for a port.
  const parse = (text: string): Target => parseTarget(port.server ? substitutePort(text, 1) : text);
  const byTranscript = transcripts.map((transcript, i) => {
    const fallback = targets[i];
    const parsed = new Map<string, Target>();
    for (const decl of transcript.connections) {
      const text = decl.target ?? fallback;
      if (text !== undefined) parsed.set(decl.name, parse(text));
    }
    return parsed;
  });
  await loadTransports(byTranscript.flatMap((parsed) => [...parsed.values()]));
  for (const [i, transcript] of transcripts.entries()) {
    const parsed = byTranscript[i]!;
    checkSteps(transcript, (name) => parsed.get(name));
  }
}

/**
 * Every `{{name}}` in every file must have a value when its step runs: given, `port` from a `--server`
 * that picks one, or captured by an earlier step. All such mistakes are reported before anything runs.
 */
function checkVariables(transcripts: readonly Transcript[], variables: Variables, port: ServerPort): void {
  const given = variables.get('port');
  if (port.picksPort && given !== undefined && given.origin !== 'env') {
    const where = given.where === undefined ? '--var port' : given.where;
    throw new UsageError(`${where}: 'port' is the port --server picks; give the variable another name`);
  }
  const defined = (name: string): boolean => variables.has(name) || (name === 'port' && port.picksPort);
  const errors = transcripts.flatMap((transcript) =>
    transcript.steps.some((step) => step.uses !== undefined) ? undefinedVariables(transcript, defined) : [],
  );
  if (errors.length > 0) throw new TranscriptParseError(errors);
}

/**
 * The runner's events with the transcript's place in input order. The event is given its `index` in
 * place: it is the runner's fresh object and goes nowhere else. Copying it (`{ ...event, index }`, which
 * V8 cannot optimise over the several shapes of events) was the largest self time of protodoc's own
 * code in a 10,000-step run.
 */
function withIndex(onEvent: (event: CheckEvent) => void, index: number): RunEventListener {
  return (event) => {
    const indexed = event as RunEvent & { index: number };
    indexed.index = index;
    onEvent(indexed);
  };
}

/**
 * Checks transcript files against live servers: what `protodoc check FILES...` does.
 *
 * @param paths transcript files (any extension; `.md` files contribute their ```` ```protodoc ```` blocks)
 *   and directories (searched recursively for `*.txt`, `*.md` and `*.protodoc`).
 * @throws UsageError (`PROTODOC_ERR_USAGE`): a missing path, no transcripts, a bad target or CA file.
 * @throws TranscriptParseError (`PROTODOC_ERR_SYNTAX`): some transcripts cannot be parsed; nothing ran.
 * @throws ServerStartError (`PROTODOC_ERR_SERVER`): the `server` exited early or never listened.
 * @example
 *   const { outcome, summary } = await checkFiles(['examples/protodoc/redis.txt'], {
 *     server: 'redis-server --port {port} --save ""',
 *     connect: '127.0.0.1:{port}',
 *   });
 */
export async function checkFiles(paths: readonly string[], options: CheckOptions = {}): Promise<CheckResult> {
  const transcripts = await loadAll(paths);
  const port: ServerPort = {
    server: options.server !== undefined,
    picksPort: options.server?.includes(PORT_PLACEHOLDER) ?? false,
  };
  const targets = transcripts.map((t) => targetFor(t, options, port));
  const variables = options.variables ?? new Variables();
  checkVariables(transcripts, variables, port);
  await checkTransports(transcripts, targets, port);
  const tls = {
    insecure: options.insecure ?? false,
    // Loaded only with --cacert.
    ...(options.cacert ? { ca: await (await import('./ca-file.js')).readCaFile(options.cacert) } : {}),
  };

  const onEvent = options.onEvent;
  onEvent?.({ type: 'run-start', transcripts });

  let server: RunningServer | undefined;
  if (options.server !== undefined) {
    // Loaded only with --server: child_process and the start-up logic are not needed otherwise.
    const { startServer } = await import('./server.js');
    // Wait where the transcripts will connect: --connect, else the first file's target (on the server's
    // port when it picks one), else startServer's own default, 127.0.0.1:{port}.
    const waitFor = options.connect ?? targets.find((t) => t !== undefined);
    server = await startServer({
      command: options.server,
      ...(waitFor !== undefined ? { target: waitFor } : {}),
      ...(options.serverStartTimeoutMs !== undefined ? { startTimeoutMs: options.serverStartTimeoutMs } : {}),
    });
  }
  try {
    const started = performance.now();
    const results: TranscriptResult[] = [];
    const update = options.update;
    const updated: UpdateSummary = { steps: 0, files: 0, failed: 0 };
    // Under --update: the current file's transcripts, results and failing replies.
    let file = { first: 0, replies: [] as FileReply[] };
    for (const [i, transcript] of transcripts.entries()) {
      const run: RunOptions = { tls };
      const target = targets[i];
      // The runner's target overrides every file's own: --connect, or the file's own moved to --server's port.
      if (target !== undefined && (options.connect !== undefined || server)) run.target = target;
      if (server?.port !== undefined) run.port = server.port;
      if (options.timeoutMs !== undefined) run.timeoutMs = options.timeoutMs;
      if (options.settleMs !== undefined) run.settleMs = options.settleMs;
      if (options.trace !== undefined) run.trace = options.trace;
      run.variables = variables;
      if (update !== undefined) {
        const replies = file.replies;
        run.update = { onFailedReply: (reply) => replies.push({ transcript, reply }) };
      }
      results.push(await runTranscript(transcript, run, onEvent && withIndex(onEvent, i)));
      if (update === undefined || transcripts[i + 1]?.path === transcript.path) continue;
      // The file's last transcript has run: rewrite it.
      const { updateFile } = await import('./update.js');
      const fileResults = results.slice(file.first);
      const done = await updateFile(
        transcript.path,
        transcripts.slice(file.first, i + 1),
        fileResults,
        file.replies,
        variables,
        update.decide,
      );
      updated.steps += done.written;
      updated.failed += done.failed;
      if (done.written > 0) updated.files++;
      onEvent?.({ type: 'file-updated', path: transcript.path, results: fileResults, index: file.first });
      file = { first: i + 1, replies: [] };
      if (done.quit) break;
    }
    const summary = summarize(results, performance.now() - started);
    return update === undefined
      ? { summary, outcome: runStatus(summary) }
      : { summary, outcome: runStatus(summary), update: updated };
  } finally {
    await server?.stop();
  }
}
