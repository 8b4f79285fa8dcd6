/**
 * The `protodoc` command line: maps flags to {@link checkFiles} options, prints what it returns, and
 * turns the outcome into an exit code. The only module that sets the process's exit code; nothing calls
 * `process.exit()`, which would cut off whatever stdout and stderr still hold for a pipe.
 *
 * Exit codes: 0 all passed; 1 a transcript failed; 2 usage error; 3 a transcript cannot be parsed;
 * 4 a target cannot be reached or `--server` failed; 70 internal error (a bug: please report it).
 */
import { readFileSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { styleText } from 'node:util';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { CheckOptions, CheckResult } from './check.js';
import { now } from './clock.js';
import {
  CONFIG_FILE_NAME,
  checkOptionsFromConfig,
  configTranscriptFiles,
  loadConfig,
  type ProtodocConfig,
} from './config-file.js';
import { parseDuration } from './duration.js';
import { ConfigError, ProtodocError, TranscriptParseError, UsageError } from './errors.js';
import { EXIT_CODES } from './exit-codes.js';
import type { TranscriptPath } from './files.js';
import type { Recorder, RecordOptions } from './record.js';
import type { TextOutput } from './reporters/output.js';
import { REPORTERS, type ReporterEntry } from './reporters/registry.js';
import type { Reporter, ReportOutput, RunEnd } from './reporters/reporter.js';
import type { CheckEvent } from './results.js';
import { SERVER_SCOPES, type ServerScope } from './server-scope.js';
import { parseShard, type Shard } from './shard.js';
import type { ChangeToDecide } from './update.js';

/** Where the CLI writes; `process.stdout` / `process.stderr` unless a test gives its own. */
export interface CliStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** Node's `tty.WriteStream.hasColors(env)`: false under `NO_COLOR`, `NODE_DISABLE_COLORS`, `TERM=dumb`. */
  hasColors?(env?: object): boolean;
  /** A terminal's width. */
  columns?: number;
}

/** What the program talks to. Tests replace the streams, and `checkFiles` to see the options a flag maps to. */
export interface CliContext {
  stdout: CliStream;
  stderr: CliStream;
  /** Where `-i` reads its answers; `process.stdin` unless a test gives its own. */
  stdin: NodeJS.ReadableStream;
  checkFiles: (paths: readonly TranscriptPath[], options: CheckOptions) => Promise<CheckResult>;
  /** What `protodoc record` starts (src/record.ts `record`); tests give their own to see the options. */
  record: (options: RecordOptions) => Promise<Recorder>;
  /**
   * When the recording is to stop: on SIGINT or SIGTERM. Signals after the first are ignored (the file
   * is being written) until `release()`.
   */
  untilStopped: () => { stopped: Promise<void>; release(): void };
  /**
   * The environment the CLI reads: `FORCE_COLOR`, `GITHUB_ACTIONS`, `TERM`.
   * @default process.env
   */
  env: NodeJS.ProcessEnv;
  /**
   * The report formats `--reporter` offers (src/reporters/registry.ts); a test adds one to show that a
   * format is its module and one entry here.
   * @default REPORTERS
   */
  reporters: Readonly<Record<string, ReporterEntry>>;
  /** Set by the command that ran; read by {@link runCli}. */
  exitCode: number;
}

/** A `--reporter NAME[=FILE]` as given: a format, and the file it writes (stdout without one). */
export interface ReporterSpec {
  name: string;
  file?: string;
}

/** The flags of `protodoc check` as commander parses them. */
export interface CheckFlags {
  connect?: string;
  cacert?: string;
  insecure?: boolean;
  server?: string;
  serverTimeout?: number;
  timeout?: number;
  settle?: number;
  reporter?: ReporterSpec[];
  reportJson?: string;
  reportJunit?: string;
  color?: boolean;
  verbose?: boolean;
  var?: string[];
  varsFile?: string[];
  secret?: string[];
  update?: boolean;
  interactive?: boolean;
  jobs?: number | 'auto';
  serverScope?: ServerScope;
  shard?: Shard;
  filter?: RegExp;
  bail?: boolean;
  retries?: number;
  config?: string;
}

/** The flags of `protodoc record` as commander parses them. */
export interface RecordFlags {
  listen: string;
  connect?: string;
  output: string;
  server?: string;
  serverTimeout?: number;
  settle?: number;
  timeout?: number;
  volatile?: string[];
  secret?: string[];
  cacert?: string;
  insecure?: boolean;
  verbose?: boolean;
}

