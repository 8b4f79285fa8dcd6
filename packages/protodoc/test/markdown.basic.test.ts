import { describe, expect, it } from 'vitest';
import { TranscriptParseError } from '../src/errors.js';
import { parseMarkdown } from '../src/markdown.js';

const doc = [
  '# Redis', //                      1
  '', //                             2
  'Ping it:', //                     3
  '', //                             4
  '```protodoc', //                  5
  '>>> PING', //                     6
  '+PONG', //                        7
  '```', //                          8
  '', //                             9
  '```sh', //                        10
  '>>> not a transcript', //         11
  '```', //                          12
  '', //                             13
  '~~~~ protodoc with a title', //   14
  '>>> SET a 1', //                  15
  '+OK', //                          16
  '', //                             17
  '~~~~', //                         18
].join('\n');

describe('parseMarkdown', () => {
  it('returns one transcript per ```protodoc block, with the line numbers of the .md file', () => {
    const ts = parseMarkdown(doc, 'README.md');
    expect(ts).toHaveLength(2);
    expect(ts.map((t) => t.path)).toEqual(['README.md', 'README.md']);
    expect(ts[0]!.steps.map((s) => s.line)).toEqual([6]);
    expect(ts[0]!.steps[0]!.expect).toEqual([{ kind: 'text', text: '+PONG', line: 7 }]);
    // The blank line before the closing fence is an expected empty line, as in a file.
    expect(ts[1]!.steps[0]!.expect).toEqual([
      { kind: 'text', text: '+OK', line: 16 },
      { kind: 'text', text: '', line: 17 },
    ]);
  });

  it('returns nothing for a document without protodoc blocks', () => {
    expect(parseMarkdown('# Title\n\n```js\nx\n```\n', 'a.md')).toEqual([]);
  });

  it('does not pick up a protodoc fence shown inside a longer fence', () => {
    const text = '````md\n```protodoc\n>>> PING\n```\n````\n';
    expect(parseMarkdown(text, 'a.md')).toEqual([]);
  });

  it('removes the fence indentation from content lines', () => {
    const ts = parseMarkdown('  ```protodoc\n  >>> PING\n    +PONG\n  ```\n', 'a.md');
    expect(ts[0]!.steps[0]!.expect).toEqual([{ kind: 'text', text: '  +PONG', line: 3 }]);
  });

  it('ignores a fence with a different info string and inline code with backticks', () => {
    expect(parseMarkdown('```protodocx\n>>> A\n```\n', 'a.md')).toEqual([]);
    expect(parseMarkdown('``` protodoc `x`\n>>> A\n```\n', 'a.md')).toEqual([]);
  });

  it('runs an unclosed block to the end of the document (CommonMark)', () => {
    const ts = parseMarkdown('text\n```protodoc\n>>> A\nok\n', 'a.md');
    expect(ts[0]!.steps[0]!.expect).toEqual([{ kind: 'text', text: 'ok', line: 4 }]);
  });

  it('reports syntax errors with the line of the .md file', () => {
    let caught: unknown;
    try {
      parseMarkdown(doc.replace('+OK', '>>>% nope'), 'README.md');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TranscriptParseError);
    expect((caught as TranscriptParseError).errors).toMatchObject([
      { code: 'PROTODOC_ERR_SYNTAX', file: 'README.md', line: 16, column: 4 },
    ]);
  });

  it('accepts CRLF Markdown files', () => {
    const ts = parseMarkdown(doc.replaceAll('\n', '\r\n'), 'README.md');
    expect(ts[0]!.steps[0]!.expect).toEqual([{ kind: 'text', text: '+PONG', line: 7 }]);
  });
});
