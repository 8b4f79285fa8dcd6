import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { buildCli, runBin } from './build-cli.js';
import { makeCerts, type TestCerts } from './helpers/certs.js';
import { recording as recordingIn, stopLeftRunning } from './helpers/processes.js';
import { startWebSocketServer, type WebSocketTestServer } from './helpers/websocket-server.js';

/**
 * `/chat` greets with a new session id, echoes `{"say": X}` as `{"echo": X}`, sends a binary message
 * back reversed, and answers `bye` with a close frame (4000 `see you`); anything else comes back as it
 * came. `/secure` wants `Authorization: Bearer s3cret` (else 401) and picks subprotocol `chat.v2`.
 */
function serve(ws: WebSocket, req: IncomingMessage): void {
  if (req.url?.startsWith('/chat'))
    ws.send(`{"type":"welcome","session":"${randomBytes(4).toString('hex')}"}`);
  ws.on('message', (data: Buffer, binary: boolean) => {
    const text = data.toString('utf8');
    if (binary) ws.send(Buffer.from(data).reverse(), { binary: true });
    else if (text === 'bye') ws.close(4000, 'see you');
    else if (text.startsWith('{"say"')) ws.send(`{"echo": ${JSON.stringify(JSON.parse(text).say)}}`);
    else ws.send(`${ws.protocol === '' ? '' : `${ws.protocol}: `}${text}`);
  });
}

function verifyClient(
  info: { req: IncomingMessage },
  done: (ok: boolean, code?: number, message?: string) => void,
): void {
  if (info.req.url !== '/secure' || info.req.headers.authorization === 'Bearer s3cret') done(true);
  else done(false, 401, 'Unauthorized');
}

/** The test's WebSocket server: plain, or for `wss://` over `https`. */
function wsServer(https?: HttpsServer): Promise<WebSocketTestServer> {
  return startWebSocketServer({
    serve,
    verifyClient,
    handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false),
    ...(https === undefined ? {} : { server: https }),
  });
}

let dir: string;
let server: WebSocketTestServer;
let base: string;