/** Collects a repeatable flag's values in order. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const EXIT_CODE_HELP = `
Exit codes:
  0   every transcript passed
  1   a transcript failed (a reply differed, timed out, or the server closed)
  2   usage error (bad flag, missing file, no transcripts, no target)
  3   a transcript or the config file cannot be parsed (nothing was run)
  4   a target cannot be reached, or --server failed
  70  internal error (a bug in protodoc: please report it)
`;

/** Parses `NAME[=FILE]` against the registry (commander shows the error on its option's line). */
function reporterSpec(value: string, reporters: Readonly<Record<string, ReporterEntry>>): ReporterSpec {
  const eq = value.indexOf('=');
  const name = eq < 0 ? value : value.slice(0, eq);
  if (!Object.hasOwn(reporters, name)) {
    throw new InvalidArgumentError(`Allowed reporters are ${Object.keys(reporters).join(', ')}.`);
  }
  if (eq < 0) return { name };
  const file = value.slice(eq + 1);
  if (file === '')
    throw new InvalidArgumentError(`Give a file after '${name}=', or leave '=' out for stdout.`);
  return { name, file };
}

/** The help's list of report formats, from the registry. */
function reportersHelp(reporters: Readonly<Record<string, ReporterEntry>>): string {
  const names = Object.keys(reporters);
  const width = Math.max(...names.map((name) => name.length));
  const lines = names.map((name) => `  ${name.padEnd(width)}  ${reporters[name]!.description}`);
  return `\nReporters (--reporter NAME, or NAME=FILE):\n${lines.join('\n')}\n`;
}

function durationFlag(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  if (ms <= 0) throw new InvalidArgumentError('the duration must be more than 0');
  return ms;
}

/** Maps parsed flags to the options of {@link checkFiles}. */
export function checkOptionsFromFlags(flags: CheckFlags): CheckOptions {
  const options: CheckOptions = {};
  if (flags.connect !== undefined) options.connect = flags.connect;
  if (flags.cacert !== undefined) options.cacert = flags.cacert;
  if (flags.insecure) options.insecure = true;
  if (flags.server !== undefined) options.server = flags.server;
  if (flags.serverTimeout !== undefined) options.serverStartTimeoutMs = flags.serverTimeout;
  if (flags.timeout !== undefined) options.timeoutMs = flags.timeout;
  if (flags.settle !== undefined) options.settleMs = flags.settle;
  if (flags.jobs !== undefined) options.jobs = flags.jobs;
  if (flags.serverScope !== undefined) options.serverScope = flags.serverScope;
  if (flags.shard !== undefined) options.shard = flags.shard;
  if (flags.filter !== undefined) options.filter = flags.filter;
  if (flags.bail) options.bail = true;
  if (flags.retries !== undefined) options.retries = flags.retries;
  return options;
}

function jobsFlag(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError('expected a whole number of at least 1, or auto');
  }
  return Number(value);
}

function retriesFlag(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number (0 or more)');
  return Number(value);
}

function shardFlag(value: string): Shard {
  try {
    return parseShard(value);
  } catch {
    throw new InvalidArgumentError('expected I/N with 1 <= I <= N, e.g. 2/4');
  }
}

function filterFlag(value: string): RegExp {
  try {
    return new RegExp(value);
  } catch (err) {
    throw new InvalidArgumentError(`not a regular expression: ${(err as Error).message}`);
  }
}

/**
 * The config's `reporters:` (each `NAME` or `NAME=FILE`, as `--reporter` takes them), used when the
 * command line names no report at all.
 */
function configReporters(
  config: ProtodocConfig | undefined,
  reporters: Readonly<Record<string, ReporterEntry>>,
): ReporterSpec[] {
  return (config?.reporters ?? []).map(({ value, where }) => {
    if (!Object.hasOwn(reporters, value.name)) {
      throw new ConfigError(
        where,
        `unknown reporter '${value.name}' (known: ${Object.keys(reporters).join(', ')})`,
      );
    }
    return value.file === undefined ? { name: value.name } : { name: value.name, file: value.file };
  });
}

