import { describe, expect, it } from 'vitest';
import { ReplyMatcher } from '../src/matcher.js';
import { parseTranscript } from '../src/transcript.js';
import type { ExpectLine } from '../src/transcript-model.js';

/** The expected items of a reply written as transcript lines (after a `>>> X` send). */
function expectOf(lines: string): ExpectLine[] {
  return parseTranscript(`>>> X\n${lines}`, 't.txt').steps[0]!.expect;
}

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const str = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** Feeds `reply` in the given chunks; returns the status after the last push (and after close if `close`). */
function run(expectText: string, chunks: string[], close = false) {
  const m = new ReplyMatcher(expectOf(expectText));
  let status = m.result;
  // Pushing after the outcome is decided only collects bytes (leftover or the rest of a bad reply).
  for (const c of chunks) status = m.push(bytes(c));
  if (close && status === 'pending') status = m.end();
  return { m, status };
}

/** Every way of cutting `s` into chunks that matters here: whole, byte by byte, and at every position. */
function chunkings(s: string): string[][] {
  const out: string[][] = [[s], [...s]];
  for (let i = 1; i < s.length; i++) out.push([s.slice(0, i), s.slice(i)]);
  return out;
}

describe('ReplyMatcher: text lines', () => {
  it('completes the moment the last expected line has arrived', () => {
    const { m, status } = run('+PONG\n', ['+PONG\r\n']);
    expect(status).toBe('complete');
    expect(m.leftover()).toHaveLength(0);
    expect(str(m.received())).toBe('+PONG\r\n');
  });

  it('accepts LF as well as CRLF line endings', () => {
    expect(run('+PONG\n', ['+PONG\n']).status).toBe('complete');
  });

  it('stays pending on a partial line and on a missing line', () => {
    expect(run('+PONG\n', ['+PON']).status).toBe('pending');
    expect(run('a\nb\n', ['a\n']).status).toBe('pending');
  });

  it('fails on the first line that differs and reports that expected line', () => {
    const { m, status } = run('a\nb\nc\n', ['a\nX\n']);
    expect(status).toBe('failed');
    expect(m.failure()).toEqual({ expectIndex: 1, line: 3 });
  });

  it('leaves bytes beyond the match for the next step', () => {
    const { m, status } = run('+OK\n', ['+OK\r\n+EXTRA\r\n']);
    expect(status).toBe('complete');
    expect(str(m.leftover())).toBe('+EXTRA\r\n');
    expect(str(m.received())).toBe('+OK\r\n');
  });

  it('compares bytes exactly: no trimming, case matters', () => {
    expect(run('+PONG\n', ['+PONG \r\n']).status).toBe('failed');
    expect(run('+PONG\n', ['+pong\r\n']).status).toBe('failed');
    expect(run('+PONG\n', ['+PONG\r\r\n']).status).toBe('failed');
  });

  it('matches a blank expected line only with an empty received line', () => {
    expect(run('a\n\nb\n', ['a\r\n\r\nb\r\n']).status).toBe('complete');
    expect(run('a\n\nb\n', ['a\r\nb\r\n']).status).toBe('failed');
  });

  it('requires a line ending for a plain expected line, even at close', () => {
    const { m, status } = run('hello\n', ['hello'], true);
    expect(status).toBe('failed');
    expect(m.failure().line).toBe(2);
  });

  it('completes at close when everything matched, fails at close when a line is missing', () => {
    expect(run('a\n', ['a\n'], true).status).toBe('complete');
    const { m, status } = run('a\nb\n', ['a\n'], true);
    expect(status).toBe('failed');
    expect(m.failure()).toEqual({ expectIndex: 1, line: 3 });
  });

  it('matches UTF-8 text byte for byte', () => {
    expect(run('héllo ✓\n', [Buffer.from('héllo ✓\r\n').toString('latin1')]).status).toBe('complete');
  });

  it('gives the same outcome however the reply is cut into chunks, also across CRLF', () => {
    const cases: [string, string, string][] = [
      ['a\nb\n', 'a\r\nb\r\n', 'complete'],
      ['a\nb\n', 'a\r\nc\r\n', 'failed'],
      ['+OK\n', '+OK\r\nrest', 'complete'],
      ['...\nEND\n', 'x\r\ny\r\nEND\r\n', 'complete'],
      ['VALUE ... 0 5\n...\nEND\n', 'VALUE k 0 5\r\nhello\r\nEND\r\n', 'complete'],
      ['VALUE ... 0 5\n...\nEND\n', 'VALUE k 0 5\r\nhello\r\nEN\r\n', 'pending'],
    ];
    for (const [exp, reply, want] of cases) {
      for (const chunks of chunkings(reply)) {
        const { m, status } = run(exp, chunks);
        expect({ exp, chunks, status }).toEqual({ exp, chunks, status: want });
        if (status === 'complete') {
          expect(str(m.received()) + str(m.leftover())).toBe(reply);
        }
      }
    }
  });

  it('hands many replies that arrived in one packet from step to step through leftover()', () => {
    const steps = ['+OK\n', '$1\na\n', '...\nEND\n', ':1\n'];
    let pending: Uint8Array = bytes('+OK\r\n$1\r\na\r\nx\r\nEND\r\n:1\r\n');
    const seen: string[] = [];
    for (const exp of steps) {
      const m = new ReplyMatcher(expectOf(exp));
      expect(m.push(pending)).toBe('complete');
      seen.push(str(m.received()));
      pending = m.leftover();
    }
    expect(seen).toEqual(['+OK\r\n', '$1\r\na\r\n', 'x\r\nEND\r\n', ':1\r\n']);
    expect(pending).toHaveLength(0);
  });

  it('after reset() behaves as a new matcher, whatever state the previous reply left', () => {
    // The runner reuses one matcher for every step: nothing of a reply may leak into the next.
    const m = new ReplyMatcher(expectOf('...\nEND\n'));
    expect(m.push(bytes('x\r\npartial'))).toBe('pending');
    m.reset(expectOf('+PONG\n'));
    expect(m.needsSettle).toBe(false);
    expect(m.push(bytes('+PO'))).toBe('pending');
    expect(m.push(bytes('NG\r\nrest'))).toBe('complete');
    expect(str(m.received())).toBe('+PONG\r\n');
    expect(str(m.leftover())).toBe('rest');
    // The same text again (its compiled lines are kept): the state still starts over.
    m.reset(expectOf('+PONG\n'));
    expect(m.push(bytes('+PONG\r\n'))).toBe('complete');
    m.reset(expectOf('+PONG\n'));
    expect(m.push(bytes('+PANG\r\n'))).toBe('failed');
    m.reset(expectOf('+PONG\nx\n'));
    expect(m.push(bytes('+PONG\r\n'))).toBe('pending');
    m.reset(expectOf('a\n...\n'));
    expect(m.needsSettle).toBe(true);
    expect(m.push(bytes('b\r\n'))).toBe('failed');
    expect(m.failure()).toEqual({ expectIndex: 0, line: 2 });
    m.reset([]);
    expect(m.result).toBe('complete');
    expect(m.received()).toHaveLength(0);
    m.reset(expectOf('ok\n'));
    expect(m.result).toBe('pending');
    expect(m.end()).toBe('failed');
  });

  it('completes a step that expects nothing before any byte, leaving all bytes over', () => {
    const m = new ReplyMatcher([]);
    expect(m.result).toBe('complete');
    expect(m.push(bytes('surprise\r\n'))).toBe('complete');
    expect(str(m.leftover())).toBe('surprise\r\n');
    expect(m.received()).toHaveLength(0);
  });

  it('keeps collecting after a failure so the whole reply can be shown', () => {
    const m = new ReplyMatcher(expectOf('+PONG\n'));
    expect(m.push(bytes('-ERR\r\n'))).toBe('failed');
    expect(m.push(bytes('more\r\n'))).toBe('failed');
    expect(str(m.received())).toBe('-ERR\r\nmore\r\n');
    expect(m.end()).toBe('failed');
  });

  it('reports the furthest expected line when still pending (timeout)', () => {
    const m = new ReplyMatcher(expectOf('a\nb\nc\n'));
    m.push(bytes('a\r\nb\r\n'));
    expect(m.failure()).toEqual({ expectIndex: 2, line: 4 });
  });
  it('decides a one-line reply in one chunk as it decides the same bytes cut up', () => {
    // A one-line reply in one chunk takes a short way in push: it must agree with the line-by-line one.
    const cases: [string, string][] = [
      ['+PONG\n', '+PONG\r\n'],
      ['+PONG\n', '+PONG\n'],
      ['+PONG\n', '+PONG\r\r\n'],
      ['+PONG\n', '+PONG \r\n'],
      ['+PONG\n', '+PON\r\n'],
      ['+PONG\n', '+PONG\r\n+PONG\r\n'],
      ['+PONG\n', '\n+PONG\r\n'],
      ['\n', '\r\n'],
      ['\n', '\n'],
      ['\n', '\r\r\n'],
      ['a\r\r\n', 'a\r\r\n'],
      ['a\r\r\n', 'a\r\n'],
      ['>>>= x\n', 'x\r\n'],
      ['>>>=(crlf) x\n', 'x\n'],
      ['>>>=(lf) x\n', 'x\r\n'],
    ];
    for (const [expected, reply] of cases) {
      const outcome = (chunks: string[]) => {
        const { m, status } = run(expected, chunks, true);
        return { status, leftover: str(m.leftover()), received: str(m.received()), failure: m.failure() };
      };
      const whole = outcome([reply]);
      expect(outcome([...reply]), JSON.stringify([expected, reply])).toEqual(whole);
      expect(outcome(['', reply]), JSON.stringify([expected, reply])).toEqual(whole);
    }
    expect(run('+PONG\n', ['+PONG\r\n']).status).toBe('complete');
    expect(run('+PONG\n', ['+PONG\r\r\n']).status).toBe('failed');
  });
});

