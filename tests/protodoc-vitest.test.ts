/**
 * Dogfood: this repository's example transcripts as Vitest tests through `protodoc/vitest`, the export
 * a user's suite imports, each call with its real server (redis-server, memcached, the example HTTP
 * server) started on a free port and stopped after its tests. One test per transcript, and for
 * memcached one per step. (packages/protodoc/test/vitest.describe.test.ts shows these tests failing.)
 */
import { join, relative } from 'node:path';
import { buildCli, ROOT } from '../packages/protodoc/test/build-cli.js';

// The export resolves to the built file (package.json `exports`): build it before importing.
buildCli();
const { describeTranscripts } = await import('protodoc/vitest');

/** Paths as a user writes them, relative to where vitest runs, so the tests are named that way. */
const example = (name: string): string => relative(process.cwd(), join(ROOT, 'examples/protodoc', name));

await describeTranscripts([example('redis.txt'), example('redis-tutorial.md'), example('redis-pubsub.txt')], {
  name: 'redis examples',
  server: "redis-server --port {port} --save ''",
  connect: '127.0.0.1:{port}',
});

await describeTranscripts(example('memcached.txt'), {
  name: 'memcached example, step by step',
  each: 'step',
  server: 'memcached -l 127.0.0.1 -p {port} -U 0 -u nobody',
  connect: '127.0.0.1:{port}',
});

await describeTranscripts([example('http-undici.txt'), example('http-session.txt')], {
  name: 'HTTP examples through undici',
  server: `node ${JSON.stringify(join(ROOT, 'examples/protodoc/http-server.mjs'))} {port}`,
  connect: 'http://127.0.0.1:{port}',
});
