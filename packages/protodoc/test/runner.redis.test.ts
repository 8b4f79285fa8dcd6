import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTranscripts } from '../src/runner.js';
import { summarize } from '../src/summary.js';
import { parseTranscript } from '../src/transcript.js';
import { failedStep, run, statuses, text } from './helpers/run.js';
import { type RedisServer, startRedis } from './helpers/servers.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('runner against redis', () => {
  it('passes a transcript whose replies match, reporting each step and the events in order', async () => {
    const result = await run('>>> PING\n+PONG\n>>> SET runner:a 1\n+OK\n>>> GET runner:a\n$1\n1\n', {
      target: redis.target,
    });
    expect(result.status).toBe('passed');
    expect(result.error).toBeUndefined();
    expect(result.steps.map((s) => [s.index, s.line, s.connection, s.status])).toEqual([
      [0, 1, 'main', 'passed'],
      [1, 3, 'main', 'passed'],
      [2, 5, 'main', 'passed'],
    ]);
    expect(result.events.map((e) => e.type)).toEqual([
      'file-start',
      'step-end',
      'step-end',
      'step-end',
      'file-end',
    ]);
  });

  it('sends no step events with stepEvents: false, and the same results', async () => {
    // Without step events a passed step's result is made later (src/runner.ts, passedMs): the same results.
    const text = '>>> PING\n+PONG\n>>> ECHO a\n$1\na\n>>> ECHO hello\n$5\nhellO\n>>> PING\n+PONG\n';
    const quiet = await run(text, { target: redis.target, stepEvents: false });
    expect(quiet.events.map((e) => e.type)).toEqual(['file-start', 'file-end']);
    expect(statuses(quiet)).toEqual(['passed', 'passed', 'failed', 'skipped']);
    for (const step of quiet.steps.slice(0, 2)) expect(step.durationMs).toBeGreaterThan(0);
    const told = await run(text, { target: redis.target });
    expect(told.events.map((e) => e.type)).toEqual([
      'file-start',
      'step-end',
      'step-end',
      'step-end',
      'step-end',
      'file-end',
    ]);
    expect(quiet.steps.map(({ durationMs: _, ...step }) => step)).toEqual(
      told.steps.map(({ durationMs: _, ...step }) => step),
    );
  });

  it('fails a step whose reply differs, with the first differing line, all received bytes, and skips the rest', async () => {
    const result = await run('>>> PING\n+PONG\n>>> ECHO hello\n$5\nhellO\n>>> PING\n+PONG\n', {
      target: redis.target,
    });
    expect(result.status).toBe('failed');
    expect(statuses(result)).toEqual(['passed', 'failed', 'skipped']);
    const step = failedStep(result);
    expect(step.failure.reason).toBe('mismatch');
    expect(step.failure.line).toBe(5);
    expect(text(step.failure.received)).toBe('$5\r\nhello\r\n');
    expect(step.failure.expected.map((e) => e.line)).toEqual([4, 5]);
    // Skipped steps are reported as they are decided, before the file ends.
    expect(result.events.map((e) => (e.type === 'step-end' ? e.step.status : e.type))).toEqual([
      'file-start',
      'passed',
      'failed',
      'skipped',
      'file-end',
    ]);
  });

  it('counts passed, failed and skipped steps as a look at each step would', async () => {
    const summary = await runTranscripts(
      [
        parseTranscript('>>> PING\n+PONG\n>>> PING\n+PONG\n', 'passes.txt'),
        parseTranscript(
          '>>> PING\n+PONG\n>>> ECHO a\n$1\nb\n>>> PING\n+PONG\n>>> PING\n+PONG\n',
          'fails.txt',
        ),
        // Leftover after the last step: the end-of-transcript check is a failed step of its own.
        parseTranscript('>>> ECHO x\n$1\n', 'leftover.txt'),
      ],
      { target: redis.target },
    );
    expect(summary).toMatchObject({ steps: 8, passed: 4, failed: 2, skipped: 2 });
    // A copy has no counts noted beside its lists: summarize looks at each step of it.
    expect(summarize(structuredClone(summary.results), 0)).toMatchObject({
      passed: 4,
      failed: 2,
      skipped: 2,
    });
  });

  it('fails the next step when a reply holds more than the transcript expects', async () => {
    // The transcript forgets the value line of GET: "1" is then the start of PING's reply.
    const result = await run('>>> SET runner:b 1\n+OK\n>>> GET runner:b\n$1\n>>> PING\n+PONG\n', {
      target: redis.target,
    });
    expect(statuses(result)).toEqual(['passed', 'passed', 'failed']);
    const step = failedStep(result);
    expect(step.index).toBe(2);
    expect(step.failure.reason).toBe('mismatch');
    expect(text(step.failure.received)).toBe('1\r\n+PONG\r\n');
  });

  it('fails the end-of-transcript check on bytes left over after the last step', async () => {
    const result = await run('>>> SET runner:c 1\n+OK\n>>> GET runner:c\n$1\n', { target: redis.target });
    expect(result.status).toBe('failed');
    expect(statuses(result)).toEqual(['passed', 'passed', 'failed']);
    const step = failedStep(result);
    expect(step.index).toBe(2); // steps.length: the end-of-transcript check
    expect(step.failure.reason).toBe('leftover');
    expect(step.failure.line).toBe(4);
    expect(step.connection).toBe('main');
    expect(text(step.failure.received)).toBe('1\r\n');
  });

  it('completes a reply ending in ... after the quiet period', async () => {
    const result = await run('>>> INFO server\n...\nredis_version:...\n...\n>>> PING\n+PONG\n', {
      target: redis.target,
      settleMs: 50,
    });
    expect(result.status).toBe('passed');
    expect(statuses(result)).toEqual(['passed', 'passed']);
  });

  it('does not let lines starting with # change meaning (INFO sections)', async () => {
    const result = await run('>>> INFO server\n$...\n# Server\n...\n', {
      target: redis.target,
      settleMs: 50,
    });
    expect(result.status).toBe('passed');
    const wrong = await run('>>> INFO server\n$...\n# Clients\n...\n', {
      target: redis.target,
      settleMs: 50,
    });
    expect(failedStep(wrong).failure.line).toBe(3);
  });

  it('connects over a Unix socket', async () => {
    const result = await run('>>> PING\n+PONG\n', { target: redis.unixTarget });
    expect(result.status).toBe('passed');
  });

  it("uses the file's connect directive, and the option overrides it", async () => {
    const own = await run(`>>>! connect ${redis.target}\n>>> PING\n+PONG\n`);
    expect(own.status).toBe('passed');
    const overridden = await run('>>>! connect 127.0.0.1:1\n>>> PING\n+PONG\n', { target: redis.unixTarget });
    expect(overridden.status).toBe('passed');
  });

  it('replaces {port} in targets with the given port', async () => {
    const result = await run('>>>! connect 127.0.0.1:{port}\n>>> PING\n+PONG\n', { port: redis.port });
    expect(result.status).toBe('passed');
  });

  it('runs named connections interleaved: SUBSCRIBE on one, PUBLISH on another', async () => {
    const transcript = `>>>@sub
>>> SUBSCRIBE news
*3
$9
subscribe
$4
news
:1
>>>@pub
>>> PUBLISH news hello
:1
>>>@sub
*3
$7
message
$4
news
$5
hello
>>>@pub
>>> PUBLISH news again
:1
>>>@sub
*3
$7
message
$4
news
$5
again
`;
    const result = await run(transcript, { target: redis.target });
    expect(result.status).toBe('passed');
    expect(result.steps.map((s) => s.connection)).toEqual(['sub', 'pub', 'sub', 'pub', 'sub']);
  });

  it('reports a message that never reaches the subscriber as a timeout on that connection', async () => {
    const transcript = `>>>@sub
>>> SUBSCRIBE other
*3
$9
subscribe
$5
other
:1
>>>@pub
>>> PUBLISH news hello
:0
>>>@sub
*3
$7
message
...
`;
    const result = await run(transcript, { target: redis.target, timeoutMs: 300 });
    expect(statuses(result)).toEqual(['passed', 'passed', 'failed']);
    const step = failedStep(result);
    expect(step.connection).toBe('sub');
    expect(step.failure.reason).toBe('timeout');
    expect(step.failure.line).toBe(13);
    expect(step.failure.received.length).toBe(0);
  });

  it('uses a per-connection target given with >>>@NAME TARGET', async () => {
    const result = await run(`>>>@a ${redis.unixTarget}\n>>> PING\n+PONG\n>>>@b\n>>> PING\n+PONG\n`, {
      target: redis.target,
    });
    expect(result.status).toBe('passed');
  });

  it('reports an unreachable target as an error naming it, and the run goes on to the next file', async () => {
    const { freePort } = await import('../src/free-port.js');
    const dead = `127.0.0.1:${await freePort()}`;
    const both = await runTranscripts([
      parseTranscript(`>>>! connect ${dead}\n>>> PING\n+PONG\n>>> PING\n+PONG\n`, 'dead.txt'),
      parseTranscript(`>>>! connect ${redis.target}\n>>> PING\n+PONG\n`, 'alive.txt'),
    ]);
    expect(both.results.map((r) => r.status)).toEqual(['error', 'passed']);
    const error = both.results[0]!.error!;
    expect(error.code).toBe('PROTODOC_ERR_CONNECT');
    expect(error.message).toContain(dead);
    expect(statuses(both.results[0]!)).toEqual(['skipped', 'skipped']);
    expect(both).toMatchObject({ files: 2, steps: 3, passed: 1, failed: 0, skipped: 2, errors: 1 });
  });

  it('reports a file without any target as a usage error result', async () => {
    const result = await run('>>> PING\n+PONG\n', {}, 'nowhere.txt');
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_USAGE');
    expect(result.error?.message).toContain('nowhere.txt');
  });

  it('reports a malformed target as a usage error result', async () => {
    const result = await run('>>> PING\n+PONG\n', { target: 'no-port' });
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_USAGE');
    expect(result.error?.message).toContain("'no-port'");
  });

  it('runs 10,000 round trips on one connection', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++) lines.push('>>> PING', '+PONG');
    const result = await run(`${lines.join('\n')}\n`, { target: redis.target });
    expect(result.status).toBe('passed');
    expect(result.steps.length).toBe(10_000);
    expect(result.steps.every((s) => s.status === 'passed')).toBe(true);
  });
});
