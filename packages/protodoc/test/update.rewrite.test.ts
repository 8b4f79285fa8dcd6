/**
 * `--update` through checkFiles against real servers: what is rewritten and what is kept, line endings,
 * byte-order mark and final newline, atomic writes, `>>>?` replies filled in one run (a blocked
 * `reserve` staying empty), HTTP volatile headers, and the steps that cannot be rewritten.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckOptions, type CheckResult, checkFiles } from '../src/check.js';
import type { StepResult } from '../src/results.js';
import { Variables } from '../src/variables.js';
import { type NginxServer, type RedisServer, startNginx, startRedis } from './helpers/servers.js';
import { startTestServer, type TestServer } from './helpers/tcp-servers.js';

let redis: RedisServer;
let nginx: NginxServer;
let dir: string;

beforeAll(async () => {
  [redis, nginx] = await Promise.all([startRedis(), startNginx({ files: { 'page.txt': 'a page\n' } })]);
  dir = mkdtempSync(join(tmpdir(), 'protodoc-update-'));
});
afterAll(async () => {
  await Promise.all([redis?.stop(), nginx?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** Writes a transcript into the test directory and returns its path. */
function transcript(text: string | Buffer, name = `t${++n}.txt`): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

// Under --update every reply ends after this much quiet; a `>>>?` reply has nothing else to go by. Far
// longer than a busy machine's stalls, so that a late reply is never taken for the end of one.
const SETTLE = 400;

function update(paths: string[], options: CheckOptions = {}): Promise<CheckResult> {
  return checkFiles(paths, { connect: redis.target, settleMs: SETTLE, update: {}, ...options });
}

function check(paths: string[], options: CheckOptions = {}): Promise<CheckResult> {
  return checkFiles(paths, { connect: redis.target, settleMs: SETTLE, ...options });
}

function steps(result: CheckResult): StepResult[] {
  return result.summary.results.flatMap((r) => r.steps);
}

describe('--update rewrites failing steps', () => {
  it('keeps CRLF line endings, the byte-order mark and a missing final newline', async () => {
    const path = transcript(
      '\uFEFF>>> SET a 1\r\n+OK\r\n>>> GET a\r\n$1\r\n2\r\n>>> ECHO tail\r\n$4\r\nwrong',
    );
    const result = await update([path]);
    expect(result.update).toEqual({ steps: 2, files: 1, failed: 0 });
    expect(readFileSync(path, 'utf8')).toBe(
      '\uFEFF>>> SET a 1\r\n+OK\r\n>>> GET a\r\n$1\r\n1\r\n>>> ECHO tail\r\n$4\r\ntail',
    );
    expect((await check([path])).outcome).toBe('passed');
  });

  it('writes a file atomically, keeping its permissions, and leaves nothing beside it', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const path = join(sub, 'perm.txt');
    writeFileSync(path, '>>> PING\n+PANG\n');
    chmodSync(path, 0o640);
    const before = statSync(path);
    await update([path]);
    const after = statSync(path);
    expect(readFileSync(path, 'utf8')).toBe('>>> PING\n+PONG\n');
    expect(after.mode & 0o777).toBe(0o640);
    // A new file was renamed over the old one.
    expect(after.ino).not.toBe(before.ino);
    expect(readdirSync(sub)).toEqual(['perm.txt']);
  });

  it('does not touch a file whose steps all pass', async () => {
    const path = transcript('>>> PING\n+PONG\n');
    const before = statSync(path);
    const result = await update([path]);
    expect(result.update).toEqual({ steps: 0, files: 0, failed: 0 });
    expect(statSync(path).ino).toBe(before.ino);
    expect(statSync(path).mtimeMs).toBe(before.mtimeMs);
  });

  it('adds the lines a reply has beyond the expected ones, and drops those it lacks', async () => {
    const path = transcript(
      '>>> RPUSH l a b c\n:...\n>>> LRANGE l 0 -1\n*3\n$1\na\n$1\nb\n>>> DEL l\n:1\n$1\nz\n',
    );
    await update([path]);
    expect(readFileSync(path, 'utf8')).toBe(
      '>>> RPUSH l a b c\n:...\n>>> LRANGE l 0 -1\n*3\n$1\na\n$1\nb\n$1\nc\n>>> DEL l\n:1\n',
    );
    expect((await check([path])).outcome).toBe('passed');
  });

  it('writes the escapes a line needs: CR inside it, bytes that are not UTF-8, no final newline', async () => {
    // A test server that answers each line with raw bytes and then closes.
    const raw = await startTestServer((socket) => {
      const zeroWidth = Buffer.from('\u200b', 'utf8');
      socket.once('data', () =>
        socket.end(Buffer.concat([Buffer.from('a\rb\xff', 'latin1'), zeroWidth, Buffer.from('!\nlast')])),
      );
    });
    try {
      const path = transcript('>>> anything\n>>>?\n');
      const result = await update([path], { connect: raw.target });
      expect(result.update?.failed).toBe(0);
      expect(readFileSync(path, 'utf8')).toBe('>>> anything\n>>>= a\\rb\\xff\\u{200b}!\n>>>=(no-eol) last\n');
      expect((await check([path], { connect: raw.target })).outcome).toBe('passed');
    } finally {
      await raw.close();
    }
  });
});

