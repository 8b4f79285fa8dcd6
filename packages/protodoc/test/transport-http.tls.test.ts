/** https:// targets: certificate checks as for tls:// (--cacert, --insecure), against node:https and nginx. */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type TestCerts } from './helpers/certs.js';
import { run, statuses } from './helpers/run.js';
import { type NginxServer, startNginx } from './helpers/servers.js';

let certs: TestCerts;
let server: Server;
let port: number;
let nginx: NginxServer;
beforeAll(async () => {
  certs = makeCerts();
  server = createServer({ key: certs.key, cert: certs.cert }, (req, res) => {
    res.sendDate = false;
    res.writeHead(200, [
      'Content-Length',
      '7',
      'X-Secure',
      String((req.socket as TLSSocket).encrypted === true),
    ]);
    res.end('secret\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  nginx = await startNginx({
    files: { 'index.html': 'over tls\n' },
    tls: { keyPath: certs.keyPath, certPath: certs.certPath },
  });
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await nginx?.stop();
  certs?.remove();
});

const GET = '>>> GET / HTTP/1.1\n>>>\n';
const REPLY =
  'HTTP/1.1 200 OK\nContent-Length: 7\nX-Secure: true\nConnection: keep-alive\nKeep-Alive: timeout=5\n\nsecret\n';

describe('https:// targets', () => {
  it('talks HTTP over TLS to a server whose certificate chains to the given CA', async () => {
    const result = await run(`${GET}${REPLY}${GET}${REPLY}`, {
      target: `https://localhost:${port}`,
      tls: { ca: certs.ca },
    });
    expect(statuses(result)).toEqual(['passed', 'passed']);
  });

  it('refuses an untrusted certificate as an error result with the TLS code, naming the target', async () => {
    const target = `https://localhost:${port}`;
    const result = await run(`${GET}${REPLY}`, { target });
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_TLS');
    expect(result.error?.message).toContain(target);
  });

  it('accepts any certificate with insecure', async () => {
    const result = await run(`${GET}${REPLY}`, {
      target: `https://127.0.0.1:${port}`,
      tls: { insecure: true },
    });
    expect(result.status).toBe('passed');
  });

  it('fails the TLS handshake against a plain HTTP listener', async () => {
    const result = await run(`${GET}${REPLY}`, { target: `https://${nginx.target}`, tls: { ca: certs.ca } });
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_TLS');
  });

  it('checks nginx over TLS', async () => {
    const result = await run(
      `>>> GET /index.html HTTP/1.1\n>>> Host: localhost\n>>>\nHTTP/1.1 200 OK\nServer: nginx...\n...\n\nover tls\n`,
      { target: `https://localhost:${nginx.tlsTarget!.split(':')[1]}`, tls: { ca: certs.ca } },
    );
    expect(result.status).toBe('passed');
  });
});
