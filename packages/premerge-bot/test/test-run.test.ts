import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runTest, testEnvironment } from '../src/test-run.js';
import { isRunning } from './helpers/git-fixture.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'premerge-testrun-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function pidsFrom(file: string): number[] {
  return readFileSync(file, 'utf8').split(/\s+/).filter(Boolean).map(Number);
}

describe('runTest', () => {
  it('passes on exit 0 and fails with the exit code otherwise, output in the log', async () => {
    const log = join(dir, 'a.log');
    const ok = await runTest({ command: 'echo hello; exit 0', cwd: dir, timeoutMs: 10_000, logPath: log });
    expect([ok.outcome, ok.exitCode]).toEqual(['passed', 0]);
    const bad = await runTest({
      command: 'echo oops >&2; exit 3',
      cwd: dir,
      timeoutMs: 10_000,
      logPath: log,
    });
    expect([bad.outcome, bad.exitCode]).toEqual(['failed', 3]);
    const text = readFileSync(log, 'utf8');
    expect(text).toContain('hello\n');
    expect(text).toContain('oops\n');
  });

  it('on timeout kills the whole process group, leaving no process behind', async () => {
    const pids = join(dir, 'pids');
    let pgid = 0;
    // Background children, one of which ignores SIGTERM (so only SIGKILL ends it).
    const command = `echo $$ >> ${pids}; sleep 300 & echo $! >> ${pids}; (trap '' TERM; sleep 300) & echo $! >> ${pids}; wait`;
    const r = await runTest({
      command,
      cwd: dir,
      timeoutMs: 500,
      killGraceMs: 300,
      logPath: join(dir, 'b.log'),
      onSpawn: (g) => {
        pgid = g;
      },
    });
    expect(r.outcome).toBe('timed-out');
    expect(r.leftBehind).toBe(false);
    const all = pidsFrom(pids);
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect(all[0]).toBe(pgid);
    expect(all.filter(isRunning)).toEqual([]);
  });

  it('kills background processes a passing test leaves behind', async () => {
    const pids = join(dir, 'pids');
    const r = await runTest({
      command: `sleep 300 & echo $! >> ${pids}; exit 0`,
      cwd: dir,
      timeoutMs: 10_000,
      logPath: join(dir, 'c.log'),
    });
    expect(r.outcome).toBe('passed');
    expect(pidsFrom(pids).filter(isRunning)).toEqual([]);
  });

  it('is cancelled by its AbortSignal and kills its group', async () => {
    const pids = join(dir, 'pids');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const r = await runTest({
      command: `sleep 300 & echo $! >> ${pids}; wait`,
      cwd: dir,
      timeoutMs: 60_000,
      logPath: join(dir, 'd.log'),
      signal: controller.signal,
    });
    expect(r.outcome).toBe('cancelled');
    expect(pidsFrom(pids).filter(isRunning)).toEqual([]);
  });

  it('copes with a test that prints a lot', async () => {
    const log = join(dir, 'big.log');
    const r = await runTest({
      command: 'i=0; while [ $i -lt 200 ]; do head -c 100000 /dev/zero | tr "\\0" x; echo; i=$((i+1)); done',
      cwd: dir,
      timeoutMs: 60_000,
      logPath: log,
      logLimit: 30_000_000,
    });
    expect(r.outcome).toBe('passed');
    expect(statSync(log).size).toBeGreaterThan(200 * 100_000);
  });

  it('keeps the first and last halves of the output past the log limit (10 MiB by default)', async () => {
    const log = join(dir, 'capped.log');
    const r = await runTest({
      command:
        'i=0; while [ $i -lt 200 ]; do head -c 100000 /dev/zero | tr "\\0" x; echo $i; i=$((i+1)); done',
      cwd: dir,
      timeoutMs: 60_000,
      logPath: log,
    });
    expect(r.outcome).toBe('passed');
    const size = statSync(log).size;
    expect(size).toBeGreaterThan(10 * 1024 * 1024);
    expect(size).toBeLessThan(10 * 1024 * 1024 + 1024);
    const text = readFileSync(log, 'utf8');
    expect(text).toMatch(/\n\[premerge-bot: 9\.1 MiB \(\d+ bytes\) of output cut here/);
    expect(text).toMatch(/x199\n\npremerge-bot: passed \(exit 0\) after \d+ms\n$/);
  });

  it('never starts the command when its process group could not be recorded', async () => {
    const marker = join(dir, 'ran');
    const failure = new Error('journal unwritable');
    const r = runTest({
      command: `touch ${marker}`,
      cwd: dir,
      timeoutMs: 10_000,
      logPath: join(dir, 'f.log'),
      onSpawn: () => {
        throw failure;
      },
    });
    await expect(r).rejects.toBe(failure);
    expect(existsSync(marker)).toBe(false);
  });

  it('runs in the given directory', async () => {
    await runTest({ command: 'pwd > where', cwd: dir, timeoutMs: 10_000, logPath: join(dir, 'e.log') });
    expect(existsSync(join(dir, 'where'))).toBe(true);
  });
});

describe('testEnvironment', () => {
  it('removes the bot secrets and git hook variables, keeps the rest, disables prompts', () => {
    const env = testEnvironment({
      PATH: '/usr/bin',
      HOME: '/home/x',
      GITHUB_TOKEN: 't',
      GH_TOKEN: 't',
      GITHUB_APP_PRIVATE_KEY: 'k',
      WEBHOOK_SECRET: 's',
      PREMERGE_ANYTHING: 'p',
      GIT_DIR: '.',
      GIT_QUARANTINE_PATH: '/q',
      GIT_TERMINAL_PROMPT: '1',
      MY_VAR: 'kept',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/x',
      MY_VAR: 'kept',
      GIT_TERMINAL_PROMPT: '0',
      GCM_INTERACTIVE: 'never',
    });
  });
});