describe('a transcript of sends only', () => {
  it('is filled in by one run, on every connection; a reply that stays empty stays empty', async () => {
    const path = transcript(`>>>@worker
>>> watch jobs
>>>?
>>> reserve
>>>?
>>>@producer
>>> use jobs
>>>?
>>> put 0 0 60 5
>>> hello
>>>?
>>>@worker
>>>?
>>> delete 1
>>>?
`);
    const server = 'beanstalkd -l 127.0.0.1 -p {port}';
    const result = await update([path], { connect: '127.0.0.1:{port}', server });
    expect(result.update).toEqual({ steps: 6, files: 1, failed: 0 });
    expect(readFileSync(path, 'utf8')).toBe(`>>>@worker
>>> watch jobs
WATCHING 2
>>> reserve
>>>@producer
>>> use jobs
USING jobs
>>> put 0 0 60 5
>>> hello
INSERTED 1
>>>@worker
RESERVED 1 5
hello
>>> delete 1
DELETED
`);
    // A fresh server gives the same ids again.
    expect((await check([path], { connect: '127.0.0.1:{port}', server })).outcome).toBe('passed');
  });

  it('fails a plain check with what the server sent', async () => {
    const path = transcript('>>> ECHO hi\n>>>?\n>>> PING\n+PONG\n');
    const result = await check([path]);
    const [first, second] = steps(result);
    expect(first?.failure?.reason).toBe('unwritten');
    expect(Buffer.from(first!.failure!.received).toString()).toBe('$2\r\nhi\r\n');
    expect(second?.status).toBe('skipped');
  });
});

describe('HTTP replies', () => {
  it('get patterns for Date, Last-Modified and ETag, so they pass after the page changes', async () => {
    const path = transcript('>>> GET /page.txt HTTP/1.1\n>>> Host: localhost\n>>>\n>>>?\n');
    await update([path], { connect: nginx.target });
    const written = readFileSync(path, 'utf8');
    expect(written).toMatch(
      /\nDate: \.\.\.\nContent-Type: application\/octet-stream\nContent-Length: 7\nLast-Modified: \.\.\.\n/,
    );
    expect(written).toMatch(/\nETag: \.\.\.\n/);
    expect(written.endsWith('\n\na page\n')).toBe(true);
    // The page changes (a new mtime, so a new ETag and Last-Modified) but keeps its length.
    writeFileSync(join(nginx.root, 'page.txt'), 'b page\n');
    const later = new Date(Date.now() + 5000);
    const { utimesSync } = await import('node:fs');
    utimesSync(join(nginx.root, 'page.txt'), later, later);
    const again = await check([path], { connect: nginx.target });
    expect(steps(again)[0]?.failure?.received).toBeDefined();
    // Only the body differs: every volatile header still fits.
    const { diffReply } = await import('../src/reporters/reply-diff.js');
    const failure = steps(again)[0]!.failure!;
    expect(await diffReply(failure.expected, failure.received)).toMatch(/^-a page\n\+b page\n/m);
  });
});

