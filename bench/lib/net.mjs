// Loopback ports for the servers the benchmarks start.
import { connect, createServer } from 'node:net';

/**
 * A port on 127.0.0.1 that was free a moment ago (listen on 0, read it, close).
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = listeningPort(server);
      server.close(() => resolve(port));
    });
  });
}

/**
 * The TCP port a listening server is bound to.
 * @param {import('node:net').Server} server  listening on a TCP address (not a pipe or Unix socket)
 * @returns {number}
 */
export function listeningPort(server) {
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error(`expected a server listening on a TCP port, got ${address}`);
  }
  return address.port;
}

/**
 * Resolve once 127.0.0.1:port accepts a connection; reject after `timeoutMs` or when `alive()` turns false.
 * @param {number} port
 * @param {{ timeoutMs?: number, alive?: () => boolean }} [options]  timeoutMs @default 10000
 */
export async function waitForPort(port, { timeoutMs = 10_000, alive = () => true } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await canConnect(port)) return;
    if (!alive()) throw new Error(`server for port ${port} exited before listening`);
    if (Date.now() > deadline) throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs}ms`);
    // Startup polling is outside every timed region.
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * @param {number} port
 * @returns {Promise<boolean>}  whether 127.0.0.1:port accepted a connection
 */
function canConnect(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
