/** The HTTP exchange's pure parts: send block → request, response → text, targets, the up-front check. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFiles } from '../src/check.js';
import { ProtodocError } from '../src/errors.js';
import { parseTarget } from '../src/target.js';
import { parseTranscript } from '../src/transcript.js';
import { renderHead } from '../src/transports/http-h1.js';
import { checkHttpSteps, type HttpRequest, parseHttpRequest } from '../src/transports/http-request.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

function request(block: string): HttpRequest {
  const result = parseHttpRequest(bytes(block));
  if (typeof result === 'string') throw new Error(`expected a request, got: ${result}`);
  return result;
}

describe('parseHttpRequest', () => {
  it('reads the request line, the headers in order with their case, and no body', () => {
    expect(
      request('GET /a?b=1 HTTP/1.1\r\nHost: localhost\r\nX-Mixed-Case: a b \r\nAccept: */*\r\n\r\n'),
    ).toEqual({
      method: 'GET',
      path: '/a?b=1',
      headers: ['Host', 'localhost', 'X-Mixed-Case', 'a b', 'Accept', '*/*'],
      body: null,
      close: false,
      version: 'HTTP/1.1',
      h2Forbidden: null,
    });
  });

  it('reads an HTTP/2 request line, and notes the first header HTTP/2 forbids', () => {
    expect(request('GET / HTTP/2\r\n\r\n').version).toBe('HTTP/2');
    const req = request('GET / HTTP/1.1\r\nTE: trailers\r\nProxy-Connection: x\r\nte: gzip\r\n\r\n');
    expect(req.h2Forbidden).toBe('Proxy-Connection');
    expect(request('GET / HTTP/1.1\r\nTE: trailers\r\nConnection: close\r\n\r\n').h2Forbidden).toBeNull();
  });

  it('accepts LF line endings (>>>(lf) sends) and keeps the body bytes as sent', () => {
    const req = request('POST /echo HTTP/1.1\nContent-Length: 7\n\nhi\r\n\xff\x00!');
    expect(req.method).toBe('POST');
    expect(req.headers).toEqual(['Content-Length', '7']);
    expect(req.body).toEqual(Buffer.from([0x68, 0x69, 0x0d, 0x0a, 0xff, 0x00, 0x21]));
  });

  it('takes the rest after the empty line as the body without a Content-Length (undici sets it)', () => {
    expect(request('PUT /x HTTP/1.1\r\n\r\nline\r\n\r\nmore').body?.toString()).toBe('line\r\n\r\nmore');
  });

  it('notices Connection: close among other tokens', () => {
    expect(request('GET / HTTP/1.1\r\nConnection: TE, Close\r\n\r\n').close).toBe(true);
    expect(request('GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n').close).toBe(false);
  });

  it.each([
    ['GET / HTTP/1.1\r\nHost: x\r\n', /no empty line ends the request headers/],
    ['\r\n', /starts with an empty line/],
    ['GET /\r\n\r\n', /not a request line/],
    ['GET  / HTTP/1.1\r\n\r\n', /not a request line/],
    ['G(T / HTTP/1.1\r\n\r\n', /not a request method/],
    ['GET http://x/ HTTP/1.1\r\n\r\n', /must start with '\/'/],
    ['GET / HTTP/1.0\r\n\r\n', /'HTTP\/1.0': a request is sent as HTTP\/1.1 .* or HTTP\/2 .* only/],
    ['GET / HTTP/2.0\r\n\r\n', /'HTTP\/2.0'/],
    ['CONNECT /x HTTP/1.1\r\n\r\n', /CONNECT/],
    ['GET / HTTP/1.1\r\nno colon here\r\n\r\n', /not a header line/],
    ['GET / HTTP/1.1\r\n folded: x\r\n\r\n', /not a header line/],
    ['GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n', /control characters/],
    ['GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n', /Transfer-Encoding/],
    ['GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n', /upgrades/],
    ['GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n', /Expect/],
    ['GET / HTTP/1.1\r\nKeep-Alive: timeout=5\r\n\r\n', /Keep-Alive/],
    ['GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n', /Host is given twice/],
    ['POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nhello', /Content-Length is 3 but the body .* 5 bytes/],
    ['POST / HTTP/1.1\r\nContent-Length: 0\r\ncontent-length: 0\r\n\r\n', /twice/],
  ])('refuses %j', (block, reason) => {
    const result = parseHttpRequest(bytes(block));
    expect(typeof result).toBe('string');
    expect(result).toMatch(reason);
  });
});

describe('renderHead', () => {
  it('writes the status line and each raw header with CRLF, then the empty line', () => {
    const head = renderHead('HTTP/1.0 200 OK', [
      bytes('Content-Type'),
      bytes('text/plain'),
      bytes('Set-Cookie'),
      bytes('a=1'),
      bytes('set-cookie'),
      bytes('b=2'),
    ]);
    expect(head.toString('latin1')).toBe(
      'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n',
    );
  });

  it('copies header bytes as received (also above 0x7f, and views into a larger chunk) and writes a bare head', () => {
    const chunk = Buffer.from([...Buffer.from('xX-Name: caf'), 0xe9, 0xff, ...Buffer.from('\r\n')]);
    const head = renderHead('HTTP/1.1 200 ', [chunk.subarray(1, 7), chunk.subarray(9, 14)]);
    expect([...head]).toEqual([...Buffer.from('HTTP/1.1 200 \r\nX-Name: caf'), 0xe9, 0xff, 13, 10, 13, 10]);
    expect(renderHead('HTTP/2 204', []).toString('latin1')).toBe('HTTP/2 204\r\n\r\n');
  });
});