describe('steps that cannot be rewritten', () => {
  it('a step whose variable was never captured: the others are written, and the run fails', async () => {
    const path = transcript(
      '>>> ECHO id=7\n>>>~ id=(?<id>x)\n>>>(vars) ECHO {{id}}\n$1\n7\n>>> PING\n+PANG\n',
    );
    const result = await update([path]);
    expect(result.update).toEqual({ steps: 1, files: 1, failed: 1 });
    const [capture, use] = steps(result);
    expect(capture?.updated).toBe(true);
    expect(use?.failure?.reason).toBe('unbound');
    expect(use?.notUpdated).toBe('a variable had no value');
    // The step that failed to capture got what the server sent; the rest was not run.
    expect(readFileSync(path, 'utf8')).toBe(
      '>>> ECHO id=7\n$4\nid=7\n>>>(vars) ECHO {{id}}\n$1\n7\n>>> PING\n+PANG\n',
    );
  });

  it('a reply holding a secret across a line break: not written, so the value never reaches the file', async () => {
    // A key whose value spans lines, as a PEM key does; no transcript line can show it as {{key}}.
    const pem: TestServer = await startTestServer((socket) => {
      socket.on('data', () => socket.write('-----BEGIN-----\nc2VjcmV0\n-----END-----\nok\n'));
    });
    try {
      const variables = Variables.of({ key: '-----BEGIN-----\nc2VjcmV0\n-----END-----' }, ['key']);
      const path = transcript('>>> show key\nold\n');
      const result = await update([path], { connect: pem.target, variables });
      expect(steps(result)[0]?.notUpdated).toBe(
        "the reply holds the value of secret 'key' across a line break, which no line can show as {{key}}",
      );
      expect(result.update).toEqual({ steps: 0, files: 0, failed: 1 });
      expect(readFileSync(path, 'utf8')).toBe('>>> show key\nold\n');
    } finally {
      await pem.close();
    }
  });

  it('a reply that never goes quiet', async () => {
    // A tick every 10ms against a quiet period of a second: no stall of a busy machine makes it quiet.
    const stream: TestServer = await startTestServer((socket) => {
      const timer = setInterval(() => socket.write('tick\n'), 10);
      socket.on('close', () => clearInterval(timer));
    });
    try {
      const path = transcript('>>> go\ntick\n');
      const result = await update([path], { connect: stream.target, settleMs: 1000, timeoutMs: 2500 });
      expect(result.update).toEqual({ steps: 0, files: 0, failed: 1 });
      expect(steps(result)[0]?.notUpdated).toBe('the reply never went quiet');
      expect(readFileSync(path, 'utf8')).toBe('>>> go\ntick\n');
    } finally {
      await stream.close();
    }
  });

  it('a file that changed while its transcripts ran is not written', async () => {
    const path = transcript('>>> PING\n+PANG\n');
    const result = await update([path], {
      onEvent: (event) => {
        if (event.type === 'file-end') writeFileSync(path, '>>># edited meanwhile\n>>> PING\n+PANG\n');
      },
    });
    expect(result.update).toEqual({ steps: 0, files: 0, failed: 1 });
    expect(steps(result)[0]?.notUpdated).toBe(
      `cannot update ${path}: it changed while its transcripts ran; nothing was written`,
    );
    expect(readFileSync(path, 'utf8')).toBe('>>># edited meanwhile\n>>> PING\n+PANG\n');
  });
});

describe('decide (-i)', () => {
  it('writes the accepted changes only, and quit runs no further file', async () => {
    const first = transcript('>>> PING\n+PANG\n>>> ECHO a\n$1\nb\n>>> ECHO c\n$1\nd\n');
    const second = transcript('>>> PING\n+PANG\n');
    const answers = ['accept', 'skip', 'quit'] as const;
    const asked: string[] = [];
    const result = await update([first, second], {
      update: {
        decide: async (change) => {
          asked.push(change.diff);
          return answers[asked.length - 1]!;
        },
      },
    });
    expect(asked).toHaveLength(3);
    expect(asked[0]).toBe(
      `--- ${first}\n+++ ${first}\n@@ -1,5 +1,5 @@\n >>> PING\n-+PANG\n++PONG\n >>> ECHO a\n $1\n b\n`,
    );
    expect(readFileSync(first, 'utf8')).toBe('>>> PING\n+PONG\n>>> ECHO a\n$1\nb\n>>> ECHO c\n$1\nd\n');
    expect(steps(result).map((s) => s.notUpdated ?? (s.updated ? 'updated' : s.status))).toEqual([
      'updated',
      'skipped',
      'skipped',
    ]);
    expect(result.summary.results.map((r) => r.path)).toEqual([first]);
    expect(readFileSync(second, 'utf8')).toBe('>>> PING\n+PANG\n');
    expect(result.update).toEqual({ steps: 1, files: 1, failed: 2 });
  });
});

describe('secrets', () => {
  it('are written as {{name}} in a >>>$ line, which then passes', async () => {
    const variables = Variables.of({ token: 'tok-4242' }, ['token']);
    const path = transcript('>>>(vars) ECHO Bearer-{{token}}\n>>>?\n');
    await update([path], { variables });
    expect(readFileSync(path, 'utf8')).toBe('>>>(vars) ECHO Bearer-{{token}}\n$15\n>>>$ Bearer-{{token}}\n');
    expect((await check([path], { variables })).outcome).toBe('passed');
  });
});

describe('late replies under --update', () => {
  it('a step with expected lines waits for its first byte, however slow; a silent one ends empty at the timeout', async () => {
    // Answers each line after twice the quiet period, except `silent`; the timeout leaves the late answer
    // seconds of margin on a busy machine.
    const settleMs = 100;
    const slow = await startTestServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        const word = chunk.toString().trim();
        if (word !== 'silent') setTimeout(() => socket.write(`late ${word}\r\n`), settleMs * 2);
      });
    });
    try {
      const path = transcript('>>> one\nold\n>>> silent\nnothing comes\n');
      const result = await update([path], { connect: slow.target, settleMs, timeoutMs: 3000 });
      expect(result.update).toEqual({ steps: 2, files: 1, failed: 0 });
      expect(readFileSync(path, 'utf8')).toBe('>>> one\nlate one\n>>> silent\n');
    } finally {
      await slow.close();
    }
  });
});
