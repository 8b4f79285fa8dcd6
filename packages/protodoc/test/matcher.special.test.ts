import { describe, expect, it } from 'vitest';
import { ReplyMatcher } from '../src/matcher.js';
import { parseTranscript } from '../src/transcript.js';
import type { ExpectLine } from '../src/transcript-model.js';

function matcher(lines: string): ReplyMatcher {
  const expect: ExpectLine[] = parseTranscript(`>>> X\n${lines}`, 't.txt').steps[0]!.expect;
  return new ReplyMatcher(expect);
}

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const str = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** Outcome of feeding `reply` cut into `chunks`, then (optionally) close. */
function outcome(lines: string, chunks: string[], then: 'none' | 'end' | 'settle' = 'none'): string {
  const m = matcher(lines);
  let status: string = m.result;
  for (const c of chunks) status = m.push(bytes(c));
  if (status === 'pending' && then === 'end') status = m.end();
  if (status === 'pending' && then === 'settle') status = m.settle();
  return status;
}

/** The same outcome must come out whether the reply arrives whole, byte by byte, or cut anywhere. */
function everyChunking(lines: string, reply: string, then: 'none' | 'end' | 'settle' = 'none'): Set<string> {
  const seen = new Set<string>();
  seen.add(outcome(lines, [reply], then));
  seen.add(outcome(lines, [...reply], then));
  for (let i = 1; i < reply.length; i++) seen.add(outcome(lines, [reply.slice(0, i), reply.slice(i)], then));
  return seen;
}

describe('ReplyMatcher: literal lines `>>>=`', () => {
  it('matches a line that is exactly `...` or starts with `>>>` only literally', () => {
    expect(outcome('>>>= ...\n', ['...\r\n'])).toBe('complete');
    expect(outcome('>>>= ...\n', ['anything\r\n'])).toBe('failed');
    expect(outcome('>>>= >>> x\n', ['>>> x\r\n'])).toBe('complete');
  });

  it('matches binary and invalid UTF-8 bytes', () => {
    expect(everyChunking('>>>= \\x00\\xff\\xfe ok\n', '\x00\xff\xfe ok\r\n')).toEqual(new Set(['complete']));
    expect(outcome('>>>= \\xff\n', ['\xfe\r\n'])).toBe('failed');
  });

  it('requires exactly CRLF with (crlf) and exactly LF with (lf)', () => {
    expect(outcome('>>>=(crlf) a\n', ['a\r\n'])).toBe('complete');
    expect(outcome('>>>=(crlf) a\n', ['a\n'])).toBe('failed');
    expect(outcome('>>>=(lf) a\n', ['a\n'])).toBe('complete');
    expect(outcome('>>>=(lf) a\n', ['a\r\n'])).toBe('failed');
    expect(everyChunking('>>>=(crlf) a\n>>>=(lf) b\n', 'a\r\nb\n')).toEqual(new Set(['complete']));
  });

  it('tells a CR inside the line from the CR of CRLF', () => {
    expect(outcome('>>>= a\\r\n', ['a\r\r\n'])).toBe('complete');
    expect(outcome('>>>= a\\r\n', ['a\r\n'])).toBe('failed');
    expect(outcome('>>>=(lf) a\\r\n', ['a\r\n'])).toBe('complete');
  });
});

describe('ReplyMatcher: lines without a line ending', () => {
  it('completes a literal no-eol line as soon as the unterminated line equals it', () => {
    expect(everyChunking('>>>=(no-eol) > \n', '> ')).toEqual(new Set(['complete']));
    expect(everyChunking('+OK\n>>>=(no-eol) > \n', '+OK\r\n> ')).toEqual(new Set(['complete']));
    expect(everyChunking('...\n>>>=(no-eol) $ \n', 'motd\r\nmore\r\n$ ')).toEqual(new Set(['complete']));
  });

  it('leaves what follows a completed no-eol line for the next step', () => {
    const m = matcher('>>>=(no-eol) ab\n');
    expect(m.push(bytes('a'))).toBe('pending');
    expect(m.push(bytes('b'))).toBe('complete');
    m.push(bytes('c\r\n'));
    expect(str(m.leftover())).toBe('c\r\n');
  });

  it('does not take a terminated line for a no-eol line', () => {
    expect(outcome('>>>=(no-eol) ab\n', ['ab\r\n'])).toBe('failed');
    expect(outcome('...\n>>>=(no-eol) ab\n', ['ab\r\n'], 'end')).toBe('failed');
  });

  it('keeps a no-eol line pending while the unterminated line differs, and fails it at close', () => {
    expect(outcome('...\n>>>=(no-eol) ab\n', ['xy'])).toBe('pending');
    expect(outcome('...\n>>>=(no-eol) ab\n', ['xy'], 'end')).toBe('failed');
    expect(outcome('...\n>>>=(no-eol) ab\n', ['xy\r\nab'])).toBe('complete');
  });

  it('decides a no-eol regex line at a quiet period or at close', () => {
    const m = matcher('>>>~(no-eol) \\d+\n');
    expect(m.needsSettle).toBe(true);
    expect(m.push(bytes('12'))).toBe('pending');
    expect(m.push(bytes('3'))).toBe('pending');
    expect(m.settle()).toBe('complete');
    expect(str(m.received())).toBe('123');
    expect(outcome('>>>~(no-eol) \\d+\n', ['12x'], 'settle')).toBe('pending');
    expect(outcome('>>>~(no-eol) \\d+\n', ['12x'], 'end')).toBe('failed');
    expect(outcome('>>>~(no-eol) \\d+\n', ['12'], 'end')).toBe('complete');
  });

  it('leaves state unchanged when a quiet period does not complete the reply', () => {
    const m = matcher('>>>~(no-eol) \\d+\n');
    m.push(bytes('1x'));
    expect(m.settle()).toBe('pending');
    m.push(bytes('\r\n'));
    // `1x\r\n` is a terminated line: the no-eol regex cannot take it.
    expect(m.end()).toBe('failed');
    expect(m.failure()).toEqual({ expectIndex: 0, line: 2 });
  });

  it('waits for a quiet period for a trailing `...` and then takes an unterminated line too', () => {
    const m = matcher('a\n...\n');
    m.push(bytes('a\r\nb\r\npartial'));
    expect(m.settle()).toBe('complete');
    expect(str(m.received())).toBe('a\r\nb\r\npartial');
  });

  it('ignores settle when the reply can tell its own end', () => {
    const m = matcher('a\n');
    expect(m.settle()).toBe('pending');
    expect(m.push(bytes('a\n'))).toBe('complete');
  });
});

