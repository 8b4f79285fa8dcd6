import { DOMParser, type Element as XmlElement } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import { escapeXml, formatJunit } from '../src/reporters/junit.js';
import type { RunError } from '../src/reporters/reporter.js';
import { everyStatus, summary } from './fixtures/results.js';
import { junitSchemas, withoutFileAndLine, xmllint } from './helpers/consumers.js';

function parse(xml: string) {
  // Any warning or error from the parser fails the test: the document must be well-formed.
  return new DOMParser({
    onError: (level, message) => {
      throw new Error(`${level}: ${message}`);
    },
  }).parseFromString(xml, 'text/xml');
}

describe('junit reporter', () => {
  it('writes one testsuite per transcript and one testcase per step', async () => {
    const doc = parse(await formatJunit(summary));
    const root = doc.documentElement!;
    expect(root.tagName).toBe('testsuites');
    expect(['tests', 'failures', 'errors', 'time'].map((a) => root.getAttribute(a))).toEqual([
      '7',
      '1',
      '1',
      '0.210',
    ]);
    // junit-10.xsd has `skipped` on <testsuite> only.
    expect(root.hasAttribute('skipped')).toBe(false);
    const suites = Array.from(doc.getElementsByTagName('testsuite'));
    expect(suites.map((s) => [s.getAttribute('name'), s.getElementsByTagName('testcase').length])).toEqual([
      ['examples/ping.txt', 2],
      ['tests/get.txt', 3],
      ['tests/down.txt', 2],
    ]);
  });

  it('puts the diff in the failure, marks skipped steps, and the unreachable target as an error', async () => {
    const doc = parse(await formatJunit(summary));
    const failures = Array.from(doc.getElementsByTagName('failure'));
    expect(failures).toHaveLength(1);
    expect(failures[0]!.getAttribute('message')).toBe('the reply differs');
    expect(failures[0]!.getAttribute('type')).toBe('mismatch');
    expect(failures[0]!.textContent).toContain('-world\n+hello\n+>>>= \\0<&>\n');
    expect((failures[0]!.parentNode as XmlElement).getAttribute('name')).toBe('tests/get.txt:4');
    expect(doc.getElementsByTagName('skipped')).toHaveLength(2);
    const errors = Array.from(doc.getElementsByTagName('error'));
    expect(errors.map((e) => e.getAttribute('type'))).toEqual(['PROTODOC_ERR_CONNECT']);
  });
});

describe('escapeXml', () => {
  it('escapes markup and replaces characters XML cannot hold', () => {
    expect(escapeXml(`<a href="x">&'\u0000\u001b\t\n\ud800`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&amp;&apos;\ufffd\ufffd\t\n\ufffd',
    );
  });
});

describe('junit testcase names', () => {
  it('stay unique when the end-of-transcript check shares the last step line', async () => {
    const result = {
      path: 'x.txt',
      status: 'failed' as const,
      durationMs: 1,
      steps: [
        { index: 0, line: 5, connection: 'main', status: 'passed' as const, durationMs: 1 },
        {
          index: 1,
          line: 5,
          connection: 'main',
          status: 'failed' as const,
          durationMs: 0,
          failure: {
            reason: 'leftover' as const,
            message: 'more',
            line: 5,
            expected: [],
            received: Buffer.from('x\n'),
          },
        },
      ],
    };
    const doc = parse(await formatJunit({ ...summary, results: [result] }));
    const names = Array.from(doc.getElementsByTagName('testcase')).map((t) => t.getAttribute('name'));
    expect(names).toEqual(['x.txt:5', 'x.txt:5 (end of transcript, connection main)']);
  });
});

const syntaxError: RunError = {
  code: 'PROTODOC_ERR_SYNTAX',
  message: "a.txt:3:4: unknown line type '>>>X'",
  errors: [
    { message: "unknown line type '>>>X'", file: 'a.txt', line: 3, column: 4 },
    { message: '2 more syntax errors not shown', file: 'a.txt' },
  ],
};

describe('junit reports, read by xmllint against the Jenkins xUnit junit-10.xsd', () => {
  it('are valid with every transcript status, and with a run that ended early', async () => {
    const { withFileAndLine } = junitSchemas();
    for (const xml of [
      await formatJunit(everyStatus),
      await formatJunit({ ...summary, results: [] }, { error: syntaxError }),
      await formatJunit(summary, { error: { ...syntaxError, errors: [{ message: 'server exited' }] } }),
    ]) {
      expect(await xmllint(xml, withFileAndLine)).toEqual({ valid: true, errors: '' });
    }
  });

  it('go beyond that schema only by file and line on <testcase>', async () => {
    const xml = await formatJunit(everyStatus);
    const strict = await xmllint(xml, junitSchemas().strict);
    expect(strict.valid).toBe(false);
    expect(strict.errors).toContain(
      "Element 'testcase', attribute 'file': The attribute 'file' is not allowed.",
    );
    expect(await xmllint(withoutFileAndLine(xml), junitSchemas().strict)).toEqual({
      valid: true,
      errors: '',
    });
  });

  it('give each step its file and line, a failing one the line that differs', async () => {
    const doc = parse(await formatJunit(everyStatus));
    const cases = Array.from(doc.getElementsByTagName('testcase')).map((t) =>
      ['name', 'file', 'line'].map((a) => t.getAttribute(a)),
    );
    expect(cases.slice(0, 5)).toEqual([
      ['examples/ping.txt:1', 'examples/ping.txt', '1'],
      ['examples/ping.txt:3', 'examples/ping.txt', '3'],
      ['tests/get.txt:1', 'tests/get.txt', '1'],
      ['tests/get.txt:4', 'tests/get.txt', '6'],
      ['tests/get.txt:7', 'tests/get.txt', '7'],
    ]);
  });

  it('put the errors of a run that ended early in a suite of their own, at their lines', async () => {
    const doc = parse(await formatJunit({ ...summary, results: [] }, { error: syntaxError }));
    const suite = doc.getElementsByTagName('testsuite')[0]!;
    expect(suite.getAttribute('name')).toBe('protodoc');
    expect(
      Array.from(suite.getElementsByTagName('testcase')).map((t) =>
        ['name', 'file', 'line'].map((a) => t.getAttribute(a)),
      ),
    ).toEqual([
      ['a.txt:3:4 (cannot run)', 'a.txt', '3'],
      ['a.txt (cannot run)', 'a.txt', '1'],
    ]);
    expect(doc.getElementsByTagName('error')[0]!.textContent).toBe("a.txt:3:4: unknown line type '>>>X'\n");
  });
});
