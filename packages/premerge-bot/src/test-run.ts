/**
 * Runs the configured test command for one candidate: `/bin/sh -c TEST` in the tree's root, inside a
 * {@link Containment} (a process group of its own, or a sandbox), output to a per-run log, stopped as a whole on
 * timeout or cancel; whatever the command leaves running when it exits is ended too, so a passing test cannot leave
 * a server running either. How far "as a whole" reaches is the containment's: a sandbox's pid namespace holds every
 * process of the run; a process group does not hold one that left it on purpose (`setsid`), which the best-effort
 * sweep then looks for (sweep.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { formatDuration } from './config.js';
import { scrubGitEnv } from './git.js';
import { killGroupAndWait, processStartTime, signalGroup } from './process-group.js';
import { RunLogWriter } from './run-log.js';
import { type SweepCriteria, sweep } from './sweep.js';

/**
 * Environment variables removed from the test's environment: the bot's own credentials, which a candidate's test
 * (code anyone with push access to `pu` controls) must never read.
 * - every variable starting with `PREMERGE_` (the bot's own settings and tokens)
 * - `GITHUB_TOKEN`, `GH_TOKEN`, `GITHUB_APP_PRIVATE_KEY`, `GITHUB_APP_ID`, `GITHUB_CLIENT_SECRET`,
 *   `GH_ENTERPRISE_TOKEN`, `GITHUB_ENTERPRISE_TOKEN`, `WEBHOOK_SECRET`, `GITHUB_WEBHOOK_SECRET`,
 *   `PRIVATE_KEY`, `PRIVATE_KEY_PATH`, `SSH_AUTH_SOCK` (the bot's push access through an SSH agent)
 *
 * Git's hook and repository-location variables (`GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE`, `GIT_QUARANTINE_PATH`,
 * ...) are removed as well, and `GIT_TERMINAL_PROMPT=0` is set so no git call in the test can wait for a password.
 * Everything else is passed through (PATH, HOME, LANG, proxies...). This only cleans what the test is handed: a
 * process of the bot's own user can still read the bot's whole environment in `/proc/PID/environ`, which is why
 * tests run in a sandbox or as another user (README, "Trust").
 */
export const TEST_ENV_DENYLIST: readonly string[] = [
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'GITHUB_APP_PRIVATE_KEY',
  'GITHUB_APP_ID',
  'GITHUB_CLIENT_SECRET',
  'GH_ENTERPRISE_TOKEN',
  'GITHUB_ENTERPRISE_TOKEN',
  'WEBHOOK_SECRET',
  'GITHUB_WEBHOOK_SECRET',
  'PRIVATE_KEY',
  'PRIVATE_KEY_PATH',
  'SSH_AUTH_SOCK',
];

/** The environment a test command gets: see {@link TEST_ENV_DENYLIST}. */
export function testEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = scrubGitEnv(env);
  for (const name of Object.keys(out)) {
    if (name.startsWith('PREMERGE_') || TEST_ENV_DENYLIST.includes(name)) delete out[name];
  }
  return out;
}

/** How a run ended; `error`: it never ran (the sandbox did not start, or the command could not be started). */
export type TestOutcome = 'passed' | 'failed' | 'timed-out' | 'cancelled' | 'error';

