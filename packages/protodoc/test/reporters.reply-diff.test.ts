import { describe, expect, it } from 'vitest';
import { diffReply } from '../src/reporters/reply-diff.js';
import type { ExpectLine } from '../src/transcript-model.js';

const lines = (all: string[]): ExpectLine[] =>
  all.map((line, i) =>
    line === '...' ? { kind: 'any-lines', line: i + 1 } : { kind: 'text', text: line, line: i + 1 },
  );
const text = (...all: string[]): ExpectLine[] => lines(all);
const got = (s: string | Uint8Array): Uint8Array => (typeof s === 'string' ? Buffer.from(s) : s);

describe('diffReply', () => {
  it('shows a changed line as removed and added', async () => {
    expect(await diffReply(text('+OK'), got('-ERR unknown command\r\n'))).toBe(
      '--- expected\n+++ received\n@@ -1,1 +1,1 @@\n-+OK\n+-ERR unknown command\n',
    );
  });

  it('shows received lines that fit an ellipsis line as the expected line', async () => {
    const expected = text('HTTP/1.1 200 OK', 'Server: nginx...', 'Content-Length: 5', '', 'hello');
    const received = got('HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Length: 6\r\n\r\nhello!');
    expect(await diffReply(expected, received)).toBe(
      [
        '--- expected',
        '+++ received',
        '@@ -1,5 +1,5 @@',
        ' HTTP/1.1 200 OK',
        ' Server: nginx...',
        '-Content-Length: 5',
        '+Content-Length: 6',
        ' ',
        '-hello',
        '+>>>=(no-eol) hello!',
        '',
      ].join('\n'),
    );
  });

  it('lets `...` stand for the lines it swallowed', async () => {
    const expected = text('$3', '...', 'END', 'bye');
    const received = got('$3\nfoo\nbar\nEND\nBYE\n');
    expect(await diffReply(expected, received)).toBe(
      '--- expected\n+++ received\n@@ -1,4 +1,4 @@\n $3\n ...\n END\n-bye\n+BYE\n',
    );
  });

  it('shows regex and literal items that fit as they were written', async () => {
    const expected: ExpectLine[] = [
      { kind: 'regex', source: ':\\d+', noEol: false, line: 1 },
      { kind: 'literal', bytes: Buffer.from('\x00ok'), noEol: false, line: 2 },
      { kind: 'text', text: '+OK', line: 3 },
    ];
    expect(await diffReply(expected, got(':42\r\n\x00ok\r\n+NO\r\n'))).toBe(
      '--- expected\n+++ received\n@@ -1,3 +1,3 @@\n >>>~ :\\d+\n >>>= \\0ok\n-+OK\n++NO\n',
    );
  });

  it('escapes binary received bytes in >>>= syntax', async () => {
    expect(await diffReply(text('ok'), got(Buffer.from([0x00, 0xff, 0x0d, 0x0a])))).toBe(
      '--- expected\n+++ received\n@@ -1,1 +1,1 @@\n-ok\n+>>>= \\0\\xff\n',
    );
  });

  it('shows everything expected as missing when nothing came', async () => {
    expect(await diffReply(text('+OK', ':1'), got(''))).toBe(
      '--- expected\n+++ received\n@@ -1,2 +0,0 @@\n-+OK\n-:1\n',
    );
  });

  it('shows leftover bytes as added when nothing more was expected', async () => {
    expect(await diffReply([], got('+QUEUED\r\n'))).toBe(
      '--- expected\n+++ received\n@@ -0,0 +1,1 @@\n++QUEUED\n',
    );
  });

  it('returns nothing when both sides agree', async () => {
    expect(await diffReply(text('a', '...'), got('a\nb\n'))).toBe('');
  });

  it('numbers hunks by their place in the whole reply, with 3 lines of context', async () => {
    const all = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
    const received = all.map((l) => (l === 'line 12' ? 'line twelve' : l)).join('\r\n') + '\r\n';
    expect(await diffReply(lines(all), got(received))).toBe(
      [
        '--- expected',
        '+++ received',
        '@@ -9,7 +9,7 @@',
        ' line 9',
        ' line 10',
        ' line 11',
        '-line 12',
        '+line twelve',
        ' line 13',
        ' line 14',
        ' line 15',
        '',
      ].join('\n'),
    );
  });

  it('diffs a reply of a million lines by its differing region only', async () => {
    const n = 1_000_000;
    const expected = lines(Array.from({ length: n }, (_, i) => `value ${i}`));
    const parts = Array.from({ length: n }, (_, i) => (i === 654_321 ? 'value X' : `value ${i}`));
    const diff = await diffReply(expected, got(`${parts.join('\n')}\n`));
    expect(diff).toBe(
      [
        '--- expected',
        '+++ received',
        '@@ -654319,7 +654319,7 @@',
        ' value 654318',
        ' value 654319',
        ' value 654320',
        '-value 654321',
        '+value X',
        ' value 654322',
        ' value 654323',
        ' value 654324',
        '',
      ].join('\n'),
    );
  });

  it('cuts a huge differing region and says how much it left out', async () => {
    const received = got(`${Array.from({ length: 5000 }, (_, i) => `row ${i}`).join('\n')}\n`);
    const diff = await diffReply(text('header', '+OK'), received, { maxLines: 10 });
    const shown = diff.trimEnd().split('\n');
    expect(shown.filter((l) => l.startsWith('+') && !l.startsWith('+++'))).toHaveLength(10);
    expect(shown.at(-1)).toBe('[diff cut: 0 more expected and 4990 more received lines not shown]');
  });

  it('cuts a huge single line', async () => {
    const diff = await diffReply(text('x'), got('y'.repeat(5000)), { maxLineBytes: 8 });
    expect(diff).toContain('\n+>>>=(no-eol) yyyyyyyy [4992 more bytes not shown]\n');
  });
});

