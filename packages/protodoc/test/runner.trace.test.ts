/**
 * RunOptions.trace: the conversation as it happens, for `-v`. Every connection event and every byte
 * sent and received reaches it in order, per connection; over http:// the request as it went out.
 */
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../src/results.js';
import { run } from './helpers/run.js';
import { closedAfterEach, echoServer, startTestServer } from './helpers/tcp-servers.js';

const serve = closedAfterEach();

/** The events without their times, bytes as latin1 text. */
function plain(events: TraceEvent[]): unknown[] {
  return events.map(({ at: _at, path: _path, ...rest }) =>
    'bytes' in rest ? { ...rest, bytes: Buffer.from(rest.bytes).toString('latin1') } : rest,
  );
}

describe('RunOptions.trace', () => {
  it('hears every connection event and byte, per connection, in order', async () => {
    const server = await serve(echoServer());
    const events: TraceEvent[] = [];
    const result = await run('>>> one\none\n>>>@other\n>>> two\ntwo\n', {
      target: server.target,
      trace: (event) => events.push(event),
    });
    expect(result.status).toBe('passed');
    expect(plain(events)).toEqual([
      { type: 'connect', connection: 'main', target: server.target },
      { type: 'connected', connection: 'main' },
      { type: 'sent', connection: 'main', bytes: 'one\r\n' },
      { type: 'received', connection: 'main', bytes: 'one\r\n' },
      { type: 'reply-end', connection: 'main', leftover: 0 },
      { type: 'connect', connection: 'other', target: server.target },
      { type: 'connected', connection: 'other' },
      { type: 'sent', connection: 'other', bytes: 'two\r\n' },
      { type: 'received', connection: 'other', bytes: 'two\r\n' },
      { type: 'reply-end', connection: 'other', leftover: 0 },
      { type: 'half-close', connection: 'main' },
      { type: 'half-close', connection: 'other' },
      // The two servers' closes may come in either order.
      expect.objectContaining({ type: 'closed' }),
      expect.objectContaining({ type: 'closed' }),
    ]);
    expect(new Set(events.slice(-2).map((e) => e.connection))).toEqual(new Set(['main', 'other']));
    expect(events.every((e) => e.path === 'test.txt')).toBe(true);
    const times = events.map((e) => e.at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it("says at each reply's end how many bytes received are the next step's", async () => {
    // Both replies in one chunk: the first step takes its line, the rest is the next step's.
    const server = await serve(
      startTestServer((socket) => {
        socket.once('data', () => socket.write('one\r\ntwo\r\n'));
      }),
    );
    const events: TraceEvent[] = [];
    const result = await run('>>> both\none\n>>>@main\ntwo\n', {
      target: server.target,
      trace: (event) => events.push(event),
    });
    expect(result.status).toBe('passed');
    expect(plain(events).filter((e) => (e as TraceEvent).type === 'reply-end')).toEqual([
      { type: 'reply-end', connection: 'main', leftover: 5 },
      { type: 'reply-end', connection: 'main', leftover: 0 },
    ]);
  });

  it('shows the HTTP request as it went out, and the response as the matcher reads it', async () => {
    const server = await serve(
      startTestServer((socket) => {
        socket.once('data', () => socket.write('HTTP/1.1 204 No Content\r\n\r\n'));
      }),
    );
    const events: TraceEvent[] = [];
    const result = await run('>>> GET /x HTTP/1.1\n>>> Host: h\n>>>\nHTTP/1.1 204 No Content\n\n', {
      target: `http://${server.target}`,
      trace: (event) => events.push(event),
    });
    expect(result.status).toBe('passed');
    const wire = plain(events).filter(
      (e) => (e as TraceEvent).type === 'sent' || (e as TraceEvent).type === 'received',
    );
    expect(wire).toEqual([
      {
        type: 'sent',
        connection: 'main',
        bytes: 'GET /x HTTP/1.1\r\nconnection: keep-alive\r\nHost: h\r\n\r\n',
      },
      { type: 'received', connection: 'main', bytes: 'HTTP/1.1 204 No Content\r\n\r\n' },
    ]);
  });
});