describe('ReplyMatcher: `...` lines', () => {
  it('matches zero or more whole lines', () => {
    expect(run('...\nEND\n', ['END\r\n']).status).toBe('complete');
    expect(run('...\nEND\n', ['a\r\nb\r\nc\r\nEND\r\n']).status).toBe('complete');
    expect(run('a\n...\n...\nb\n', ['a\nb\n']).status).toBe('complete');
  });

  it('is lazy: the first line that lets the reply end, ends it', () => {
    const { m, status } = run('...\nEND\n', ['x\r\nEND\r\nEND\r\n']);
    expect(status).toBe('complete');
    expect(str(m.leftover())).toBe('END\r\n');
  });

  it('fails when a line fits no live state', () => {
    const { m, status } = run('a\n...\nz\n', ['b\r\n']);
    expect(status).toBe('failed');
    expect(m.failure()).toEqual({ expectIndex: 0, line: 2 });
  });

  it('reports the line after `...` when the reply never reaches it', () => {
    const { m, status } = run('a\n...\nz\n', ['a\r\nb\r\nc\r\n'], true);
    expect(status).toBe('failed');
    expect(m.failure()).toEqual({ expectIndex: 2, line: 4 });
  });

  it('waits for close or a quiet period when the reply ends with `...`', () => {
    const m = new ReplyMatcher(expectOf('HTTP/1.1 200 OK\n...\n'));
    expect(m.needsSettle).toBe(true);
    expect(m.push(bytes('HTTP/1.1 200 OK\r\nServer: x\r\n'))).toBe('pending');
    expect(m.settle()).toBe('complete');
    expect(m.leftover()).toHaveLength(0);
    expect(str(m.received())).toBe('HTTP/1.1 200 OK\r\nServer: x\r\n');
  });

  it('does not settle before the lines in front of a trailing `...` have arrived', () => {
    const m = new ReplyMatcher(expectOf('a\nb\n...\n'));
    m.push(bytes('a\r\n'));
    expect(m.settle()).toBe('pending');
    m.push(bytes('b\r\n'));
    expect(m.settle()).toBe('complete');
  });

  it('lets a trailing `...` take an unterminated last line at close', () => {
    const m = new ReplyMatcher(expectOf('HTTP/1.0 200 OK\n...\n'));
    m.push(bytes('HTTP/1.0 200 OK\r\n\r\n<html>no newline'));
    expect(m.end()).toBe('complete');
    expect(str(m.received())).toBe('HTTP/1.0 200 OK\r\n\r\n<html>no newline');
  });

  it('does not need a settle period when `...` is not last', () => {
    expect(new ReplyMatcher(expectOf('...\nEND\n')).needsSettle).toBe(false);
    expect(new ReplyMatcher(expectOf('+PONG\n')).needsSettle).toBe(false);
  });

  it('stays linear on a pathological doctest-style case (many `...` against many non-matching lines)', () => {
    // doctest's old ELLIPSIS backtracked exponentially on this shape.
    const items = 400;
    const exp = Array.from({ length: items }, (_, i) => `...\nline ${i}`).join('\n') + '\nEND\n';
    const reply = 'nope\r\n'.repeat(20_000);
    const m = new ReplyMatcher(expectOf(exp));
    expect(m.push(bytes(reply))).toBe('pending');
    expect(m.end()).toBe('failed');
    expect(m.failure()).toEqual({ expectIndex: 1, line: 3 });
  });
});