describe('diffReply lines up the reply as the matcher does', () => {
  it('shows `...` and in-line `...` lines after the first difference as equal', async () => {
    const expected = text(
      'HTTP/1.1 200 OK',
      'Server: nginx...',
      '...',
      '',
      '<!DOCTYPE html>',
      '...',
      '</html>',
    );
    const received = got(
      'HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\nDate: today\r\nContent-Length: 9\r\n\r\n' +
        '<!DOCTYPE html>\r\n<p>gone</p>\r\n</html>\r\n',
    );
    expect(await diffReply(expected, received)).toBe(
      [
        '--- expected',
        '+++ received',
        '@@ -1,4 +1,4 @@',
        '-HTTP/1.1 200 OK',
        '+HTTP/1.1 404 Not Found',
        ' Server: nginx...',
        ' ...',
        ' ',
        '',
      ].join('\n'),
    );
  });

  it('takes a CR before the LF as content of a `>>>=(lf)` line, as the matcher does', async () => {
    const expected: ExpectLine[] = [
      { kind: 'literal', bytes: Buffer.from('a\r'), noEol: false, eol: 'lf', line: 1 },
      { kind: 'text', text: 'b', line: 2 },
    ];
    expect(await diffReply(expected, got('a\r\nc\n'))).toBe(
      '--- expected\n+++ received\n@@ -1,2 +1,2 @@\n >>>=(lf) a\\r\n-b\n+c\n',
    );
  });

  it('shows a missing last line after a `...` as changed into the last line received, the rest as that `...`', async () => {
    const received = got(`${Array.from({ length: 50 }, (_, i) => `row ${i}`).join('\n')}\n`);
    expect(await diffReply(text('row 0', '...', 'END'), received)).toBe(
      '--- expected\n+++ received\n@@ -1,3 +1,3 @@\n row 0\n ...\n-END\n+row 49\n',
    );
  });
});

describe('diffReply with a trailing `...`', () => {
  it('keeps the lines the trailing `...` swallowed out of the diff', async () => {
    const received = got(`${Array.from({ length: 1000 }, (_, i) => `line ${i + 1}`).join('\n')}\n`);
    expect(await diffReply(lines(['line 1', '...', 'line 500', 'line 501 changed', '...']), received)).toBe(
      '--- expected\n+++ received\n@@ -1,5 +1,5 @@\n line 1\n ...\n line 500\n-line 501 changed\n+line 501\n ...\n',
    );
  });
});
