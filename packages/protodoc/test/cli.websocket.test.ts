/**
 * WebSocket transcripts through the real binary against the `ws` package's server (FORMAT §14): each
 * message received reads as one line in the notation of escapes, so that a backslash and an `n` differ
 * from a line feed and a binary message from a text one with the same bytes, both ways; what
 * `--update` writes for a conversation checks back as passing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { buildCli, runBin } from './build-cli.js';
import { startWebSocketServer, type WebSocketTestServer } from './helpers/websocket-server.js';

/** What `/tricky` sends, in order, on the message `tricky`: every kind of byte a line must tell apart. */
const TRICKY: { data: string | Buffer; binary?: true }[] = [
  { data: 'a\\nb' },
  { data: 'a\nb' },
  { data: 'a\r\nb' },
  { data: 'wait...' },
  { data: '...' },
  { data: '>>> x' },
  { data: 'tab\there' },
  { data: 'zero\u200bwidth' },
  { data: '\\close 1000' },
  { data: Buffer.from('a\nb'), binary: true },
  { data: Buffer.from([0xff, 0x00]), binary: true },
  { data: '' },
  { data: Buffer.alloc(0), binary: true },
  { data: 'é' },
  { data: 'x\\...' },
];

/** `/echo` sends each message back as it came (text as text, binary as binary); `/tricky` see above. */
function serve(ws: WebSocket, req: IncomingMessage): void {
  ws.on('message', (data: Buffer, binary: boolean) => {
    if (req.url === '/tricky' && data.toString() === 'tricky') {
      for (const { data: message, binary: asBinary } of TRICKY)
        ws.send(message, { binary: asBinary === true });
      ws.close(4000, 'bye\nnow');
      return;
    }
    // On /secure the echo says which subprotocol the handshake chose.
    ws.send(req.url === '/secure' ? `${ws.protocol}: ${data}` : data, { binary });
  });
}

/** The handshake requests `/secure` saw: its headers, lower-case names. */
const handshakes: IncomingMessage['headers'][] = [];

/**
 * `/secure` wants what a real service does: `Authorization: Bearer s3cret` and an `Origin` of
 * `https://app.example` (else 401 or 403), and a subprotocol offered; it picks `chat.v2`, or none.
 */
function verifyClient(
  info: { origin: string; req: IncomingMessage },
  done: (ok: boolean, code?: number, message?: string) => void,
): void {
  if (info.req.url !== '/secure') {
    done(true);
    return;
  }
  handshakes.push(info.req.headers);
  if (info.req.headers.authorization !== 'Bearer s3cret') done(false, 401, 'Unauthorized');
  else if (info.origin !== 'https://app.example') done(false, 403, 'Forbidden');
  else if (info.req.headers['sec-websocket-protocol'] === undefined) done(false, 400, 'Bad Request');
  else done(true);
}

