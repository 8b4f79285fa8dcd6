import { describe, expect, it } from 'vitest';
import { parseTranscript } from '../src/transcript.js';

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const parse = (text: string) => parseTranscript(text, 't.txt');

describe('parseTranscript: comments `>>>#`', () => {
  it('ignores comments anywhere, also inside an expected reply', () => {
    const t = parse(
      '>>># a comment\n>>> GET k\n>>>#between sends\n>>> GET j\nVALUE\n>>># not a line of the reply\nEND\n',
    );
    expect(t.steps).toHaveLength(1);
    expect(latin1(t.steps[0]!.send)).toBe('GET k\r\nGET j\r\n');
    expect(t.steps[0]!.expect).toEqual([
      { kind: 'text', text: 'VALUE', line: 5 },
      { kind: 'text', text: 'END', line: 7 },
    ]);
  });

  it('keeps `# ...` and `>>> #` meaning what the fixed rules say', () => {
    const t = parse('>>> #x\n# Server\n');
    expect(latin1(t.steps[0]!.send)).toBe('#x\r\n');
    expect(t.steps[0]!.expect).toEqual([{ kind: 'text', text: '# Server', line: 2 }]);
  });
});

describe('parseTranscript: WebSocket steps (`>>>(binary)`, `>>>! close`)', () => {
  it('marks a block with one binary line binary, and leaves its bytes as written', () => {
    const t = parse('>>> text\nok\n>>>(esc,no-eol) \\x00\n>>>(binary,esc,no-eol) \\x01\n>>>(lf) x\nok\n');
    expect(t.steps.map((s) => s.binary)).toEqual([undefined, true]);
    expect(latin1(t.steps[1]!.send)).toBe('\x00\x01x\n');
  });

  it('makes `close` a step of its own that sends nothing else, its reply the lines after it', () => {
    const t = parse('>>> bye\nbye\n>>>! close 4001 done for  today\n\\close 4001 ok\n>>> late\n');
    expect(t.steps).toHaveLength(3);
    expect(t.steps[1]).toMatchObject({
      line: 3,
      sendEnd: 3,
      close: { code: 4001, reason: 'done for  today' },
      expect: [{ kind: 'text', text: '\\close 4001 ok', line: 4 }],
    });
    expect(t.steps[1]!.send).toHaveLength(0);
    expect(latin1(t.steps[2]!.send)).toBe('late\r\n');
  });

  it('gives `close` code 1000 and no reason by default, and starts a new step for a send line after it', () => {
    const t = parse('>>> a\n>>>!close\n>>> b\n');
    expect(t.steps.map((s) => s.close)).toEqual([undefined, { code: 1000, reason: '' }, undefined]);
    expect(latin1(t.steps[2]!.send)).toBe('b\r\n');
  });

  it('lets `>>>?` mark the reply of a `close` as not written yet', () => {
    const t = parse('>>>! close 1000\n>>>?\n');
    expect(t.steps[0]).toMatchObject({ close: { code: 1000, reason: '' }, unwritten: 2 });
  });
});

