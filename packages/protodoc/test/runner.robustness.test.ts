/**
 * What real servers do to clients, provoked on purpose by small in-test servers: replies split
 * byte by byte or batched into one packet, stalls, resets, early closes, invalid UTF-8, megabytes.
 */
import { describe, expect, it } from 'vitest';
import { runTranscripts } from '../src/runner.js';
import { parseTranscript } from '../src/transcript.js';
import { failedStep, run, statuses, text } from './helpers/run.js';
import {
  closedAfterEach,
  echoServer,
  onLines,
  startTestServer,
  type TestServer,
  writeByteByByte,
} from './helpers/tcp-servers.js';

const serve = closedAfterEach();

describe('replies split and batched', () => {
  it('matches replies that arrive one byte per packet, greeting included', async () => {
    const server = await serve(
      startTestServer((socket) => {
        let queue = writeByteByByte(socket, '220 split server ready\r\n');
        onLines(socket, (line) => {
          queue = queue.then(() => writeByteByByte(socket, `250-you said\r\n250 ${line}\r\n`));
        });
        socket.on('end', () => void queue.then(() => socket.end()));
      }),
    );
    const result = await run(
      '220 split server ready\n>>> HELO a\n250-you said\n250 HELO a\n>>> NOOP\n250-you said\n250 NOOP\n',
      { target: server.target },
    );
    expect(result.status).toBe('passed');
    expect(statuses(result)).toEqual(['passed', 'passed', 'passed']);
  });

  it('hands bytes beyond a complete reply to the next step (many replies in one packet)', async () => {
    const server = await serve(
      startTestServer((socket) => {
        // Greeting and the answers to both requests at once, before any request arrives.
        socket.write('hello\r\nreply one\r\nreply two\r\n');
        socket.on('end', () => socket.end());
      }),
    );
    const passing = await run('hello\n>>> one\nreply one\n>>> two\nreply two\n', { target: server.target });
    expect(passing.status).toBe('passed');
    // A transcript that expects fewer lines leaves them for the end-of-transcript check.
    const short = await run('hello\n>>> one\nreply one\n', { target: server.target });
    const step = failedStep(short);
    expect(step.failure.reason).toBe('leftover');
    expect(text(step.failure.received)).toBe('reply two\r\n');
    // The client sent both blocks even though the replies came early.
    expect(text(server.received[0]!)).toBe('one\r\ntwo\r\n');
  });
});

