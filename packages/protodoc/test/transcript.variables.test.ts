import { describe, expect, it } from 'vitest';
import { TranscriptParseError } from '../src/errors.js';
import { parseTranscript } from '../src/transcript.js';
import type { BytesTemplate, ExpectLine, Step } from '../src/transcript-model.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** A template as readable strings: bytes as latin1 text, placeholders as `{{name}}`. */
const show = (template: BytesTemplate): string[] =>
  template.map((part) =>
    part instanceof Uint8Array ? text(part) : `{{${part.name}}}@${part.line}:${part.column}`,
  );

function only(source: string): Step {
  const t = parseTranscript(source, 'v.txt');
  expect(t.steps).toHaveLength(1);
  return t.steps[0]!;
}

function errors(source: string): string[] {
  try {
    parseTranscript(source, 'v.txt');
  } catch (err) {
    if (err instanceof TranscriptParseError) return err.errors.map((e) => e.message);
    throw err;
  }
  throw new Error('parsed without errors');
}

function pattern(item: ExpectLine | undefined): Extract<ExpectLine, { kind: 'pattern' }> {
  if (item?.kind !== 'pattern') throw new Error(`not a pattern line: ${JSON.stringify(item)}`);
  return item;
}

describe('>>>(vars) sends', () => {
  it('splits the line into bytes and placeholders, with the line ending after them', () => {
    const step = only('>>>(vars) delete {{job}} now\nDELETED\n');
    expect(step.send).toHaveLength(0);
    expect(show(step.sendTemplate!)).toEqual(['delete ', '{{job}}@1:18', ' now', '\r\n']);
    expect(step.uses?.map((u) => u.name)).toEqual(['job']);
  });

  it('joins a block of plain and templated lines into one template, in order', () => {
    const step = only('>>> GET / HTTP/1.1\n>>>(vars) Cookie: s={{ session }}\n>>>\nHTTP/1.1 200 OK\n');
    expect(show(step.sendTemplate!)).toEqual([
      'GET / HTTP/1.1\r\n',
      'Cookie: s=',
      '{{session}}@2:21',
      '\r\n',
      '\r\n',
    ]);
    expect(step.sendEnd).toBe(3);
  });

  it('decodes escapes only in the literal parts with esc, and takes lf and no-eol', () => {
    const step = only('>>>(vars,esc,no-eol) \\x41{{a}}\\t\nok\n');
    expect(show(step.sendTemplate!)).toEqual(['A', '{{a}}@1:26', '\t']);
    expect(show(only('>>>(lf,vars) {{a}}\nok\n').sendTemplate!)).toEqual(['{{a}}@1:14', '\n']);
  });

  it('leaves {{...}} alone in lines that do not opt in', () => {
    const step = only('>>> SET k {{x}}\n{{x}}\n>>>= {{x}}\n');
    expect(text(step.send)).toBe('SET k {{x}}\r\n');
    expect(step.expect[0]).toEqual({ kind: 'text', text: '{{x}}', line: 2 });
    expect(step.expect[1]).toMatchObject({ kind: 'literal', line: 3 });
    expect(step.uses).toBeUndefined();
  });
});

describe('>>>$ lines', () => {
  it('has literal pieces between `...` and {{name=...}} gaps, and placeholders in the pieces', () => {
    const step = only('>>> x\n>>>$ id={{id=...}} user={{user}} at ...!\n');
    const item = pattern(step.expect[0]);
    expect(item.gaps).toEqual(['id', null]);
    expect(item.pieces.map(show)).toEqual([['id='], [' user=', '{{user}}@2:25', ' at '], ['!']]);
    expect(step.captures).toEqual([{ name: 'id', line: 2 }]);
    expect(step.uses?.map((u) => u.name)).toEqual(['user']);
  });

  it('decodes escapes, so `\\x2e` is a literal dot and `\\x7b{` a literal {{', () => {
    const item = pattern(only('>>> x\n>>>$ a..\\x2e\\x7b{b}}\\r\n').expect[0]);
    expect(item.gaps).toEqual([]);
    expect(item.pieces.map(show)).toEqual([['a...{{b}}\r']]);
  });

  it('takes the ending flags of >>>= lines', () => {
    const item = pattern(only('>>> x\n>>>$(no-eol) > {{p=...}}\n').expect[0]);
    expect(item.noEol).toBe(true);
    expect(pattern(only('>>> x\n>>>$(crlf) a\n').expect[0]).eol).toBe('crlf');
  });
});

describe('>>>~ lines', () => {
  it('capture with named groups', () => {
    const step = only('>>> put\n>>>~ INSERTED (?<job>\\d+)(?: (?<extra>x))?\n');
    expect(step.expect[0]).toMatchObject({ kind: 'regex', captures: ['job', 'extra'] });
    expect(step.captures).toEqual([
      { name: 'job', line: 2 },
      { name: 'extra', line: 2 },
    ]);
  });

  it('with vars, keep the source as written and its placeholders', () => {
    const step = only('>>> x\n>>>~(vars) RESERVED {{job}} \\d+\n');
    expect(step.expect[0]).toMatchObject({
      kind: 'regex',
      template: ['RESERVED ', { name: 'job', line: 2, column: 21 }, ' \\d+'],
    });
    expect(step.uses?.map((u) => u.name)).toEqual(['job']);
  });

  it('without vars, `{{` is the regular expression’s (and an error there, as before)', () => {
    expect(errors('>>> x\n>>>~ a{{b}}\n')[0]).toMatch(/^v\.txt:2:6: invalid regular expression/);
  });
});

describe('errors', () => {
  it.each([
    ['>>>(vars) a {{b\n', "v.txt:1:13: unterminated placeholder: '{{' without '}}'"],
    ['>>>(vars) a {{}}\n', "v.txt:1:13: empty placeholder: write '{{NAME}}'"],
    [
      '>>>(vars) a {{1b}}\n',
      "v.txt:1:13: invalid variable name '1b': use letters, digits and '_', not starting with a digit",
    ],
    ['>>>(vars) a {{b=...}}\n', "v.txt:1:13: '{{b=...}}' captures only in a '>>>$' line; here write '{{b}}'"],
    ['>>> x\n>>>$ a {{b=x}}\n', "v.txt:2:8: a capture is written '{{b=...}}'"],
    ['>>> x\n>>>$ \\q\n', "v.txt:2:6: unknown escape '\\q'"],
    ['>>> x\n>>>~ (?<a>x)\n>>>$ {{a=...}}\n', "v.txt:3:6: 'a' is already captured by line 2 of this reply"],
    ['>>> x\n>>>~(vars) ({{a}}\n', 'v.txt:2:12: invalid regular expression'],
    ['>>> x\n>>>=(vars) a\n', "v.txt:2:6: unknown flag 'vars' (allowed here: no-eol, crlf, lf)"],
    ['>>> x\n>>>$(lf,crlf) a\n', "v.txt:2:6: flags 'no-eol', 'crlf' and 'lf' exclude each other"],
  ])('%j is an error at its place', (source, message) => {
    expect(errors(source)[0]!.startsWith(message)).toBe(true);
  });
});
