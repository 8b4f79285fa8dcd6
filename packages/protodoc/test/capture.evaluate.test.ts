/**
 * Captures: the matcher keeps the lines capturing items fit on the path that matched, and
 * evaluateCaptures reads the values out of them.
 */
import { describe, expect, it } from 'vitest';
import { alignReply } from '../src/alignment.js';
import { alignedCaptureLines, evaluateCaptures } from '../src/capture.js';
import { ReplyMatcher } from '../src/matcher.js';
import { parseTranscript } from '../src/transcript.js';
import type { ExpectLine } from '../src/transcript-model.js';

const expectOf = (lines: string): ExpectLine[] =>
  parseTranscript(`>>> x\n${lines}`, 'c.txt').steps[0]!.expect;

/** Feeds `chunks` (and a close) to a matcher and returns the captured values as text. */
function captured(lines: string, chunks: string[], close = false): Record<string, string> {
  const expect = expectOf(lines);
  const m = new ReplyMatcher(expect);
  let status = m.result;
  for (const chunk of chunks) status = m.push(Buffer.from(chunk, 'latin1'));
  if (close) status = m.end();
  if (status === 'pending' && m.needsSettle) status = m.settle();
  expect_(status).toBe('complete');
  const values = evaluateCaptures(expect, m.captured());
  return Object.fromEntries([...values].map(([k, v]) => [k, v.toString('latin1')]));
}
const expect_ = expect;

describe('captures in a deterministic reply', () => {
  it('takes named groups of >>>~ lines and gaps of >>>$ lines', () => {
    expect(
      captured('>>>~ INSERTED (?<job>\\d+)\n>>>$ VALUE k 0 5 {{cas=...}}\nEND\n', [
        'INSERTED 42\r\nVALUE k 0 5 9001\r\nEND\r\n',
      ]),
    ).toEqual({ job: '42', cas: '9001' });
  });

  it('works whatever the chunks, a line split across them included', () => {
    const reply = 'id=7f3a\r\nname=bob smith\r\n';
    const lines = '>>>$ id={{id=...}}\n>>>~ name=(?<name>.*)\n';
    for (let cut = 1; cut < reply.length; cut++) {
      expect(captured(lines, [reply.slice(0, cut), reply.slice(cut)])).toEqual({
        id: '7f3a',
        name: 'bob smith',
      });
    }
  });

  it('splits a >>>$ line as the matcher does: each `...` before a piece takes as little as it can', () => {
    expect(captured('>>>$ {{a=...}}-{{b=...}}-{{c=...}}\n', ['x-y-z-w\n'])).toEqual({
      a: 'x',
      b: 'y',
      c: 'z-w',
    });
  });

  it('keeps bytes that are not UTF-8 as they are in a >>>$ gap', () => {
    expect(captured('>>>$ k={{v=...}}\n', ['k=\xff\xfe\r\n'])).toEqual({ v: '\xff\xfe' });
  });

  it('gives an optional group that took no part the empty value', () => {
    expect(captured('>>>~ ok(?: (?<note>.+))?\n', ['ok\n'])).toEqual({ note: '' });
  });

  it('takes a (lf) line’s CR as content, as the matcher does', () => {
    expect(captured('>>>$(lf) v={{v=...}}\n', ['v=1\r\n'])).toEqual({ v: '1\r' });
  });

  it('takes a no-eol line at the close', () => {
    expect(captured('>>>~(no-eol) > (?<p>\\w+)\n', ['> abc'], true)).toEqual({ p: 'abc' });
  });
});

describe('captures around `...` lines', () => {
  it('takes the first line that fits after a `...`, as lazy matching ends the reply', () => {
    expect(captured('...\n>>>~ id=(?<id>\\d+)\n...\nEND\n', ['a\nid=1\nb\nid=2\nEND\n'])).toEqual({
      id: '1',
    });
  });

  it('follows the path that matched, not a line a dead path took', () => {
    // `id=1` fits the capture, but only the path through `id=2` reaches `END` right after it.
    expect(captured('...\n>>>~ id=(?<id>\\d+)\nEND\n', ['id=1\nx\nid=2\nEND\n'])).toEqual({ id: '2' });
  });

  it('captures in a reply that ends in `...` (settled)', () => {
    expect(captured('>>>$ HTTP/1.1 {{status=...}} OK\n...\n', ['HTTP/1.1 200 OK\r\nA: b\r\n'])).toEqual({
      status: '200',
    });
  });

  it('keeps the captures of a state when a quiet period is only tried (wouldSettle)', () => {
    const expect = expectOf('>>>~ a=(?<a>\\d)\n...\n');
    const m = new ReplyMatcher(expect);
    m.push(Buffer.from('a=1\npartial'));
    expect_(m.wouldSettle()).toBe(true);
    expect_(m.settle()).toBe('complete');
    expect_(Object.fromEntries(evaluateCaptures(expect, m.captured()))).toEqual({ a: Buffer.from('1') });
  });

  it('captures nothing from a reply that did not match', () => {
    const m = new ReplyMatcher(expectOf('>>>~ id=(?<id>\\d+)\nEND\n'));
    m.push(Buffer.from('id=1\nNOPE\n'));
    expect(m.result).toBe('failed');
    expect(m.captured()).toEqual([]);
  });
});

describe('alignedCaptureLines (--update)', () => {
  it('takes the lines of the capturing items that still fit in a reply that differs', () => {
    const expect = expectOf('>>>~ INSERTED (?<job>\\d+)\nOK\n');
    const alignment = alignReply(expect, Buffer.from('INSERTED 12\r\nNOT OK\r\n'));
    expect_(alignment.matches).toBe(false);
    const values = evaluateCaptures(expect, alignedCaptureLines(expect, alignment));
    expect_(values.get('job')?.toString()).toBe('12');
  });

  it('takes nothing for a capturing item that is missing', () => {
    const expect = expectOf('>>>~ INSERTED (?<job>\\d+)\n');
    const values = evaluateCaptures(
      expect,
      alignedCaptureLines(expect, alignReply(expect, Buffer.from('NO\n'))),
    );
    expect_(values.size).toBe(0);
  });
});
