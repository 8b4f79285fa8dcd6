import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failedStep, run, statuses, text } from './helpers/run.js';
import { type NginxServer, startNginx } from './helpers/servers.js';

let nginx: NginxServer;
const big = 'x'.repeat(1023) + '\n';
beforeAll(async () => {
  nginx = await startNginx({
    files: { 'hello.txt': 'hello world\n', 'big.txt': big.repeat(2048) },
  });
});
afterAll(async () => {
  await nginx?.stop();
});

const get = (path: string, extra = ''): string =>
  `>>> GET ${path} HTTP/1.1\n>>> Host: localhost\n${extra}>>>\n`;

describe('runner against nginx', () => {
  it('checks several requests on one keep-alive connection, headers matched with ...', async () => {
    const reply = 'HTTP/1.1 200 OK\nServer: nginx...\n...\nContent-Length: 12\n...\n\nhello world\n';
    const result = await run(`${get('/hello.txt')}${reply}${get('/hello.txt')}${reply}`, {
      target: nginx.target,
    });
    expect(result.status).toBe('passed');
    expect(statuses(result)).toEqual(['passed', 'passed']);
  });

  it('reports the status line that differs, with the whole reply', async () => {
    const result = await run(`${get('/missing.txt')}HTTP/1.1 200 OK\n...\n`, {
      target: nginx.target,
      settleMs: 100,
    });
    const step = failedStep(result);
    expect(step.failure.reason).toBe('mismatch');
    expect(step.failure.line).toBe(4);
    const received = text(step.failure.received);
    expect(received.startsWith('HTTP/1.1 404 Not Found\r\n')).toBe(true);
    expect(received).toContain('</html>');
  });

  it('accepts a reply ended by the server closing the connection', async () => {
    const result = await run(
      `${get('/hello.txt', '>>> Connection: close\n')}HTTP/1.1 200 OK\n...\n\nhello world\n`,
      { target: nginx.target, settleMs: 600_000 },
    );
    expect(result.status).toBe('passed');
  });

  it('matches a 2 MB body with a trailing ..., complete after the quiet period', async () => {
    const head = `${get('/big.txt')}HTTP/1.1 200 OK\n...\n\n${'x'.repeat(1023)}\n`;
    const result = await run(`${head}...\n`, { target: nginx.target, settleMs: 100 });
    expect(result.status).toBe('passed');
    // Completion is lazy: an exact line after `...` ends the reply at its first occurrence, and the
    // rest of the body is then left over.
    const lazy = await run(`${head}...\n${'x'.repeat(1023)}\n`, { target: nginx.target, settleMs: 100 });
    const step = failedStep(lazy);
    expect(step.failure.reason).toBe('leftover');
    expect(step.failure.received.length).toBe(big.length * 2046);
  });
});
