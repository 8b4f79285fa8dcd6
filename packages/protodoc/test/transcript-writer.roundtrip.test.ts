/**
 * What protodoc writes into transcripts reads back as exactly what was received: every line the
 * writer makes, parsed again, matches that line and nothing else; volatile HTTP headers become
 * patterns, and only inside a response head.
 */
import { describe, expect, it } from 'vitest';
import { ReplyMatcher } from '../src/matcher.js';
import { ReceivedLines } from '../src/received-lines.js';
import { renderItem } from '../src/template.js';
import { parseBlockLines, parseTranscript, SyntaxErrors } from '../src/transcript.js';
import type { ExpectLine } from '../src/transcript-model.js';
import { patternLineText, writeExpectedLine } from '../src/transcript-writer.js';
import { volatileLines } from '../src/volatile.js';

/** The expected line a written line parses to. */
function parsed(line: string): ExpectLine {
  return parseTranscript(`>>> x\n${line}\n`, 'w.txt').steps[0]!.expect[0]!;
}

/** Whether `item` matches exactly `bytes` (then a line ending, unless `noEol`) as a whole reply. */
function fits(item: ExpectLine, bytes: Buffer, eol: boolean): boolean {
  const m = new ReplyMatcher([item]);
  let status = m.push(eol ? Buffer.concat([bytes, Buffer.from('\r\n')]) : bytes);
  if (status === 'pending') status = m.end();
  return status === 'complete' && m.leftover().length === 0;
}

const LINES: Buffer[] = [
  'plain text',
  '',
  '...',
  'Loading...',
  'a....b',
  '>>> looks like a send',
  '>>>= looks literal',
  '   ```',
  'tab\there',
  'back\\slash',
  '{{not a placeholder}}',
  'é ü 😀',
].map((s) => Buffer.from(s, 'utf8'));
LINES.push(
  Buffer.from([0x61, 0x0d, 0x62]),
  Buffer.from([0xff, 0xfe, 0x00, 0x1b]),
  Buffer.from('user\u202egnp.exe', 'utf8'),
  Buffer.from('zero\u200bwidth\u0085', 'utf8'),
);

describe('writeExpectedLine', () => {
  it.each(LINES.map((bytes) => [JSON.stringify(bytes.toString('latin1')), bytes] as const))(
    'writes %s so that it matches exactly that line, with and without a final newline',
    (_name, bytes) => {
      for (const eol of [true, false]) {
        const text = writeExpectedLine({ bytes, eol });
        const item = parsed(text);
        expect(fits(item, bytes, eol), text).toBe(true);
        // Not a pattern that also matches a longer line.
        expect(fits(item, Buffer.concat([bytes, Buffer.from('x')]), eol), text).toBe(false);
      }
    },
  );

  it('writes a line that holds `...` as a literal line, so it does not match other text', () => {
    expect(writeExpectedLine({ bytes: Buffer.from('Loading...'), eol: true })).toBe('>>>= Loading...');
    expect(writeExpectedLine({ bytes: Buffer.from('a\\b...'), eol: true })).toBe('>>>= a\\\\b...');
  });

  it('writes a line that would close its Markdown block as a literal line', () => {
    const fence = '````';
    expect(writeExpectedLine({ bytes: Buffer.from('```'), eol: true }, { fence })).toBe('```');
    expect(writeExpectedLine({ bytes: Buffer.from('````'), eol: true }, { fence })).toBe('>>>= ````');
    expect(writeExpectedLine({ bytes: Buffer.from(' ~~~~~'), eol: true }, { fence: '~~~' })).toBe(
      '>>>=  ~~~~~',
    );
    const block = parseBlockLines(['>>> x', '>>>= ````'], 2, new SyntaxErrors('b.md'));
    expect(fits(block.steps[0]!.expect[0]!, Buffer.from('````'), true)).toBe(true);
  });

  it('writes a secret as {{name}} in a >>>$ line that matches the line once the value is in', () => {
    const bytes = Buffer.from('token=s3cr3t... {{x}}{s3cr3t.');
    const spans = [
      { start: 6, end: 12, name: 'token' },
      { start: 22, end: 28, name: 'token' },
    ];
    const text = writeExpectedLine({ bytes, eol: true }, { secrets: spans });
    expect(text).toBe('>>>$ token={{token}}..\\x2e \\x7b{x}}\\x7b{{token}}.');
    expect(text).not.toContain('s3cr3t');
    const item = renderItem(
      parsed(text),
      { value: () => Buffer.from('s3cr3t'), isSecret: () => true },
      'match',
    );
    expect(fits(item, bytes, true)).toBe(true);
  });
});

describe('patternLineText', () => {
  it('writes pieces and gaps so that they parse back the same, dots and braces included', () => {
    const item: ExpectLine = {
      kind: 'pattern',
      pieces: [[Buffer.from('a..')], [Buffer.from('.b{')], [Buffer.from('{c...d.')]],
      gaps: [null, 'id'],
      noEol: false,
      line: 1,
    };
    const text = patternLineText(item);
    expect(text).toBe('>>>$ a\\x2e\\x2e....b\\x7b{{id=...}}{c..\\x2ed.');
    const back = parsed(text);
    expect(back.kind === 'pattern' && back.gaps).toEqual([null, 'id']);
    expect(
      back.kind === 'pattern' && back.pieces.map((p) => Buffer.concat(p as Uint8Array[]).toString()),
    ).toEqual(['a..', '.b{', '{c...d.']);
  });
});

describe('volatileLines', () => {
  const lines = (text: string): ReceivedLines => new ReceivedLines(Buffer.from(text));

  it('turns the volatile headers of each response head into patterns, keeping a cookie’s name', () => {
    const reply = lines(
      'HTTP/1.1 100 Continue\r\nDate: x\r\n\r\nHTTP/1.1 200 OK\r\nDATE: Mon, 01 Jan\r\nEtag: "abc"\r\nAge:3\r\n' +
        'Set-Cookie: session=9f; Path=/\r\nSet-Cookie: flag\r\nExpires: never\r\nLast-Modified: then\r\n' +
        'Content-Type: text/plain\r\n\r\nDate: in the body\r\n',
    );
    expect([...volatileLines(reply)]).toEqual([
      [1, 'Date: ...'],
      [4, 'DATE: ...'],
      [5, 'Etag: ...'],
      [6, 'Age:...'],
      [7, 'Set-Cookie: session=...'],
      [8, 'Set-Cookie: ...'],
      [9, 'Expires: ...'],
      [10, 'Last-Modified: ...'],
    ]);
  });

  it('leaves replies that are not HTTP alone', () => {
    expect(volatileLines(lines('Date: tomorrow\r\n+OK\r\n')).size).toBe(0);
    expect(volatileLines(lines('220 mail ESMTP\r\nDate: x\r\n')).size).toBe(0);
  });
});
