/** http:// targets against a node:http server in the test, and against raw TCP servers that misbehave. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Variables } from '../src/variables.js';
import { failedStep, run, statuses, text } from './helpers/run.js';
import { closedAfterEach, startTestServer } from './helpers/tcp-servers.js';

const GZIPPED = gzipSync('hello\n');

function handle(req: IncomingMessage, res: ServerResponse): void {
  // No Date header: replies are the same every time, so transcripts can spell them out.
  res.sendDate = false;
  const body: Buffer[] = [];
  req.on('data', (chunk: Buffer) => body.push(chunk));
  req.on('end', () => {
    switch (`${req.method} ${req.url}`) {
      case 'GET /hello':
      case 'HEAD /hello':
        // Raw header names, in this order: the rendering must keep both.
        res.writeHead(200, ['Content-Type', 'text/plain', 'X-Mixed-CASE', 'yes', 'Content-Length', '6']);
        res.end('hello\n');
        return;
      case 'GET /chunked':
        res.writeHead(200, ['Content-Type', 'text/plain']);
        res.write('first\n');
        setImmediate(() => res.end('second, no newline'));
        return;
      case 'POST /echo': {
        const bytes = Buffer.concat(body);
        res.writeHead(201, ['Content-Length', String(bytes.length), 'X-Method', req.method ?? '']);
        res.end(bytes);
        return;
      }
      case 'DELETE /thing':
        res.writeHead(204, 'Gone Already');
        res.end();
        return;
      case 'GET /gzip':
        res.writeHead(200, ['Content-Encoding', 'gzip', 'Content-Length', String(GZIPPED.length)]);
        res.end(GZIPPED);
        return;
      case 'GET /slow':
        res.writeHead(200, ['Content-Length', '8']);
        res.write('one\n');
        // Far longer than the settle time the test gives: only the end of the response may end the reply.
        setTimeout(() => res.end('two\n'), 300);
        return;
      case 'GET /lines':
        res.writeHead(200, ['Content-Length', '12']);
        res.end('one\ntwo\nend\n');
        return;
      default:
        res.writeHead(404, ['Content-Length', '10']);
        res.end('not found\n');
    }
  });
}

let server: Server;
let connections = 0;
let http: string;
let tcp: string;
beforeAll(async () => {
  server = createServer(handle);
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  http = `http://127.0.0.1:${port}`;
  tcp = `127.0.0.1:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const serve = closedAfterEach();

// Node adds these two to every keep-alive reply.
const KEEP_ALIVE = 'Connection: keep-alive\nKeep-Alive: timeout=5\n';
const HELLO = `HTTP/1.1 200 OK\nContent-Type: text/plain\nX-Mixed-CASE: yes\nContent-Length: 6\n${KEEP_ALIVE}\nhello\n`;

describe('http:// targets against node:http', () => {
  it('passes the same transcript as raw TCP against a Content-Length server', async () => {
    const transcript =
      '>>> GET /hello HTTP/1.1\n>>> Host: localhost\n>>>\n' +
      HELLO +
      '>>> POST /echo HTTP/1.1\n>>> Host: localhost\n>>> Content-Length: 4\n>>>\n>>>(no-eol) ping\n' +
      `HTTP/1.1 201 Created\nContent-Length: 4\nX-Method: POST\n${KEEP_ALIVE}\n>>>=(no-eol) ping\n`;
    const overTcp = await run(transcript, { target: tcp });
    expect(statuses(overTcp)).toEqual(['passed', 'passed']);
    const overHttp = await run(transcript, { target: http });
    expect(statuses(overHttp)).toEqual(['passed', 'passed']);
    expect(overHttp.status).toBe('passed');
  });

  it('shows a chunked body decoded, with the Transfer-Encoding header as received', async () => {
    const result = await run(
      '>>> GET /chunked HTTP/1.1\n>>>\n' +
        `HTTP/1.1 200 OK\nContent-Type: text/plain\n${KEEP_ALIVE}Transfer-Encoding: chunked\n\nfirst\n>>>=(no-eol) second, no newline\n`,
      { target: http },
    );
    expect(result.status).toBe('passed');
  });

  it('sends HEAD and keeps the connection for the next request', async () => {
    const before = connections;
    const head = HELLO.replace('\nhello\n', '\n');
    const result = await run(
      `>>> HEAD /hello HTTP/1.1\n>>>\n${head}>>> GET /hello HTTP/1.1\n>>>\n${HELLO}>>> HEAD /hello HTTP/1.1\n>>>\n${head}`,
      { target: http },
    );
    expect(statuses(result)).toEqual(['passed', 'passed', 'passed']);
    expect(connections - before).toBe(1);
  });

  it('POSTs the bytes after the empty line, computing Content-Length when none is written', async () => {
    const result = await run(
      '>>> POST /echo HTTP/1.1\n>>>\n>>>(esc,no-eol) a\\r\\nb\\xff\n' +
        `HTTP/1.1 201 Created\nContent-Length: 5\nX-Method: POST\n${KEEP_ALIVE}\na\n>>>=(no-eol) b\\xff\n`,
      { target: http },
    );
    expect(result.status).toBe('passed');
  });

  it('sends a body holding a value with the Content-Length written for it, and refuses one that does not fit', async () => {
    const transcript = (length: number): string =>
      `>>> POST /echo HTTP/1.1\n>>> Content-Length: ${length}\n>>>\n>>>(vars,no-eol) {{v}}\n` +
      `HTTP/1.1 201 Created\nContent-Length: 5\nX-Method: POST\n${KEEP_ALIVE}\n>>>=(no-eol) hello\n`;
    const variables = Variables.of({ v: 'hello' });
    expect((await run(transcript(5), { target: http, variables })).status).toBe('passed');
    // Checked once the value is in, before the request goes out: an error at the block's line.
    const wrong = await run(transcript(4), { target: http, variables });
    expect(wrong.status).toBe('error');
    expect(wrong.error?.message).toMatch(
      /^test\.txt:1: the send block is not an HTTP request: Content-Length is 4 but the body after the empty line has 5 bytes/,
    );
  });

  it('renders a 204 with its reason phrase and no body', async () => {
    const result = await run(`>>> DELETE /thing HTTP/1.1\n>>>\nHTTP/1.1 204 Gone Already\n${KEEP_ALIVE}\n`, {
      target: http,
    });
    expect(result.status).toBe('passed');
  });

  it('keeps one connection for every request of a transcript connection, one per named connection', async () => {
    const before = connections;
    const get = `>>> GET /hello HTTP/1.1\n>>>\n${HELLO}`;
    const result = await run(`${get}${get}>>>@second\n${get}>>>@main\n${get}`, { target: http });
    expect(statuses(result)).toEqual(['passed', 'passed', 'passed', 'passed']);
    expect(connections - before).toBe(2);
  });

  it('delivers a compressed body as received (Content-Encoding is not decoded)', async () => {
    const result = await run('>>> GET /gzip HTTP/1.1\n>>>\nHTTP/1.1 200 OK\n...\n\nhello\n', {
      target: http,
      settleMs: 600_000,
    });
    const step = failedStep(result);
    expect(step.failure.reason).toBe('mismatch');
    const received = Buffer.from(step.failure.received);
    expect(received.subarray(received.length - GZIPPED.length)).toEqual(GZIPPED);
    expect(text(received)).toContain('Content-Encoding: gzip\r\n');
  });

  it('completes a reply ending in ... at the end of the body, without the settle wait', async () => {
    // With a settle time of ten minutes, only the end of the response can complete these steps.
    const result = await run(
      '>>> GET /lines HTTP/1.1\n>>>\nHTTP/1.1 200 OK\n...\n\none\n...\n>>> GET /hello HTTP/1.1\n>>>\n...\n',
      { target: http, settleMs: 600_000, timeoutMs: 600_000 },
    );
    expect(statuses(result)).toEqual(['passed', 'passed']);
  });

  it('waits for the end of a slow response rather than a quiet period', async () => {
    const result = await run(
      `>>> GET /slow HTTP/1.1\n>>>\nHTTP/1.1 200 OK\n...\n\none\n...\n>>> GET /hello HTTP/1.1\n>>>\n${HELLO}`,
      { target: http, settleMs: 10 },
    );
    expect(statuses(result)).toEqual(['passed', 'passed']);
  });

  it('reports a differing response whole, as soon as it has ended', async () => {
    const result = await run(
      '>>> GET /nowhere HTTP/1.1\n>>>\nHTTP/1.1 200 OK\n...\n>>> GET /hello HTTP/1.1\n>>>\n...\n',
      {
        target: http,
        settleMs: 600_000,
        timeoutMs: 600_000,
      },
    );
    expect(statuses(result)).toEqual(['failed', 'skipped']);
    const step = failedStep(result);
    expect(step.failure.reason).toBe('mismatch');
    expect(step.failure.line).toBe(3);
    expect(text(step.failure.received)).toBe(
      'HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nnot found\n',
    );
  });

  it('fails the end-of-transcript check with the body a reply did not expect', async () => {
    const head = HELLO.replace('\nhello\n', '\n');
    const result = await run(`>>> GET /hello HTTP/1.1\n>>>\n${head}`, { target: http });
    expect(result.status).toBe('failed');
    const step = failedStep(result);
    expect(step.failure.reason).toBe('leftover');
    expect(text(step.failure.received)).toBe('hello\n');
  });

  it('fails a request sent after the server closed the connection, as over TCP', async () => {
    // Host: Node answers 400 to an HTTP/1.1 request without one (undici adds it; raw TCP does not).
    const closing = '>>> GET /hello HTTP/1.1\n>>> Host: localhost\n>>> Connection: close\n>>>\n';
    const reply =
      'HTTP/1.1 200 OK\nContent-Type: text/plain\nX-Mixed-CASE: yes\nContent-Length: 6\nConnection: close\n\nhello\n';
    const transcript = `${closing}${reply}>>> GET /hello HTTP/1.1\n>>> Host: localhost\n>>>\n${HELLO}`;
    for (const target of [tcp, http]) {
      const result = await run(transcript, { target });
      expect(statuses(result)).toEqual(['passed', 'failed']);
      expect(failedStep(result).failure.reason).toBe('closed');
    }
  });

  it('makes a malformed request block an error result naming file and line, before anything is sent', async () => {
    const before = connections;
    const result = await run(
      `>>> GET /hello HTTP/1.1\n>>>\n${HELLO}>>> GET /hello HTTP/1.1\n>>> Host: localhost\nHTTP/1.1 200 OK\n`,
      { target: http },
      'api.txt',
    );
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_USAGE');
    expect(result.error?.message).toMatch(/^api\.txt:11: the send block is not an HTTP request/);
    expect(statuses(result)).toEqual(['skipped', 'skipped']);
    expect(connections).toBe(before);
  });
});

describe('http:// targets against raw servers', () => {
  it('shows the HTTP version the server answered with', async () => {
    const server = await serve(
      startTestServer((socket) => {
        socket.once('data', () => socket.write('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold'));
      }),
    );
    const result = await run(
      '>>> GET / HTTP/1.1\n>>>\nHTTP/1.0 200 OK\nContent-Length: 3\n\n>>>=(no-eol) old\n',
      {
        target: `http://${server.target}`,
      },
    );
    expect(result.status).toBe('passed');
  });

  it('keeps the space after the status code when the reason phrase is empty (RFC 9112)', async () => {
    const server = await serve(
      startTestServer((socket) => {
        socket.once('data', () => socket.write('HTTP/1.1 204 \r\n\r\n'));
      }),
    );
    const result = await run('>>> DELETE / HTTP/1.1\n>>>\n>>>=(crlf) HTTP/1.1 204 \n\n', {
      target: `http://${server.target}`,
    });
    expect(result.status).toBe('passed');
  });

  it('shows an interim 1xx response before the final one, as on the wire', async () => {
    const server = await serve(
      startTestServer((socket) => {
        socket.once('data', () =>
          socket.end(
            'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n',
          ),
        );
      }),
    );
    const transcript =
      '>>> GET / HTTP/1.1\n>>>\nHTTP/1.1 103 Early Hints\nLink: </a.css>\n\nHTTP/1.1 200 OK\nContent-Length: 3\n\nok\n';
    expect((await run(transcript, { target: `http://${server.target}` })).status).toBe('passed');
    expect((await run(transcript, { target: server.target })).status).toBe('passed');
  });

  it('sends the header names as written and in their order, adding only what undici must', async () => {
    // A raw server that shows each request head it gets, so the bytes on the wire are what is compared.
    const heads: string[] = [];
    const server = await serve(
      startTestServer((socket) => {
        let pending = '';
        socket.on('data', (chunk: Buffer) => {
          pending += chunk.toString('latin1');
          for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
            const head = pending.slice(0, end);
            const length = /content-length: (\d+)/i.exec(head)?.[1];
            const size = end + 4 + Number(length ?? 0);
            if (pending.length < size) break;
            heads.push(head);
            pending = pending.slice(size);
            socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
          }
        });
      }),
    );
    const ok = 'HTTP/1.1 200 OK\nContent-Length: 0\n\n';
    const result = await run(
      '>>> POST /a HTTP/1.1\n>>> X-First: 1\n>>> HOST: example.test\n>>> content-LENGTH: 2\n>>> Connection: keep-alive\n>>> x-last: 2\n>>>\n>>>(no-eol) hi\n' +
        ok +
        '>>> GET /b HTTP/1.1\n>>> Accept: */*\n>>>\n' +
        ok +
        '>>> POST /c HTTP/1.1\n>>> Host: h\n>>>\n>>>(no-eol) body\n' +
        ok,
      { target: `http://${server.target}` },
    );
    expect(result.status).toBe('passed');
    expect(heads).toEqual([
      'POST /a HTTP/1.1\r\nX-First: 1\r\nHOST: example.test\r\ncontent-LENGTH: 2\r\nConnection: keep-alive\r\nx-last: 2',
      `GET /b HTTP/1.1\r\nhost: ${server.target}\r\nconnection: keep-alive\r\nAccept: */*`,
      'POST /c HTTP/1.1\r\nconnection: keep-alive\r\nHost: h\r\ncontent-length: 4',
    ]);
  });

  it('fails a step whose response is cut off by the server closing, with the bytes received', async () => {
    const server = await serve(
      startTestServer((socket) => {
        socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial\n'));
      }),
    );
    const result = await run(
      '>>> GET / HTTP/1.1\n>>>\nHTTP/1.1 200 OK\nContent-Length: 100\n\npartial\nrest\n',
      {
        target: `http://${server.target}`,
      },
    );
    const step = failedStep(result);
    expect(step.failure.reason).toBe('closed');
    expect(text(step.failure.received)).toBe('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial\n');
  });

  it('fails a step whose reply is not HTTP, naming undici’s parse error', async () => {
    const server = await serve(
      startTestServer((socket) => {
        socket.once('data', () => socket.write('+PONG\r\n'));
      }),
    );
    const result = await run('>>> GET / HTTP/1.1\n>>>\nHTTP/1.1 200 OK\n', {
      target: `http://${server.target}`,
    });
    const step = failedStep(result);
    expect(step.failure.reason).toBe('reset');
    expect(step.failure.message).toMatch(/^the connection failed before the reply was complete \(.+\)$/);
    expect(step.failure.received.length).toBe(0);
  });

  it('times out a step whose response never comes', async () => {
    const server = await serve(startTestServer(() => {}));
    const result = await run('>>> GET / HTTP/1.1\n>>>\nHTTP/1.1 200 OK\n', {
      target: `http://${server.target}`,
      timeoutMs: 100,
    });
    expect(failedStep(result).failure.reason).toBe('timeout');
  });

  it('reports a refused connection as the TCP path does', async () => {
    const server = await startTestServer(() => {});
    const target = `http://${server.target}`;
    await server.close();
    const result = await run('>>> GET / HTTP/1.1\n>>>\nHTTP/1.1 200 OK\n', { target });
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_CONNECT');
    expect(result.error?.message).toContain(target);
  });
});
