/**
 * `protodoc check -i` in a real terminal: tmux runs the binary in a pane, the test types the answers
 * (`send-keys`) and reads the screen (`capture-pane`), waiting for each prompt to appear. Also with the
 * answers on a pipe, as a script would give them.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUESTION } from '../src/interactive.js';
import { BIN, binEnv, buildCli } from './build-cli.js';
import { type RedisServer, startRedis } from './helpers/servers.js';

let redis: RedisServer;
let dir: string;
// Every step of these transcripts expects lines, so --update waits for each reply's first byte; the
// quiet period after it (--settle 500ms) is far longer than a busy machine's stalls within a reply.
// A tmux server of this test's own, so no session of anyone else's is touched.
const SOCKET = `protodoc-test-${process.pid}`;

function tmux(...args: string[]): string {
  // The server tmux starts keeps this environment for the panes.
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8', env: binEnv() });
}

/** The pane's text, the whole scrollback. */
function screen(session: string): string {
  return tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session);
}

/** Waits until `found(screen)` holds, polling the pane; fails with the screen after `ms`. */
async function waitFor(session: string, found: (text: string) => boolean, ms = 30_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = screen(session);
    if (found(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting; the screen:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const count = (text: string, part: string): number => text.split(part).length - 1;

/** Starts `protodoc check -i ARGS` in a new 120x50 terminal; its exit code is printed as `EXIT=N`. */
function start(session: string, args: string[]): void {
  const quoted = [process.execPath, BIN, 'check', '-i', ...args].map(
    (a) => `'${a.replaceAll("'", "'\\''")}'`,
  );
  tmux(
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    '120',
    '-y',
    '50',
    '-c',
    dir,
    `${quoted.join(' ')}; echo EXIT=$?; sleep 600`,
  );
}

beforeAll(async () => {
  buildCli();
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'protodoc-interactive-'));
});

afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // No session was started.
  }
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('protodoc check -i in a terminal', () => {
  it('asks about each change: y writes it, n leaves it, a takes this one and every one after', async () => {
    writeFileSync(
      join(dir, 'one.txt'),
      '>>> PING\n+PANG\n>>> ECHO a\n$1\nb\n>>> ECHO c\n$1\nd\n>>> ECHO e\n$1\nf\n',
    );
    writeFileSync(join(dir, 'two.txt'), '>>> PING\n+PING\n');
    start('answers', ['--settle', '500ms', '--connect', redis.target, 'one.txt', 'two.txt']);

    let text = await waitFor('answers', (t) => count(t, QUESTION) === 1);
    expect(text).toContain(
      'one.txt:2: the reply differs from the transcript\n--- one.txt\n+++ one.txt\n@@ -1,5 +1,5 @@\n',
    );
    expect(text).toContain('-+PANG\n++PONG\n');
    // Not an answer: asked again.
    tmux('send-keys', '-t', 'answers', 'maybe', 'Enter');
    await waitFor('answers', (t) => count(t, QUESTION) === 2);
    tmux('send-keys', '-t', 'answers', 'y', 'Enter');
    text = await waitFor('answers', (t) => count(t, QUESTION) === 3);
    expect(text).toContain('one.txt:5: the reply differs from the transcript\n');
    tmux('send-keys', '-t', 'answers', 'n', 'Enter');
    text = await waitFor('answers', (t) => count(t, QUESTION) === 4);
    expect(text).toContain('one.txt:8: the reply differs from the transcript\n');
    tmux('send-keys', '-t', 'answers', 'a', 'Enter');
    text = await waitFor('answers', (t) => t.includes('EXIT='));

    // Only the one it was told not to write is left, and asked about nothing after `a`.
    expect(count(text, QUESTION)).toBe(4);
    expect(text).toContain('one.txt:5: the reply differs from the transcript (not updated: skipped)\n');
    expect(text).toContain('FAIL one.txt (4 steps: 0 passed, 1 failed, 3 updated, 0 skipped, ');
    expect(text).toContain('updated 4 steps in 2 files\n');
    expect(text).toContain('EXIT=1');
    expect(readFileSync(join(dir, 'one.txt'), 'utf8')).toBe(
      '>>> PING\n+PONG\n>>> ECHO a\n$1\nb\n>>> ECHO c\n$1\nc\n>>> ECHO e\n$1\ne\n',
    );
    expect(readFileSync(join(dir, 'two.txt'), 'utf8')).toBe('>>> PING\n+PONG\n');
  });

  it('q writes what was accepted and runs no further file', async () => {
    writeFileSync(join(dir, 'three.txt'), '>>> PING\n+PANG\n>>> ECHO a\n$1\nb\n');
    writeFileSync(join(dir, 'four.txt'), '>>> PING\n+PING\n');
    start('quit', ['--settle', '500ms', '--connect', redis.target, 'three.txt', 'four.txt']);
    await waitFor('quit', (t) => count(t, QUESTION) === 1);
    tmux('send-keys', '-t', 'quit', 'y', 'Enter');
    await waitFor('quit', (t) => count(t, QUESTION) === 2);
    tmux('send-keys', '-t', 'quit', 'q', 'Enter');
    const text = await waitFor('quit', (t) => t.includes('EXIT='));
    expect(text).not.toContain('four.txt');
    expect(text).toContain('1 file, 2 steps: 0 passed, 2 failed, 0 skipped');
    expect(text).toContain('updated 1 step in 1 file\n');
    expect(readFileSync(join(dir, 'three.txt'), 'utf8')).toBe('>>> PING\n+PONG\n>>> ECHO a\n$1\nb\n');
    expect(readFileSync(join(dir, 'four.txt'), 'utf8')).toBe('>>> PING\n+PING\n');
  });
});