beforeAll(async () => {
  buildCli();
  dir = mkdtempSync(join(tmpdir(), 'protodoc-record-ws-'));
  server = await wsServer();
  base = `ws://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

afterEach(stopLeftRunning);

const recording = (args: readonly string[]) => recordingIn(args, dir);

/** One step of a client's conversation: what to send once the messages before it have come. */
type Say = { text: string } | { binary: Buffer } | { close: number; reason: string };

/**
 * A `ws` client that connects to `url`, waits for `greeting` messages, then for each item sends it and
 * waits for `replies` messages (or the close); closes with 1000 at the end unless the server did.
 * @returns every message and the close it saw, as text
 */
function converse(
  url: string,
  script: readonly (Say & { replies?: number })[],
  options: { greeting?: number; protocols?: string[]; headers?: Record<string, string>; ca?: string } = {},
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], {
      ...(options.headers !== undefined ? { headers: options.headers } : {}),
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
    });
    const seen: string[] = [];
    let waiting = options.greeting ?? 0;
    let next = 0;
    const advance = (): void => {
      while (waiting === 0) {
        const say = script[next++];
        if (say === undefined) {
          ws.close(1000);
          return;
        }
        if ('close' in say) {
          ws.close(say.close, say.reason);
          return;
        }
        if ('text' in say) ws.send(say.text);
        else ws.send(say.binary, { binary: true });
        waiting = say.replies ?? 1;
      }
    };
    ws.on('open', advance);
    ws.on('message', (data: Buffer, binary: boolean) => {
      seen.push(binary ? `binary ${data.toString('hex')}` : data.toString('utf8'));
      waiting--;
      advance();
    });
    ws.on('error', reject);
    ws.on('close', (code: number, reason: Buffer) => {
      seen.push(`close ${code} ${reason.toString('utf8')}`);
      resolve(seen);
    });
  });
}

function read(name: string): string {
  return readFileSync(join(dir, name), 'utf8');
}

describe('protodoc record --connect ws://', () => {
  it('records a conversation: a greeting, a session id reused (a capture), binary, the server’s close', async () => {
    const rec = await recording(['--connect', `${base}/chat`, '--output', 'chat.txt']);
    let session = '';
    const seen = await new Promise<string[]>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${rec.port}/chat`);
      const seen: string[] = [];
      ws.on('message', (data: Buffer, binary: boolean) => {
        seen.push(binary ? `binary ${data.toString('hex')}` : data.toString('utf8'));
        if (seen.length === 1) {
          session = JSON.parse(seen[0]!).session;
          ws.send(JSON.stringify({ say: `hello from ${session}\nbye for now` }));
        } else if (seen.length === 2) ws.send(Buffer.from([1, 2, 0xff]));
        else if (seen.length === 3) ws.send('bye');
      });
      ws.on('error', reject);
      ws.on('close', (code: number, reason: Buffer) => resolve([...seen, `close ${code} ${reason}`]));
    });
    expect(seen.slice(1)).toEqual([
      `{"echo": "hello from ${session}\\nbye for now"}`,
      'binary ff0201',
      'close 4000 see you',
    ]);
    const stopped = await rec.stop();
    expect(stopped.exit, stopped.err).toBe(0);
    expect(stopped.out).toContain('wrote chat.txt: 4 steps on 1 connection');
    expect(read('chat.txt')).toBe(
      [
        `>>>! connect ${base}/chat`,
        '>>>$ {"type":"welcome","session":"{{session=...}}"}',
        '>>>(vars) {"say":"hello from {{session}}\\nbye for now"}',
        // The message's backslash and n read `\\n` in its line; a `>>>$` line decodes escapes: `\\\\n`.
        '>>>$ {"echo": "hello from {{session}}\\\\\\\\nbye for now"}',
        '>>>(binary,esc,no-eol) \\x01\\x02\\xff',
        '\\binary \\xff\\x02\\x01',
        '>>> bye',
        '\\close 4000 see you',
        '',
      ].join('\n'),
    );
    // A new session id this time: the capture takes it.
    const check = await runBin(['check', 'chat.txt'], dir);
    expect(check.out).toMatch(/^PASS chat\.txt \(4 steps, /);
    expect(check.exit).toBe(0);
  });

  it('records a client’s close frame with its code, two connections, and a message of several lines', async () => {
    const rec = await recording(['--connect', `${base}/echo`, '--output', 'close.txt']);
    // The first client closes with 4001; the second as a replay ends, with 1000: no step for it.
    const first = await converse(`ws://127.0.0.1:${rec.port}/`, [
      { text: 'a\nb\r\nc' },
      { text: '' },
      { close: 4001, reason: 'done here' },
    ]);
    expect(first).toEqual(['a\nb\r\nc', '', 'close 4001 done here']);
    const second = await converse(`ws://127.0.0.1:${rec.port}/other?x=1`, [{ text: 'x\\y' }]);
    expect(second).toEqual(['x\\y', 'close 1000 ']);
    expect((await rec.stop()).exit).toBe(0);
    expect(read('close.txt')).toBe(
      [
        `>>>! connect ${base}/echo`,
        '>>>@conn1',
        '>>> a',
        '>>>(esc) b\\r',
        '>>> c',
        'a\\nb\\r\\nc',
        '>>>',
        '',
        '>>>! close 4001 done here',
        '\\close 4001 done here',
        `>>>@conn2 ${base}/other?x=1`,
        '>>> x\\y',
        'x\\\\y',
        '',
      ].join('\n'),
    );
    const check = await runBin(['check', 'close.txt'], dir);
    expect(check.out).toMatch(/^PASS close\.txt \(4 steps, /);
    expect(check.exit).toBe(0);
  });

  it('writes the handshake as a step when the client sent headers or subprotocols, a secret as {{name}}', async () => {
    const rec = await recording([
      '--connect',
      `${base}/secure`,
      '--secret',
      'token=s3cret',
      '--output',
      'hs.txt',
    ]);
    const seen = await converse(`ws://127.0.0.1:${rec.port}/`, [{ text: 'hello' }], {
      protocols: ['chat.v1', 'chat.v2'],
      headers: { Authorization: 'Bearer s3cret' },
    });
    expect(seen).toEqual(['chat.v2: hello', 'close 1000 ']);
    expect((await rec.stop()).exit).toBe(0);
    const text = read('hs.txt');
    expect(text).toBe(
      [
        `>>>! connect ${base}/secure`,
        '>>>! handshake',
        // In the order the client wrote them.
        '>>>(vars) Authorization: Bearer {{token}}',
        '>>> Sec-WebSocket-Protocol: chat.v1,chat.v2',
        'HTTP/1.1 101 Switching Protocols',
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Accept: ...',
        'Sec-WebSocket-Protocol: chat.v2',
        '',
        '>>> hello',
        'chat.v2: hello',
        '',
      ].join('\n'),
    );
    const check = await runBin(['check', '--secret', 'token=s3cret', 'hs.txt'], dir);
    expect(check.out).toMatch(/^PASS hs\.txt \(2 steps, /);
    expect(check.exit).toBe(0);
  });

  it('passes a refused handshake on to the client, and writes it as the handshake step’s reply', async () => {
    const rec = await recording(['--connect', `${base}/secure`, '--output', 'refused.txt']);
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${rec.port}/secure`);
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('error', () => {});
    });
    expect(refused).toBe(401);
    expect((await rec.stop()).exit).toBe(0);
    const text = read('refused.txt');
    expect(text).toMatch(
      /^>>>! connect ws:\/\/127\.0\.0\.1:\d+\/secure\n>>>! handshake\nHTTP\/1\.1 401 Unauthorized\n/,
    );
    const check = await runBin(['check', 'refused.txt'], dir);
    expect(check.out).toMatch(/^PASS refused\.txt \(1 step, /);
    expect(check.exit).toBe(0);
  });
});

describe('protodoc record --connect wss://', () => {
  let certs: TestCerts;
  let tlsServer: WebSocketTestServer;
  let port: number;

  beforeAll(async () => {
    certs = makeCerts();
    tlsServer = await wsServer(createHttpsServer({ key: certs.key, cert: certs.cert }));
    port = tlsServer.port;
  });

  afterAll(async () => {
    await tlsServer?.close();
    certs?.remove();
  });

  it('listens in plain ws:// and connects with TLS, checking the certificate; the file says wss://', async () => {
    const target = `wss://localhost:${port}/echo`;
    const rec = await recording(['--connect', target, '--cacert', certs.caPath, '--output', 'wss.txt']);
    expect(await converse(`ws://127.0.0.1:${rec.port}/`, [{ binary: Buffer.from('hi') }])).toEqual([
      'binary 6968',
      'close 1000 ',
    ]);
    expect((await rec.stop()).exit).toBe(0);
    expect(read('wss.txt')).toBe(`>>>! connect ${target}\n>>>(binary,no-eol) hi\n\\binary ih\n`);
    const check = await runBin(['check', '--cacert', certs.caPath, 'wss.txt'], dir);
    expect(check.out).toMatch(/^PASS wss\.txt \(1 step, /);
    expect(check.exit).toBe(0);
    // Without the CA the target's certificate is refused before anything listens.
    const refused = await runBin(['record', '--listen', '0', '--connect', target, '--output', 'x.txt'], dir);
    expect(refused.err).toMatch(
      /^error: cannot connect to wss:\/\/localhost:\d+\/echo: TLS handshake failed: /,
    );
    expect(refused.exit).toBe(4);
  });
});
