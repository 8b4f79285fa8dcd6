/**
 * `protodoc check --update` as the real binary: the closing line, exit codes (0 when every failing
 * step was rewritten, 1 when one could not be), and machine-readable reports that stay clean.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, type Outcome, runBin, timeless } from './build-cli.js';
import { type RedisServer, startRedis } from './helpers/servers.js';
import { startTestServer, type TestServer } from './helpers/tcp-servers.js';

let redis: RedisServer;
let stream: TestServer;
let dir: string;

// Under --update a `>>>?` reply ends after this much quiet: far longer than a busy machine's stalls.
function protodoc(args: string[]): Promise<Outcome> {
  return runBin(['check', '--settle', '1s', ...args], dir);
}

beforeAll(async () => {
  buildCli();
  redis = await startRedis();
  // Answers with a line every 10ms, for ever: a reply that never goes quiet for a second.
  stream = await startTestServer((socket) => {
    const timer = setInterval(() => socket.write('tick\r\n'), 10);
    socket.on('close', () => clearInterval(timer));
  });
  dir = mkdtempSync(join(tmpdir(), 'protodoc-update-bin-'));
});

afterAll(async () => {
  await Promise.all([redis?.stop(), stream?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('protodoc check --update (the binary)', () => {
  it('prints what it updated, exits 0, and the file then passes', async () => {
    writeFileSync(join(dir, 'a.txt'), '>>> PING\n+PANG\n>>> ECHO x\n>>>?\n');
    writeFileSync(join(dir, 'b.txt'), '>>> PING\n+PONG\n');
    const run = await protodoc(['--update', '--connect', redis.target, 'a.txt', 'b.txt']);
    expect({ ...run, out: timeless(run.out) }).toEqual({
      out:
        'UPDATED a.txt (2 steps: 0 passed, 2 updated, TIME)\nPASS b.txt (1 step, TIME)\n\n' +
        '2 files, 3 steps: 1 passed, 2 failed, 0 skipped (TIME)\nupdated 2 steps in 1 file\n',
      err: '',
      exit: 0,
    });
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('>>> PING\n+PONG\n>>> ECHO x\n$1\nx\n');
    expect((await protodoc(['--connect', redis.target, 'a.txt'])).exit).toBe(0);
  });

  it('exits 1 when a failing step cannot be rewritten, and says why', async () => {
    writeFileSync(join(dir, 'stream.txt'), '>>> go\ntick\n');
    const run = await protodoc(['--update', '--timeout', '2.5s', '--connect', stream.target, 'stream.txt']);
    expect(run.exit).toBe(1);
    expect(run.out).toContain(
      'stream.txt:2: the reply never went quiet: it ends after 1s without a byte or a close, and bytes kept ' +
        'coming for 2.5s (not updated: the reply never went quiet)\n--- expected\n',
    );
    expect(run.out.endsWith('updated 0 steps in 0 files\n')).toBe(true);
    expect(readFileSync(join(dir, 'stream.txt'), 'utf8')).toBe('>>> go\ntick\n');
  });

  it('keeps stdout a JSON report, with what was updated in it, and says the rest on stderr', async () => {
    writeFileSync(join(dir, 'json.txt'), '>>> PING\n+PANG\n');
    const run = await protodoc(['--update', '--reporter', 'json', '--connect', redis.target, 'json.txt']);
    expect(run.exit).toBe(0);
    expect(run.err).toBe('updated 1 step in 1 file\n');
    const report = JSON.parse(run.out) as { transcripts: { steps: { updated?: boolean }[] }[] };
    expect(report.transcripts[0]!.steps[0]!.updated).toBe(true);
  });
});
