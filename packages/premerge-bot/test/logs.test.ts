/**
 * A run's log: capped as it is written, read as a stream, and kept within a time and a space, so a runaway test
 * cannot fill the disk of the machine that guards the target.
 */
import { execFile } from 'node:child_process';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli.js';
import { findRunLog, readRunLog, runOnce } from '../src/engine.js';
import type { PremergeError } from '../src/errors.js';
import { repoPaths } from '../src/paths.js';
import { applyRetention, DEFAULT_LOG_SETTINGS } from '../src/retention.js';
import { formatSize, parseSize, RunLogWriter } from '../src/run-log.js';
import { runCli } from './helpers/cli-in-process.js';
import {
  BIN,
  createFixture,
  FAIL,
  type Fixture,
  pushCandidate,
  pushToMaster,
} from './helpers/git-fixture.js';

let f: Fixture | undefined;
let dir: string | undefined;
afterEach(() => {
  f?.cleanup();
  f = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('RunLogWriter', () => {
  it('keeps the head and the tail of output past its limit, and says how much it cut', () => {
    dir = mkdtempSync(join(tmpdir(), 'premerge-log-'));
    const path = join(dir, 'run.log');
    const log = new RunLogWriter(path, 100);
    log.note('$ cmd\n');
    for (let i = 0; i < 100; i++) log.output(Buffer.from(`line ${String(i).padStart(3, '0')}\n`));
    log.close('\npremerge-bot: failed (exit 1)\n');
    const text = readFileSync(path, 'utf8');
    // 900 bytes of output, 100 kept: the first 50 and the last 50.
    const output = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, '0')}\n`).join('');
    expect(text).toBe(
      `$ cmd\n${output.slice(0, 50)}\n[premerge-bot: 800 B (800 bytes) of output cut here: a run's log keeps the first and the last 50 B of it (PREMERGE_LOG_LIMIT=100B)]\n${output.slice(-50)}\npremerge-bot: failed (exit 1)\n`,
    );
    expect(log.lastLine()).toBe('line 099');
  });

  it('writes output under its limit as it came', () => {
    dir = mkdtempSync(join(tmpdir(), 'premerge-log-'));
    const path = join(dir, 'run.log');
    const log = new RunLogWriter(path, 1000);
    log.output(Buffer.from('a\n'));
    log.output(Buffer.from('b\n'));
    log.close('end\n');
    expect(readFileSync(path, 'utf8')).toBe('a\nb\nend\n');
  });

  it('parses and prints sizes', () => {
    expect([parseSize('10MiB'), parseSize('512 KiB'), parseSize('1GiB'), parseSize('4096')]).toEqual([
      10 * 1024 ** 2,
      512 * 1024,
      1024 ** 3,
      4096,
    ]);
    expect([parseSize('10MB'), parseSize('lots'), parseSize('0')]).toEqual([null, null, null]);
    expect([formatSize(10 * 1024 ** 2), formatSize(1536), formatSize(7)]).toEqual([
      '10 MiB',
      '1.5 KiB',
      '7 B',
    ]);
  });
});

describe('a run that prints more than the log keeps', () => {
  it('has its output cut in the middle at the limit, head and tail kept', async () => {
    f = await createFixture('test: seq 1 400000; exit 1\n');
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir, logLimit: 1024 * 1024 });
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['failed', sha]]);
    const path = report.verdicts[0]!.logPath!;
    const text = await readRunLog({ repo: f.origin, stateDir: f.stateDir }, sha);
    // seq prints 2,888,896 bytes; the log holds 1 MiB of them and the bot's own lines.
    expect(statSync(path).size).toBeLessThan(1024 * 1024 + 1024);
    expect(text.startsWith('$ seq 1 400000; exit 1\n1\n2\n3\n')).toBe(true);
    expect(text).toMatch(
      /\n\[premerge-bot: 1\.6 MiB \(1640319 bytes\) of output cut here: a run's log keeps the first and the last 512 KiB of it \(PREMERGE_LOG_LIMIT=1MiB\)\]\n/,
    );
    expect(text).toMatch(/\n399999\n400000\n\npremerge-bot: failed \(exit 1\) after \d+ms\n$/);
  });
});

