/**
 * ws:// and wss:// targets against the `ws` package's server (FORMAT §14): a block is one message, each
 * message received is one line, close frames and their codes both ways; wss:// with a certificate made
 * here.
 */
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingHttpHeaders,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import type { TraceEvent } from '../src/results.js';
import { makeCerts, type TestCerts } from './helpers/certs.js';
import { failedStep, run, statuses, text } from './helpers/run.js';

/** What the server received on each connection, in order: messages (text or binary) and close frames. */
interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  messages: { data: Buffer; binary: boolean }[];
  close?: { code: number; reason: string };
}
const seen: Seen[] = [];
let closed: () => void = () => {};
let closedOne: Promise<void>;
const expectClose = (): void => {
  closedOne = new Promise((resolve) => {
    closed = resolve;
  });
};

/**
 * `/echo` sends each message back as it came; `count N` answers 1..N; `close-me` makes the server close
 * with 4001. `/greet` says `welcome` first. `/reject` refuses the handshake with 403.
 */
function serve(ws: WebSocket, path: string, headers: IncomingHttpHeaders): void {
  const record: Seen = { path, headers, messages: [] };
  seen.push(record);
  if (path === '/greet') ws.send('welcome');
  ws.on('message', (data: Buffer, binary: boolean) => {
    record.messages.push({ data, binary });
    const message = data.toString();
    const count = /^count (\d+)$/.exec(message);
    if (count !== null) for (let i = 1; i <= Number(count[1]); i++) ws.send(String(i));
    else if (message === 'close-me') ws.close(4001, 'by request');
    else if (message === 'id?') ws.send('id 42');
    else ws.send(data, { binary });
  });
  ws.on('close', (code: number, reason: Buffer) => {
    record.close = { code, reason: reason.toString() };
    closed();
  });
}

/** A WebSocket server on an HTTP(S) server of its own, refusing `/reject` with 403. */
function attach(server: HttpServer | HttpsServer): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket: Socket, head) => {
    if (req.url === '/reject') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, req.url ?? '', req.headers));
  });
  return wss;
}

let certs: TestCerts;
let plain: HttpServer;
let secure: HttpsServer;
let servers: WebSocketServer[];
let ws: string;
let wss: string;
beforeAll(async () => {
  certs = makeCerts();
  plain = createHttpServer();
  secure = createHttpsServer({ key: certs.key, cert: certs.cert });
  servers = [attach(plain), attach(secure)];
  await Promise.all(
    [plain, secure].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))),
  );
  ws = `ws://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  wss = `wss://localhost:${(secure.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of servers ?? []) for (const client of s.clients) client.terminate();
  await Promise.all(
    [plain, secure].map((s) => new Promise((resolve) => (s ? s.close(resolve) : resolve(null)))),
  );
  certs?.remove();
});
beforeEach(() => {
  seen.length = 0;
  expectClose();
});

describe('ws:// targets', () => {
  it('sends each block as one text message, its lines joined with LF, and reads each message as a line', async () => {
    const result = await run('>>> {"a": 1,\n>>>  "b": [2]}\n{"a": 1,\\n "b": [2]}\n>>> hi\nhi\n', {
      target: `${ws}/echo`,
    });
    expect(statuses(result)).toEqual(['passed', 'passed']);
    expect(seen[0]!.path).toBe('/echo');
    expect(seen[0]!.messages.map((m) => [m.data.toString(), m.binary])).toEqual([
      ['{"a": 1,\n "b": [2]}', false],
      ['hi', false],
    ]);
  });

  it('sends a binary block as its bytes exactly, in one binary message', async () => {
    // The echo reads as `\binary` and the bytes in the notation of escapes: a text line.
    const result = await run(
      '>>>(binary,esc,no-eol) \\x00\\xff\n>>>(esc) \\r\n\\binary \\0\\xff\\r\\r\\n\n',
      {
        target: `${ws}/echo`,
      },
    );
    expect(statuses(result)).toEqual(['passed']);
    expect(seen[0]!.messages).toEqual([{ data: Buffer.from([0, 0xff, 0x0d, 0x0d, 0x0a]), binary: true }]);
  });

  it('sends a CR LF inside a text message as a line that ends in an escaped CR', async () => {
    const result = await run('>>>(esc) a\\r\n>>> b\na\\r\\nb\n', { target: `${ws}/echo` });
    expect(statuses(result)).toEqual(['passed']);
    expect(seen[0]!.messages).toEqual([{ data: Buffer.from('a\r\nb'), binary: false }]);
  });

  it('sends two messages in a row when a switch to the same connection ends the first block', async () => {
    const result = await run('>>> a\n>>>@main\n>>> b\na\nb\n', { target: `${ws}/echo` });
    expect(statuses(result)).toEqual(['passed', 'passed']);
    expect(seen[0]!.messages.map((m) => m.data.toString())).toEqual(['a', 'b']);
  });

  it('matches a reply of several messages, a greeting, and an empty text message', async () => {
    const greet = await run('welcome\n>>> count 3\n1\n2\n3\n>>>\n\n', { target: `${ws}/greet` });
    expect(statuses(greet)).toEqual(['passed', 'passed', 'passed']);
    expect(seen[0]!.messages.map((m) => m.data.toString())).toEqual(['count 3', '']);
  });

  it('closes with 1000 at the end of the transcript, and passes when nothing more came', async () => {
    const result = await run('>>> hi\nhi\n', { target: `${ws}/echo` });
    expect(result.status).toBe('passed');
    await closedOne;
    expect(seen[0]!.close).toEqual({ code: 1000, reason: '' });
  });

  it('fails the end check on a message no step expected', async () => {
    const result = await run('>>> count 2\n1\n', { target: `${ws}/echo` });
    const step = failedStep(result);
    expect(step.failure.reason).toBe('leftover');
    expect(text(step.failure.received)).toBe('2\n');
  });

  it('reports a message that differs with the line received', async () => {
    const result = await run('>>> hullo\nhello\n', { target: `${ws}/echo` });
    const step = failedStep(result);
    expect(step.failure.reason).toBe('mismatch');
    expect(text(step.failure.received)).toBe('hullo\n');
  });

  it('sends a close frame with its code and reason, and reads the server’s as `\\close CODE REASON`', async () => {
    const result = await run('>>> hi\nhi\n>>>! close 4000 all  done\n\\close 4000 all  done\n', {
      target: `${ws}/echo`,
    });
    expect(statuses(result)).toEqual(['passed', 'passed']);
    await closedOne;
    expect(seen[0]!.close).toEqual({ code: 4000, reason: 'all  done' });
  });

  it('reads a close the server starts as a line, its code matched like any text', async () => {
    const result = await run('>>> close-me\n\\close 4001 ...\n', { target: `${ws}/echo` });
    expect(statuses(result)).toEqual(['passed']);
    const wrong = await run('>>> close-me\n\\close 1000 ...\n', { target: `${ws}/echo` });
    expect(text(failedStep(wrong).failure.received)).toBe('\\close 4001 by request\n');
  });

  it('captures from a message and sends the value in a later one', async () => {
    const result = await run('>>> id?\n>>>~ id (?<id>\\d+)\n>>>(vars) item {{id}}\nitem 42\n', {
      target: `${ws}/echo`,
    });
    expect(statuses(result)).toEqual(['passed', 'passed']);
  });

  it('traces each message sent and received as its line (-v)', async () => {
    const events: TraceEvent[] = [];
    await run('>>> a\n>>> b\na\\nb\n>>>! close 4002\n\\close 4002\n', {
      target: `${ws}/echo`,
      trace: (event) => events.push(event),
    });
    const lines = events.flatMap((e) =>
      e.type === 'sent' || e.type === 'received' ? [`${e.type} ${Buffer.from(e.bytes).toString()}`] : [],
    );
    expect(lines).toEqual([
      'sent a\\nb\n',
      'received a\\nb\n',
      'sent \\close 4002\n',
      'received \\close 4002\n',
    ]);
  });

  it('refuses a handshake the server answers with 403, naming the target and the status', async () => {
    const target = `${ws}/reject`;
    const result = await run('>>> hi\nhi\n', { target });
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_CONNECT');
    expect(result.error?.message).toBe(
      `cannot connect to ${target}: the server answered the WebSocket handshake with HTTP 403 Forbidden, not 101 Switching Protocols`,
    );
  });
});

