/**
 * Picks a TCP port that is free right now on the loopback interface, for `{port}` in `--server`.
 */
import { createServer } from 'node:net';

/**
 * Asks the kernel for a free port by listening on port 0, then releases it for the caller's server.
 * Another process could take it in between; the kernel hands out ephemeral ports round-robin, so
 * that is rare, and a server that fails to bind is reported by `startServer`.
 * @param host interface to probe @default '127.0.0.1'
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
