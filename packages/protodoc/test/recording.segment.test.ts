/**
 * How `record` cuts what the proxy saw into steps (src/recording.ts, DECISIONS.md): a step is one
 * connection's client bytes up to the first server byte, its reply runs until the client sends again,
 * the settle time passes or another connection's client sends, and steps are in the order of their
 * first byte. The proxy itself is tested through the binary (cli.record.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { type RecordedChunk, segmentRecording } from '../src/recording.js';

/** Chunks from a compact script: `[connection, 'c' | 's', text, ms since the previous chunk]`. */
function chunks(script: [number, 'c' | 's', string, number?][]): RecordedChunk[] {
  let at = 0;
  return script.map(([connection, from, text, gap]) => {
    at += gap ?? 1;
    return { connection, from: from === 'c' ? 'client' : 'server', at, bytes: Buffer.from(text, 'latin1') };
  });
}

/** Steps as `[connection, sent, replied]` strings. */
function steps(script: [number, 'c' | 's', string, number?][], settleMs = 200): [number, string, string][] {
  return segmentRecording(chunks(script), settleMs).map((s) => [
    s.connection,
    Buffer.from(s.send).toString('latin1'),
    Buffer.from(s.reply).toString('latin1'),
  ]);
}

describe('recording: steps', () => {
  it('makes a step of a send and the reply that follows, joining the chunks of each', () => {
    expect(
      steps([
        [0, 'c', 'SET k '],
        [0, 'c', 'v\r\n'],
        [0, 's', '+O'],
        [0, 's', 'K\r\n'],
        [0, 'c', 'GET k\r\n'],
        [0, 's', '$1\r\nv\r\n'],
      ]),
    ).toEqual([
      [0, 'SET k v\r\n', '+OK\r\n'],
      [0, 'GET k\r\n', '$1\r\nv\r\n'],
    ]);
  });

  it('makes a step that sends nothing of what the server sends first: the greeting', () => {
    expect(
      steps([
        [0, 's', '220 hello\r\n'],
        [0, 'c', 'QUIT\r\n'],
        [0, 's', '221 bye\r\n'],
      ]),
    ).toEqual([
      [0, '', '220 hello\r\n'],
      [0, 'QUIT\r\n', '221 bye\r\n'],
    ]);
  });

  it('ends a reply after the settle time of quiet: what comes later is a step of its own', () => {
    expect(
      steps([
        [0, 'c', 'SUBSCRIBE news\r\n'],
        [0, 's', 'subscribed\r\n'],
        [0, 's', 'still the reply\r\n', 150],
        [0, 's', 'message 1\r\n', 250],
        [0, 's', 'message 2\r\n', 250],
      ]),
    ).toEqual([
      [0, 'SUBSCRIBE news\r\n', 'subscribed\r\nstill the reply\r\n'],
      [0, '', 'message 1\r\n'],
      [0, '', 'message 2\r\n'],
    ]);
  });

  it('waits for the first byte of a reply however long it takes', () => {
    expect(
      steps([
        [0, 'c', 'BLPOP q 5\r\n'],
        [0, 's', '*-1\r\n', 5000],
      ]),
    ).toEqual([[0, 'BLPOP q 5\r\n', '*-1\r\n']]);
  });

  it("ends every other connection's step when a client sends: what follows goes after that send", () => {
    // beanstalkd: reserve blocks; the job arrives after the producer's put, so it must come after it.
    expect(
      steps([
        [0, 'c', 'reserve\r\n'],
        [1, 'c', 'put 0 0 60 5\r\nhello\r\n'],
        [1, 's', 'INSERTED 1\r\n'],
        [0, 's', 'RESERVED 1 5\r\nhello\r\n'],
      ]),
    ).toEqual([
      [0, 'reserve\r\n', ''],
      [1, 'put 0 0 60 5\r\nhello\r\n', 'INSERTED 1\r\n'],
      [0, '', 'RESERVED 1 5\r\nhello\r\n'],
    ]);
  });

  it("keeps a connection's sends apart when another connection sent between them", () => {
    expect(
      steps([
        [0, 'c', 'a\r\n'],
        [1, 'c', 'b\r\n'],
        [0, 'c', 'c\r\n'],
      ]),
    ).toEqual([
      [0, 'a\r\n', ''],
      [1, 'b\r\n', ''],
      [0, 'c\r\n', ''],
    ]);
  });

  it("does not cut a line in two: a reply ended by another client's send takes the rest of its line", () => {
    expect(
      steps([
        [0, 'c', 'GET /\r\n'],
        [0, 's', 'HTTP/1.1 200 OK\r\nConte'],
        [1, 'c', 'PING\r\n'],
        [0, 's', 'nt-Length: 0\r\n\r\n'],
        [1, 's', '+PONG\r\n'],
      ]),
    ).toEqual([
      [0, 'GET /\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n'],
      [1, 'PING\r\n', '+PONG\r\n'],
      [0, '', '\r\n'],
    ]);
  });

  it('does not cut a line in two after a quiet period either', () => {
    expect(
      steps([
        [0, 'c', 'SLOW\r\n'],
        [0, 's', 'half a '],
        [0, 's', 'line\r\nnext\r\n', 500],
      ]),
    ).toEqual([
      [0, 'SLOW\r\n', 'half a line\r\n'],
      [0, '', 'next\r\n'],
    ]);
  });

  it('keeps a line without its ending when its own client answered it: a prompt', () => {
    expect(
      steps([
        [0, 's', 'login: '],
        [0, 'c', 'alice\n'],
        [0, 's', 'welcome\n'],
      ]),
    ).toEqual([
      [0, '', 'login: '],
      [0, 'alice\n', 'welcome\n'],
    ]);
  });

  it('orders steps by their first byte, across connections', () => {
    expect(
      steps([
        [1, 's', 'greeting of 1\r\n'],
        [0, 's', 'greeting of 0\r\n'],
        [0, 'c', 'hi\r\n'],
        [1, 's', 'late for 1\r\n'],
        [0, 's', 'reply\r\n'],
      ]).map(([connection, sent]) => [connection, sent]),
    ).toEqual([
      [1, ''],
      [0, ''],
      [0, 'hi\r\n'],
      [1, ''],
    ]);
  });
});
