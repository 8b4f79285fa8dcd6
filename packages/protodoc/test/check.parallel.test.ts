/**
 * checkFiles() with `jobs` as a library runs it from its sources: files run concurrently in this
 * thread (the worker threads of the CLI need the built dist/, which cli.parallel.test.ts runs). The
 * events a listener gets are those of a one-job run, in input order; retries send `file-retry` first.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFiles } from '../src/check.js';
import type { CheckEvent } from '../src/results.js';
import { type RedisServer, startRedis } from './helpers/servers.js';

let shared: RedisServer;
let dir: string;

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** What a listener saw, one line per event. */
function describeEvent(event: CheckEvent): string {
  switch (event.type) {
    case 'file-start':
      return `start ${event.path.slice(dir.length + 1)}`;
    case 'step-end':
      return `step ${event.path.slice(dir.length + 1)}:${event.step.line} ${event.step.status}`;
    case 'file-end':
      return `end ${event.result.path.slice(dir.length + 1)} ${event.result.status}`;
    case 'file-retry':
      return `retry ${event.result.path.slice(dir.length + 1)} ${event.result.status} ${event.attempt}/${event.attempts}`;
    case 'run-start':
      return `run ${event.transcripts.map((t) => t.path.slice(dir.length + 1)).join(' ')}`;
    default:
      return event.type;
  }
}

/** Sends one command to `port` and resolves with the first reply bytes. */
function ask(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`${line}\r\n`));
    socket.once('data', (chunk) => {
      resolve(chunk.toString());
      socket.destroy();
    });
  });
}

beforeAll(async () => {
  shared = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'protodoc-check-parallel-'));
});

afterAll(async () => {
  await shared?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('checkFiles with jobs', () => {
  it('runs files concurrently and tells a listener what a one-job run would, in input order', async () => {
    const connect = `>>>@shared ${shared.target}\n`;
    // first.txt can only finish after second.txt has run: together, or first.txt times out.
    const first = file(
      'first.txt',
      `${connect}>>> BLPOP lib-go 20\n*2\n$6\nlib-go\n$2\nok\n>>>@main\n>>> PING\n+PONG\n`,
    );
    const second = file('second.txt', `${connect}>>> RPUSH lib-go ok\n:1\n`);
    const events: string[] = [];
    const { outcome, summary } = await checkFiles([first, second], {
      jobs: 2,
      server: "exec redis-server --port {port} --bind 127.0.0.1 --save ''",
      onEvent: (event) => events.push(describeEvent(event)),
    });
    expect(outcome).toBe('passed');
    expect(summary.results.map((r) => r.path)).toEqual([first, second]);
    expect(events).toEqual([
      'run first.txt second.txt',
      'start first.txt',
      'step first.txt:2 passed',
      'step first.txt:9 passed',
      'end first.txt passed',
      'start second.txt',
      'step second.txt:2 passed',
      'end second.txt passed',
    ]);
  });

  it("stops a worker's server once the queue is drained, while another worker's file still runs", async () => {
    const connect = `>>>@shared ${shared.target}\n`;
    // Each server, told to stop, says so in the shared redis. long.txt (worker 0) waits for that word, so it
    // passes only if worker 1's server is stopped as soon as worker 1 can get no more files: at the end of
    // the run, long.txt would have given up (BLPOP's nil reply) long before.
    const key = `lib-stopped-${process.pid}`;
    const long = file(
      'long.txt',
      `${connect}>>> BLPOP ${key} 15\n*2\n$${key.length}\n${key}\n$7\nstopped\n>>>@main\n>>> PING\n+PONG\n`,
    );
    const short = file('short.txt', '>>> PING\n+PONG\n');
    const server =
      `trap 'redis-cli -p ${shared.port} RPUSH ${key} stopped >/dev/null; exit 0' TERM; ` +
      "redis-server --port {port} --bind 127.0.0.1 --save '' & wait";
    const { outcome, summary } = await checkFiles([long, short], { jobs: 2, server, timeoutMs: 20_000 });
    expect(summary.results.map((r) => [r.path, r.status])).toEqual([
      [long, 'passed'],
      [short, 'passed'],
    ]);
    expect(outcome).toBe('passed');
    // Both servers were stopped by the end of the run (worker 0's as the run ended): two words, one taken.
    expect(await ask(shared.port, `LLEN ${key}`)).toBe(':1\r\n');
  });

  it('retries a failing file: file-retry for the failed attempt, then the final file-end', async () => {
    const counter = file('counter.txt', '>>> INCR lib-n\n:2\n');
    const events: string[] = [];
    const { outcome, summary } = await checkFiles([counter], {
      connect: shared.target,
      retries: 1,
      onEvent: (event) => events.push(describeEvent(event)),
    });
    expect(events).toEqual([
      'run counter.txt',
      'start counter.txt',
      'step counter.txt:1 failed',
      'retry counter.txt failed 1/2',
      'start counter.txt',
      'step counter.txt:1 passed',
      'end counter.txt flaky',
    ]);
    expect(outcome).toBe('passed');
    expect(summary).toMatchObject({ flaky: 1, passed: 1, failed: 0 });
    expect(summary.results[0]).toMatchObject({ status: 'flaky', attempts: 2 });
  });

  it('refuses --retries with --update, and a number of jobs below 1', async () => {
    const path = file('ping.txt', '>>> PING\n+PONG\n');
    await expect(
      checkFiles([path], { connect: shared.target, retries: 1, update: {} }),
    ).rejects.toMatchObject({
      code: 'PROTODOC_ERR_USAGE',
      message: '--retries cannot be used with --update or -i',
    });
    await expect(checkFiles([path], { connect: shared.target, jobs: 0 })).rejects.toMatchObject({
      code: 'PROTODOC_ERR_USAGE',
    });
  });
});