describe('servers that fail to answer', () => {
  it('fails a step at the timeout when the server stalls, and the run goes on to the next file', async () => {
    const stall = await serve(startTestServer(() => {}));
    const echo = await serve(echoServer());
    const summary = await runTranscripts(
      [
        parseTranscript(`>>>! connect ${stall.target}\n>>> hello\nhello\n>>> more\nmore\n`, 'stall.txt'),
        parseTranscript(`>>>! connect ${echo.target}\n>>> hello\nhello\n`, 'echo.txt'),
      ],
      { timeoutMs: 200 },
    );
    expect(summary.results.map((r) => r.status)).toEqual(['failed', 'passed']);
    const stalled = summary.results[0]!;
    expect(statuses(stalled)).toEqual(['failed', 'skipped']);
    const step = failedStep(stalled);
    expect(step.failure.reason).toBe('timeout');
    expect(step.failure.line).toBe(3);
    expect(step.failure.received.length).toBe(0);
    expect(summary).toMatchObject({ files: 2, steps: 3, passed: 1, failed: 1, skipped: 1, errors: 0 });
  });

  it('gives every step its own timeout, however long the whole transcript takes', async () => {
    const server = await serve(
      startTestServer((socket) => {
        onLines(socket, (line) => setTimeout(() => socket.write(`${line}\r\n`), 300));
        socket.on('end', () => socket.end());
      }),
    );
    // Five replies 300ms apart take longer than one timeout; each alone is well within it.
    const result = await run('>>> 1\n1\n>>> 2\n2\n>>> 3\n3\n>>> 4\n4\n>>> 5\n5\n', {
      target: server.target,
      timeoutMs: 1000,
    });
    expect(result.status).toBe('passed');
    expect(result.steps).toHaveLength(5);
  });

  it('times out a later step that stalls after earlier ones passed', async () => {
    const server = await serve(echoServer((line) => (line === 'stall' ? undefined : `${line}\r\n`)));
    const result = await run('>>> a\na\n>>> b\nb\n>>> stall\nstall\n>>> c\nc\n', {
      target: server.target,
      timeoutMs: 200,
    });
    expect(statuses(result)).toEqual(['passed', 'passed', 'failed', 'skipped']);
    expect(failedStep(result).failure.reason).toBe('timeout');
  });

  it("takes the file's >>>! timeout when no option overrides it", async () => {
    const stall = await serve(startTestServer(() => {}));
    const result = await run(`>>>! timeout 150ms\n>>> hello\nhello\n`, { target: stall.target });
    expect(failedStep(result).failure.reason).toBe('timeout');
    expect(failedStep(result).failure.message).toContain('150ms');
  });

  it('reports a reset while waiting for a reply', async () => {
    const server = await serve(
      startTestServer((socket) => {
        // The first request is answered; the second one is answered with a reset.
        onLines(socket, (line) => (line === 'first' ? socket.write('ok\r\n') : socket.resetAndDestroy()));
      }),
    );
    const result = await run('>>> first\nok\n>>> second\nok\n>>> third\nok\n', { target: server.target });
    expect(statuses(result)).toEqual(['passed', 'failed', 'skipped']);
    const step = failedStep(result);
    expect(step.failure.reason).toBe('reset');
    expect(step.failure.message).toContain('ECONNRESET');
    expect(step.failure.received.length).toBe(0);
  });

  it('keeps the bytes received before a reset in the middle of a reply', async () => {
    const server = await serve(
      startTestServer((socket) => {
        onLines(socket, () => {
          socket.write('partial rep');
          setTimeout(() => socket.resetAndDestroy(), 50);
        });
      }),
    );
    const result = await run('>>> go\npartial reply\n', { target: server.target });
    const step = failedStep(result);
    // Linux reports a reset that arrives while received data is still queued as a plain close.
    expect(['reset', 'closed']).toContain(step.failure.reason);
    expect(text(step.failure.received)).toBe('partial rep');
  });

  it('reports a server that closes before the reply is complete', async () => {
    const server = await serve(
      startTestServer((socket) => {
        onLines(socket, () => socket.end('first line\r\n'));
      }),
    );
    const result = await run('>>> go\nfirst line\nsecond line\n', { target: server.target });
    const step = failedStep(result);
    expect(step.failure.reason).toBe('closed');
    expect(step.failure.line).toBe(3);
    expect(text(step.failure.received)).toBe('first line\r\n');
  });

  it('fails the step after the server closed, without waiting for the timeout', async () => {
    const server = await serve(startTestServer((socket) => socket.end('220 bye\r\n')));
    // A timeout this long would fail the test run if the closed connection were waited on.
    const result = await run('220 bye\n>>> HELO\n250 hi\n', { target: server.target, timeoutMs: 120_000 });
    expect(statuses(result)).toEqual(['passed', 'failed']);
    expect(failedStep(result).failure.reason).toBe('closed');
  });

  it('accepts a reply that ends with the server closing, a last line without newline included', async () => {
    const server = await serve(
      startTestServer((socket) => {
        onLines(socket, () => socket.end('HTTP/1.0 200 OK\r\n\r\nbody without newline'));
      }),
    );
    // The settle time is far beyond the timeout: only the close can have ended the reply.
    const options = { target: server.target, timeoutMs: 5000, settleMs: 600_000 };
    const exact = '>>> GET /\nHTTP/1.0 200 OK\n\n>>>=(no-eol) body without newline\n';
    expect((await run(exact, options)).status).toBe('passed');
    expect((await run('>>> GET /\nHTTP/1.0 200 OK\n...\n', options)).status).toBe('passed');
  });

  it('collects the whole mismatching reply until the server closes', async () => {
    const server = await serve(
      startTestServer((socket) => {
        onLines(socket, () => {
          socket.write('unexpected\r\n');
          setTimeout(() => socket.end('more\r\nand more\r\n'), 50);
        });
      }),
    );
    const result = await run('>>> go\nexpected\n', {
      target: server.target,
      settleMs: 600_000,
      timeoutMs: 10_000,
    });
    const step = failedStep(result);
    expect(step.failure.reason).toBe('mismatch');
    expect(text(step.failure.received)).toBe('unexpected\r\nmore\r\nand more\r\n');
  });

  it('stops collecting a mismatching reply after the quiet period', async () => {
    const server = await serve(
      startTestServer((socket) => {
        onLines(socket, () => socket.write('unexpected\r\n'));
      }),
    );
    // The timeout is far away: only the quiet period can end the collection.
    const result = await run('>>> go\nexpected\n', {
      target: server.target,
      settleMs: 50,
      timeoutMs: 600_000,
    });
    expect(failedStep(result).failure.reason).toBe('mismatch');
    expect(text(failedStep(result).failure.received)).toBe('unexpected\r\n');
  });
});

describe('replies that never settle', () => {
  it('says the reply never settled, not just "timed out", and keeps what was received', async () => {
    // A stream that never goes quiet: a trailing `...` can never be known to be complete.
    const server = await serve(
      startTestServer((socket) => {
        socket.once('data', () => {
          let n = 0;
          const timer = setInterval(() => socket.write(`tick ${++n}\r\n`), 5);
          socket.on('close', () => clearInterval(timer));
        });
      }),
    );
    // A quiet period far longer than any stall of a busy machine, so that only the stream's end could end it.
    const result = await run('>>> STREAM\ntick 1\n...\n', {
      target: server.target,
      timeoutMs: 3000,
      settleMs: 1500,
    });
    const step = failedStep(result);
    expect(step.failure.reason).toBe('unsettled');
    expect(step.failure.message).toBe(
      'the reply never settled: it ends in `...`, so it is complete only after 1.5s without a byte or a close, and bytes kept coming for 3s',
    );
    expect(text(step.failure.received)).toMatch(/^tick 1\r\ntick 2\r\n/);
  });

  it('still says "timed out" when the reply does not match so far', async () => {
    const server = await serve(echoServer(() => undefined));
    const result = await run('>>> x\nnever\n...\n', { target: server.target, timeoutMs: 100, settleMs: 20 });
    expect(failedStep(result).failure.reason).toBe('timeout');
  });
});

