/**
 * `protodoc check` as a library function: find the transcript files, parse every one of them (and run
 * nothing if any cannot be parsed), start the server under test if asked, run, stop it, and return
 * the results. The CLI is a thin layer over this; it only maps flags and prints.
 */
import { availableParallelism } from 'node:os';
import { now } from './clock.js';
import { locatedAt, ProtodocError, TranscriptParseError, UsageError } from './errors.js';
import { type FileJob, type FileRunSettings, runFileJob } from './file-run.js';
import { expandPaths, type TranscriptFile, type TranscriptPath } from './files.js';
import { loadTranscripts } from './load.js';
import { OrderedEvents } from './ordered-events.js';
import type { CheckEvent, RunSummary, TraceEvent, TranscriptResult, UpdateSummary } from './results.js';
import { type PlannedFile, planRun, type SerialRule } from './run-plan.js';
import type { FileRunContext } from './scheduler.js';
import { DIR_PLACEHOLDER, fillServerPlaceholders } from './server-placeholders.js';
import type { ServerPool } from './server-pool.js';
import type { ServerScope } from './server-scope.js';
import type { Shard } from './shard.js';
import { runStatus, summarize } from './summary.js';
import { onServerPort, PORT_PLACEHOLDER, parseTarget, type Target } from './target.js';
import type { ThreadExecutor } from './thread-executor.js';
import { stepFacts } from './transcript-facts.js';
import type { Transcript } from './transcript-model.js';
import { checkSteps, loadTransports } from './transports/index.js';
import type { ChangeToDecide, Decision } from './update.js';
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
   * Called with progress as it happens: `run-start` with every transcript that will run (those `filter`
   * and `shard` select) once all are parsed and checked, then each transcript's start, steps and end
   * (with its `index` in that list), e.g. for the reporters (src/reporters/hub.ts). Whatever `jobs`
   * is, the events come as a one-job run would send them: a transcript's after the one before it.
   */
  onEvent?: (event: CheckEvent) => void;
  /**
   * Whether `onEvent` gets a `step-end` event for every step. A listener that needs only transcripts
   * (the reporters that print at a transcript's end) saves an event per step, which in a 10,000-step
   * transcript is most of what happens besides the round trips.
   * @default true
   */
  stepEvents?: boolean;
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
   * `--jobs`: how many files run at once; `'auto'` is the number of CPUs. Files run in parallel share
   * nothing but a target they all connect to: give each worker its own server with `server`.
   * With `update.decide` (`-i`) it is 1, whatever is given.
   * @default 1
   */
  jobs?: number | 'auto';
  /**
   * `--server-scope`: `run`, each worker's server serves all of its files; `file`, every file (and
   * every retry of it) gets a fresh server, so no state leaks from one file to the next.
   * @default 'run'
   */
  serverScope?: ServerScope;
  /** The working directory of the `server` command (a config file's directory). @default process.cwd() */
  serverCwd?: string;
  /** `--shard I/N`: only the files (and serial groups) in shard I of N, by a hash of their path. */
  shard?: Shard;
  /**
   * `--filter`: only the transcripts whose label matches: the path, or `PATH:LINE` for a Markdown
   * block (LINE: its first step). Whole transcripts: steps are never filtered out.
   */
  filter?: RegExp;
  /** `--bail`: after the first file that fails, start no new file; the ones not started are `skipped`. */
  bail?: boolean;
  /**
   * `--retries`: run a failing file again, up to this many more times; one that passes on a retry is
   * `flaky` (the run passes, the report says so). Under scope `file` each attempt gets a fresh server;
   * otherwise the server keeps what the failed attempt left. Not with `update`.
   * @default 0
   */
  retries?: number;
  /** Serial groups given outside the files (a config file's `serial:`), beside `>>>! serial NAME`. */
  serialGroups?: readonly SerialRule[];
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
export async function loadAll(paths: readonly TranscriptPath[]): Promise<Transcript[]> {
  return parseAll(await expandPaths(paths), paths);
}

/** {@link loadAll} once the paths are expanded into `files`. */
async function parseAll(
  files: readonly TranscriptFile[],
  paths: readonly TranscriptPath[],
): Promise<Transcript[]> {
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
  if (transcripts.length === 0) {
    const named = paths.map((entry) => (typeof entry === 'string' ? entry : entry.path));
    throw new UsageError(`no transcripts found in ${named.join(', ')}`);
  }
  return transcripts;
}

/** A target with stand-ins for what `--server` fills in later, to check its shape before it runs. */
function standIn(text: string): string {
  return fillServerPlaceholders(text, { port: 1, dir: '/tmp/dir' });
}