describe('http:// and https:// targets', () => {
  it('parses them as TCP targets of their scheme, TLS for https', () => {
    expect(parseTarget('http://127.0.0.1:8080')).toEqual({
      kind: 'tcp',
      scheme: 'http',
      host: '127.0.0.1',
      port: 8080,
      tls: false,
      text: 'http://127.0.0.1:8080',
    });
    expect(parseTarget('https://localhost:8443/')).toMatchObject({
      scheme: 'https',
      host: 'localhost',
      port: 8443,
      tls: true,
    });
    expect(parseTarget('HTTP://[::1]:80')).toMatchObject({
      scheme: 'http',
      host: '::1',
      port: 80,
      tls: false,
    });
  });

  it.each(['http://localhost', 'http://localhost:8080/api', 'http://:80'])('refuses %j', (target) => {
    expect(() => parseTarget(target)).toThrow(ProtodocError);
    try {
      parseTarget(target);
    } catch (err) {
      expect((err as ProtodocError).code).toBe('PROTODOC_ERR_USAGE');
    }
  });
});

describe('checkHttpSteps', () => {
  const http = parseTarget('http://127.0.0.1:80');
  const usage = (text: string): ProtodocError => {
    try {
      checkHttpSteps(parseTranscript(text, 'api.txt'), () => http);
    } catch (err) {
      return err as ProtodocError;
    }
    throw new Error('checkHttpSteps accepted the transcript');
  };

  it('accepts requests, and leaves steps on other connections alone', () => {
    const text = '>>> GET / HTTP/1.1\n>>>\nHTTP/1.1 200 OK\n...\n>>>@raw\n>>> PING\n+PONG\n';
    expect(() =>
      checkHttpSteps(parseTranscript(text, 'a.txt'), (name) => (name === 'main' ? http : undefined)),
    ).not.toThrow();
  });

  it('names the file and the line of the block that is not a request', () => {
    const err = usage(
      '>>> GET / HTTP/1.1\n>>>\nHTTP/1.1 200 OK\n>>> GET /two HTTP/1.1\n>>> Host: x\nHTTP/1.1 200 OK\n',
    );
    expect(err.code).toBe('PROTODOC_ERR_USAGE');
    expect(err.message).toMatch(/^api\.txt:4: the send block is not an HTTP request: no empty line/);
  });

  it('refuses a greeting: an HTTP server speaks only when asked', () => {
    const err = usage('HTTP/1.1 200 OK\n>>> GET / HTTP/1.1\n>>>\nHTTP/1.1 200 OK\n');
    expect(err.code).toBe('PROTODOC_ERR_USAGE');
    expect(err.message).toMatch(/^api\.txt:1: /);
  });

  it('accepts a Content-Length that fits the body only once the values are in (a value in the body)', () => {
    const text =
      '>>> POST /echo HTTP/1.1\n>>> Content-Length: 5\n>>>\n>>>(vars,no-eol) {{v}}\nHTTP/1.1 201 Created\n...\n';
    expect(() => checkHttpSteps(parseTranscript(text, 'a.txt'), () => http)).not.toThrow();
    // Without a value in it, the body's length is known, and a wrong Content-Length is refused up front.
    const err = usage(
      '>>> POST /echo HTTP/1.1\n>>> Content-Length: 5\n>>>\n>>>(no-eol) hi\nHTTP/1.1 201 Created\n',
    );
    expect(err.message).toMatch(
      /^api\.txt:1: .*Content-Length is 5 but the body after the empty line has 2 bytes/,
    );
  });

  it('refuses starttls on an HTTP connection', () => {
    const err = usage(
      '>>> GET / HTTP/1.1\n>>>\nHTTP/1.1 200 OK\n>>>! starttls\n>>> GET / HTTP/1.1\n>>>\nHTTP/1.1 200 OK\n',
    );
    expect(err.code).toBe('PROTODOC_ERR_USAGE');
    expect(err.message).toMatch(/^api\.txt:5: starttls/);
  });
});

describe('checkFiles with an http:// target', () => {
  it('refuses a block that is not a request before running anything: a usage error at its file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protodoc-http-'));
    try {
      const good = join(dir, 'a-good.txt');
      const bad = join(dir, 'b-bad.txt');
      writeFileSync(good, '>>>! connect http://127.0.0.1:9\n>>> GET / HTTP/1.1\n>>>\nHTTP/1.1 200 OK\n');
      writeFileSync(
        bad,
        '>>>! connect http://127.0.0.1:9\n>>> GET / HTTP/1.1\n>>> Host: x\nHTTP/1.1 200 OK\n',
      );
      // The target would refuse: had anything run, checkFiles would resolve with an error result.
      const error = await checkFiles([good, bad]).then(
        () => null,
        (err: ProtodocError) => err,
      );
      expect(error?.code).toBe('PROTODOC_ERR_USAGE');
      expect(error?.message).toMatch(
        new RegExp(`^${bad.replaceAll('.', '\\.')}:2: the send block is not an HTTP request`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