describe('premerge-bot log', () => {
  it('streams a log of 600 MB (an old, uncapped one) instead of reading it whole', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { 'test.sh': FAIL } });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    const path = report.verdicts[0]!.logPath!;
    // A sparse file: 600 MB of log without writing them.
    const size = 600 * 1024 * 1024;
    const fd = openSync(path, 'r+');
    writeSync(fd, 'start of a huge log\n', 0);
    ftruncateSync(fd, size);
    closeSync(fd);
    const counted = await new Promise<{ code: number; out: string; err: string }>((done) =>
      execFile(
        '/bin/sh',
        ['-c', 'node "$0" log --repo "$1" --state-dir "$2" "$3" | wc -c', BIN, f!.origin, f!.stateDir, sha],
        { env: f!.env, encoding: 'utf8' },
        (error, out, err) => done({ code: error ? Number(error.code) : 0, out, err }),
      ),
    );
    expect(counted.err).toBe('');
    expect(Number(counted.out.trim())).toBe(size);
  }, 120_000);

  it('of a verdict without a run prints the verdict and its reason', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const moved = await pushToMaster(f, { 'm.txt': 'm\n' });
    await runOnce({ repo: f.origin, stateDir: f.stateDir });
    const r = await runCli(['log', '--repo', f.origin, '--state-dir', f.stateDir, sha.slice(0, 8)], {
      env: f.env,
      cwd: f.dir,
    });
    expect(r).toEqual({
      code: EXIT.ok,
      stdout: `needs-rebase pu ${sha.slice(0, 12)}: does not descend from master (${moved.slice(0, 12)}); rebase it or set rebase: true\n(no test ran for it)\n`,
      stderr: '',
    });
  });

  it('says when it knows nothing of a sha, with a hint and exit 4', async () => {
    f = await createFixture();
    await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    await runOnce({ repo: f.origin, stateDir: f.stateDir });
    const r = await runCli(['log', '--repo', f.origin, '--state-dir', f.stateDir, 'deadbeef'], {
      env: f.env,
      cwd: f.dir,
    });
    expect(r.code).toBe(EXIT.unavailable);
    expect(r.stderr).toBe(
      `error: premerge-bot has no run or verdict for 'deadbeef' in ${f.origin}: premerge-bot status --repo ${f.origin} shows the candidates and verdicts it knows\n`,
    );
  });

  it('with a mistyped --state-dir creates nothing and says so, with exit 4', async () => {
    f = await createFixture();
    await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    await runOnce({ repo: f.origin, stateDir: f.stateDir });
    const typo = join(f.dir, 'stat');
    for (const command of ['log', 'status']) {
      const r = await runCli(
        [command, '--repo', f.origin, '--state-dir', typo, ...(command === 'log' ? ['pu'] : [])],
        {
          env: f.env,
          cwd: f.dir,
        },
      );
      expect(r.code, command).toBe(EXIT.unavailable);
      expect(r.stderr, command).toMatch(
        new RegExp(
          `^error: premerge-bot knows nothing of ${f.origin} in ${typo}: no bot has worked on it with this state directory; `,
        ),
      );
      expect(existsSync(typo), command).toBe(false);
    }
    const err = (await findRunLog({ repo: f.origin, stateDir: typo }, 'pu').catch((e) => e)) as PremergeError;
    expect(err.code).toBe('PREMERGE_NO_STATE');
  });
});

describe('log retention', () => {
  it('removes logs older than the retention, then the oldest past the space, and rotates hook.log', async () => {
    f = await createFixture('test: sh test.sh\ncandidates: "pu/*"\n');
    for (const name of ['a', 'b', 'c'])
      await pushCandidate(f, { branch: `pu/${name}`, files: { 'test.sh': FAIL } });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    const logs = report.verdicts.map((v) => v.logPath!);
    expect(logs.map((l) => existsSync(l))).toEqual([true, true, true]);
    const day = 86_400_000;
    const age = (path: string, ms: number) =>
      utimesSync(path, (Date.now() - ms) / 1000, (Date.now() - ms) / 1000);
    // a: older than the retention; b and c: within it, b the older.
    age(logs[0]!, 31 * day);
    age(logs[1]!, 3 * day);
    age(logs[2]!, 2 * day);
    // hook.log started two days ago; an old rotated one is past the retention.
    const hookLog = join(f.stateDir, 'hook.log');
    const line = `${new Date(Date.now() - 2 * day).toISOString()} [1] x: a line\n`;
    writeFileSync(hookLog, line);
    writeFileSync(`${hookLog}.20200101T000000Z`, 'old\n');
    age(`${hookLog}.20200101T000000Z`, 40 * day);
    // Room for the newest run log and the rotated hook.log, not for one more run log.
    const space = statSync(logs[2]!).size + line.length + 1;
    const removed = applyRetention(f.stateDir, { ...DEFAULT_LOG_SETTINGS, space }, { force: true });
    expect(removed.sort()).toEqual([logs[0], logs[1], `${hookLog}.20200101T000000Z`].sort());
    expect(existsSync(logs[2]!)).toBe(true);
    expect(existsSync(hookLog)).toBe(false);
    expect(readdirSync(f.stateDir).filter((n) => n.startsWith('hook.log.'))).toHaveLength(1);
    // The verdict stays, and says its log is gone.
    const gone = await findRunLog({ repo: f.origin, stateDir: f.stateDir }, 'pu/a');
    expect(gone).toMatchObject({ size: null, verdict: { kind: 'failed' } });
    expect(gone.missing).toMatch(/its log .* is gone \(logs are kept 30 days/);
  });

  it('runs when a session starts, at most once an hour', async () => {
    f = await createFixture();
    await pushCandidate(f, { files: { 'test.sh': FAIL } });
    const first = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    const log = first.verdicts[0]!.logPath!;
    utimesSync(log, (Date.now() - 40 * 86_400_000) / 1000, (Date.now() - 40 * 86_400_000) / 1000);
    await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(existsSync(log)).toBe(true);
    rmSync(join(f.stateDir, 'retention-at'));
    await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(existsSync(log)).toBe(false);
    expect(repoPaths(f.stateDir, f.origin).logs).toBe(join(log, '..'));
  });
});