/** How `--server` bears on the targets: not at all, or with the free port it picks for `{port}`. */
interface ServerPort {
  /** A `--server` was given. */
  server: boolean;
  /** Its command has `{port}`: the server listens on the port protodoc picks. */
  picksPort: boolean;
  /** Its command has `{dir}`: each server start gets a fresh directory, `{dir}` and `{{dir}}`. */
  makesDir: boolean;
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
  const check = (text: string): void => {
    if (text.includes(DIR_PLACEHOLDER) && !port.makesDir) {
      throw new UsageError(
        `target '${text}': ${DIR_PLACEHOLDER} is only replaced when the --server command has it`,
      );
    }
    parseTarget(port.server ? standIn(text) : text);
  };
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
  const parse = (text: string): Target => parseTarget(port.server ? standIn(text) : text);
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
  const builtins = [
    { name: 'port', is: 'the port --server picks', taken: port.picksPort },
    { name: 'dir', is: 'the directory --server makes', taken: port.makesDir },
  ];
  for (const builtin of builtins) {
    const given = variables.get(builtin.name);
    if (!builtin.taken || given === undefined || given.origin === 'env') continue;
    const where = given.where === undefined ? `--var ${builtin.name}` : given.where;
    throw new UsageError(`${where}: '${builtin.name}' is ${builtin.is}; give the variable another name`);
  }
  const defined = (name: string): boolean =>
    variables.has(name) || (name === 'port' && port.picksPort) || (name === 'dir' && port.makesDir);
  const errors = transcripts.flatMap((transcript) =>
    stepFacts(transcript).variables ? undefinedVariables(transcript, defined) : [],
  );
  if (errors.length > 0) throw new TranscriptParseError(errors);
}

/**
 * Checks transcript files against live servers: what `protodoc check FILES...` does.
 *
 * @param paths transcript files (any extension; `.md` files contribute their ```` ```protodoc ```` blocks)
 *   and directories (searched recursively for `*.txt`, `*.md` and `*.protodoc`); a `TranscriptFile`
 *   is one file as it is (`configTranscriptFiles` gives those a config's glob patterns found).
 * @throws UsageError (`PROTODOC_ERR_USAGE`): a missing path, no transcripts, a bad target or CA file.
 * @throws TranscriptParseError (`PROTODOC_ERR_SYNTAX`): some transcripts cannot be parsed; nothing ran.
 * @throws ServerStartError (`PROTODOC_ERR_SERVER`): the `server` exited early or never listened.
 * @example
 *   const { outcome, summary } = await checkFiles(['examples/protodoc/redis.txt'], {
 *     server: 'redis-server --port {port} --save ""',
 *     connect: '127.0.0.1:{port}',
 *   });
 */
export async function checkFiles(
  paths: readonly TranscriptPath[],
  options: CheckOptions = {},
): Promise<CheckResult> {
  const files = await expandPaths(paths);
  const variables = options.variables ?? new Variables();
  const threads = await startThreads(options, files.length, variables);
  try {
    return await checkExpanded(files, paths, options, variables, threads);
  } finally {
    await threads?.close();
  }
}

/**
 * With several jobs, the worker threads start before the files are parsed, so that their start-up (a
 * Node environment and protodoc's modules each, tens of milliseconds) runs on the cores the parse leaves
 * idle. One fewer than the jobs, since this thread runs files too, and no more than the files can keep
 * busy; the plan may need fewer still (serial groups, --filter, --shard), and the others stay idle.
 */
async function startThreads(
  options: CheckOptions,
  files: number,
  variables: Variables,
): Promise<ThreadExecutor | undefined> {
  // -i asks in this thread: it runs one job. A bad --jobs is reported later, where it always was.
  const jobs = options.update?.decide !== undefined ? 1 : jobCount(options.jobs);
  const count = Math.min(jobs ?? 1, files) - 1;
  if (count < 1) return undefined;
  const { ThreadExecutor } = await import('./thread-executor.js');
  return ThreadExecutor.create(count, variables);
}

