import { describe, expect, it } from 'vitest';
import { TranscriptParseError, type TranscriptSyntaxError } from '../src/errors.js';
import { parseMarkdown } from '../src/markdown.js';
import { parseTranscript } from '../src/transcript.js';

/** The syntax errors `text` gives, as `LINE:COL: reason`. */
function errorsOf(parse: () => unknown): { errors: string[]; message: string } {
  let caught: unknown;
  try {
    parse();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TranscriptParseError);
  const err = caught as TranscriptParseError;
  expect(err.code).toBe('PROTODOC_ERR_SYNTAX');
  return {
    errors: err.errors.map((e) => `${e.line}:${e.column}: ${e.message.split(': ').slice(1).join(': ')}`),
    message: err.message,
  };
}

/** Parses `text` expecting a syntax error; returns [line, column]. */
function errorAt(text: string): [number, number] {
  let caught: unknown;
  try {
    parseTranscript(text, 'bad.txt');
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TranscriptParseError);
  const err = (caught as TranscriptParseError).errors[0] as TranscriptSyntaxError;
  expect(err.code).toBe('PROTODOC_ERR_SYNTAX');
  expect(err.file).toBe('bad.txt');
  expect(err.message.startsWith(`bad.txt:${err.line}:${err.column}: `)).toBe(true);
  return [err.line, err.column];
}

describe('parseTranscript: syntax errors carry file, line and column', () => {
  const cases: [string, string, [number, number]][] = [
    ['an unknown `>>>X` line', '>>> A\n>>>%x\n', [2, 4]],
    ['`>>>` followed by a tab', '>>>\tA\n', [1, 4]],
    ['an expected line after a no-eol line', '>>> A\n>>>=(no-eol) a\nb\n', [3, 1]],
    ['`...` after a no-eol regex line', '>>> A\n>>>~(no-eol) a\n...\n', [3, 1]],
    ['`>>>!` without a directive', '>>>!\n', [1, 5]],
    ['`>>>!` with only spaces', '>>>!   \n', [1, 5]],
    ['an unknown directive', '>>>! conect x\n', [1, 6]],
    ['an unknown directive without space', '>>>!frob\n', [1, 5]],
    ['connect after the first step', '>>> A\n>>>! connect x:1\n', [2, 6]],
    ['connect after the greeting line', 'hello\n>>>! connect x:1\n', [2, 6]],
    ['timeout after a connection switch', '>>>@a\n>>>! timeout 1s\n', [2, 6]],
    ['connect without its target', '>>>! connect\n', [1, 6]],
    ['connect with two targets', '>>>! connect a:1 b:2\n', [1, 6]],
    ['a second connect', '>>>! connect a:1\n>>>! connect b:2\n', [2, 6]],
    ['a second timeout', '>>>! timeout 1s\n>>>! timeout 2s\n', [2, 6]],
    ['a timeout without unit', '>>>! timeout 5\n', [1, 14]],
    ['a zero timeout', '>>>!  timeout 0s\n', [1, 15]],
    ['starttls with two arguments', '>>>! starttls a b\n', [1, 17]],
    ['two starttls in a row', '>>>! starttls\n>>>! starttls\n', [2, 6]],
    ['a close code that is not a number', '>>>! close normal\n', [1, 12]],
    ['a close code below 1000', '>>>! close 999\n', [1, 12]],
    ['a close code above 4999', '>>>!close 5000 bye\n', [1, 11]],
    ['a close reason over 123 bytes', `>>>! close 1000 ${'é'.repeat(62)}\n`, [1, 17]],
    ['`>>>@` without a name', '>>>@\n', [1, 5]],
    ['`>>>@` with a space before the name', '>>>@ a\n', [1, 5]],
    ['a connection name with a bad character', '>>>@ab.c\n', [1, 7]],
    ['a connection with two targets', '>>>@a x:1 y:2\n', [1, 7]],
    ['a target given again', '>>>@a x:1\n>>> A\n>>>@a x:1\n', [3, 7]],
    ['an unterminated send flag list', '>>>(esc x\n', [1, 4]],
    ['an empty send flag list', '>>>() x\n', [1, 5]],
    ['an unknown send flag', '>>>(esc,crlf) x\n', [1, 9]],
    ['a duplicate send flag', '>>>(lf,lf) x\n', [1, 8]],
    ['text right after `)`', '>>>(esc)x\n', [1, 9]],
    ['lf together with no-eol', '>>>(lf,no-eol) x\n', [1, 5]],
    ['a bad escape in an esc send', '>>>(esc) a\\qb\n', [1, 11]],
    ['an incomplete \\x escape', '>>>(esc) \\x4\n', [1, 10]],
    ['a lone backslash at the end', '>>>(esc) ab\\\n', [1, 12]],
    ['`>>>=` followed by text without space', '>>> A\n>>>=x\n', [2, 5]],
    ['an unknown literal flag', '>>> A\n>>>=(esc) x\n', [2, 6]],
    ['crlf together with lf', '>>> A\n>>>=(crlf,lf) x\n', [2, 6]],
    ['a bad escape in a literal', '>>> A\n>>>= a\\qb\n', [2, 7]],
    ['a \\n escape in a literal', '>>> A\n>>>=(crlf) a\\nb\n', [2, 13]],
    ['an unterminated literal flag list', '>>> A\n>>>=(crlf x\n', [2, 5]],
    ['`>>>~` followed by text without space', '>>> A\n>>>~x\n', [2, 5]],
    ['an invalid regular expression', '>>> A\n>>>~ a(b\n', [2, 6]],
    ['an invalid regular expression after flags', '>>> A\n>>>~(lf) [\n', [2, 10]],
  ];
  for (const [what, text, at] of cases) {
    it(`reports ${what}`, () => {
      expect(errorAt(text)).toEqual(at);
    });
  }

  it('counts lines of CRLF files the same way', () => {
    expect(errorAt('>>> A\r\nok\r\n>>>%\r\n')).toEqual([3, 4]);
  });
});