describe('ReplyMatcher: `...` inside a line', () => {
  const cases: [string, string, boolean][] = [
    ['Server: nginx...', 'Server: nginx/1.22.1', true],
    ['Server: nginx...', 'Server: nginx', true],
    ['Server: nginx...', 'Server: apache', false],
    ['...ED', 'INSERTED', true],
    ['...ED', 'ED', true],
    ['...ED', 'EDX', false],
    ['a...b...c', 'abc', true],
    ['a...b...c', 'a-b-c', true],
    ['a...b...c', 'a-c-b', false],
    ['a...b...c', 'ac', false],
    ['ab...ba', 'aba', false],
    ['ab...ba', 'abba', true],
    ['x......y', 'xy', true],
    ['VALUE ... 0 ...', 'VALUE key 0 5', true],
    ['VALUE ... 0 ...', 'VALUE key 1 5', false],
  ];
  for (const [pattern, line, ok] of cases) {
    it(`${JSON.stringify(pattern)} ${ok ? 'matches' : 'does not match'} ${JSON.stringify(line)}`, () => {
      expect(run(`${pattern}\n`, [`${line}\r\n`]).status).toBe(ok ? 'complete' : 'failed');
    });
  }

  it('never matches across a line ending', () => {
    expect(run('a...b\n', ['a\r\nb\r\n']).status).toBe('failed');
  });
});
