/**
 * Small in-test servers that misbehave on purpose: split replies byte by byte, batch many replies
 * in one packet, stall, reset, close early, send invalid UTF-8 or megabytes. Each listens on a free
 * 127.0.0.1 port (or a Unix socket), optionally with TLS, and `close()` drops every connection.
 */
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterEach } from 'vitest';

export interface TestServer {
  /** `127.0.0.1:PORT`, `[::1]:PORT` or `unix:PATH`. */
  target: string;
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Every byte each connection received, in accept order. */
  readonly received: Buffer[];
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Serve TLS from the first byte with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
  /** Listen on this Unix socket path instead of a TCP port. */
  unixPath?: string;
  /** Loopback address to listen on (`::1` for IPv6). @default '127.0.0.1' */
  host?: string;
}

/** Starts a server that hands each accepted socket to `onConnection`. */
export function startTestServer(
  onConnection: (socket: Socket, index: number) => void,
  options: TestServerOptions = {},
): Promise<TestServer> {
  const host = options.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  const received: Buffer[] = [];
  let accepted = 0;
  const handle = (socket: Socket): void => {
    const index = accepted++;
    received[index] = Buffer.alloc(0);
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      received[index] = Buffer.concat([received[index]!, chunk]);
    });
    // Tests provoke resets and early closes; the server side must not crash on them.
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket, index);
  };
  const server: Server = options.tls
    ? createTlsServer({ key: options.tls.key, cert: options.tls.cert, allowHalfOpen: true }, handle)
    : createNetServer({ allowHalfOpen: true }, handle);
  // Raw sockets too: a TLS connection whose handshake failed never reaches `handle`, and with
  // allowHalfOpen nobody would close it.
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const onListening = (): void => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      resolve({
        target: options.unixPath
          ? `unix:${options.unixPath}`
          : host.includes(':')
            ? `[${host}]:${port}`
            : `${host}:${port}`,
        port,
        get accepted() {
          return accepted;
        },
        received,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    };
    if (options.unixPath) server.listen(options.unixPath, onListening);
    else server.listen(0, host, onListening);
  });
}

/**
 * Calls `onLine` for every complete line the client sends (without its CRLF/LF), in order.
 * Returns nothing; the socket stays in the caller's hands.
 */
export function onLines(socket: Socket, onLine: (line: string) => void): void {
  let pending = '';
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1');
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      onLine(pending.slice(0, newline).replace(/\r$/, ''));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  });
}

/** Writes `bytes` one byte per TCP packet (no Nagle, a macrotask between writes). */
export async function writeByteByByte(socket: Socket, bytes: string | Uint8Array): Promise<void> {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);
  for (let i = 0; i < buffer.length; i++) {
    if (socket.destroyed) return;
    await new Promise<void>((resolve) =>
      socket.write(buffer.subarray(i, i + 1), () => setImmediate(resolve)),
    );
  }
}

/** A line-based echo server: answers each line `X` with `reply(X)` (skip when undefined). */
export function echoServer(
  reply: (line: string) => string | undefined = (line) => `${line}\r\n`,
  options?: TestServerOptions,
): Promise<TestServer> {
  return startTestServer((socket) => {
    onLines(socket, (line) => {
      const answer = reply(line);
      if (answer !== undefined) socket.write(answer);
    });
    socket.on('end', () => socket.end());
  }, options);
}

/**
 * For a test file's top level: returns `serve`, which awaits a starting server and has it closed after
 * the current test. `const serve = closedAfterEach(); const server = await serve(echoServer());`
 */
export function closedAfterEach(): <T extends TestServer>(server: Promise<T>) => Promise<T> {
  const servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async <T extends TestServer>(server: Promise<T>): Promise<T> => {
    const started = await server;
    servers.push(started);
    return started;
  };
}