describe('protodoc check -i with the answers on a pipe', () => {
  it('reads one answer a line, and takes the end of the input as quit', async () => {
    writeFileSync(join(dir, 'piped.txt'), '>>> PING\n+PANG\n>>> ECHO a\n$1\nb\n>>> ECHO c\n$1\nd\n');
    const run = await new Promise<{ out: string; code: number }>((resolve) => {
      const child = execFile(
        process.execPath,
        [BIN, 'check', '-i', '--settle', '500ms', '--connect', redis.target, 'piped.txt'],
        { cwd: dir, env: binEnv(), encoding: 'utf8' },
        (error, out) => resolve({ out, code: error ? Number(error.code) : 0 }),
      );
      // protodoc may exit before reading every answer (EPIPE): what it printed says what it asked.
      child.stdin?.on('error', () => {});
      child.stdin?.end('n\ny\n');
    });
    expect(count(run.out, QUESTION)).toBe(3);
    expect(run.code).toBe(1);
    expect(readFileSync(join(dir, 'piped.txt'), 'utf8')).toBe(
      '>>> PING\n+PANG\n>>> ECHO a\n$1\na\n>>> ECHO c\n$1\nd\n',
    );
  });
});

describe('protodoc check -i with --jobs', () => {
  // Under --jobs N each worker would get its own --server: two files running at once would each INCR
  // a fresh counter and read 1. -i runs one job, so both files talk to one server, one after the
  // other, and are asked about in file order.
  it.each([['4'], ['auto']])('runs one file at a time on one server with --jobs %s', async (jobs) => {
    writeFileSync(join(dir, 'first.txt'), '>>> INCR n\n:0\n');
    writeFileSync(join(dir, 'second.txt'), '>>> INCR n\n:0\n');
    const args = [
      BIN,
      'check',
      '-i',
      '--jobs',
      jobs,
      '--server',
      "exec redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no",
      '--settle',
      '500ms',
      'first.txt',
      'second.txt',
    ];
    const run = await new Promise<{ out: string; code: number }>((resolve) => {
      const child = execFile(
        process.execPath,
        args,
        { cwd: dir, env: binEnv(), encoding: 'utf8' },
        (error, out) => resolve({ out, code: error ? Number(error.code) : 0 }),
      );
      // protodoc may exit before reading every answer (EPIPE): what it printed says what it asked.
      child.stdin?.on('error', () => {});
      child.stdin?.end('y\ny\n');
    });
    expect(run.code, run.out).toBe(0);
    expect(count(run.out, QUESTION)).toBe(2);
    const first = run.out.indexOf('first.txt:2: the reply differs from the transcript\n');
    const second = run.out.indexOf('second.txt:2: the reply differs from the transcript\n');
    expect(first).toBeGreaterThanOrEqual(0);
    expect(second).toBeGreaterThan(first);
    expect(readFileSync(join(dir, 'first.txt'), 'utf8')).toBe('>>> INCR n\n:1\n');
    expect(readFileSync(join(dir, 'second.txt'), 'utf8')).toBe('>>> INCR n\n:2\n');
  });
});
