/** Named connections: opened lazily at their first step, in order; bytes kept per connection. */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { failedStep, run, statuses, text } from './helpers/run.js';
import { closedAfterEach, echoServer, onLines, startTestServer } from './helpers/tcp-servers.js';

const serve = closedAfterEach();

describe('named connections', () => {
  it('opens a connection only when its first step runs', async () => {
    const server = await serve(echoServer());
    const result = await run('>>>@a\n>>> one\nnot one\n>>>@b\n>>> two\ntwo\n', { target: server.target });
    expect(statuses(result)).toEqual(['failed', 'skipped']);
    expect(server.accepted).toBe(1);
    expect(text(server.received[0]!)).toBe('one\r\n');
  });

  it('opens connections in the order of their first steps and keeps each one its own bytes', async () => {
    // Each connection is greeted with its accept number, so the order of opening shows in the replies.
    const server = await serve(
      startTestServer((socket, index) => {
        socket.write(`hello ${index}\r\n`);
        onLines(socket, (line) => socket.write(`${index}: ${line}\r\n`));
        socket.on('end', () => socket.end());
      }),
    );
    const transcript = `>>>@first
hello 0
>>>@second
hello 1
>>> b
1: b
>>>@first
>>> a
0: a
>>>@second
>>> c
1: c
`;
    const result = await run(transcript, { target: server.target });
    expect(result.status).toBe('passed');
    expect(result.steps.map((s) => s.connection)).toEqual(['first', 'second', 'second', 'first', 'second']);
  });

  it('keeps bytes that arrive on one connection while another is being read, for its next step', async () => {
    const sockets: Socket[] = [];
    const server = await serve(
      startTestServer((socket, index) => {
        sockets[index] = socket;
        // `x` on the first connection is answered only when `y` arrives on the second, and `y`
        // only some time after that: the client reads the first connection's reply while it waits for y's.
        onLines(socket, (line) => {
          if (line !== 'y') return;
          sockets[0]!.write('late x\r\nand more\r\n');
          setTimeout(() => socket.write('now y\r\n'), 50);
        });
        socket.on('end', () => socket.end());
      }),
    );
    const transcript = '>>>@slow\n>>> x\n>>>@fast\n>>> y\nnow y\n>>>@slow\nlate x\n';
    const result = await run(transcript, { target: server.target });
    // The reply to x arrived while `fast` was being read; its extra line is left over at the end.
    expect(statuses(result)).toEqual(['passed', 'passed', 'passed', 'failed']);
    const step = failedStep(result);
    expect(step.connection).toBe('slow');
    expect(step.failure.reason).toBe('leftover');
    expect(text(step.failure.received)).toBe('and more\r\n');
  });
});

describe('targets written in the transcript', () => {
  it('names the line of a malformed target, `>>>! connect` and `>>>@NAME TARGET` alike', async () => {
    const connect = await run('>>># first\n>>>! connect localhost\n>>> PING\n+PONG\n');
    expect(connect.status).toBe('error');
    expect(connect.error).toMatchObject({ code: 'PROTODOC_ERR_USAGE' });
    expect(connect.error?.message).toMatch(/^test\.txt:2: target 'localhost': /);
    const named = await run('>>> PING\n+PONG\n>>>@other localhost:http\n>>> PING\n+PONG\n', {
      target: '127.0.0.1:1',
    });
    expect(named.error?.message).toMatch(/^test\.txt:3: target 'localhost:http': /);
  });
});

describe('a connection that cannot be opened', () => {
  it('is named, with the line of the step that opened it, when the file is already under way', async () => {
    const server = await serve(echoServer());
    const result = await run('>>> one\none\n>>>@other 127.0.0.1:1\n>>> two\ntwo\n', {
      target: server.target,
    });
    expect(result.status).toBe('error');
    expect(result.error).toEqual({
      code: 'PROTODOC_ERR_CONNECT',
      message: "connection 'other': cannot connect to 127.0.0.1:1: connection refused",
      line: 4,
      connection: 'other',
    });
    expect(statuses(result)).toEqual(['passed', 'skipped']);
  });

  it('is the whole file when it is the first connection of the file', async () => {
    const result = await run('>>> one\none\n', { target: '127.0.0.1:1' });
    expect(result.error).toEqual({
      code: 'PROTODOC_ERR_CONNECT',
      message: 'cannot connect to 127.0.0.1:1: connection refused',
    });
  });
});