let server: WebSocketTestServer;
let base: string;
let dir: string;
beforeAll(async () => {
  buildCli();
  dir = mkdtempSync(join(tmpdir(), 'protodoc-cli-ws-'));
  server = await startWebSocketServer({
    serve,
    verifyClient,
    handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false),
  });
  base = `ws://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Writes `text` to NAME in the test's directory and checks it against PATH on the server. */
async function check(name: string, text: string, path: string, ...flags: string[]) {
  writeFileSync(join(dir, name), text);
  return runBin(['check', '--connect', `${base}${path}`, ...flags, name], dir);
}

describe('a WebSocket message as a line', () => {
  it('tells a backslash and an n from a line feed, both ways', async () => {
    // `>>> a\nb` sends the four characters a, backslash, n, b; two send lines send a line feed.
    const literal = await check('literal.txt', '>>> a\\nb\na\\\\nb\n', '/echo');
    expect(literal.exit, literal.out).toBe(0);
    const lineFeed = await check('lf.txt', '>>> a\n>>> b\na\\nb\n', '/echo');
    expect(lineFeed.exit, lineFeed.out).toBe(0);

    const literalAsLf = await check('literal-as-lf.txt', '>>> a\\nb\na\\nb\n', '/echo');
    expect(literalAsLf.exit).toBe(1);
    expect(literalAsLf.out).toContain('-a\\nb\n+a\\\\nb\n');
    const lfAsLiteral = await check('lf-as-literal.txt', '>>> a\n>>> b\na\\\\nb\n', '/echo');
    expect(lfAsLiteral.exit).toBe(1);
    expect(lfAsLiteral.out).toContain('-a\\\\nb\n+a\\nb\n');
  });

  it('tells a binary message from a text one with the same bytes, both ways', async () => {
    const text = await check('text.txt', '>>> hi\nhi\n', '/echo');
    expect(text.exit, text.out).toBe(0);
    const binary = await check('binary.txt', '>>>(binary,no-eol) hi\n\\binary hi\n', '/echo');
    expect(binary.exit, binary.out).toBe(0);

    const binaryAsText = await check('binary-as-text.txt', '>>>(binary,no-eol) hi\nhi\n', '/echo');
    expect(binaryAsText.exit).toBe(1);
    expect(binaryAsText.out).toContain('-hi\n+\\binary hi\n');
    const textAsBinary = await check('text-as-binary.txt', '>>> hi\n\\binary hi\n', '/echo');
    expect(textAsBinary.exit).toBe(1);
    expect(textAsBinary.out).toContain('-\\binary hi\n+hi\n');
  });

  it('does not take a text message that reads `\\close` for the server’s close frame', async () => {
    const wrong = await check('close-text.txt', '>>> \\close 1000\n\\close 1000\n', '/echo');
    expect(wrong.exit).toBe(1);
    expect(wrong.out).toContain('-\\close 1000\n+\\\\close 1000\n');
  });
});

describe('--update on a WebSocket conversation', () => {
  it('writes each message so that the file checks back as passing', async () => {
    const written = await check(
      'tricky.txt',
      '>>> tricky\n>>>?\n',
      '/tricky',
      '--update',
      '--settle',
      '500ms',
    );
    expect(written.exit, written.out + written.err).toBe(0);
    expect(written.out).toContain('UPDATED tricky.txt');
    expect(readFileSync(join(dir, 'tricky.txt'), 'utf8')).toBe(
      [
        '>>> tricky',
        'a\\\\nb',
        'a\\nb',
        'a\\r\\nb',
        '>>>= wait...',
        '>>>= ...',
        '>>>= >>> x',
        'tab\\there',
        'zero\\u{200b}width',
        '\\\\close 1000',
        '\\binary a\\nb',
        '\\binary \\xff\\0',
        '',
        '\\binary',
        'é',
        // A `>>>=` line's escapes are decoded before it is matched: the notation's backslashes twice.
        '>>>= x\\\\\\\\...',
        '\\close 4000 bye\\nnow',
        '',
      ].join('\n'),
    );
    const again = await runBin(['check', '--connect', `${base}/tricky`, 'tricky.txt'], dir);
    expect(again.exit, again.out).toBe(0);
    expect(again.out).toContain('PASS tricky.txt (1 step, ');
  });

  it('rewrites a wrong expectation of a text message into the binary line it was', async () => {
    const written = await check('rewrite.txt', '>>>(binary,esc,no-eol) a\\nb\na\\nb\n', '/echo', '--update');
    expect(written.exit, written.out + written.err).toBe(0);
    expect(readFileSync(join(dir, 'rewrite.txt'), 'utf8')).toBe(
      '>>>(binary,esc,no-eol) a\\nb\n\\binary a\\nb\n',
    );
    const again = await runBin(['check', '--connect', `${base}/echo`, 'rewrite.txt'], dir);
    expect(again.exit, again.out).toBe(0);
  });
});

describe('variables and secrets in a WebSocket line', () => {
  /** A secret with a backslash and a tab: a line shows it `zq\\x\tk`, not as its bytes. */
  const SECRET = 'zq\\x\tk';
  const secret = ['--secret', `pw=${SECRET}`];

  it('hides a secret in the notation a line shows it in: report, JSON, -v', async () => {
    const transcript = '>>>(vars) token {{pw}}\nnope\n';
    const pretty = await check('secret.txt', transcript, '/echo', ...secret);
    expect(pretty.exit, pretty.out + pretty.err).toBe(1);
    expect(pretty.out).toContain('-nope\n+token {{pw}}\n');
    const json = await check('secret.txt', transcript, '/echo', ...secret, '--reporter', 'json');
    expect(json.out).toContain('token {{pw}}');
    const verbose = await check('secret.txt', transcript, '/echo', ...secret, '-v');
    expect(verbose.err).toMatch(/> +[\d.]+ms main: token \{\{pw\}\}\n/);
    expect(verbose.err).toMatch(/< +[\d.]+ms main: token \{\{pw\}\}\n/);
    for (const run of [pretty, json, verbose]) expect(run.out + run.err).not.toContain('zq');
  });

  it('writes a secret as {{name}} with --update, and the file passes with it', async () => {
    const written = await check(
      'secret-update.txt',
      '>>>(vars) token {{pw}}\n>>>?\n',
      '/echo',
      ...secret,
      '--update',
    );
    expect(written.exit, written.out + written.err).toBe(0);
    expect(readFileSync(join(dir, 'secret-update.txt'), 'utf8')).toBe(
      '>>>(vars) token {{pw}}\n>>>$ token {{pw}}\n',
    );
    const again = await runBin(['check', '--connect', `${base}/echo`, ...secret, 'secret-update.txt'], dir);
    expect(again.exit, again.out).toBe(0);
  });

  it('puts a value into an expected line in the line’s notation', async () => {
    // A backslash and a line feed: the line reads `a\\b\nc`.
    const value = ['--var', 'v=a\\b\nc'];
    const transcript = '>>>(vars) {{v}}\n>>>$ {{v}}\n>>>(vars) [{{v}}]\n>>>~(vars) ^\\[{{v}}\\]$\n';
    const passed = await check('value.txt', transcript, '/echo', ...value);
    expect(passed.exit, passed.out + passed.err).toBe(0);
    // A failure shows the expected line with the value in, as the received line shows it.
    const failed = await check('value-wrong.txt', '>>>(vars) {{v}}\n>>>$ x{{v}}\n', '/echo', ...value);
    expect(failed.exit).toBe(1);
    expect(failed.out).toContain('-xa\\\\b\\nc\n+a\\\\b\\nc\n');
  });

  it('captures a value as the message holds it: sent back, and expected again, as itself', async () => {
    const transcript = [
      '>>>(vars) {{v}}',
      '>>>~ ^(?<x>.+)$',
      // Sent as the message held it (one backslash), so the echo reads `a\\b` again.
      '>>>(vars) {{x}}',
      'a\\\\b',
      '>>>(vars) {{x}}',
      '>>>$ {{x}}',
      '>>>(vars) {{x}}',
      '>>>$ {{y=...}}',
      '>>>(vars) {{y}}',
      'a\\\\b',
      '',
    ].join('\n');
    const run = await check('capture.txt', transcript, '/echo', '--var', 'v=a\\b');
    expect(run.out).toContain('PASS capture.txt (5 steps, ');
    expect(run.exit, run.out + run.err).toBe(0);
  });
});

describe('>>>! handshake: headers and subprotocols of the opening handshake', () => {
  const HEAD = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Accept: ...',
  ];
  const REQUEST = [
    '>>>! handshake',
    '>>> Sec-WebSocket-Protocol: chat.v1, chat.v2',
    '>>>(vars) Authorization: Bearer {{token}}',
    '>>> Origin: https://app.example',
  ];

  it('sends the block’s headers and offers its subprotocols; the answer shows the one chosen', async () => {
    handshakes.length = 0;
    const transcript = [
      ...REQUEST,
      ...HEAD,
      'Sec-WebSocket-Protocol: chat.v2',
      '',
      '>>> hello',
      'chat.v2: hello',
      '',
    ];
    const passed = await check('secure.txt', transcript.join('\n'), '/secure', '--secret', 'token=s3cret');
    expect(passed.exit, passed.out + passed.err).toBe(0);
    expect(passed.out).toContain('PASS secure.txt (2 steps, ');
    expect(handshakes).toHaveLength(1);
    expect(handshakes[0]).toMatchObject({
      authorization: 'Bearer s3cret',
      origin: 'https://app.example',
      'sec-websocket-protocol': 'chat.v1,chat.v2',
    });
  });

  it('checks the subprotocol the server chose like any line of the answer', async () => {
    const transcript = [
      ...REQUEST,
      ...HEAD,
      'Sec-WebSocket-Protocol: chat.v1',
      '',
      '>>> hello',
      'chat.v1: hello',
      '',
    ];
    const failed = await check('v1.txt', transcript.join('\n'), '/secure', '--secret', 'token=s3cret');
    expect(failed.exit).toBe(1);
    expect(failed.out).toContain('v1.txt:9: the reply differs from the transcript\n');
    expect(failed.out).toContain('-Sec-WebSocket-Protocol: chat.v1\n+Sec-WebSocket-Protocol: chat.v2\n');
  });

  it('shows the answer of a server that refuses the handshake as the step’s reply', async () => {
    const transcript = ['>>>! handshake', '>>> Sec-WebSocket-Protocol: chat.v2', '>>>?', ''].join('\n');
    const written = await check('refused.txt', transcript, '/secure', '--update');
    expect(written.exit, written.out + written.err).toBe(0);
    const updated = readFileSync(join(dir, 'refused.txt'), 'utf8');
    expect(updated).toBe(
      [
        '>>>! handshake',
        '>>> Sec-WebSocket-Protocol: chat.v2',
        'HTTP/1.1 401 Unauthorized',
        'Connection: close',
        'Content-Type: text/html',
        'Content-Length: 12',
        '',
        '>>>=(no-eol) Unauthorized',
        '',
      ].join('\n'),
    );
    const again = await runBin(['check', '--connect', `${base}/secure`, 'refused.txt'], dir);
    expect(again.exit, again.out).toBe(0);
  });

  it('writes the answer with --update so that it passes again (Sec-WebSocket-Accept is volatile)', async () => {
    const transcript = [...REQUEST, '>>>?', '>>> hello', '>>>?', ''].join('\n');
    const written = await check('update.txt', transcript, '/secure', '--update', '--secret', 'token=s3cret');
    expect(written.exit, written.out + written.err).toBe(0);
    expect(readFileSync(join(dir, 'update.txt'), 'utf8')).toBe(
      [...REQUEST, ...HEAD, 'Sec-WebSocket-Protocol: chat.v2', '', '>>> hello', 'chat.v2: hello', ''].join(
        '\n',
      ),
    );
    const again = await runBin(
      ['check', '--connect', `${base}/secure`, '--secret', 'token=s3cret', 'update.txt'],
      dir,
    );
    expect(again.exit, again.out).toBe(0);
  });

  it('fails the step when the server chooses no subprotocol of those offered', async () => {
    const transcript = [
      '>>>! handshake',
      '>>> Sec-WebSocket-Protocol: chat.v9',
      '>>> Authorization: Bearer s3cret',
      '>>> Origin: https://app.example',
      ...HEAD,
      '',
      '>>> hello',
      'hello',
      '',
    ].join('\n');
    const failed = await check('none.txt', transcript, '/secure');
    expect(failed.exit).toBe(1);
    expect(failed.out).toContain(
      'none.txt:5: the connection failed before the reply was complete (Server sent no subprotocol)\n',
    );
    // Also with no step after it: the handshake step itself fails.
    const alone = await check('alone.txt', `${transcript.split('\n').slice(0, 9).join('\n')}\n`, '/secure');
    expect(alone.exit).toBe(1);
    expect(alone.out).toContain('FAIL alone.txt (1 step: 0 passed, 1 failed, 0 skipped, ');
  });

  it('shows the request as it went out under -v, a secret as {{name}}', async () => {
    const transcript = [...REQUEST, ...HEAD, 'Sec-WebSocket-Protocol: chat.v2', '', ''].join('\n');
    const traced = await check('traced.txt', transcript, '/secure', '-v', '--secret', 'token=s3cret');
    expect(traced.exit, traced.out + traced.err).toBe(0);
    expect(traced.err).toMatch(/> +[\d.]+ms main: GET \/secure HTTP\/1\.1\n/);
    expect(traced.err).toMatch(/> +[\d.]+ms main: Authorization: Bearer \{\{token\}\}\n/);
    expect(traced.err).toMatch(/> +[\d.]+ms main: Sec-WebSocket-Protocol: chat\.v1,chat\.v2\n/);
    expect(traced.err).toMatch(/< +[\d.]+ms main: Sec-WebSocket-Protocol: chat\.v2\n/);
    expect(traced.err).not.toContain('s3cret');
  });

  it.each([
    [
      'a header ws writes itself',
      '>>>! handshake\n>>> Sec-WebSocket-Key: x\n',
      2,
      'error: bad.txt:1: the handshake block is not header lines: ws writes Sec-WebSocket-Key itself: the key is random for each handshake, and the answer is checked against it',
    ],
    [
      'a line that is no header',
      '>>>! handshake\n>>> hello\n',
      2,
      "error: bad.txt:1: the handshake block is not header lines: line 1 of the block is not a header 'Name: value': hello",
    ],
    [
      'a subprotocol offered twice',
      '>>>! handshake\n>>> Sec-WebSocket-Protocol: a, a\n',
      2,
      "error: bad.txt:1: the handshake block is not header lines: Sec-WebSocket-Protocol: 'a' is offered twice",
    ],
    [
      'a handshake after the first step',
      '>>> hi\nhi\n>>>! handshake\n',
      3,
      "error: bad.txt:3:6: 'handshake' must come before the first step on connection 'main': the handshake opens it",
    ],
  ])('refuses %s before anything is sent', async (_, transcript, exit, message) => {
    handshakes.length = 0;
    const refused = await check('bad.txt', transcript, '/secure');
    expect(refused.exit).toBe(exit);
    expect(refused.err.split('\n')[0]).toBe(message);
    expect(handshakes).toEqual([]);
  });

  it('is for WebSocket connections only', async () => {
    writeFileSync(join(dir, 'tcp.txt'), '>>>! handshake\n>>> Origin: x\n');
    const refused = await runBin(['check', '--connect', '127.0.0.1:9', 'tcp.txt'], dir);
    expect(refused.exit).toBe(2);
    expect(refused.err).toBe(
      "error: tcp.txt:1: 'handshake' is for WebSocket connections (ws://, wss://), not tcp: 127.0.0.1:9\n",
    );
  });
});
