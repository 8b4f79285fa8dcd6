/**
 * h2:// and h2c:// targets against node:http2: HTTP/2 chosen by the target, never by the server; the
 * response written `HTTP/2 STATUS` with the header names as received; the request as a transcript writes
 * it for HTTP/1.1 (Host as :authority).
 */

import {
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../src/results.js';
import { makeCerts, type TestCerts } from './helpers/certs.js';
import { failedStep, run, statuses, text } from './helpers/run.js';
import { startTestServer, type TestServer } from './helpers/tcp-servers.js';

/** What the servers saw: each stream's request header fields, raw (pseudo-header fields included). */
const seen: string[][] = [];
let closedSessions = 0;

/** Echoes the request: `METHOD PATH BODY` in the body, its :authority in a header, and two cookies. */
function answer(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  _flags: number,
  raw: string[],
): void {
  seen.push(raw);
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => {
    if (headers[':path'] === '/missing') {
      stream.respond({ ':status': 404, 'content-length': '0' });
      stream.end();
      return;
    }
    const body = `${headers[':method']} ${headers[':path']} ${Buffer.concat(chunks).toString()}\n`;
    stream.respond({
      ':status': 200,
      'Content-Type': 'text/plain',
      'x-authority': String(headers[':authority']),
      'set-cookie': ['a=1', 'b=2'],
      'content-length': String(Buffer.byteLength(body)),
    });
    stream.end(body);
  });
}

let certs: TestCerts;
let h2c: Http2Server;
let h2: Http2SecureServer;
let http1Only: HttpsServer;
let bareTls: TestServer;
const port = (server: { address(): unknown }): number => (server.address() as AddressInfo).port;
const listen = (server: { listen(port: number, host: string, cb: () => void): unknown }) =>
  new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

beforeAll(async () => {
  certs = makeCerts();
  h2c = createServer();
  h2c.on('stream', answer);
  h2c.on('session', (session) => session.on('close', () => closedSessions++));
  // allowHTTP1: the server would speak HTTP/1.1 too; an h2:// target must never let it. (The compat
  // API, which answers both versions.)
  h2 = createSecureServer({ key: certs.key, cert: certs.cert, allowHTTP1: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => res.end(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()}\n`));
  });
  http1Only = createHttpsServer({ key: certs.key, cert: certs.cert }, (_req, res) => res.end('1.1 only\n'));
  bareTls = await startTestServer(() => {}, { tls: { key: certs.key, cert: certs.cert } });
  await Promise.all([listen(h2c), listen(h2), listen(http1Only)]);
});
afterAll(async () => {
  await Promise.all(
    [h2c, h2, http1Only].map((s) => new Promise((resolve) => (s ? s.close(resolve) : resolve(null)))),
  );
  await bareTls?.close();
  certs?.remove();
});

const POST =
  '>>> POST /echo HTTP/1.1\n>>> Host: example.test\n>>> Content-Type: text/plain\n>>>\n>>>(no-eol) hi!\n';
const REPLY = (body: string, authority: string): string =>
  `HTTP/2 200\ncontent-type: text/plain\nx-authority: ${authority}\nset-cookie: a=1\nset-cookie: b=2\ncontent-length: ${body.length + 1}\n...\n\n${body}\n`;

describe('h2c:// targets (HTTP/2 in clear text)', () => {
  it('sends the request as written for HTTP/1.1, Host as :authority, and writes the response as HTTP/2', async () => {
    seen.length = 0;
    const target = `h2c://127.0.0.1:${port(h2c)}`;
    const get = '>>> GET /second HTTP/2\n>>>\n';
    const result = await run(
      `${POST}${REPLY('POST /echo hi!', 'example.test')}${get}${REPLY('GET /second ', `127.0.0.1:${port(h2c)}`)}`,
      { target },
    );
    expect(statuses(result)).toEqual(['passed', 'passed']);
    // The request's names went out in lower case, Host as :authority; no Host field, no Connection.
    expect(seen[0]).toEqual([
      ':authority',
      'example.test',
      ':method',
      'POST',
      ':path',
      '/echo',
      ':scheme',
      'http',
      'content-type',
      'text/plain',
      'content-length',
      '3',
    ]);
    // Without a Host, :authority is the target's.
    expect(seen[1]?.slice(0, 2)).toEqual([':authority', `127.0.0.1:${port(h2c)}`]);
  });

  it('shows the status line without a reason phrase and header names as received', async () => {
    const result = await run('>>> GET /missing HTTP/1.1\n>>>\nHTTP/1.1 404 Not Found\n...\n', {
      target: `h2c://127.0.0.1:${port(h2c)}`,
    });
    const step = failedStep(result);
    expect(text(step.failure.received)).toMatch(/^HTTP\/2 404\r\ncontent-length: 0\r\ndate: [^\r]+\r\n\r\n$/);
  });

  it('closes the connection after a `Connection: close` response: the next step fails as closed', async () => {
    const before = closedSessions;
    const get = (path: string, extra = ''): string =>
      `>>> GET ${path} HTTP/1.1\n${extra}>>>\nHTTP/2 200\n...\n`;
    const result = await run(`${get('/one', '>>> Connection: close\n')}\n...\n${get('/two')}`, {
      target: `h2c://127.0.0.1:${port(h2c)}`,
    });
    expect(statuses(result)).toEqual(['passed', 'failed']);
    expect(failedStep(result).failure.reason).toBe('closed');
    expect(closedSessions).toBe(before + 1);
  });

  it('traces the request as the header fields HTTP/2 sends, pseudo-header fields first (-v)', async () => {
    const events: TraceEvent[] = [];
    await run(`${POST}${REPLY('POST /echo hi!', 'example.test')}`, {
      target: `h2c://127.0.0.1:${port(h2c)}`,
      trace: (event) => events.push(event),
    });
    const sent = events.flatMap((e) => (e.type === 'sent' ? [Buffer.from(e.bytes).toString('latin1')] : []));
    expect(sent).toEqual([
      ':authority: example.test\r\n:method: POST\r\n:path: /echo\r\n:scheme: http\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n\r\n',
      'hi!',
    ]);
  });

  it('fails the first step against an HTTP/1.1 server, which does not speak HTTP/2', async () => {
    const server = await startTestServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
    });
    try {
      const result = await run('>>> GET / HTTP/1.1\n>>>\nHTTP/2 200\n...\n', {
        target: `h2c://${server.target}`,
      });
      expect(statuses(result)).toEqual(['failed']);
      expect(['closed', 'reset']).toContain(failedStep(result).failure.reason);
    } finally {
      await server.close();
    }
  });
});