describe('parseTranscript: directives `>>>!`', () => {
  it('reads the header directives connect and timeout, with or without a space after `!`', () => {
    const t = parse('>>># header\n>>>! connect 127.0.0.1:6379\n>>>!timeout 1.5s\n>>> PING\n+PONG\n');
    expect(t.target).toBe('127.0.0.1:6379');
    expect(t.timeoutMs).toBe(1500);
    expect(t.steps).toHaveLength(1);
  });

  it('attaches `starttls` to the next step on the connection and ends the current block', () => {
    const t = parse(
      '220 hi\n>>> STARTTLS\n220 go ahead\n>>>! starttls mail.example\n>>> EHLO me\n250 ok\n>>> QUIT\n221 bye\n',
    );
    expect(t.steps.map((s) => s.startTls)).toEqual([
      undefined,
      undefined,
      { servername: 'mail.example' },
      undefined,
    ]);
    expect(t.steps[2]!.line).toBe(5);
  });

  it('gives `starttls` without a server name an empty options object', () => {
    const t = parse('>>> STARTTLS\nOK\n>>>! starttls\n>>> NOOP\nOK\n');
    expect(t.steps[1]!.startTls).toEqual({});
  });

  it('makes the lines after `starttls` an expect-only step that upgrades first', () => {
    const t = parse('>>> STARTTLS\nOK\n>>>! starttls\n* OK after tls\n');
    expect(t.steps).toHaveLength(2);
    expect(t.steps[1]!.send).toHaveLength(0);
    expect(t.steps[1]!.startTls).toEqual({});
    expect(t.steps[1]!.line).toBe(4);
  });

  it('adds an empty step for a `starttls` that nothing follows', () => {
    const t = parse('>>> STARTTLS\nOK\n>>>! starttls x\n');
    expect(t.steps).toHaveLength(2);
    expect(t.steps[1]).toMatchObject({
      connection: 'main',
      line: 3,
      startTls: { servername: 'x' },
      expect: [],
    });
    expect(t.steps[1]!.send).toHaveLength(0);
  });

  it('splits a send block at `starttls`', () => {
    const t = parse('>>> A\n>>>! starttls\n>>> B\nok\n');
    expect(t.steps.map((s) => latin1(s.send))).toEqual(['A\r\n', 'B\r\n']);
    expect(t.steps[0]!.expect).toEqual([]);
    expect(t.steps[1]!.startTls).toEqual({});
  });
});

describe('parseTranscript: connections `>>>@NAME`', () => {
  it('puts steps on named connections and records their targets in order of first use', () => {
    const t = parse(
      [
        '>>>@sub',
        '>>> SUBSCRIBE ch',
        '*3',
        '>>>@pub 127.0.0.1:7000',
        '>>> PUBLISH ch hi',
        ':1',
        '>>>@sub',
        '*3',
        '$7',
        'message',
        '',
      ].join('\n'),
    );
    expect(t.connections).toEqual([
      { name: 'sub', line: 1 },
      { name: 'pub', target: '127.0.0.1:7000', line: 4 },
    ]);
    expect(t.steps.map((s) => [s.connection, s.line, latin1(s.send)])).toEqual([
      ['sub', 2, 'SUBSCRIBE ch\r\n'],
      ['pub', 5, 'PUBLISH ch hi\r\n'],
      ['sub', 8, ''],
    ]);
    expect(t.steps[2]!.expect.map((e) => e.line)).toEqual([8, 9, 10]);
  });

  it('lets `>>>@main` switch back to the default connection', () => {
    const t = parse('>>> A\na\n>>>@b\n>>> B\nb\n>>>@main\n>>> C\nc\n');
    expect(t.steps.map((s) => s.connection)).toEqual(['main', 'b', 'main']);
    expect(t.connections.map((c) => c.name)).toEqual(['main', 'b']);
  });

  it('allows names with letters, digits, `-` and `_` and a unix or tls target', () => {
    const t = parse('>>>@client_2 unix:/tmp/s.sock\n>>>@c-3 tls://localhost:993\n>>> X\n');
    expect(t.connections).toEqual([
      { name: 'client_2', target: 'unix:/tmp/s.sock', line: 1 },
      { name: 'c-3', target: 'tls://localhost:993', line: 2 },
    ]);
    expect(t.steps[0]!.connection).toBe('c-3');
  });

  it('keeps a pending `starttls` for its own connection across switches', () => {
    const t = parse('>>>@a\n>>> STARTTLS\nok\n>>>! starttls\n>>>@b\n>>> X\nx\n>>>@a\n>>> Y\ny\n');
    expect(t.steps.map((s) => [s.connection, s.startTls])).toEqual([
      ['a', undefined],
      ['b', undefined],
      ['a', {}],
    ]);
  });
});

