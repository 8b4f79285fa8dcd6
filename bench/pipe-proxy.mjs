#!/usr/bin/env node
// The floor for benchmark 6: the least a Node proxy can do, each client connection piped to the target and back,
// with no recording. What `protodoc record` costs beyond this is its own; up to this, any proxy in Node pays it.
//   node bench/pipe-proxy.mjs TARGET_PORT    (prints "listening on 127.0.0.1:PORT" when ready)
import { connect, createServer } from 'node:net';

const target = Number(process.argv[2]);
if (!Number.isInteger(target)) {
  console.error('usage: node bench/pipe-proxy.mjs TARGET_PORT');
  process.exitCode = 2;
} else {
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    console.log(`listening on 127.0.0.1:${typeof address === 'object' && address ? address.port : 0}, `);
  });
  process.on('SIGINT', () => server.close());
  process.on('SIGTERM', () => server.close());
}