/** Maps parsed flags to the options of `record` (src/record.ts). */
export function recordOptionsFromFlags(flags: RecordFlags): RecordOptions {
  const options: RecordOptions = { listen: flags.listen, output: flags.output };
  if (flags.connect !== undefined) options.connect = flags.connect;
  if (flags.server !== undefined) options.server = flags.server;
  if (flags.serverTimeout !== undefined) options.serverStartTimeoutMs = flags.serverTimeout;
  if (flags.settle !== undefined) options.settleMs = flags.settle;
  if (flags.timeout !== undefined) options.timeoutMs = flags.timeout;
  if (flags.volatile !== undefined) options.volatile = flags.volatile;
  if (flags.secret !== undefined) options.secrets = flags.secret;
  if (flags.cacert !== undefined) options.cacert = flags.cacert;
  if (flags.insecure) options.insecure = true;
  return options;
}

/**
 * Whether to colour what goes to `stream`, the way Node's own `util.styleText` decides: `--color` /
 * `--no-color` first; then `FORCE_COLOR` when set (`0` or `false` turn colour off, any other value on,
 * even into a pipe or a file: CI logs show colour); else only a terminal that supports it (`NO_COLOR`,
 * `NODE_DISABLE_COLORS` and `TERM=dumb` turn it off: `stream.hasColors()`).
 */
export function useColor(
  flag: boolean | undefined,
  stream: CliStream,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (flag !== undefined) return flag;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return ['', '1', '2', '3', 'true'].includes(force);
  return stream.isTTY === true && (stream.hasColors?.(env) ?? false);
}

/**
 * The reporters of a run, from `--reporter` (and its aliases `--report-json FILE`, `--report-junit
 * FILE`) by the rules the README states: at most one writes to stdout; `pretty` does when none is
 * named there; under `GITHUB_ACTIONS=true`, `github` joins a `pretty` or `dot` stdout (its lines among
 * theirs) unless `github` is named. A file named twice is an error.
 * @throws UsageError
 */
export function resolveReporters(
  given: readonly ReporterSpec[],
  env: NodeJS.ProcessEnv = {},
): ReporterSpec[] {
  const specs = [...given];
  const onStdout = specs.filter((spec) => spec.file === undefined);
  if (onStdout.length > 1) {
    const [a, b] = onStdout as [ReporterSpec, ReporterSpec];
    throw new UsageError(
      `--reporter ${a.name} and --reporter ${b.name} both write to stdout, and only one can: ` +
        `give the other a file (--reporter ${b.name}=FILE)`,
    );
  }
  const files = new Set<string>();
  for (const { file } of specs) {
    if (file === undefined) continue;
    if (files.has(file)) throw new UsageError(`--reporter: two reports would write ${file}`);
    files.add(file);
  }
  if (onStdout.length === 0) specs.unshift({ name: 'pretty' });
  const stdout = specs.find((spec) => spec.file === undefined)!;
  if (
    env.GITHUB_ACTIONS === 'true' &&
    (stdout.name === 'pretty' || stdout.name === 'dot') &&
    !specs.some((spec) => spec.name === 'github')
  ) {
    specs.push({ name: 'github' });
  }
  return specs;
}

function exitCodeOf(result: CheckResult): number {
  if (result.outcome === 'error') return EXIT_CODES.unreachable;
  // --update: the run passes when every failing step was rewritten.
  if (result.update !== undefined) return result.update.failed > 0 ? EXIT_CODES.failed : EXIT_CODES.passed;
  return result.outcome === 'failed' ? EXIT_CODES.failed : EXIT_CODES.passed;
}