/** {@link checkFiles} once the paths are expanded and the threads, if any, are starting. */
async function checkExpanded(
  files: readonly TranscriptFile[],
  paths: readonly TranscriptPath[],
  options: CheckOptions,
  variables: Variables,
  threads: ThreadExecutor | undefined,
): Promise<CheckResult> {
  const transcripts = await parseAll(files, paths);
  const port: ServerPort = {
    server: options.server !== undefined,
    picksPort: options.server?.includes(PORT_PLACEHOLDER) ?? false,
    makesDir: options.server?.includes(DIR_PLACEHOLDER) ?? false,
  };
  const targets = transcripts.map((t) => targetFor(t, options, port));
  checkVariables(transcripts, variables, port);
  await checkTransports(transcripts, targets, port);
  const tls = {
    insecure: options.insecure ?? false,
    // Loaded only with --cacert.
    ...(options.cacert ? { ca: await (await import('./ca-file.js')).readCaFile(options.cacert) } : {}),
  };

  const plan = planRun(transcripts, {
    ...(options.filter !== undefined ? { filter: options.filter } : {}),
    ...(options.shard !== undefined ? { shard: options.shard } : {}),
    ...(options.serialGroups !== undefined ? { serial: options.serialGroups } : {}),
  });
  options.onEvent?.({ type: 'run-start', transcripts: plan.selected.map((i) => transcripts[i]!) });
  const update = options.update;
  const retries = options.retries ?? 0;
  if (update !== undefined && retries > 0)
    throw new UsageError('--retries cannot be used with --update or -i');
  // -i asks about one file at a time, in order.
  const jobs = update?.decide !== undefined ? 1 : resolveJobs(options.jobs);

  let servers: ServerPool | undefined;
  if (options.server !== undefined) {
    // Loaded only with --server: child_process and the start-up logic are not needed otherwise.
    const { ServerPool } = await import('./server-pool.js');
    // Wait where the transcripts will connect: --connect, else the first file's target (on the server's
    // port when it picks one), else startServer's own default, 127.0.0.1:{port}.
    const waitFor = options.connect ?? targets.find((t) => t !== undefined);
    servers = new ServerPool({
      command: options.server,
      ...(waitFor !== undefined ? { target: waitFor } : {}),
      ...(options.serverScope !== undefined ? { scope: options.serverScope } : {}),
      ...(options.serverStartTimeoutMs !== undefined ? { startTimeoutMs: options.serverStartTimeoutMs } : {}),
      ...(options.serverCwd !== undefined ? { cwd: options.serverCwd } : {}),
    });
  }
  const updated: UpdateSummary = { steps: 0, files: 0, failed: 0 };

  const settings: FileRunSettings = {
    tls,
    connect: options.connect !== undefined,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.settleMs !== undefined ? { settleMs: options.settleMs } : {}),
    trace: options.trace !== undefined,
    update: update !== undefined,
    stepEvents: options.stepEvents ?? true,
  };
  // Several workers: this thread is worker 0 and worker k runs in thread k - 1, so N workers use N CPUs.
  const { runScheduled } = await import('./scheduler.js');
  threads?.configure(settings);
  /** One attempt at one file, in a worker thread or in this one. */
  const runFile = async (file: PlannedFile, context: FileRunContext): Promise<TranscriptResult[]> => {
    const job: FileJob = {
      path: file.path,
      first: file.first,
      transcripts: file.transcripts.map((i) => transcripts[i]!),
      targets: file.transcripts.map((i) => targets[i]),
    };
    const outcome =
      threads === undefined || context.worker === 0
        ? await runFileJob(job, settings, context.server, context.channel, variables, update?.decide)
        : await threads.run(context.worker - 1, job, context.server, context.channel);
    if (outcome.update !== undefined) {
      updated.steps += outcome.update.written;
      updated.failed += outcome.update.failed;
      if (outcome.update.written > 0) updated.files++;
      if (outcome.update.quit) context.halt();
    }
    return outcome.results;
  };

  const started = now();
  const results = await runScheduled(plan, transcripts, {
    jobs,
    bail: options.bail ?? false,
    retries,
    ...(servers !== undefined ? { servers } : {}),
    events: new OrderedEvents(options.onEvent, options.trace),
    runFile,
    ...(threads !== undefined
      ? {
          filesDone: () => threads.close(),
          // A thread is sent its next file while one runs (its server is the worker's own, scope run):
          // this thread, busy with worker 0's files, need not answer first. Files still run one at a time.
          // Not with --retries (a retry runs before the next file of its worker) nor --bail (no file starts
          // after one failed: a thread starts its queued file as soon as the one before it ends).
          lanes: (worker: number) =>
            worker > 0 && retries === 0 && options.bail !== true && (options.serverScope ?? 'run') === 'run'
              ? 2
              : 1,
        }
      : {}),
  });
  const summary = summarize(results, now() - started);
  return update === undefined
    ? { summary, outcome: runStatus(summary) }
    : { summary, outcome: runStatus(summary), update: updated };
}

/** `--jobs`: a number of at least 1, or `auto`, the number of CPUs. */
function resolveJobs(jobs: number | 'auto' | undefined): number {
  const count = jobCount(jobs);
  if (count === undefined)
    throw new UsageError(`--jobs ${jobs}: expected a whole number of at least 1, or auto`);
  return count;
}

/** How many jobs `--jobs` asks for; undefined when it is not a whole number of at least 1 or `auto`. */
function jobCount(jobs: number | 'auto' | undefined): number | undefined {
  if (jobs === undefined) return 1;
  if (jobs === 'auto') return availableParallelism();
  return Number.isInteger(jobs) && jobs >= 1 ? jobs : undefined;
}