describe('parseTranscript: flagged sends `>>>(FLAGS)`', () => {
  const send = (line: string): string => latin1(parse(`${line}\n`).steps[0]!.send);

  it('processes escapes with `esc`', () => {
    expect(send('>>>(esc) a\\tb\\\\c\\x00\\xff\\e\\r\\n')).toBe('a\tb\\c\x00\xff\x1b\r\n\r\n');
  });

  it('ends with LF for `lf` and with nothing for `no-eol`', () => {
    expect(send('>>>(lf) GET')).toBe('GET\n');
    expect(send('>>>(no-eol) GET')).toBe('GET');
    expect(send('>>>(esc,lf) a\\tb')).toBe('a\tb\n');
    expect(send('>>>( esc , no-eol ) \\x01')).toBe('\x01');
  });

  it('sends nothing for `>>>(no-eol)` alone and CRLF for other flags alone', () => {
    expect(send('>>>(no-eol)')).toBe('');
    expect(send('>>>(esc)')).toBe('\r\n');
    expect(send('>>>(lf)')).toBe('\n');
  });

  it('keeps backslashes literal without `esc`', () => {
    expect(send('>>>(lf) a\\tb')).toBe('a\\tb\n');
    expect(send('>>> a\\tb')).toBe('a\\tb\r\n');
  });

  it('joins flagged and plain send lines into one block', () => {
    expect(latin1(parse('>>>(no-eol) SET k \n>>> v\n+OK\n').steps[0]!.send)).toBe('SET k v\r\n');
  });
});

describe('parseTranscript: literal lines `>>>=`', () => {
  const expectOf = (line: string) => parse(`>>> X\n${line}\n`).steps[0]!.expect[0]!;

  it('makes `...` and `>>>` lines expressible', () => {
    const dots = expectOf('>>>= ...');
    expect(dots.kind).toBe('literal');
    expect(dots.kind === 'literal' && latin1(dots.bytes)).toBe('...');
    const arrows = expectOf('>>>= >>> x');
    expect(arrows.kind === 'literal' && latin1(arrows.bytes)).toBe('>>> x');
  });

  it('processes escapes for bytes that are not printable text', () => {
    const e = expectOf('>>>= \\x00\\xfe\\t\\\\');
    expect(e).toMatchObject({ kind: 'literal', noEol: false, line: 2 });
    expect(e.kind === 'literal' && [...e.bytes]).toEqual([0, 0xfe, 9, 0x5c]);
  });

  it('reads `>>>=` alone as an empty line', () => {
    const e = expectOf('>>>=');
    expect(e.kind === 'literal' && e.bytes.length).toBe(0);
  });

  it('reads the flags no-eol, crlf and lf', () => {
    expect(expectOf('>>>=(no-eol) ok')).toMatchObject({ kind: 'literal', noEol: true });
    expect(expectOf('>>>=(crlf) ok')).toMatchObject({ kind: 'literal', noEol: false, eol: 'crlf' });
    expect(expectOf('>>>=(lf) ok')).toMatchObject({ kind: 'literal', noEol: false, eol: 'lf' });
    expect(expectOf('>>>= ok')).not.toHaveProperty('eol');
  });
});

describe('parseTranscript: regular-expression lines `>>>~`', () => {
  const expectOf = (line: string) => parse(`>>> X\n${line}\n`).steps[0]!.expect[0]!;

  it('keeps the source as written (no escape processing)', () => {
    expect(expectOf('>>>~ :\\d+')).toEqual({ kind: 'regex', source: ':\\d+', noEol: false, line: 2 });
  });

  it('reads the same flags as `>>>=`', () => {
    expect(expectOf('>>>~(no-eol) \\d+')).toMatchObject({ kind: 'regex', noEol: true });
    expect(expectOf('>>>~(crlf) x')).toMatchObject({ kind: 'regex', eol: 'crlf' });
  });
});
