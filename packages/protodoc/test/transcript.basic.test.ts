import { describe, expect, it } from 'vitest';
import { parseBlockLines, parseTranscript, SyntaxErrors, splitLines } from '../src/transcript.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

describe('parseTranscript: the fixed rules', () => {
  it('turns `>>> TEXT` into TEXT + CRLF and the following lines into its reply', () => {
    const t = parseTranscript('>>> PING\n+PONG\n', 'ping.txt');
    expect(t.path).toBe('ping.txt');
    expect(t.steps).toHaveLength(1);
    const [step] = t.steps;
    expect(step!.connection).toBe('main');
    expect(step!.line).toBe(1);
    expect(text(step!.send)).toBe('PING\r\n');
    expect(step!.expect).toEqual([{ kind: 'text', text: '+PONG', line: 2 }]);
  });

  it('sends CRLF for `>>>` alone and joins consecutive send lines into one block', () => {
    const t = parseTranscript('>>> GET / HTTP/1.0\n>>> Host: x\n>>>\nHTTP/1.0 200 OK\n', 'h.txt');
    expect(t.steps).toHaveLength(1);
    expect(text(t.steps[0]!.send)).toBe('GET / HTTP/1.0\r\nHost: x\r\n\r\n');
    expect(t.steps[0]!.expect.map((e) => e.line)).toEqual([4]);
  });

  it('keeps everything after `>>> ` verbatim, spaces included', () => {
    const t = parseTranscript('>>>  two spaces \nok\n', 's.txt');
    expect(text(t.steps[0]!.send)).toBe(' two spaces \r\n');
  });

  it('makes lines before the first send a greeting step that sends nothing', () => {
    const t = parseTranscript('220 mail ESMTP\n>>> QUIT\n221 bye\n', 'smtp.txt');
    expect(t.steps).toHaveLength(2);
    expect(t.steps[0]!.send).toHaveLength(0);
    expect(t.steps[0]!.line).toBe(1);
    expect(t.steps[0]!.expect).toEqual([{ kind: 'text', text: '220 mail ESMTP', line: 1 }]);
    expect(t.steps[1]!.line).toBe(2);
  });

  it('treats blank lines as significant expected lines', () => {
    const t = parseTranscript('>>> GET /\nHTTP/1.0 200 OK\n\nbody\n', 'h.txt');
    expect(t.steps[0]!.expect).toEqual([
      { kind: 'text', text: 'HTTP/1.0 200 OK', line: 2 },
      { kind: 'text', text: '', line: 3 },
      { kind: 'text', text: 'body', line: 4 },
    ]);
  });

  it("uses the file's final newline only to end its last line", () => {
    expect(parseTranscript('>>> A\nhello\n', 'a').steps[0]!.expect).toHaveLength(1);
    expect(parseTranscript('>>> A\nhello', 'a').steps[0]!.expect).toHaveLength(1);
    const two = parseTranscript('>>> A\nhello\n\n', 'a').steps[0]!.expect;
    expect(two).toEqual([
      { kind: 'text', text: 'hello', line: 2 },
      { kind: 'text', text: '', line: 3 },
    ]);
  });

  it('parses `...` alone as any lines and keeps `...` inside a line as text', () => {
    const t = parseTranscript('>>> INFO\n...\nServer: nginx...\n', 'i.txt');
    expect(t.steps[0]!.expect).toEqual([
      { kind: 'any-lines', line: 2 },
      { kind: 'text', text: 'Server: nginx...', line: 3 },
    ]);
  });

  it('keeps lines that look like comments or markup as expected text (redis INFO `# Server`)', () => {
    const t = parseTranscript('>>> INFO server\n$100\n# Server\nredis_version:7\n', 'i.txt');
    expect(t.steps[0]!.expect.map((e) => (e.kind === 'text' ? e.text : e.kind))).toEqual([
      '$100',
      '# Server',
      'redis_version:7',
    ]);
  });

  it('starts a new step at each send block and numbers steps by their first `>>>` line', () => {
    const t = parseTranscript('>>> SET a 1\n+OK\n>>> GET a\n$1\n1\n', 'r.txt');
    expect(t.steps.map((s) => s.line)).toEqual([1, 3]);
    expect(t.steps.map((s) => text(s.send))).toEqual(['SET a 1\r\n', 'GET a\r\n']);
    expect(t.steps[1]!.expect).toHaveLength(2);
  });

  it('sends a repeated command line each time it is written, alone or within a block', () => {
    // Send bytes are encoded once per distinct line and shared: repeating one must not merge or drop it.
    const t = parseTranscript('>>> PING\n+PONG\n>>> PING\n>>> PING\n+PONG\n+PONG\n>>> PING\n', 'p.txt');
    expect(t.steps.map((s) => text(s.send))).toEqual(['PING\r\n', 'PING\r\nPING\r\n', 'PING\r\n']);
  });

  it('ends a send block at a connection switch, a directive and the end of the file', () => {
    const t = parseTranscript(
      '>>> A\n>>> B\n>>>@other\n>>> C\n>>>(no-eol) D\n>>>! starttls\n>>> E\n>>>(lf) F\n',
      'x.txt',
    );
    expect(t.steps.map((s) => [s.connection, text(s.send)])).toEqual([
      ['main', 'A\r\nB\r\n'],
      ['other', 'C\r\nD'],
      ['other', 'E\r\nF\n'],
    ]);
  });

  it('allows a send with no expected reply (the next step must then see nothing)', () => {
    const t = parseTranscript('>>> A\n>>>#\n>>> B\n', 'x');
    // A comment between sends does not split the block.
    expect(t.steps).toHaveLength(1);
    expect(t.steps[0]!.expect).toEqual([]);
  });

  it('accepts CRLF line endings in the transcript file and ignores a BOM', () => {
    const t = parseTranscript('\ufeff>>> PING\r\n+PONG\r\n\r\n', 'crlf.txt');
    expect(text(t.steps[0]!.send)).toBe('PING\r\n');
    expect(t.steps[0]!.expect).toEqual([
      { kind: 'text', text: '+PONG', line: 2 },
      { kind: 'text', text: '', line: 3 },
    ]);
  });

  it('splits the file into the same lines as splitLines (markdown blocks use that)', () => {
    const texts = ['>>> x', '>>> a\r', '>>> a\r\r\n', '\r\n\r\n>>> b', '\ufeff\n>>> x\n\n', '>>> x\ny\n\n\n'];
    for (const t of texts) {
      const expected = parseBlockLines(splitLines(t), 1, new SyntaxErrors('f.txt'));
      expect(parseTranscript(t, 'f.txt'), JSON.stringify(t)).toEqual(expected);
    }
  });

  it('records the default connection once it is used', () => {
    expect(parseTranscript('>>> PING\n+PONG\n', 'p').connections).toEqual([{ name: 'main', line: 1 }]);
  });

  it('parses a line repeated from the step before as it parsed it there', () => {
    // The same send line again joins its block, goes to a pending starttls, a new connection, and
    // a reply after a no-eol line is still an error: repeats take no rule of their own.
    const t = parseTranscript(
      [
        '>>> A',
        '>>> A',
        'ok',
        '>>> A',
        'ok',
        '',
        '>>>! starttls',
        '>>> A',
        'ok',
        '>>>@b',
        '>>> A',
        'ok',
        '>>>@main',
        '>>> A',
        '...',
        '>>> A',
        'ok',
        'ok',
        '>>> A',
        '>ok',
      ].join('\n'),
      'r.txt',
    );
    expect(t.steps.map((s) => [s.connection, s.line, text(s.send), s.sendEnd, s.startTls, s.expect])).toEqual(
      [
        ['main', 1, 'A\r\nA\r\n', 2, undefined, [{ kind: 'text', text: 'ok', line: 3 }]],
        [
          'main',
          4,
          'A\r\n',
          4,
          undefined,
          [
            { kind: 'text', text: 'ok', line: 5 },
            { kind: 'text', text: '', line: 6 },
          ],
        ],
        ['main', 8, 'A\r\n', 8, {}, [{ kind: 'text', text: 'ok', line: 9 }]],
        ['b', 11, 'A\r\n', 11, undefined, [{ kind: 'text', text: 'ok', line: 12 }]],
        ['main', 14, 'A\r\n', 14, undefined, [{ kind: 'any-lines', line: 15 }]],
        [
          'main',
          16,
          'A\r\n',
          16,
          undefined,
          [
            { kind: 'text', text: 'ok', line: 17 },
            { kind: 'text', text: 'ok', line: 18 },
          ],
        ],
        ['main', 19, 'A\r\n', 19, undefined, [{ kind: 'text', text: '>ok', line: 20 }]],
      ],
    );
    expect(() => parseTranscript('>>> A\n>>>=(no-eol) x\n>>> A\n>>>=(no-eol) x\ny\n', 'n.txt')).toThrow(
      'n.txt:5:1: no expected line may follow the no-eol line 4 in the same reply',
    );
  });
});
