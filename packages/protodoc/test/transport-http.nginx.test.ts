/** http:// targets against nginx: the transcripts that pass over raw TCP pass through undici too. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failedStep, run, statuses, text } from './helpers/run.js';
import { type NginxServer, startNginx } from './helpers/servers.js';

let nginx: NginxServer;
const big = `${'y'.repeat(1023)}\n`;
beforeAll(async () => {
  nginx = await startNginx({
    files: { 'hello.txt': 'hello world\n', 'big.txt': big.repeat(1024) },
    serverConfig:
      'location = /teapot { add_header X-Brew Earl-Grey always; return 418 "short and stout\\n"; }',
  });
});
afterAll(async () => {
  await nginx?.stop();
});

const get = (path: string, extra = ''): string =>
  `>>> GET ${path} HTTP/1.1\n>>> Host: localhost\n${extra}>>>\n`;
const HELLO = 'HTTP/1.1 200 OK\nServer: nginx...\n...\nContent-Length: 12\n...\n\nhello world\n';

describe('http:// targets against nginx', () => {
  it('passes the transcript that passes over raw TCP, on one keep-alive connection', async () => {
    const transcript = `${get('/hello.txt')}${HELLO}${get('/hello.txt')}${HELLO}${get('/hello.txt', '>>> Connection: close\n')}${HELLO}`;
    for (const target of [nginx.target, `http://${nginx.target}`]) {
      const result = await run(transcript, { target });
      expect(statuses(result)).toEqual(['passed', 'passed', 'passed']);
    }
  });

  it('answers HEAD with headers only and keeps the connection open for the next request', async () => {
    const head =
      '>>> HEAD /hello.txt HTTP/1.1\n>>> Host: localhost\n>>>\nHTTP/1.1 200 OK\n...\nContent-Length: 12\n...\n\n';
    const result = await run(`${head}${get('/hello.txt')}${HELLO}`, { target: `http://${nginx.target}` });
    expect(statuses(result)).toEqual(['passed', 'passed']);
  });

  it('shows headers as nginx sent them, in order, and the status line as received (as over TCP)', async () => {
    // nginx has no reason phrase for 418: its status line is `HTTP/1.1 418 ` with the space.
    const transcript = `${get('/teapot')}HTTP/1.1 418 \nServer: nginx...\nDate: ...\nContent-Type: application/octet-stream\nContent-Length: 16\nConnection: keep-alive\nX-Brew: Earl-Grey\n\nshort and stout\n`;
    for (const target of [nginx.target, `http://${nginx.target}`]) {
      const result = await run(transcript, { target });
      expect(result.status).toBe('passed');
    }
  });

  it('reports a 404 against an expected 200 with nginx’s whole page', async () => {
    const result = await run(`${get('/missing.txt')}HTTP/1.1 200 OK\n...\n`, {
      target: `http://${nginx.target}`,
      settleMs: 600_000,
      timeoutMs: 600_000,
    });
    const step = failedStep(result);
    expect(step.failure.reason).toBe('mismatch');
    expect(step.failure.line).toBe(4);
    const received = text(step.failure.received);
    expect(received.startsWith('HTTP/1.1 404 Not Found\r\nServer: nginx')).toBe(true);
    expect(received.endsWith('</html>\r\n')).toBe(true);
  });

  it('matches a 1 MB body ending in ... at the end of the response', async () => {
    const result = await run(`${get('/big.txt')}HTTP/1.1 200 OK\n...\n\n${big}...\n`, {
      target: `http://${nginx.target}`,
      settleMs: 600_000,
      timeoutMs: 600_000,
    });
    expect(result.status).toBe('passed');
  });
});
