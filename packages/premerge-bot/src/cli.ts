/**
 * The `premerge-bot` command. It only maps flags to options and calls the engine and the front-end modules; the
 * one place in the package that calls process.exit.
 *
 * Exit codes:
 * - 0  the command did its job (for `once`: the run completed, whatever the verdicts; stopped by a signal too)
 * - 1  `land`, `retry`: the commit did not land (its verdict says why)
 * - 2  usage: unknown command or option, bad value
 * - 3  the trusted `.github/premerge.yml` is missing or invalid, or its target branch does not exist
 * - 4  the bot could not work: repository unreachable, git failed, state dir unusable, hook or alias in the way
 * - 70 internal error (a bug: the stack is printed, please report it)
 */
import { readFileSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { installAliases, uninstallAliases } from './aliases.js';
import { parseDuration } from './config.js';
import {
  type EngineEvent,
  type EngineOptions,
  findRunLog,
  landConfigChange,
  type OnceReport,
  readStatus,
  retryCandidate,
} from './engine.js';
import { LogNotFoundError, PremergeError, UsageError } from './errors.js';
import { type ServeEvent, serve } from './github/serve.js';
import { formatServeEvent, serveJsonLine } from './github/serve-log.js';
import { serveSettings } from './github/settings.js';
import { HOOK_LOG, installHook, uninstallHook } from './hook.js';
import { answerPush, parseRefLines } from './hook-answer.js';
import { defaultStateDir } from './paths.js';
import {
  ElapsedLine,
  formatEngineEvent,
  formatStatus,
  formatVerdict,
  formatWatchEvent,
  jsonLine,
  summarize,
} from './progress.js';
import { normalizeRepo } from './repo-location.js';
import { openRunLog } from './run-logs.js';
import { pokeWatch, Scheduler, type WatchEvent, watch } from './watch.js';

/** One look at a repository through the scheduler every front end shares (`once`). */
async function lookOnce(options: EngineOptions): Promise<OnceReport> {
  const { stateDir, signal, onEvent, ...target } = options;
  const scheduler = new Scheduler({
    stateDir: stateDir!,
    ...(signal ? { signal } : {}),
    onEvent: (e) => {
      if (e.type === 'engine') onEvent?.(e.event);
    },
  });
  return (await scheduler.add(target))!;
}

/** This package's version, as `premerge-bot --version` prints it. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Exit codes, one per class of outcome (see the file comment). */
export const EXIT = { ok: 0, notLanded: 1, usage: 2, config: 3, unavailable: 4, internal: 70 } as const;

/** Where the CLI writes and what it reads from its surroundings; tests pass their own. */
export interface CliContext {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Live human progress when true; JSON lines otherwise. */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
  /** Directory relative paths are resolved against and aliases are installed in. */
  cwd: string;
  /** Stops `once` and `watch` cleanly when aborted (the binary aborts it on SIGINT and SIGTERM). */
  signal: AbortSignal;
  /**
   * Writes bytes to standard output, resolving once they may be followed by more (the binary waits for a pipe to
   * drain): how `log` streams a log of any size.
   * @default through {@link stdout}
   */
  write?: (chunk: Uint8Array) => Promise<void>;
  /** Standard input's text, for commands that read it (`hook answer`). @default process.stdin */
  stdin?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function interval(text: string, flag = '--interval'): number {
  const ms = parseDuration(text);
  if (ms === null) throw new UsageError(`${flag} '${text}' is not a duration (e.g. 500ms, 30s, 5m, 1h)`);
  return ms;
}

/**
 * Builds the program. Actions reject with a PremergeError (or a CommanderError under exitOverride) instead of
 * exiting; {@link exitCodeFor} turns either into an exit code.
 */
export function createProgram(ctx: CliContext, outcome: { code: number } = { code: EXIT.ok }): Command {
  const out = (text: string) => ctx.stdout(text.endsWith('\n') ? text : `${text}\n`);
  const decoder = new StringDecoder('utf8');
  const write =
    ctx.write ??
    (async (chunk: Uint8Array) => {
      ctx.stdout(decoder.write(Buffer.from(chunk)));
    });
  const local = (p: string) => normalizeRepo(p, ctx.cwd);
  // Resolved here rather than left to the engine: the hook and the watch socket must name the same directory.
  const stateDirOf = (o: { stateDir?: string }) =>
    o.stateDir === undefined ? defaultStateDir(ctx.env) : resolve(ctx.cwd, o.stateDir);
  const engineOptions = (o: { repo: string; candidatesFrom?: string; stateDir?: string }): EngineOptions => ({
    repo: local(o.repo),
    ...(o.candidatesFrom === undefined ? {} : { candidatesFrom: local(o.candidatesFrom) }),
    stateDir: stateDirOf(o),
    signal: ctx.signal,
  });

  const program = new Command('premerge-bot')
    .description('Tests each pushed pu branch and fast-forwards master only to commits whose tests passed.')
    .version(VERSION, '-V, --version', 'print the version')
    .configureOutput({ writeOut: ctx.stdout, writeErr: ctx.stderr })
    .exitOverride();

  const repoOption = () =>
    new Option('--repo <path|url>', 'repository holding the target branch').makeOptionMandatory();
  const candidatesOption = () =>
    new Option('--candidates-from <path|url>', 'repository holding the candidate branches (3-repo workflow)');
  const stateDirOption = () =>
    new Option('--state-dir <dir>', 'mirror, journal, logs and lock (default $XDG_STATE_HOME/premerge-bot)');

  program
    .command('once')
    .description('process every pending candidate of the repository, then exit')
    .addOption(repoOption())
    .addOption(candidatesOption())
    .addOption(stateDirOption())
    .option('--json', 'print the run report as JSON')
    .addOption(
      new Option(
        '--poke',
        'if a watch over this repository runs, poke it instead (used by the hook)',
      ).hideHelp(),
    )
    .action(
      async (o: {
        repo: string;
        candidatesFrom?: string;
        stateDir?: string;
        json?: boolean;
        poke?: boolean;
      }) => {
        const options = engineOptions(o);
        // Off a terminal (cron, the hook's log) several runs may write to one file: stamp each line, as the hook
        // stamps its own.
        const where = options.candidatesFrom ?? options.repo;
        const line = ctx.isTTY ? out : stamper(out, where);
        // Started by the hook: a hang-up of the pusher's session must not cut the run short (Node resets the
        // SIG_IGN that nohup would set, so ignore it here). What it says goes to hook.log, errors too, stamped.
        if (o.poke) {
          process.on('SIGHUP', () => {});
          const err = stamper(ctx.stderr, where);
          process.on('warning', (w) => err(`warning: ${w.message}`));
          try {
            if (await pokeWatch(options.stateDir!, where)) {
              line('a running watch was poked');
              return;
            }
            options.onEvent = (e) => line(formatEngineEvent(e));
            const report = await lookOnce(options);
            if (!report.deferred) line(summarize(report));
          } catch (e) {
            outcome.code = exitCodeFor(e, err);
          }
          return;
        }
        // On a terminal, a long test shows how long it has run.
        const elapsed = ctx.isTTY ? new ElapsedLine(ctx.stdout) : undefined;
        if (!o.json) {
          options.onEvent = elapsed
            ? (e) => elapsed.event(e, formatEngineEvent(e))
            : (e) => line(formatEngineEvent(e));
        }
        let report: OnceReport;
        try {
          report = await lookOnce(options);
        } finally {
          elapsed?.stop();
        }
        if (o.json) out(JSON.stringify(report, null, 2));
        else if (!report.deferred) line(summarize(report));
      },
    );

  program
    .command('watch')
    .description('keep processing candidates: poll every interval, at once when a hook pokes')
    .addOption(
      new Option('--repo <path|url>', 'repository to watch (repeat for several)')
        .argParser(collect)
        .makeOptionMandatory(),
    )
    .addOption(candidatesOption())
    .addOption(stateDirOption())
    .option('--interval <duration>', 'time between polls (ms, s, m, h)', '1m')
    .action(async (o: { repo: string[]; candidatesFrom?: string; stateDir?: string; interval: string }) => {
      if (o.candidatesFrom !== undefined && o.repo.length > 1) {
        throw new UsageError(
          '--candidates-from needs exactly one --repo (run one watch per repository pair)',
        );
      }
      const intervalMs = interval(o.interval);
      const elapsed = ctx.isTTY ? new ElapsedLine(ctx.stdout) : undefined;
      const log = elapsed
        ? (e: WatchEvent) => {
            const text = `${new Date().toTimeString().slice(0, 8)} ${formatWatchEvent(e)}`;
            if (e.type === 'engine') elapsed.event(e.event, text, `${e.repo}: `);
            else {
              if (e.type === 'stopped') elapsed.stop();
              elapsed.print(text);
            }
          }
        : (e: WatchEvent) => out(jsonLine(e));
      await watch({
        repos: o.repo.map((repo) => ({
          repo: local(repo),
          ...(o.candidatesFrom === undefined ? {} : { candidatesFrom: local(o.candidatesFrom) }),
        })),
        stateDir: stateDirOf(o),
        intervalMs,
        signal: ctx.signal,
        onEvent: log,
      });
    });

  program
    .command('status')
    .description('the queue and the recent verdicts')
    .addOption(repoOption())
    .addOption(candidatesOption())
    .addOption(stateDirOption())
    .option('--json', 'machine-readable output')
    .action(async (o: { repo: string; candidatesFrom?: string; stateDir?: string; json?: boolean }) => {
      const status = await readStatus(engineOptions(o));
      out(o.json ? JSON.stringify(status, null, 2) : formatStatus(status));
    });

  program
    .command('log')
    .description('the test output of the latest run of a commit or candidate branch')
    .addOption(repoOption())
    .addOption(candidatesOption())
    .addOption(stateDirOption())
    .argument('<sha|branch>')
    .action(async (what: string, o: { repo: string; candidatesFrom?: string; stateDir?: string }) => {
      const log = await findRunLog(engineOptions(o), what);
      if (log.size === null) {
        // A verdict without a run (refused, needs-rebase...) is all there is to say; a log that is gone is an error.
        if (log.verdict) out(`${formatVerdict(log.verdict)}${log.missing ? `\n(${log.missing})` : ''}`);
        if (log.run) throw new LogNotFoundError(`no log for '${what}': ${log.missing}`);
        return;
      }
      // Streamed with backpressure: a log may be larger than memory should hold.
      for await (const chunk of openRunLog(log)) await write(chunk as Buffer);
    });

  program
    .command('serve')
    .description(
      'run as a GitHub App: webhooks in, check runs and landings out (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET)',
    )
    .option('-p, --port <n>', 'port for webhooks (default $PORT, else 3000)')
    .option('--host <address>', 'address to listen on (default: all interfaces)')
    .addOption(stateDirOption())
    .option('--reconcile-interval <duration>', 'time between two looks for what webhooks missed', '10m')
    .option(
      '--write-interval <duration>',
      "least time between two writes to GitHub's API per installation (GitHub asks for 1s)",
      '1s',
    )
    .option(
      '--allow-same-user',
      "run tests as the bot's own user when no sandbox or test user keeps them away (trusted tests only)",
    )
    .action(
      async (o: {
        port?: string;
        host?: string;
        stateDir?: string;
        reconcileInterval: string;
        writeInterval: string;
        allowSameUser?: boolean;
      }) => {
        const settings = serveSettings(ctx.env, ctx.cwd, o.port);
        const reconcileIntervalMs = interval(o.reconcileInterval, '--reconcile-interval');
        const writeIntervalMs = o.writeInterval === '0' ? 0 : interval(o.writeInterval, '--write-interval');
        const elapsed = ctx.isTTY;
        const log = elapsed
          ? (e: ServeEvent) => out(`${new Date().toTimeString().slice(0, 8)} ${formatServeEvent(e)}`)
          : (e: ServeEvent) => out(serveJsonLine(e));
        const app = await serve({
          ...settings,
          ...(o.host === undefined ? {} : { host: o.host }),
          stateDir: stateDirOf(o),
          allowSameUser: o.allowSameUser === true,
          reconcileIntervalMs,
          client: { writeIntervalMs },
          signal: ctx.signal,
          onEvent: log,
        });
        await app.done;
      },
    );

  const hook = program.command('hook').description('the post-receive hook that triggers runs on push');
  hook
    .command('install')
    .description('install the hook in the repository pu is pushed to (--candidates-from, else --repo)')
    .addOption(repoOption())
    .addOption(candidatesOption())
    .addOption(stateDirOption())
    .option(
      '--protect [branch]',
      "also install a pre-receive hook in --repo that refuses every push to the target but the bot's (default: the configured target)",
    )
    .action(
      async (o: { repo: string; candidatesFrom?: string; stateDir?: string; protect?: boolean | string }) => {
        const stateDir = stateDirOf(o);
        const installed = await installHook({
          repo: local(o.repo),
          ...(o.candidatesFrom === undefined ? {} : { candidatesFrom: local(o.candidatesFrom) }),
          stateDir,
          ...(o.protect === undefined ? {} : { protect: o.protect }),
        });
        out(`installed ${installed.postReceive}; the runs it starts log to ${join(stateDir, HOOK_LOG)}`);
        if (installed.protect) {
          out(
            `installed ${installed.protect.path}: refs/heads/${installed.protect.target} and the bot's verdicts (refs/notes/premerge, refs/premerge/*) now take pushes from this bot only (its token: ${join(stateDir, 'push-token')})`,
          );
          if (installed.protect.candidatesPath) {
            out(
              `installed ${installed.protect.candidatesPath}: the bot's verdicts there take pushes from this bot only`,
            );
          }
        }
      },
    );
  hook
    .command('answer', { hidden: true })
    .description("what happens to each pushed branch (the hook's answer at push time; ref lines on stdin)")
    .addOption(repoOption())
    .addOption(candidatesOption())
    .addOption(stateDirOption())
    .action(async (o: { repo: string; candidatesFrom?: string; stateDir?: string }) => {
      const options = engineOptions(o);
      const err = stamper(ctx.stderr, options.candidatesFrom ?? options.repo);
      try {
        const lines = await answerPush(options, parseRefLines(await readStdin(ctx)));
        for (const l of lines) out(`premerge-bot: ${l}`);
      } catch (e) {
        // The push went through: a failure to describe it is the bot's problem, not the pusher's.
        exitCodeFor(e, err);
        out('premerge-bot: (could not say what happens to this push; see the hook log on the server)');
      }
    });
  hook
    .command('uninstall')
    .description('remove the hook premerge-bot installed')
    .addOption(repoOption())
    .addOption(candidatesOption())
    .action(async (o: { repo: string; candidatesFrom?: string }) => {
      const removed = await uninstallHook({
        repo: local(o.repo),
        ...(o.candidatesFrom === undefined ? {} : { candidatesFrom: local(o.candidatesFrom) }),
      });
      out(
        removed.length === 0
          ? 'no premerge-bot hook to remove'
          : removed.map((p) => `removed ${p}`).join('\n'),
      );
    });

  /** What `land` and `retry`, about one candidate, print of the engine's events: its test and its verdict. */
  const printOneCandidate = (e: EngineEvent): void => {
    if (e.type === 'test-started' || e.type === 'isolation' || e.type === 'warning' || e.type === 'verdict')
      out(formatEngineEvent(e));
  };

  program
    .command('land')
    .description('test a candidate that changes .github/premerge.yml under its new config, and land it')
    .addOption(repoOption())
    .addOption(candidatesOption())
    .addOption(stateDirOption())
    .argument('<sha>')
    .addOption(
      new Option(
        '--config-change',
        'approve its change to .github/premerge.yml (required: the bot lands everything else by itself)',
      ).makeOptionMandatory(),
    )
    .action(async (sha: string, o: { repo: string; candidatesFrom?: string; stateDir?: string }) => {
      const options = engineOptions(o);
      options.onEvent = printOneCandidate;
      const report = await landConfigChange(options, sha);
      if (!report.verdicts.some((v) => v.kind === 'landed')) outcome.code = EXIT.notLanded;
    });

  program
    .command('retry')
    .description('test again a candidate whose failure was a flake (a pass lands it)')
    .addOption(repoOption())
    .addOption(candidatesOption())
    .addOption(stateDirOption())
    .argument('<sha>')
    .action(async (sha: string, o: { repo: string; candidatesFrom?: string; stateDir?: string }) => {
      const options = engineOptions(o);
      options.onEvent = printOneCandidate;
      const report = await retryCandidate(options, sha);
      if (report.already) {
        out(`${report.retried.slice(0, 12)} already landed: ${formatVerdict(report.already)}`);
        return;
      }
      const mine = report.verdicts.filter((v) => v.sha === report.retried);
      if (!mine.some((v) => v.kind === 'landed')) {
        if (mine.length === 0) out(`${report.retried.slice(0, 12)} got no verdict (the bot was stopped)`);
        outcome.code = EXIT.notLanded;
      }
    });

  const alias = program.command('alias').description('git pup and git pu-status for a developer clone');
  alias
    .command('install')
    .description('install the aliases in this clone (or for every clone with --per-user)')
    .option('--remote <name>', 'remote git pup pushes to when none is given (default origin)')
    .option('--branch <name>', 'candidate branch on the remote, e.g. pu/alice (default pu)')
    .option(
      '--github <url>',
      "web address of the GitHub Enterprise Server the remote is on (github.com is known): point at the bot's check runs",
    )
    .option('--per-user', 'write to ~/.gitconfig instead of this clone')
    .action(async (o: { remote?: string; branch?: string; github?: string; perUser?: boolean }) => {
      const r = await installAliases({ cwd: ctx.cwd, ...o });
      out(`installed git ${r.aliases.join(', git ')} (${r.scope})`);
    });
  alias
    .command('uninstall')
    .description('remove the aliases premerge-bot installed')
    .option('--per-user', 'remove them from ~/.gitconfig instead of this clone')
    .action(async (o: { perUser?: boolean }) => {
      const r = await uninstallAliases({ cwd: ctx.cwd, ...o });
      out(
        r.aliases.length === 0
          ? `no premerge-bot aliases (${r.scope})`
          : `removed git ${r.aliases.join(', git ')} (${r.scope})`,
      );
    });

  return program;
}

/** hook.log's line prefix, shared with the hook's own lines: `2025-06-02T09:14:03Z [PID] REPO: `. */
export function stamp(repo: string, now = new Date()): string {
  return `${now.toISOString().replace(/\.\d+Z$/, 'Z')} [${process.pid}] ${repo}: `;
}

/** Writes each line of what it is given with {@link stamp} in front. */
function stamper(write: (text: string) => void, repo: string): (text: string) => void {
  return (text) => {
    const lines = text.replace(/\n$/, '').split('\n');
    write(lines.map((l) => `${stamp(repo)}${l}\n`).join(''));
  };
}

async function readStdin(ctx: CliContext): Promise<string> {
  if (ctx.stdin !== undefined) return ctx.stdin;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Maps a thrown error to an exit code and writes what the user should see (one line, or a stack for bugs). */
export function exitCodeFor(err: unknown, stderr: (text: string) => void): number {
  if (err instanceof CommanderError) {
    // Commander already printed `error: ...` (or the help: exit 0 when asked for, 2 when shown for a missing command).
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof PremergeError) {
    stderr(`error: ${err.message}\n`);
    if (err.code === 'PREMERGE_USAGE') return EXIT.usage;
    if (err.code.startsWith('PREMERGE_CONFIG_') || err.code === 'PREMERGE_TARGET_MISSING') return EXIT.config;
    if (err.code === 'PREMERGE_INTERNAL') {
      stderr(`${err.stack}\nThis is a bug in premerge-bot; please report it with the lines above.\n`);
      return EXIT.internal;
    }
    return EXIT.unavailable;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  stderr(
    `error: internal: ${e.message}\n${e.stack}\nThis is a bug in premerge-bot; please report it with the lines above.\n`,
  );
  return EXIT.internal;
}

/** Runs the command line and resolves with the exit code (never exits itself). */
export async function run(argv: string[], ctx: CliContext): Promise<number> {
  try {
    const outcome = { code: EXIT.ok as number };
    await createProgram(ctx, outcome).parseAsync(argv, { from: 'user' });
    return outcome.code;
  } catch (err) {
    return exitCodeFor(err, ctx.stderr);
  }
}

/** Entry point of bin/premerge-bot.js: wires signals and standard streams, then exits with the code. */
export async function main(): Promise<never> {
  const stop = new AbortController();
  let stops = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // A second signal means the clean stop is taking too long for the user: leave now (the engine is crash-safe).
    if (++stops > 1) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await run(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    write: (chunk) =>
      new Promise<void>((done) => {
        if (process.stdout.write(chunk)) done();
        else process.stdout.once('drain', done);
      }),
    isTTY: process.stdout.isTTY === true,
    env: process.env,
    cwd: process.cwd(),
    signal: stop.signal,
  });
  // Let buffered output reach a pipe before exiting.
  await new Promise<void>((done) => process.stdout.write('', () => done()));
  process.exit(code);
}

// bin/premerge-bot.js imports this module; tests import it too and must not start a run.
const bin = fileURLToPath(new URL('../bin/premerge-bot.js', import.meta.url));
if (process.argv[1] !== undefined && realpathSafe(process.argv[1]) === realpathSafe(bin)) void main();

function realpathSafe(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