describe('parseTranscript: every syntax error of a file', () => {
  it('reports each bad line, not only the first, and parses the lines between', () => {
    const { errors } = errorsOf(() =>
      parseTranscript('>>> A\n>>>%x\nok\n>>>= \\q\n>>> B\n>>>! frob\n', 'bad.txt'),
    );
    expect(errors).toEqual([
      "2:4: unknown line type '>>>%'",
      "4:6: unknown escape '\\q'",
      "6:6: unknown directive 'frob'",
    ]);
  });

  it('reports lines after a no-eol line once per reply', () => {
    const { errors } = errorsOf(() =>
      parseTranscript('>>> A\n>>>=(no-eol) a\nb\nc\n>>> B\n>>>%\n', 'bad.txt'),
    );
    expect(errors).toEqual([
      '3:1: no expected line may follow the no-eol line 2 in the same reply',
      "6:4: unknown line type '>>>%'",
    ]);
  });

  it('reports at most 20 and says how many more there are', () => {
    const { errors, message } = errorsOf(() => parseTranscript('>>>%\n'.repeat(25), 'bad.txt'));
    expect(errors).toHaveLength(20);
    expect(message.split('\n').at(-1)).toBe(
      'bad.txt: 5 more syntax errors not shown (at most 20 are reported per file)',
    );
  });

  it('counts the blocks of a Markdown file together', () => {
    const block = '```protodoc\n>>>%\n```\n';
    const { errors } = errorsOf(() => parseMarkdown(block.repeat(22), 'doc.md'));
    expect(errors).toHaveLength(20);
    expect(errors[1]).toBe("5:4: unknown line type '>>>%'");
  });
});

describe('parseTranscript: a transcript without steps', () => {
  for (const [what, text] of [
    ['an empty file', ''],
    ['a file of comments and header directives', '>>># nothing yet\n>>>! timeout 1s\n'],
    ['a file holding only a byte-order mark', '\ufeff'],
  ] as const) {
    it(`is an error at line 1 for ${what}`, () => {
      expect(errorsOf(() => parseTranscript(text, 'empty.txt')).errors).toEqual([
        "1:1: the transcript has no steps: write '>>> ' lines to send and the lines expected after them",
      ]);
    });
  }

  it('is an error at its opening fence for an empty protodoc block of a Markdown file', () => {
    expect(errorsOf(() => parseMarkdown('# doc\n\n```protodoc\n>>># later\n```\n', 'doc.md')).errors).toEqual(
      ["3:1: the protodoc block has no steps: write '>>> ' lines to send and the lines expected after them"],
    );
  });
});
