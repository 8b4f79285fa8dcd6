/**
 * alignReply: which received line fits which expected item, by the matcher's rules, also after the
 * first difference. The reply diff is drawn from it, and `--update` will need it to keep the lines
 * that still match.
 */
import { describe, expect, it } from 'vitest';
import { alignReply } from '../src/alignment.js';
import { ReplyMatcher } from '../src/matcher.js';
import { parseTranscript } from '../src/transcript.js';
import type { ExpectLine } from '../src/transcript-model.js';

/** The expected items of a one-step transcript: `>>> X` then `lines`. */
function items(...lines: string[]): ExpectLine[] {
  return parseTranscript(`>>> X\n${lines.join('\n')}\n`, 't.txt').steps[0]!.expect;
}

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('alignReply', () => {
  it('lines up a matching reply: every item fits, `...` takes the lines between', () => {
    const a = alignReply(items('$3', '...', 'END'), bytes('$3\r\nfoo\r\nbar\r\nEND\r\n'));
    expect(a.matches).toBe(true);
    expect(a.runs).toEqual([
      { kind: 'match', item: 0, line: 0, count: 1 },
      { kind: 'any', item: 1, line: 1, count: 2 },
      { kind: 'match', item: 2, line: 3, count: 1 },
    ]);
  });

  it('agrees with the matcher on every kind of line', () => {
    const expect1 = items(
      'abé',
      'Server: nginx...',
      'a...b...c',
      '>>>~ \\d+',
      '>>>=(lf) x\\r',
      '>>>=(crlf) y',
      '...',
      '>>>=(no-eol) >',
    );
    const received = bytes('ab\xc3\xa9\nServer: nginx/1.22.1\r\na-b-c\n123\nx\r\ny\r\nfree\n>');
    const matcher = new ReplyMatcher(expect1);
    matcher.push(received);
    expect(matcher.end()).toBe('complete');
    expect(alignReply(expect1, received).matches).toBe(true);
  });

  it('does not fit what the matcher refuses: a longer text, the wrong order, a missing ending', () => {
    for (const [line, got] of [
      ['abé', 'ab\n'],
      ['ab', 'ab\xc3\xa9\n'],
      ['a...b...c', 'a-c-b\n'],
      ['ab...ba', 'aba\n'],
      ['bye', 'bye'],
      ['>>>=(crlf) x', 'x\n'],
      ['>>>=(lf) x', 'x\r\n'],
      ['>>>=(no-eol) >', '>\n'],
    ] as const) {
      expect(alignReply(items(line), bytes(got)).matches, `${line} against ${JSON.stringify(got)}`).toBe(
        false,
      );
    }
  });

  it('shows a changed line as missing and extra, and keeps the lines after it that fit', () => {
    const a = alignReply(
      items('HTTP/1.1 200 OK', 'Server: ...', '...', '', 'body'),
      bytes('HTTP/1.1 404 Not Found\r\nServer: x\r\nDate: d\r\n\r\nbody\r\n'),
    );
    expect(a.matches).toBe(false);
    expect(a.runs).toEqual([
      { kind: 'missing', item: 0, line: 0, count: 1 },
      { kind: 'extra', item: 1, line: 0, count: 1 },
      { kind: 'match', item: 1, line: 1, count: 1 },
      { kind: 'any', item: 2, line: 2, count: 1 },
      { kind: 'match', item: 3, line: 3, count: 2 },
    ]);
  });

  it('prefers lines that fit over two changes, as a line diff does', () => {
    const a = alignReply(items('a', 'x'), bytes('b\na\n'));
    expect(a.runs).toEqual([
      { kind: 'extra', item: 0, line: 0, count: 1 },
      { kind: 'match', item: 0, line: 1, count: 1 },
      { kind: 'missing', item: 1, line: 2, count: 1 },
    ]);
  });

  it('aligns only up to its budget and says how much is left', () => {
    const many = Array.from({ length: 100 }, (_, i) => `want ${i}`);
    const got = Array.from({ length: 100 }, (_, i) => `have ${i}\n`).join('');
    const a = alignReply(items(...many), bytes(got), { maxCells: 121 });
    expect(a.matches).toBe(false);
    expect(a.cut).toEqual({ items: 90, lines: 90 });
    const shown = a.runs.reduce((n, run) => n + (run.kind === 'extra' ? 0 : run.count), 0);
    expect(shown).toBe(10);
  });
});
