import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProtodocError } from '../src/errors.js';
import { freePort } from '../src/free-port.js';
import { parseTarget } from '../src/target.js';
import { StreamTransport } from '../src/transports/stream.js';
import type { TransportEvents } from '../src/transports/transport.js';
import { makeCerts } from './helpers/certs.js';
import { onLines, startTestServer, type TestServer } from './helpers/tcp-servers.js';

/** A handler that records what the connection reports. */
function recorder(): TransportEvents & { data: Buffer[]; closed: Promise<void> } {
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  const data: Buffer[] = [];
  return {
    data,
    closed,
    onData: (_conn, chunk) => data.push(chunk),
    onReplyEnd: () => {},
    onClose: () => markClosed(),
  };
}

async function openError(conn: StreamTransport, timeoutMs = 5000): Promise<ProtodocError> {
  try {
    await conn.open(timeoutMs);
  } catch (err) {
    if (err instanceof ProtodocError) return err;
    throw err;
  }
  throw new Error('expected open() to fail');
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
async function serve(server: Promise<TestServer>): Promise<TestServer> {
  const started = await server;
  cleanups.push(() => started.close());
  return started;
}

describe('StreamTransport', () => {
  it('connects, delivers bytes, half-closes, and reports the server closing', async () => {
    let serverSawEnd = false;
    const server = await serve(
      startTestServer((socket) => {
        onLines(socket, (line) => socket.write(`got ${line}\r\n`));
        socket.on('end', () => {
          serverSawEnd = true;
          socket.end('bye\r\n');
        });
      }),
    );
    const handler = recorder();
    const conn = new StreamTransport('main', parseTarget(server.target), handler);
    await conn.open(5000);
    conn.send(Buffer.from('ping\r\n'));
    conn.end();
    await handler.closed;
    expect(serverSawEnd).toBe(true);
    expect(Buffer.concat(handler.data).toString()).toBe('got ping\r\nbye\r\n');
    expect(conn.closed).toBe(true);
    expect(conn.error).toBeNull();
    conn.send(Buffer.from('ignored after close\r\n')); // no throw
  });

  it('delivers a reply much larger than its read buffer whole, every chunk as it was read', async () => {
    // 1 MB in one write: many reads, into several of the reader's 64 KB pools. Every chunk is kept to the end
    // (as the matcher keeps a reply's chunks): one read overwriting an earlier one's bytes would show here.
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 12)) & 0xff;
    const server = await serve(startTestServer((socket) => socket.end(big)));
    const handler = recorder();
    await new StreamTransport('main', parseTarget(server.target), handler).open(5000);
    await handler.closed;
    expect(handler.data.length).toBeGreaterThan(1);
    expect(Buffer.concat(handler.data).equals(big)).toBe(true);
  });

  it("reads a TLS server's greeting through its reader, and tells it after open() resolves", async () => {
    const certs = makeCerts();
    cleanups.push(() => certs.remove());
    const server = await serve(
      startTestServer((socket) => socket.write('220 ready\r\n'), {
        tls: { key: certs.key, cert: certs.cert },
      }),
    );
    const events: string[] = [];
    const handler = recorder();
    const conn = new StreamTransport('main', parseTarget(`tls://localhost:${server.port}`), {
      ...handler,
      onData: (c, chunk) => {
        events.push(`data ${chunk.toString().trim()}`);
        handler.onData(c, chunk);
      },
    });
    await conn.open(5000, { ca: certs.ca });
    events.push('open');
    await vi.waitFor(() => expect(events).toEqual(['open', 'data 220 ready']));
    conn.destroy();
  });

  it('connects to a Unix socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protodoc-conn-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 's.sock');
    await serve(startTestServer((socket) => socket.end('unix hello\r\n'), { unixPath: path }));
    const handler = recorder();
    const conn = new StreamTransport('main', parseTarget(`unix:${path}`), handler);
    await conn.open(5000);
    await handler.closed;
    expect(Buffer.concat(handler.data).toString()).toBe('unix hello\r\n');
  });

  it('connects to a bracketed IPv6 address', async () => {
    const server = await serve(startTestServer((socket) => socket.end('v6 hello\r\n'), { host: '::1' }));
    expect(server.target).toBe(`[::1]:${server.port}`);
    const handler = recorder();
    await new StreamTransport('main', parseTarget(server.target), handler).open(5000);
    await handler.closed;
    expect(Buffer.concat(handler.data).toString()).toBe('v6 hello\r\n');
  });

  it('reports a refused connection with the target', async () => {
    const target = `127.0.0.1:${await freePort()}`;
    const err = await openError(new StreamTransport('main', parseTarget(target), recorder()));
    expect(err.code).toBe('PROTODOC_ERR_CONNECT');
    expect(err.message).toBe(`cannot connect to ${target}: connection refused`);
  });

  it('reports a missing Unix socket', async () => {
    const target = `unix:${join(tmpdir(), 'protodoc-no-such-dir', 'none.sock')}`;
    const err = await openError(new StreamTransport('main', parseTarget(target), recorder()));
    expect(err.code).toBe('PROTODOC_ERR_CONNECT');
    expect(err.message).toContain(target);
  });

  it('bounds connecting by the timeout when the server never accepts', async () => {
    // A listener with a backlog of 0 that never accepts: once its queue is full the kernel drops
    // further SYNs, so the next connect hangs.
    const port = await freePort();
    const listener = spawn(
      'python3',
      [
        '-c',
        `import socket,sys,time\ns=socket.socket()\ns.bind(('127.0.0.1',${port}))\ns.listen(0)\nprint('ready',flush=True)\ntime.sleep(60)`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    cleanups.push(() => void listener.kill('SIGKILL'));
    await new Promise((resolve) => listener.stdout.once('data', resolve));
    // With a backlog of 0 the queue holds one connection: fill it, then ours is the one that hangs.
    const filler = connect({ host: '127.0.0.1', port });
    filler.on('error', () => {});
    cleanups.push(() => void filler.destroy());
    await new Promise((resolve) => filler.once('connect', resolve));
    const err = await openError(
      new StreamTransport('main', parseTarget(`127.0.0.1:${port}`), recorder()),
      300,
    );
    expect(err.code).toBe('PROTODOC_ERR_CONNECT_TIMEOUT');
    expect(err.message).toContain('timed out after 300ms');
  });

  it('reports a reset with its error code', async () => {
    const server = await serve(startTestServer((socket) => onLines(socket, () => socket.resetAndDestroy())));
    const handler = recorder();
    const conn = new StreamTransport('main', parseTarget(server.target), handler);
    await conn.open(5000);
    conn.send(Buffer.from('reset me\r\n'));
    await handler.closed;
    expect(conn.error?.code).toBe('ECONNRESET');
  });

  it('refuses STARTTLS on a connection the server closed', async () => {
    const server = await serve(startTestServer((socket) => socket.end()));
    const handler = recorder();
    const conn = new StreamTransport('main', parseTarget(server.target), handler);
    await conn.open(5000);
    await handler.closed;
    let error: unknown;
    await conn.startTls(5000).catch((err) => {
      error = err;
    });
    expect((error as ProtodocError).code).toBe('PROTODOC_ERR_TLS');
  });

  it('destroy() closes without reporting to the handler', async () => {
    const server = await serve(startTestServer(() => {}));
    let reported = false;
    const conn = new StreamTransport('main', parseTarget(server.target), {
      onData: () => {},
      onReplyEnd: () => {},
      onClose: () => {
        reported = true;
      },
    });
    await conn.open(5000);
    conn.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(conn.closed).toBe(true);
    expect(reported).toBe(false);
    expect(conn.socket?.destroyed).toBe(true);
  });
});