describe('h2:// targets (HTTP/2 over TLS)', () => {
  it('speaks HTTP/2 to a server that would also speak HTTP/1.1, and https:// speaks HTTP/1.1 to it', async () => {
    const transcript = (status: string): string => `${POST}${status}\n...\n\nPOST /echo hi!\n`;
    const over2 = await run(transcript('HTTP/2 200'), {
      target: `h2://localhost:${port(h2)}`,
      tls: { ca: certs.ca },
    });
    expect(statuses(over2)).toEqual(['passed']);
    const over1 = await run(transcript('HTTP/1.1 200 OK'), {
      target: `https://localhost:${port(h2)}`,
      tls: { ca: certs.ca },
    });
    expect(statuses(over1)).toEqual(['passed']);
  });

  it.each([
    ['that refuses h2 with an alert (node:https)', () => port(http1Only)],
    ['that chooses no protocol at all (a bare TLS server)', () => bareTls.port],
  ])('refuses a server %s, as a TLS error naming the target', async (_, portOf) => {
    const target = `h2://localhost:${portOf()}`;
    const result = await run('>>> GET / HTTP/1.1\n>>>\nHTTP/2 200\n...\n', { target, tls: { ca: certs.ca } });
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_TLS');
    expect(result.error?.message).toBe(
      `cannot connect to ${target}: TLS handshake failed: the server did not choose HTTP/2 (ALPN h2); for HTTP/1.1 use https://`,
    );
  });

  it('checks the certificate as https:// does', async () => {
    const result = await run('>>> GET / HTTP/1.1\n>>>\nHTTP/2 200\n...\n', {
      target: `h2://localhost:${port(h2)}`,
    });
    expect(result.error?.code).toBe('PROTODOC_ERR_TLS');
  });
});

describe('request lines and HTTP versions', () => {
  const usage = async (transcript: string, target: string): Promise<string | undefined> => {
    const result = await run(transcript, { target }, 'api.txt');
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_USAGE');
    return result.error?.message;
  };

  it('refuses an HTTP/2 request line on an http:// target, at its line, before anything is sent', async () => {
    const message = await usage(
      '>>># header\n>>> GET / HTTP/2\n>>>\nHTTP/2 200\n',
      `http://127.0.0.1:${port(h2c)}`,
    );
    expect(message).toBe(
      'api.txt:2: the send block is not an HTTP request: an HTTP/2 request needs an h2:// or h2c:// target; http:// speaks HTTP/1.1',
    );
  });

  it('refuses a header HTTP/2 forbids on an h2c:// target', async () => {
    const message = await usage(
      '>>> GET / HTTP/1.1\n>>> TE: gzip\n>>>\nHTTP/2 200\n',
      `h2c://127.0.0.1:${port(h2c)}`,
    );
    expect(message).toBe(
      "api.txt:1: the send block is not an HTTP request: 'TE' is a connection-specific header, which HTTP/2 forbids (RFC 9113 §8.2.2)",
    );
  });

  it('refuses other versions everywhere', async () => {
    const message = await usage('>>> GET / HTTP/1.0\n>>>\n', `h2c://127.0.0.1:${port(h2c)}`);
    expect(message).toContain("'HTTP/1.0': a request is sent as HTTP/1.1");
  });

  it('refuses starttls on h2c://', async () => {
    const message = await usage('>>>! starttls\n>>> GET / HTTP/1.1\n>>>\n', `h2c://127.0.0.1:${port(h2c)}`);
    expect(message).toBe('api.txt:2: starttls is not available on an h2c:// connection (use h2://)');
  });
});
