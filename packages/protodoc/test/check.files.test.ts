/**
 * checkFiles(), the library call behind `protodoc check`, against a real redis-server.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFiles } from '../src/check.js';
import { TranscriptParseError } from '../src/errors.js';
import type { CheckEvent } from '../src/results.js';
import { type RedisServer, startRedis } from './helpers/servers.js';

let redis: RedisServer;
let dir: string;

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'protodoc-check-'));
});

afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('checkFiles', () => {
  it('runs every transcript and says passed when every reply matched', async () => {
    const a = file('a.txt', '>>> PING\n+PONG\n');
    const b = file(
      'b.md',
      '# b\n\n```protodoc\n>>> ECHO x\n$1\nx\n```\n\n```protodoc\n>>> PING\n+PONG\n```\n',
    );
    const events: CheckEvent['type'][] = [];
    const ends: number[] = [];
    let planned: string[] = [];
    const { outcome, summary } = await checkFiles([a, b], {
      connect: redis.target,
      onEvent: (event) => {
        events.push(event.type);
        if (event.type === 'run-start') planned = event.transcripts.map((t) => t.path);
        if (event.type === 'file-end') ends.push(event.index);
      },
    });
    // The plan comes first, then each transcript's events with its place in input order.
    expect(events[0]).toBe('run-start');
    expect(planned).toEqual([a, b, b]);
    expect(ends).toEqual([0, 1, 2]);
    expect(outcome).toBe('passed');
    expect(summary).toMatchObject({
      files: 2,
      transcripts: 3,
      steps: 3,
      passed: 3,
      failed: 0,
      skipped: 0,
      errors: 0,
    });
    expect(summary.results.map((r) => r.path)).toEqual([a, b, b]);
    expect(events.filter((t) => t === 'file-end')).toHaveLength(3);
  });

  it('says failed when a reply differed, with the failing line', async () => {
    const path = file('fail.txt', '>>> SET k v\n+OK\n>>> GET k\n$1\nw\n>>> PING\n+PONG\n');
    const { outcome, summary } = await checkFiles([path], { connect: redis.target });
    expect(outcome).toBe('failed');
    const steps = summary.results[0]!.steps;
    expect(steps.map((s) => s.status)).toEqual(['passed', 'failed', 'skipped']);
    expect(steps[1]!.failure).toMatchObject({ reason: 'mismatch', line: 5 });
  });

  it('says error when the target cannot be reached, and runs the other files', async () => {
    const down = file('down.txt', '>>>@x 127.0.0.1:1\n>>> PING\n+PONG\n');
    const up = file('up.txt', '>>> PING\n+PONG\n');
    const { outcome, summary } = await checkFiles([down, up], { connect: redis.target });
    expect(outcome).toBe('error');
    expect(summary.results.map((r) => [r.status, r.error?.code])).toEqual([
      ['error', 'PROTODOC_ERR_CONNECT'],
      ['passed', undefined],
    ]);
  });

  it('parses every file before running any, and reports every parse error', async () => {
    const good = file('good.txt', '>>> SET ran yes\n+OK\n');
    const bad1 = file('bad1.txt', '>>>X\n');
    const bad2 = file('bad2.txt', '>>> PING\n>>>= \\q\n');
    const err = await checkFiles([bad1, good, bad2], { connect: redis.target }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TranscriptParseError);
    expect((err as TranscriptParseError).code).toBe('PROTODOC_ERR_SYNTAX');
    expect((err as TranscriptParseError).errors.map((e) => [e.file, e.line, e.code])).toEqual([
      [bad1, 1, 'PROTODOC_ERR_SYNTAX'],
      [bad2, 2, 'PROTODOC_ERR_SYNTAX'],
    ]);
    // Nothing ran: the good file's SET never reached the server.
    const probe = file('probe.txt', '>>> EXISTS ran\n:0\n');
    expect((await checkFiles([probe], { connect: redis.target })).outcome).toBe('passed');
  });

  it('refuses a transcript without a target before running anything', async () => {
    const path = file('no-target.txt', '>>> PING\n+PONG\n');
    await expect(checkFiles([path])).rejects.toMatchObject({ code: 'PROTODOC_ERR_USAGE' });
  });

  it('refuses a malformed --connect, a missing CA file and a Markdown file without blocks', async () => {
    const path = file('t.txt', '>>> PING\n+PONG\n');
    await expect(checkFiles([path], { connect: 'localhost' })).rejects.toMatchObject({
      code: 'PROTODOC_ERR_USAGE',
    });
    await expect(
      checkFiles([path], { connect: redis.target, cacert: join(dir, 'none.pem') }),
    ).rejects.toMatchObject({
      code: 'PROTODOC_ERR_USAGE',
    });
    const md = file('plain.md', '# nothing to run\n');
    await expect(checkFiles([md], { connect: redis.target })).rejects.toMatchObject({
      code: 'PROTODOC_ERR_USAGE',
    });
  });

  it('refuses a --cacert file that holds no certificate, or one it cannot read', async () => {
    const path = file('ca-t.txt', '>>> PING\n+PONG\n');
    const key = file(
      'key.pem',
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n',
    );
    const broken = file(
      'broken.pem',
      '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n',
    );
    for (const [ca, why] of [
      [key, 'no certificate in it'],
      [path, 'no certificate in it'],
      [broken, 'certificate 1 cannot be read'],
    ] as const) {
      const err = await checkFiles([path], { connect: redis.target, cacert: ca }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'PROTODOC_ERR_USAGE' });
      expect((err as Error).message).toContain(`--cacert ${ca}: ${why}`);
    }
  });

  it('skips Markdown files without blocks found in a directory, but not when nothing is left', async () => {
    const sub = mkdtempSync(join(dir, 'docs-'));
    writeFileSync(join(sub, 'README.md'), '# docs only\n');
    await expect(checkFiles([sub], { connect: redis.target })).rejects.toMatchObject({
      code: 'PROTODOC_ERR_USAGE',
    });
    writeFileSync(join(sub, 'ping.txt'), '>>> PING\n+PONG\n');
    const { summary } = await checkFiles([sub], { connect: redis.target });
    expect(summary.results.map((r) => r.path)).toEqual([join(sub, 'ping.txt')]);
  });

  it('starts --server on a free port, runs against it, and stops it', async () => {
    const path = file('served.txt', '>>> SET fresh 1\n+OK\n>>> DBSIZE\n:1\n');
    const { outcome } = await checkFiles([path], {
      server: "exec redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no",
      connect: '127.0.0.1:{port}',
    });
    expect(outcome).toBe('passed');
  });

  it('runs against --server, not the port a `>>>! connect` line names', async () => {
    // Port 1 has nobody listening: only the server protodoc started can answer.
    const path = file('connect-line.txt', '>>>! connect 127.0.0.1:1\n>>> SET fresh 1\n+OK\n>>> DBSIZE\n:1\n');
    const { outcome } = await checkFiles([path], {
      server: "exec redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no",
    });
    expect(outcome).toBe('passed');
  });

  it('refuses a unix: `>>>! connect` target under --server without --connect, at its line', async () => {
    const path = file(
      'unix-line.txt',
      '>>># a socket\n>>>! connect unix:/tmp/nowhere.sock\n>>> PING\n+PONG\n',
    );
    const err = await checkFiles([path], { server: 'exit 3 # {port}' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PROTODOC_ERR_USAGE' });
    expect((err as Error).message).toMatch(new RegExp(`^${path}:2: `));
  });

  it('reports a --server that exits early with its code', async () => {
    const path = file('x.txt', '>>> PING\n+PONG\n');
    await expect(checkFiles([path], { server: 'echo bye; exit 3 # {port}' })).rejects.toMatchObject({
      code: 'PROTODOC_ERR_SERVER',
    });
  });
});
