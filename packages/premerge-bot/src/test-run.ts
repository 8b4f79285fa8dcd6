/**
 * Runs the configured test command for one candidate: `/bin/sh -c TEST` in the worktree root, as the leader of its
 * own process group, output to a per-run log, killed as a whole group on timeout or cancel (and whatever is left of
 * the group is killed when the command exits, so a passing test cannot leave a server running either). A process
 * that leaves the group on purpose (`setsid`, a daemon that double-forks into a new session) is beyond its reach.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { scrubGitEnv } from './git.js';
import { killGroupAndWait, processStartTime, signalGroup } from './process-group.js';

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
 * Everything else is passed through (PATH, HOME, LANG, proxies...).
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

export type TestOutcome = 'passed' | 'failed' | 'timed-out' | 'cancelled';

export interface TestRunResult {
  outcome: TestOutcome;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** Members of the group that survived even SIGKILL (should be empty; non-empty means stuck in the kernel). */
  leftBehind: boolean;
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
  /** How long a group gets between SIGTERM and SIGKILL. @default 2000 */
  killGraceMs?: number;
}

/** Runs the test and resolves once the command and every process of its group are gone. */
export function runTest(options: TestRunOptions): Promise<TestRunResult> {
  const started = Date.now();
  const fd = openSync(options.logPath, 'a');
  writeSync(fd, `$ ${options.command}\n`);
  return new Promise((resolve, reject) => {
    // The group is created first and the test starts only when we say go, after onSpawn has recorded the group:
    // a bot killed in between closes the pipe, `read` sees end-of-file and the group exits without running anything,
    // so no test can run unrecorded (and unkillable by the next start's recovery).
    const child = spawn(
      '/bin/sh',
      ['-c', 'read -r go || exit 125; exec /bin/sh -c "$1"', 'premerge-test', options.command],
      {
        cwd: options.cwd,
        env: testEnvironment(),
        detached: true,
        stdio: ['pipe', fd, fd],
      },
    );
    child.stdin?.on('error', () => {
      // The group died before reading "go" (killed by a cancel): nothing to tell it.
    });
    const pgid = child.pid;
    let stopping: 'timed-out' | 'cancelled' | null = null;
    let graceTimer: NodeJS.Timeout | undefined;

    const stop = (why: 'timed-out' | 'cancelled') => {
      if (stopping || pgid === undefined) return;
      stopping = why;
      signalGroup(pgid, 'SIGTERM');
      graceTimer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), options.killGraceMs ?? 2000);
    };
    const timer = setTimeout(() => stop('timed-out'), options.timeoutMs);
    const onAbort = () => stop('cancelled');

    let finished = false;
    const finish = async (exitCode: number | null, sig: NodeJS.Signals | null, spawnError?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      // The command's own exit does not end its background children: kill what is left of the group.
      const clean = pgid === undefined ? true : await killGroupAndWait(pgid);
      clearTimeout(graceTimer);
      const durationMs = Date.now() - started;
      const outcome: TestOutcome = stopping ?? (exitCode === 0 ? 'passed' : 'failed');
      const tail = spawnError
        ? `premerge-bot: could not start the test: ${spawnError.message}\n`
        : `premerge-bot: ${outcome}${exitCode === null ? ` (signal ${sig})` : ` (exit ${exitCode})`} after ${durationMs}ms\n`;
      try {
        writeSync(fd, `\n${tail}`);
      } finally {
        closeSync(fd);
      }
      resolve({ outcome, exitCode, signal: sig, durationMs, leftBehind: !clean });
    };

    child.once('error', (err) => void finish(null, null, err));
    child.once('exit', (code, sig) => void finish(code, sig));
    if (pgid !== undefined) {
      try {
        options.onSpawn?.(pgid, processStartTime(pgid));
      } catch (e) {
        // Could not record the group (e.g. the journal's disk is full): end-of-file instead of go, nothing runs.
        child.stdin?.destroy();
        clearTimeout(timer);
        finished = true;
        child.once('exit', () => {
          closeSync(fd);
          reject(e);
        });
        return;
      }
      // The test gets end-of-file on stdin, as with /dev/null.
      child.stdin?.end('go\n');
    }
    if (options.signal?.aborted) stop('cancelled');
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