describe('the end of a transcript', () => {
  it('half-closes and passes once the server closes', async () => {
    const server = await serve(echoServer());
    const result = await run('>>> a\na\n', { target: server.target, timeoutMs: 600_000 });
    expect(result.status).toBe('passed');
  });

  it('passes once the connection has been quiet for the settle time when the server keeps it open after the half-close', async () => {
    const server = await serve(
      startTestServer((socket) => {
        onLines(socket, (line) => socket.write(`${line}\r\n`));
        // Never closes on our FIN.
      }),
    );
    // A timeout the test would never live to see: only the quiet period can end the wait.
    const result = await run('>>> a\na\n', { target: server.target, timeoutMs: 600_000, settleMs: 20 });
    expect(result.status).toBe('passed');
    expect(statuses(result)).toEqual(['passed']);
  });

  it('fails on bytes sent after the half-close by a server that keeps the connection open', async () => {
    const server = await serve(
      startTestServer((socket) => {
        onLines(socket, (line) => socket.write(`${line}\r\n`));
        socket.on('end', () => socket.write('still here\r\n'));
      }),
    );
    // The server answers the FIN at once; a quiet period far longer than a stall of a busy machine
    // makes sure those bytes arrive within it.
    const result = await run('>>>@one\n>>> a\na\n>>>@two\n>>> b\nb\n', {
      target: server.target,
      timeoutMs: 600_000,
      settleMs: 2000,
    });
    expect(result.status).toBe('failed');
    const leftovers = result.steps.filter((s) => s.failure?.reason === 'leftover');
    expect(leftovers.map((s) => [s.connection, text(s.failure!.received)])).toEqual([
      ['one', 'still here\r\n'],
      ['two', 'still here\r\n'],
    ]);
  });

  it('fails on what the server sends after the half-close', async () => {
    const server = await serve(
      startTestServer((socket) => {
        onLines(socket, (line) => socket.write(`${line}\r\n`));
        socket.on('end', () => socket.end('goodbye\r\n'));
      }),
    );
    const result = await run('>>> a\na\n', { target: server.target });
    const step = failedStep(result);
    expect(step.index).toBe(1);
    expect(step.failure.reason).toBe('leftover');
    expect(step.failure.line).toBe(2);
    expect(text(step.failure.received)).toBe('goodbye\r\n');
  });
});

describe('bytes that are not text', () => {
  const garbage = Buffer.from([0xff, 0xfe, 0x80, 0x20, 0x6f, 0x6b, 0x0d, 0x0a]); // "\xff\xfe\x80 ok\r\n"
  async function garbageServer(): Promise<TestServer> {
    return serve(
      startTestServer((socket) => {
        onLines(socket, () => socket.write(garbage));
        socket.on('end', () => socket.end());
      }),
    );
  }

  it('matches invalid UTF-8 with an escaped literal line and with ...', async () => {
    const server = await garbageServer();
    expect((await run('>>> x\n>>>= \\xff\\xfe\\x80 ok\n', { target: server.target })).status).toBe('passed');
    expect((await run('>>> x\n... ok\n', { target: server.target })).status).toBe('passed');
  });

  it('reports the exact bytes of a mismatching binary reply', async () => {
    const server = await garbageServer();
    const step = failedStep(await run('>>> x\nok\n', { target: server.target }));
    expect(step.failure.reason).toBe('mismatch');
    expect(Buffer.from(step.failure.received)).toEqual(garbage);
  });
});

describe('very large replies', () => {
  const lineCount = 100_000; // "line 000000\r\n" × 100,000 ≈ 1.3 MB, then END
  async function bigServer(): Promise<TestServer> {
    return serve(
      startTestServer((socket) => {
        onLines(socket, () => {
          const lines: string[] = [];
          for (let i = 0; i < lineCount; i++) lines.push(`line ${String(i).padStart(6, '0')}\r\n`);
          socket.write(lines.join(''));
          socket.end('END\r\n');
        });
      }),
    );
  }

  it('matches megabytes with ... and an exact last line', async () => {
    const server = await bigServer();
    const result = await run('>>> dump\nline 000000\n...\nline 099999\nEND\n', { target: server.target });
    expect(result.status).toBe('passed');
  });

  it('keeps every byte of a megabyte mismatch for the report', async () => {
    const server = await bigServer();
    const result = await run('>>> dump\nline 000000\nline 000002\n...\n', { target: server.target });
    const step = failedStep(result);
    expect(step.failure.reason).toBe('mismatch');
    expect(step.failure.line).toBe(3);
    expect(step.failure.received.length).toBe(lineCount * 13 + 5);
    expect(text(step.failure.received.subarray(-18))).toBe('line 099999\r\nEND\r\n');
  });
});