async function writeReport(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (err) {
    throw new UsageError(
      `cannot write the report ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** A report path whose directory does not exist is a usage error found before anything runs. */
async function checkReportPath(path: string | undefined): Promise<void> {
  if (path === undefined) return;
  const dir = dirname(path);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`cannot write the report ${path}: no such directory ${dir}`);
}

/**
 * What `check` needs beyond the program itself, loaded when a check runs: `--version`, `--help` and
 * `record` start without the reporters (nor, by default, `checkFiles` and everything under it).
 */
async function checkModules() {
  const [variables, output, hub, format, summary, pretty, transports] = await Promise.all([
    import('./variables.js'),
    import('./reporters/output.js'),
    import('./reporters/hub.js'),
    import('./reporters/format.js'),
    import('./summary.js'),
    import('./reporters/pretty.js'),
    import('./transports/index.js'),
  ]);
  return { ...variables, ...output, ...hub, ...format, ...summary, ...pretty, ...transports };
}

async function runCheck(context: CliContext, files: string[], flags: CheckFlags): Promise<void> {
  const { stdout, stderr, env } = context;
  const {
    loadVariables,
    streamOutput,
    TextOutput,
    createReportHub,
    runErrorOf,
    errorLabel,
    summarize,
    colorDiff,
    formatUpdated,
    httpLoaded,
  } = await checkModules();
  // protodoc.config.yaml (or --config): what the command line does not say. Flags win.
  const config = await loadConfig(flags.config);
  // Files named on the command line win over the config's `files:`.
  let paths: TranscriptPath[] = files;
  if (paths.length === 0) {
    if (config?.files === undefined) {
      throw new UsageError(
        `no transcript files given: name files or directories, or list them under 'files:' in ${CONFIG_FILE_NAME}`,
      );
    }
    paths = await configTranscriptFiles(config);
  }
  const given = [
    ...(flags.reporter ?? []),
    ...(flags.reportJson !== undefined ? [{ name: 'json', file: flags.reportJson }] : []),
    ...(flags.reportJunit !== undefined ? [{ name: 'junit', file: flags.reportJunit }] : []),
  ];
  // A report named on the command line replaces all of the config's.
  const specs = resolveReporters(given.length > 0 ? given : configReporters(config, context.reporters), env);
  for (const spec of specs) if (spec.file !== undefined) await checkReportPath(spec.file);
  const color = useColor(flags.color, stdout, env);
  const options = { ...checkOptionsFromConfig(config), ...checkOptionsFromFlags(flags) };
  // A --server on the command line runs where protodoc runs, not in the config's directory.
  if (flags.server !== undefined) delete options.serverCwd;
  const variables = await loadVariables({
    ...(flags.var !== undefined ? { vars: flags.var } : {}),
    ...(flags.varsFile !== undefined ? { varsFiles: flags.varsFile } : {}),
    ...(flags.secret !== undefined ? { secrets: flags.secret } : {}),
    ...(config !== undefined
      ? {
          config: {
            ...(config.variables !== undefined
              ? { variables: config.variables.map(({ value, where }) => ({ ...value, where })) }
              : {}),
            ...(config.varsFiles !== undefined ? { varsFiles: config.varsFiles } : {}),
            ...(config.secrets !== undefined ? { secrets: config.secrets } : {}),
          },
        }
      : {}),
  });
  options.variables = variables;

  // -v: the conversation on stderr as it happens (loaded only then).
  const verbose = flags.verbose
    ? (await import('./reporters/verbose.js')).createVerbose((text) => void stderr.write(text), {
        color: useColor(flags.color, stderr, env),
        // The config's `secrets:` too: a value from PROTODOC_VAR_<NAME> is as secret as one given here.
        ...(flags.secret !== undefined || (config?.secrets?.length ?? 0) > 0
          ? {
              redact: (bytes: Uint8Array) => variables.redact(bytes),
              // A secret named without a value may be captured from a line: print lines once it is known.
              holdReceived:
                (flags.secret ?? []).some((secret) => !secret.includes('=')) ||
                (config?.secrets?.length ?? 0) > 0,
            }
          : {}),
      })
    : undefined;
  if (verbose !== undefined) options.trace = verbose.trace;
  const updating = flags.update === true || flags.interactive === true;

  // The reporters, each on its output. Live progress only where nothing else writes to the terminal
  // meanwhile (-v's stderr, -i's questions) and the terminal can move the cursor.
  const live = stdout.isTTY === true && !flags.verbose && !updating && env.TERM !== 'dumb';
  const terminal = streamOutput(stdout, {
    live,
    // A terminal that does not know its size (a pty without one) says 0.
    ...(stdout.columns ? { columns: stdout.columns } : {}),
  });
  // A report file is collected while the run goes and written once it ends.
  const fileOutputs: { path: string; out: TextOutput }[] = [];
  const reporters: Reporter[] = [];
  for (const spec of specs) {
    const entry = context.reporters[spec.name]!;
    let out: ReportOutput = terminal;
    if (spec.file !== undefined) {
      const file = new TextOutput();
      fileOutputs.push({ path: spec.file, out: file });
      out = file;
    }
    reporters.push((await entry.load()).createReporter({ out, color: out === terminal && color }));
  }
  // A transcript that could not run is also an `error:` line on stderr, as every user mistake is.
  reporters.push({
    onTranscriptEnd(result) {
      if (result.status === 'error') stderr.write(`error: ${errorLabel(result)}: ${result.error?.message}\n`);
    },
    onRunEnd() {},
  });
  const hub = createReportHub(reporters, {
    updating,
    ...(variables.hasSecrets ? { redact: (bytes: Uint8Array) => variables.redact(bytes) } : {}),
  });
  // Each step's event is made only for whoever reads it: a reporter that follows steps, or -v.
  options.stepEvents = hub.wantsSteps || verbose !== undefined;
  options.onEvent = (event: CheckEvent): void => {
    if (event.type !== 'run-start') verbose?.event(event);
    // The transports the run needs are loaded by now, and nothing has been sent yet.
    else if (launch !== undefined && httpLoaded()) keepWasmAtBaseline();
    hub.onEvent(event);
  };
  const prompter = flags.interactive
    ? (await import('./interactive.js')).createPrompter(context.stdin, stdout, (change) =>
        changeText(change, color, colorDiff),
      )
    : undefined;
  if (updating) {
    options.update =
      prompter === undefined
        ? {}
        : {
            // What was printed before comes first: the previous file's results, in order.
            decide: async (change) => {
              await hub.idle();
              return prompter.decide(change);
            },
          };
  }

  // Every run that started gets its reports, also one that ends early: the error is in them.
  const started = now();
  let result: CheckResult | undefined;
  let failure: { error: unknown } | undefined;
  try {
    result = await context.checkFiles(paths, options);
  } catch (error) {
    failure = { error };
  } finally {
    prompter?.close();
  }
  const end: RunEnd =
    result === undefined
      ? { summary: summarize(hub.results(), now() - started), error: runErrorOf(failure?.error) }
      : { summary: result.summary, ...(result.update !== undefined ? { update: result.update } : {}) };
  await hub.end(end);
  for (const { path, out } of fileOutputs) await writeReport(path, out.text);
  if (failure !== undefined) throw failure.error;
  // The pretty reporter ends with --update's line; any other on stdout holds its report alone.
  if (result?.update !== undefined && specs.find((spec) => spec.file === undefined)?.name !== 'pretty') {
    stderr.write(formatUpdated(result.update));
  }
  context.exitCode = exitCodeOf(result!);
}

/**
 * `protodoc record`: start the proxy, say where it listens, and when told to stop (Ctrl-C, SIGTERM)
 * write the file and say what it holds. Exit 0 when the file was written, 1 when nothing was recorded.
 */
async function runRecord(context: CliContext, flags: RecordFlags): Promise<void> {
  const { stdout, stderr } = context;
  const options = recordOptionsFromFlags(flags);
  options.onWarning = (message) => void stderr.write(`warning: ${message}\n`);
  if (flags.verbose) {
    const { loadVariables } = await import('./variables.js');
    const secrets = await loadVariables({ secrets: flags.secret ?? [], env: {} });
    const verbose = (await import('./reporters/verbose.js')).createVerbose(
      (text) => void stderr.write(text),
      {
        color: useColor(undefined, stderr, context.env),
        ...(secrets.hasSecrets ? { redact: (bytes: Uint8Array) => secrets.redact(bytes) } : {}),
      },
    );
    options.trace = verbose.trace;
  }
  // Listen for the signals before the line that invites clients: a Ctrl-C right after it still writes.
  const { stopped, release } = context.untilStopped();
  try {
    const recorder = await context.record(options);
    stdout.write(
      `listening on ${recorder.address}, forwarding to ${recorder.target}; ` +
        `Ctrl-C (or SIGTERM) writes ${flags.output}\n`,
    );
    await stopped;
    const recording = await recorder.stop();
    if (recording.written === undefined) {
      stderr.write(`error: nothing was recorded (no bytes went through); ${flags.output} was not written\n`);
      context.exitCode = EXIT_CODES.failed;
      return;
    }
    const connections = `${recording.connections} connection${recording.connections === 1 ? '' : 's'}`;
    const captures =
      recording.captures.length === 0
        ? ''
        : `, capturing ${recording.captures.map((name) => `{{${name}}}`).join(', ')}`;
    stdout.write(
      `wrote ${recording.written}: ${recording.steps} step${recording.steps === 1 ? '' : 's'} on ${connections}${captures}\n`,
    );
    context.exitCode = EXIT_CODES.passed;
  } finally {
    release();
  }
}

/** `stopped` resolves at the first SIGINT or SIGTERM; later ones are ignored until `release()`. */
function untilSignal(): { stopped: Promise<void>; release(): void } {
  let signalled: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    signalled = resolve;
  });
  const on = (): void => signalled();
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    stopped,
    release: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/** What `-i` shows before it asks: the step's failure line and the change to the file. */
function changeText(
  change: ChangeToDecide,
  color: boolean,
  colorDiff: (diff: string, color: boolean) => string,
): string {
  const { step } = change;
  const line = step.failure?.line ?? step.line;
  const where = step.connection === 'main' ? '' : ` (connection ${step.connection})`;
  const header = `${change.path}:${line}: ${step.failure?.message ?? 'failed'}${where}\n`;
  return `\n${color ? styleText('bold', header, { validateStream: false }) : header}${colorDiff(change.diff, color)}`;
}

function readVersion(): string {
  // package.json sits one level above both src/ and dist/. Read synchronously: commander wants the
  // version while the program is built, and this is one small file.
  const url = new URL('../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

/**
 * Builds the `protodoc` program. Errors throw a CommanderError instead of exiting (exitOverride), and
 * output goes to the context's streams, so tests run it in process.
 */
export function createProgram(context: Partial<CliContext> = {}): Command {
  const ctx: CliContext = {
    stdout: context.stdout ?? process.stdout,
    stderr: context.stderr ?? process.stderr,
    // Looked up only by `-i`: reading `process.stdin` makes a socket for a pipe or a terminal, one map
    // more for net.Socket's shared `_handle` getter to see before the run's own socket, which made every
    // per-step read of it a megamorphic lookup (some 700 instructions a step; bench/README.md §1).
    get stdin() {
      return context.stdin ?? process.stdin;
    },
    checkFiles:
      context.checkFiles ??
      (async (paths, options) => (await import('./check.js')).checkFiles(paths, options)),
    env: context.env ?? process.env,
    reporters: context.reporters ?? REPORTERS,
    record: context.record ?? (async (options) => (await import('./record.js')).record(options)),
    untilStopped: context.untilStopped ?? untilSignal,
    exitCode: 0,
  };
  const program = new Command('protodoc');
  // Before any subcommand is added: subcommands copy these settings when they are created.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void ctx.stdout.write(text),
      writeErr: (text) => void ctx.stderr.write(text),
    })
    .description(
      'Doctest for network protocols: replay transcripts against a live server and diff the replies.',
    )
    .version(readVersion(), '-V, --version')
    .addHelpText('after', EXIT_CODE_HELP);

  program
    .command('check')
    .description('replay transcript files against live servers and show where the replies differ')
    .argument(
      '[files...]',
      `transcript files, or directories searched for *.txt, *.md, *.protodoc (default: the config's files:)`,
    )
    .option(
      '--connect <target>',
      "HOST:PORT, tls://, unix:/path, http(s)://, h2://, h2c:// or ws(s):// target (overrides '>>>! connect')",
    )
    .option('--cacert <file>', 'PEM file with the CA certificate(s) for tls:// targets and STARTTLS')
    .option('--insecure', 'accept any TLS certificate')
    .option('--server <command>', 'start this server first ({port}: a free port) and stop it afterwards')
    .option(
      '--server-timeout <duration>',
      'how long --server may take to accept connections (default: 10s)',
      durationFlag,
    )
    .option('--timeout <duration>', 'bound on connect, TLS handshake, each reply (default: 5s)', durationFlag)
    .option(
      '--settle <duration>',
      'quiet period that ends a reply ending in ... (default: 200ms)',
      durationFlag,
    )
    .option(
      '--reporter <name[=file]>',
      'a report: NAME on stdout, NAME=FILE into FILE; repeatable, one on stdout at most (default: pretty)',
      (value: string, previous: ReporterSpec[] | undefined) => [
        ...(previous ?? []),
        reporterSpec(value, ctx.reporters),
      ],
    )
    .option('--report-json <file>', 'the same as --reporter json=FILE')
    .option('--report-junit <file>', 'the same as --reporter junit=FILE')
    .option('--color', 'colour the output (default: when stdout is a terminal)')
    .option('--no-color', 'do not colour the output')
    .option('--var <name=value>', 'set the variable {{name}} (repeatable; FORMAT.md §15)', collect)
    .option('--vars-file <file>', 'read variables from FILE, one NAME=VALUE a line (repeatable)', collect)
    .option(
      '--secret <name[=value]>',
      'set a secret variable, or mark one secret: reports, -v and --update show {{name}} (repeatable)',
      collect,
    )
    .option(
      '--update',
      'rewrite the expected lines of failing steps with what the server sent (keeps lines that still fit)',
    )
    .option('-i, --interactive', 'like --update, but show each change and ask: [y]es, [n]o, [a]ll, [q]uit')
    .option('-v, --verbose', 'print the conversation on stderr as it happens: > sent, < received, * events')
    .option(
      '-j, --jobs <n>',
      'run N files at once, or auto (one per CPU); default 1 (-i: always 1)',
      jobsFlag,
    )
    .addOption(
      new Option(
        '--server-scope <scope>',
        'run: each worker keeps its --server for the run; file: a fresh server for every file (default: run)',
      ).choices(SERVER_SCOPES),
    )
    .option('--shard <i/n>', 'run only shard I of N (files split by a hash of their path)', shardFlag)
    .option(
      '--filter <regex>',
      'run only the transcripts whose PATH (or PATH:LINE of a Markdown block) matches',
      filterFlag,
    )
    .option('--bail', 'after the first file that fails, start no other (the rest are reported skipped)')
    .option(
      '--retries <n>',
      'run a failing file again up to N times; one that then passes is flaky',
      retriesFlag,
    )
    .option('--config <file>', `read options from FILE (default: ./${CONFIG_FILE_NAME} if there is one)`)
    .addHelpText(
      'after',
      () => `${reportersHelp(ctx.reporters)}${EXIT_CODE_HELP}
Example:
  protodoc check --server "redis-server --port {port} --save ''" --connect 127.0.0.1:{port} tests/redis/
  protodoc check --reporter dot --reporter junit=report.xml tests/
`,
    )
    .action(async (files: string[], flags: CheckFlags) => runCheck(ctx, files, flags));

  program
    .command('record')
    .description(
      'record live traffic as a transcript: a proxy that writes what clients send and servers answer',
    )
    .requiredOption(
      '--listen <[host:]port>',
      'where clients connect (host default 127.0.0.1; port 0: a free one)',
    )
    .option(
      '--connect <target>',
      'where to forward: HOST:PORT, tls://HOST:PORT, unix:/path, http://HOST:PORT, https://HOST:PORT, ws://HOST:PORT/PATH or wss://HOST:PORT/PATH',
    )
    .requiredOption(
      '--output <file>',
      'the transcript to write when the recording stops (.md: a protodoc block)',
    )
    .option('--server <command>', 'start this server first ({port}: a free port) and stop it afterwards')
    .option(
      '--server-timeout <duration>',
      'how long --server may take to accept connections (default: 10s)',
      durationFlag,
    )
    .option(
      '--settle <duration>',
      'a reply quiet this long is over; what the server sends later is a step of its own (default: 200ms)',
      durationFlag,
    )
    .option('--timeout <duration>', 'bound on connecting to the target (default: 5s)', durationFlag)
    .option(
      '--volatile <regex>',
      'a value that changes between runs: what REGEX (or each of its groups) matches is written ... (repeatable)',
      collect,
    )
    .option(
      '--secret <name=value>',
      'write VALUE as {{name}} wherever it is sent or received (repeatable)',
      collect,
    )
    .option('--cacert <file>', 'PEM file with the CA certificate(s) for a tls:// or https:// target')
    .option('--insecure', 'accept any TLS certificate from the target')
    .option(
      '-v, --verbose',
      'print the conversation on stderr as it goes through: > sent, < received, * events',
    )
    .addHelpText(
      'after',
      `
Exit codes: 0 the file was written, 1 nothing was recorded, 2 usage error, 4 the target cannot be
reached or --server failed, 70 internal error.

Example:
  protodoc record --listen 6390 --server "redis-server --port {port} --save ''" --output redis.txt
  redis-cli -p 6390 SET greeting hello      # in another terminal; then Ctrl-C
`,
    )
    .action(async (flags: RecordFlags) => runRecord(ctx, flags));

  // runCli reads the exit code the action set through this hidden link.
  contexts.set(program, ctx);
  return program;
}

const contexts = new WeakMap<Command, CliContext>();

/** Turns a thrown error into its message on stderr and its exit code. */
function reportError(err: unknown, stderr: CliStream): number {
  if (err instanceof CommanderError) {
    // commander already printed its one-line `error: ...` (or the help / version).
    return err.exitCode === 0 ? EXIT_CODES.passed : EXIT_CODES.usage;
  }
  if (err instanceof TranscriptParseError) {
    for (const line of err.report) stderr.write(`error: ${line}\n`);
    return EXIT_CODES.parse;
  }
  if (err instanceof ProtodocError) {
    stderr.write(`error: ${err.message}\n`);
    switch (err.code) {
      case 'PROTODOC_ERR_SYNTAX':
      case 'PROTODOC_ERR_CONFIG':
        return EXIT_CODES.parse;
      case 'PROTODOC_ERR_SERVER':
      case 'PROTODOC_ERR_CONNECT':
      case 'PROTODOC_ERR_CONNECT_TIMEOUT':
      case 'PROTODOC_ERR_TLS':
        return EXIT_CODES.unreachable;
      default:
        return EXIT_CODES.usage;
    }
  }
  const stack = err instanceof Error ? (err.stack ?? String(err)) : String(err);
  stderr.write(
    `protodoc: internal error: ${stack}\n` +
      'This is a bug in protodoc. Please report it with the command you ran and the output above.\n',
  );
  return EXIT_CODES.internal;
}

/**
 * Runs the CLI with `argv` (the arguments after the program name) and returns the exit code.
 * Never exits the process and never throws.
 */
export async function runCli(argv: readonly string[], context: Partial<CliContext> = {}): Promise<number> {
  const program = createProgram(context);
  const ctx = contexts.get(program)!;
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    return reportError(err, ctx.stderr);
  }
}

/** What the launcher that runs the CLI as a program (src/launch.cts) tells it. */
export interface LaunchHooks {
  /**
   * Called once, just before the CLI changes a V8 flag: code V8 compiles after that carries the new
   * flags, and a later run (which starts without them) would reject it from a compile cache.
   */
  beforeFlagChange?(): void;
}

/**
 * Set by {@link main}: the process is protodoc's own, and the CLI may tune the VM for a short run. Run
 * in process (the tests, a program calling runCli) it leaves it alone.
 */
let launch: LaunchHooks | undefined;

/**
 * WebAssembly stays at V8's baseline tier (Liftoff) from here on. undici parses HTTP/1.1 with llhttp
 * compiled to WebAssembly, and V8 recompiles llhttp's large state machine with its optimizing tier as
 * soon as it runs warm: about 100 ms of CPU in every run with an http:// or https:// target, which even
 * 500 requests do not earn back (they took 435 ms of CPU with it, 310 ms without: bench/README.md,
 * benchmark 2). Nothing else here runs WebAssembly, so only a run that loaded the HTTP transport sets
 * it, once its transports are loaded and before anything is sent: V8 rejects its cached code for what is
 * compiled after a flag changes (Node's for its built-in modules: 17 ms more for a TCP run when set
 * first thing; and the CLI's own, src/launch.cts), so a TCP run keeps the flags it started with.
 */
function keepWasmAtBaseline(): void {
  launch?.beforeFlagChange?.();
  // Loaded where needed (node:v8 is not loaded otherwise), at once: the flag is set before the run goes on.
  process.getBuiltinModule('node:v8').setFlagsFromString('--liftoff-only');
}

/**
 * A process stream that goes quiet once its reader has gone (`protodoc check ... | head`): the run
 * still finishes, so the exit code still tells whether the transcripts passed.
 */
function quietOnClose(stream: NodeJS.WriteStream): CliStream {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
  return {
    write: (chunk: string) => stream.destroyed || stream.write(chunk),
    isTTY: stream.isTTY,
    hasColors: () => stream.hasColors?.() ?? false,
  };
}

/**
 * Runs protodoc as the program (bin/protodoc.js, through src/launch.cts): the process's own arguments and
 * streams, and its exit code.
 */
export async function main(hooks: LaunchHooks = {}): Promise<void> {
  launch = hooks;
  // The exit code, not process.exit(): on a pipe, stdout is written asynchronously, and exiting now would
  // drop everything past the pipe's 64 KiB buffer. Node exits once the writes are flushed.
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: quietOnClose(process.stdout),
    stderr: quietOnClose(process.stderr),
  });
}