describe('ReplyMatcher: regular-expression lines `>>>~`', () => {
  it('matches the whole line, implicitly anchored', () => {
    expect(outcome('>>>~ :\\d+\n', [':42\r\n'])).toBe('complete');
    expect(outcome('>>>~ :\\d+\n', [':42x\r\n'])).toBe('failed');
    expect(outcome('>>>~ :\\d+\n', ['x:42\r\n'])).toBe('failed');
    // Alternation stays anchored as a whole.
    expect(outcome('>>>~ a|b\n', ['ab\r\n'])).toBe('failed');
    expect(outcome('>>>~ a|b\n', ['b\r\n'])).toBe('complete');
  });

  it('tests the line without its ending, decoded as UTF-8 (u flag)', () => {
    expect(outcome('>>>~ h.llo\n', [Buffer.from('héllo\r\n').toString('latin1')])).toBe('complete');
    expect(outcome('>>>~ \\p{L}+\n', [Buffer.from('ünï\n').toString('latin1')])).toBe('complete');
  });

  it('gives the same outcome in every chunking, and works between `...` lines', () => {
    expect(everyChunking('...\n>>>~ \\$\\d+\n...\nEND\n', 'x\r\n$12\r\nbody\r\nEND\r\n')).toEqual(
      new Set(['complete']),
    );
    expect(everyChunking('>>>~ \\$\\d+\nEND\n', '$1x\r\nEND\r\n')).toEqual(new Set(['failed']));
  });
});

describe('ReplyMatcher: robustness', () => {
  it('does not take invalid UTF-8 for the text it resembles', () => {
    expect(outcome('caf\u00e9\n', ['caf\xe9\r\n'])).toBe('failed');
  });

  it('matches a multi-megabyte reply with `...` and an exact last line, in small chunks', () => {
    const line = 'x'.repeat(99);
    const body = `${line}\r\n`.repeat(50_000); // 5 MB
    const m = matcher('$5000000\n...\nEND\n');
    expect(m.push(bytes('$5000000\r\n'))).toBe('pending');
    for (let i = 0; i < body.length; i += 65_536)
      expect(m.push(bytes(body.slice(i, i + 65_536)))).toBe('pending');
    expect(m.push(bytes('END\r\n'))).toBe('complete');
    expect(m.received().length).toBe(10 + body.length + 5);
  });

  it('matches one huge line spread over many chunks (glob, then exact)', () => {
    const m = matcher('BEGIN ... END\nok\n');
    m.push(bytes('BEGIN '));
    for (let i = 0; i < 200; i++) expect(m.push(bytes('y'.repeat(10_000)))).toBe('pending');
    expect(m.push(bytes(' END\r'))).toBe('pending');
    expect(m.push(bytes('\nok'))).toBe('pending');
    expect(m.push(bytes('\r\n'))).toBe('complete');
  });

  it('rejects a huge line that cannot match without losing track of the reply', () => {
    const m = matcher('...\nshort\n');
    for (let i = 0; i < 100; i++) m.push(bytes('z'.repeat(10_000)));
    expect(m.push(bytes('\r\nshort\r\n'))).toBe('complete');
  });

  it('accepts Uint8Array chunks that are not Buffers', () => {
    const m = matcher('+PONG\n');
    expect(m.push(new TextEncoder().encode('+PONG\r\n'))).toBe('complete');
  });

  it('survives empty chunks between the parts of a line', () => {
    expect(outcome('ab\n', ['a', '', '', 'b\r', '', '\n'])).toBe('complete');
    expect(outcome('ab\n', ['', 'ab', '\r', '', '\n'])).toBe('complete');
  });
});