export interface TestRunResult {
  outcome: TestOutcome;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** Processes of the run that could not be ended (should be false; true means another user's, or stuck). */
  leftBehind: boolean;
  /** What the bot could not do about the run's processes (e.g. EPERM), one line each. */
  warnings: string[];
  /** Why the outcome is `error`. */
  reason?: string;
}

/**
 * Where a test runs and how everything it started is found and ended. Implementations: {@link processGroup} (the
 * bot's own user or a test user) and the sandbox's (local-runner.ts).
 */
export interface Containment {
  /** The program to spawn, running `inner` (the start gate and the test command). */
  command(inner: readonly string[]): { file: string; args: string[] };
  env: NodeJS.ProcessEnv;
  /** Start the command as this user and group (the bot must be root). */
  uid?: number;
  gid?: number;
  /** Pipes the containment reads, as fds 3 and up of the child. @default 0 */
  extraPipes?: number;
  /** Resolves once the containment is up: null, or why it failed to come up (the command then never starts). */
  started(child: ChildProcess): Promise<string | null>;
  /** Stops the run: `term` asks every process to end, `kill` ends them. Returns what it could not do. */
  stop(child: ChildProcess, phase: 'term' | 'kill'): string[];
  /** After the command exited: ends whatever of the run is left, resolving when nothing is (or it gave up). */
  reap(child: ChildProcess): Promise<{ clean: boolean; warnings: string[] }>;
}

/**
 * The test as the leader of a process group of its own; `sweep` names what else to look for after it ends
 * (processes that left the group).
 */
export function processGroup(options: {
  env: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  sweep?: SweepCriteria;
}): Containment {
  return {
    command: (inner) => ({ file: inner[0]!, args: inner.slice(1) }),
    env: options.env,
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
    started: async () => null,
    stop(child, phase) {
      if (child.pid === undefined) return [];
      return signalGroup(child.pid, phase === 'term' ? 'SIGTERM' : 'SIGKILL')
        ? []
        : [`process group ${child.pid}: not permitted to signal it (EPERM)`];
    },
    async reap(child) {
      const group = child.pid === undefined ? { clean: true } : await killGroupAndWait(child.pid);
      const warnings = group.warning ? [group.warning] : [];
      if (!options.sweep) return { clean: group.clean, warnings };
      const swept = await sweep(options.sweep);
      return {
        clean: group.clean && swept.warnings.length === 0,
        warnings: [...warnings, ...swept.warnings],
      };
    },
  };
}

export interface TestRunOptions {
  command: string;
  cwd: string;
  timeoutMs: number;
  logPath: string;
  /** Aborting cancels the run (supersede, or the bot stopping). */
  signal?: AbortSignal;
  /** Called once the group exists, before anything else can happen, so a crash cannot orphan it unrecorded. */
  onSpawn?: (pgid: number, startTime: string) => void;
  /** How long a run gets between being asked to end and being killed. @default 2000 */
  killGraceMs?: number;
  /** @default a process group of its own, with {@link testEnvironment} */
  containment?: Containment;
  /** The most of the test's output the log keeps, head and tail (run-log.ts). @default 10 MiB */
  logLimit?: number;
}

/**
 * The command a containment starts: the group (or sandbox) is created first and the test starts only when we say
 * go, after onSpawn has recorded it: a bot killed in between closes the pipe, `read` sees end-of-file and nothing
 * runs, so no test can run unrecorded (and unkillable by the next start's recovery).
 */
function gate(command: string): string[] {
  // The test's stderr joins its stdout: one pipe keeps their lines in the order they were written.
  return ['/bin/sh', '-c', 'read -r go || exit 125; exec /bin/sh -c "$1" 2>&1', 'premerge-test', command];
}

/** Runs the test and resolves once the command and every process of its run are gone. */
export async function runTest(options: TestRunOptions): Promise<TestRunResult> {
  const c = options.containment ?? processGroup({ env: testEnvironment() });
  const started = Date.now();
  const log = new RunLogWriter(options.logPath, options.logLimit);
  let drained: Promise<unknown> = Promise.resolve();
  const close = async (tail: string) => {
    // What the run wrote is in the pipes until they close; a process that evaded the sweep may hold them open.
    await Promise.race([drained, new Promise((done) => setTimeout(done, 2000).unref())]);
    log.close(`\n${tail}`);
  };
  log.note(`$ ${options.command}\n`);
  const { file, args } = c.command(gate(options.command));
  const pipes = Array.from({ length: c.extraPipes ?? 0 }, () => 'pipe' as const);
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: options.cwd,
      env: c.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', ...pipes],
      ...(c.uid === undefined ? {} : { uid: c.uid }),
      ...(c.gid === undefined ? {} : { gid: c.gid }),
    });
    const outputs = [child.stdout, child.stderr].filter((o): o is Readable => o !== null);
    for (const o of outputs) o.on('data', (chunk: Buffer) => log.output(chunk));
    drained = Promise.all(outputs.map((o) => new Promise((done) => o.once('close', done))));
  } catch (e) {
    const reason = `could not start the test: ${(e as Error).message}`;
    await close(`premerge-bot: ${reason}\n`);
    return {
      outcome: 'error',
      exitCode: null,
      signal: null,
      durationMs: 0,
      leftBehind: false,
      warnings: [],
      reason,
    };
  }
  const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null; error?: Error }>((done) => {
    child.once('error', (error) => done({ code: null, sig: null, error }));
    child.once('exit', (code, sig) => done({ code, sig }));
  });
  child.stdin?.on('error', () => {
    // The run died before reading "go" (killed by a cancel): nothing to tell it.
  });
  const warnings: string[] = [];
  const finish = async (outcome: TestOutcome | null, reason?: string): Promise<TestRunResult> => {
    const { code, sig, error } = await exited;
    const reaped = await c.reap(child);
    warnings.push(...reaped.warnings);
    const durationMs = Date.now() - started;
    const why = reason ?? (error ? `could not start the test: ${error.message}` : undefined);
    const final: TestOutcome = why ? 'error' : (outcome ?? (code === 0 ? 'passed' : 'failed'));
    await close(
      why
        ? `premerge-bot: ${why}\n`
        : final === 'timed-out'
          ? `premerge-bot: timed-out: ran past the configured limit, timeout: ${formatDuration(options.timeoutMs)}; everything it started was stopped after ${durationMs}ms\n`
          : `premerge-bot: ${final}${code === null ? ` (signal ${sig})` : ` (exit ${code})`} after ${durationMs}ms\n`,
    );
    return {
      outcome: final,
      // Stopped by the bot, a run has no exit code of its own (bwrap would report 128 + the signal).
      exitCode: why || final === 'timed-out' || final === 'cancelled' ? null : code,
      signal: sig,
      durationMs,
      leftBehind: !reaped.clean,
      warnings,
      ...(why ? { reason: why } : {}),
    };
  };

  const pgid = child.pid;
  if (pgid === undefined) return finish(null);
  const upFailure = await Promise.race([c.started(child), exited.then(() => 'it exited before it started')]);
  if (upFailure !== null) {
    warnings.push(...c.stop(child, 'kill'));
    const { error } = await exited;
    await Promise.race([drained, new Promise((done) => setTimeout(done, 2000).unref())]);
    const detail = error ? error.message : log.lastLine() || upFailure;
    return finish(null, `the sandbox did not start: ${detail}`);
  }
  try {
    options.onSpawn?.(pgid, processStartTime(pgid));
  } catch (e) {
    // Could not record the group (e.g. the journal's disk is full): end-of-file instead of go, nothing runs.
    child.stdin?.destroy();
    await exited;
    await c.reap(child);
    await close('premerge-bot: not started: the run could not be recorded\n');
    throw e;
  }

  let stopping: 'timed-out' | 'cancelled' | null = null;
  let graceTimer: NodeJS.Timeout | undefined;
  const stop = (why: 'timed-out' | 'cancelled') => {
    if (stopping) return;
    stopping = why;
    warnings.push(...c.stop(child, 'term'));
    graceTimer = setTimeout(() => warnings.push(...c.stop(child, 'kill')), options.killGraceMs ?? 2000);
  };
  const timer = setTimeout(() => stop('timed-out'), options.timeoutMs);
  const onAbort = () => stop('cancelled');
  if (options.signal?.aborted) stop('cancelled');
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  // The test gets end-of-file on stdin, as with /dev/null.
  if (!stopping) child.stdin?.end('go\n');
  else child.stdin?.destroy();
  try {
    await exited;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  const result = await finish(stopping);
  clearTimeout(graceTimer);
  return result;
}