describe('wss:// targets', () => {
  it('talks WebSocket over TLS to a server whose certificate chains to the given CA', async () => {
    const result = await run('>>> over tls\nover tls\n>>>! close 1000\n\\close 1000\n', {
      target: `${wss}/echo`,
      tls: { ca: certs.ca },
    });
    expect(statuses(result)).toEqual(['passed', 'passed']);
  });

  it('does a >>>! handshake step over TLS: its headers go out, its reply is the answer', async () => {
    const result = await run(
      '>>>! handshake\n>>> X-Trace: 7\nHTTP/1.1 101 Switching Protocols\n...\n\n>>> hi\nhi\n',
      { target: `${wss}/echo`, tls: { ca: certs.ca } },
    );
    expect(statuses(result)).toEqual(['passed', 'passed']);
    expect(seen[0]!.headers['x-trace']).toBe('7');
  });

  it('refuses an untrusted certificate as a TLS error', async () => {
    const result = await run('>>> hi\nhi\n', { target: `${wss}/echo` });
    expect(result.error?.code).toBe('PROTODOC_ERR_TLS');
  });
});

describe('steps a WebSocket (or only a WebSocket) can carry', () => {
  const usage = async (transcript: string, target: string): Promise<string | undefined> => {
    const result = await run(transcript, { target }, 'ws.txt');
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_USAGE');
    expect(seen).toEqual([]);
    return result.error?.message;
  };

  it('refuses a text block that is not UTF-8, before anything is sent', async () => {
    expect(await usage('>>> hi\n>>>(esc) \\xff\n', `${ws}/echo`)).toBe(
      "ws.txt:1: a text message must be UTF-8 (RFC 6455 §5.6): give the block the 'binary' flag to send these bytes",
    );
  });

  it('refuses a close code no close frame carries', async () => {
    expect(await usage('>>>! close 1005\n', `${ws}/echo`)).toBe(
      'ws.txt:1: close code 1005 is never sent in a close frame (RFC 6455 §7.4): use 1000–1003, 1007–1014 or 3000–4999',
    );
  });

  it('refuses starttls', async () => {
    expect(await usage('>>>! starttls\n>>> hi\n', `${ws}/echo`)).toBe(
      'ws.txt:2: starttls is not available on a ws:// connection (use wss://)',
    );
  });

  it.each([
    ['a binary block on a tcp target', '>>>(binary) x\n', '127.0.0.1:9', "the 'binary' flag"],
    [
      'a close on an http target',
      '>>> GET / HTTP/1.1\n>>>\n...\n>>>! close\n',
      'http://127.0.0.1:9',
      "'close'",
    ],
  ])('refuses %s', async (_, transcript, target, what) => {
    const message = await usage(transcript, target);
    expect(message).toMatch(
      new RegExp(`^ws\\.txt:\\d: ${what} is for WebSocket connections \\(ws://, wss://\\)`),
    );
  });
});
