/**
 * WebSocket transcripts through the real binary against the `ws` package's server (FORMAT §14): each
 * message received reads as one line in the notation of escapes, so that a backslash and an `n` differ
 * from a line feed and a binary message from a text one with the same bytes, both ways; what
 * `--update` writes for a conversation checks back as passing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { buildCli, runBin } from './build-cli.js';

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
    ws.send(data, { binary });
  });
}

let server: WebSocketServer;
let base: string;
let dir: string;
beforeAll(async () => {
  buildCli();
  dir = mkdtempSync(join(tmpdir(), 'protodoc-cli-ws-'));
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', serve);
  await new Promise<void>((resolve) => server.on('listening', resolve));
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const client of server?.clients ?? []) client.terminate();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(null)));
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
