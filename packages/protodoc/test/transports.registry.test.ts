/**
 * The transport registry loads a transport's module, and its library, only for a run whose targets need it:
 * a redis transcript never loads undici or ws, and an HTTP one loads undici's Client, not all of undici.
 * Each run is a fresh Node process, the library as users import it (dist/), which reports the modules of
 * node_modules that it loaded.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { buildCli, ROOT } from './build-cli.js';
import { startTestServer, type TestServer } from './helpers/tcp-servers.js';

let dir: string;
let tcp: TestServer;
let http: Server;
let wsServer: WebSocketServer;
beforeAll(async () => {
  buildCli();
  dir = mkdtempSync(join(tmpdir(), 'protodoc-registry-'));
  tcp = await startTestServer((socket) => socket.on('data', () => socket.write('+PONG\r\n')));
  http = createHttpServer((_req, res) => res.end('ok\n'));
  wsServer = new WebSocketServer({ server: http });
  wsServer.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await tcp?.close();
  for (const client of wsServer?.clients ?? []) client.terminate();
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(null)));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Checks `transcript` against `target` in a fresh process: its status and the packages' files it loaded. */
function check(transcript: string, target: string): Promise<{ status: string; loaded: string[] }> {
  const file = join(dir, `t${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, transcript);
  const script = `
    import { createRequire } from 'node:module';
    const { checkFiles } = await import(${JSON.stringify(join(ROOT, 'packages/protodoc/dist/index.js'))});
    const { summary } = await checkFiles([${JSON.stringify(file)}], { connect: ${JSON.stringify(target)} });
    const loaded = Object.keys(createRequire(import.meta.url).cache)
      .filter((path) => /node_modules\\/(undici|ws)\\//.test(path))
      .map((path) => path.slice(path.indexOf('node_modules/') + 'node_modules/'.length));
    console.log(JSON.stringify({ status: summary.results[0]?.status, loaded }));
  `;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: ROOT },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as { status: string; loaded: string[] });
      },
    );
  });
}

describe('the transport registry', () => {
  it('loads neither undici nor ws for a byte-stream target', async () => {
    expect(await check('>>> PING\n+PONG\n', tcp.target)).toEqual({ status: 'passed', loaded: [] });
  });

  it("loads undici's Client for an http:// target, not undici's index (fetch, WebSocket, ...)", async () => {
    const port = (http.address() as AddressInfo).port;
    const { status, loaded } = await check(
      '>>> GET / HTTP/1.1\n>>>\nHTTP/1.1 200 OK\n...\n\nok\n',
      `http://127.0.0.1:${port}`,
    );
    expect(status).toBe('passed');
    expect(loaded).toContain('undici/lib/dispatcher/client.js');
    expect(loaded).not.toContain('undici/index.js');
    expect(loaded.filter((path) => path.startsWith('ws/'))).toEqual([]);
  });

  it('loads ws, and no undici, for a ws:// target', async () => {
    const port = (http.address() as AddressInfo).port;
    const { status, loaded } = await check('>>> hi\nhi\n', `ws://127.0.0.1:${port}/`);
    expect(status).toBe('passed');
    expect(loaded).toContain('ws/lib/websocket.js');
    expect(loaded.filter((path) => path.startsWith('undici/'))).toEqual([]);
  });
});
