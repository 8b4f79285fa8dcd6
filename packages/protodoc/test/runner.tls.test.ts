/** TLS from the first byte (`tls://`) and mid-stream (`>>>! starttls`), against Node TLS servers and nginx. */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type TestCerts } from './helpers/certs.js';
import { failedStep, run, statuses, text } from './helpers/run.js';
import { type NginxServer, startNginx } from './helpers/servers.js';
import {
  closedAfterEach,
  echoServer,
  onLines,
  startTestServer,
  type TestServer,
} from './helpers/tcp-servers.js';

let certs: TestCerts;
let nginx: NginxServer;
beforeAll(async () => {
  certs = makeCerts();
  nginx = await startNginx({
    files: { 'index.html': 'secret\n' },
    tls: { keyPath: certs.keyPath, certPath: certs.certPath },
  });
});
afterAll(async () => {
  await nginx?.stop();
  certs?.remove();
});

const serve = closedAfterEach();

describe('tls:// targets', () => {
  it('talks TLS to a server whose certificate chains to the given CA', async () => {
    const server = await serve(echoServer(undefined, { tls: { key: certs.key, cert: certs.cert } }));
    const target = `tls://localhost:${server.port}`;
    const result = await run('>>> hello over tls\nhello over tls\n', { target, tls: { ca: certs.ca } });
    expect(result.status).toBe('passed');
    // The server saw the plain text only after decryption: the bytes on the wire were TLS.
    expect(text(server.received[0]!)).toBe('hello over tls\r\n');
  });

  it('refuses an untrusted certificate as an error result naming the target', async () => {
    const server = await serve(echoServer(undefined, { tls: { key: certs.key, cert: certs.cert } }));
    const target = `tls://localhost:${server.port}`;
    const result = await run('>>> hi\nhi\n', { target });
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_TLS');
    expect(result.error?.message).toContain(target);
    expect(statuses(result)).toEqual(['skipped']);
  });

  it('accepts any certificate with insecure', async () => {
    const server = await serve(echoServer(undefined, { tls: { key: certs.key, cert: certs.cert } }));
    const result = await run('>>> hi\nhi\n', {
      target: `tls://127.0.0.1:${server.port}`,
      tls: { insecure: true },
    });
    expect(result.status).toBe('passed');
  });

  it('reports a plain-text server as a TLS error', async () => {
    const server = await serve(startTestServer((socket) => socket.write('220 plain text here\r\n')));
    const result = await run('>>> hi\nhi\n', {
      target: `tls://127.0.0.1:${server.port}`,
      tls: { ca: certs.ca },
    });
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_TLS');
  });

  it('bounds a handshake the server never answers by the timeout', async () => {
    const server = await serve(startTestServer(() => {}));
    const result = await run('>>> hi\nhi\n', {
      target: `tls://127.0.0.1:${server.port}`,
      tls: { ca: certs.ca },
      timeoutMs: 200,
    });
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_CONNECT_TIMEOUT');
  });

  it('gets a page from nginx over TLS on a keep-alive connection', async () => {
    const get = '>>> GET /index.html HTTP/1.1\n>>> Host: localhost\n>>>\nHTTP/1.1 200 OK\n...\n\nsecret\n';
    const result = await run(`${get}${get}`, { target: `tls://${nginx.tlsTarget}`, tls: { ca: certs.ca } });
    expect(result.status).toBe('passed');
    expect(statuses(result)).toEqual(['passed', 'passed']);
  });
});

/**
 * A tiny SMTP-like server: greets, answers `STARTTLS` with `220 go ahead` and upgrades; over TLS it
 * answers each line with `250 secure LINE` (and only there, so a pass proves the upgrade happened).
 */
function startTlsServer(): Promise<TestServer & { servernames: (string | false)[] }> {
  const servernames: (string | false)[] = [];
  return startTestServer((socket: Socket) => {
    let upgraded = false;
    socket.write('220 ready\r\n');
    onLines(socket, (line) => {
      if (upgraded) return;
      if (line !== 'STARTTLS') {
        socket.write(`250 plain ${line}\r\n`);
        return;
      }
      upgraded = true;
      socket.write('220 go ahead\r\n', () => {
        const secure = new TLSSocket(socket, { isServer: true, key: certs.key, cert: certs.cert });
        // `servername` is false when the client sent no SNI, null before the handshake.
        secure.on('secure', () => servernames.push(secure.servername ?? false));
        secure.on('error', () => {});
        onLines(secure, (inner) => secure.write(`250 secure ${inner}\r\n`));
        secure.on('end', () => secure.end());
      });
    });
  }).then((server) => Object.assign(server, { servernames }));
}

describe('>>>! starttls', () => {
  const transcript =
    '220 ready\n>>> EHLO me\n250 plain EHLO me\n>>> STARTTLS\n220 go ahead\n>>>! starttls localhost\n>>> MAIL\n250 secure MAIL\n>>> RCPT\n250 secure RCPT\n';

  it('upgrades the connection mid-stream and goes on over TLS', async () => {
    const server = await serve(startTlsServer());
    const result = await run(transcript, { target: server.target, tls: { ca: certs.ca } });
    expect(result.status).toBe('passed');
    expect(statuses(result)).toEqual(['passed', 'passed', 'passed', 'passed', 'passed']);
    expect(server.servernames).toEqual(['localhost']);
  });

  it('reports a failed upgrade as an error result after the steps that passed', async () => {
    const server = await serve(startTlsServer());
    const result = await run(transcript, { target: server.target });
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_TLS');
    expect(result.error?.message).toContain(server.target);
    expect(statuses(result)).toEqual(['passed', 'passed', 'passed', 'skipped', 'skipped']);
  });

  it('calls a failed upgrade a failed STARTTLS handshake at the line of the step, not "cannot connect"', async () => {
    const server = await serve(startTlsServer());
    const result = await run(transcript, { target: server.target });
    expect(result.error).toMatchObject({ code: 'PROTODOC_ERR_TLS', line: 7, connection: 'main' });
    expect(result.error?.message).toMatch(
      new RegExp(`^STARTTLS handshake with ${server.target} failed: (self-signed|unable to verify)`),
    );
  });

  it('checks the certificate against the server name given to starttls', async () => {
    const server = await serve(startTlsServer());
    const result = await run(transcript.replace('starttls localhost', 'starttls other.example'), {
      target: server.target,
      tls: { ca: certs.ca },
    });
    expect(result.status).toBe('error');
    expect(result.error?.code).toBe('PROTODOC_ERR_TLS');
    expect(server.servernames).toEqual([]);
  });

  it('fails the upgrade step when the server answers STARTTLS with plain text instead', async () => {
    // The server never upgrades: it answers with another plain line, which is no TLS handshake.
    const server = await serve(
      startTestServer((socket) => {
        socket.write('220 ready\r\n');
        onLines(socket, (line) => socket.write(`500 no ${line}\r\n`));
      }),
    );
    const result = await run('220 ready\n>>>! starttls\n>>> HELLO\n250 secure HELLO\n', {
      target: server.target,
      tls: { ca: certs.ca },
      timeoutMs: 300,
    });
    expect(result.status).toBe('error');
    expect(['PROTODOC_ERR_TLS', 'PROTODOC_ERR_CONNECT_TIMEOUT']).toContain(result.error?.code);
  });

  it('does not let plain-text bytes sent before the upgrade pass as part of the TLS session', async () => {
    // STARTTLS command injection, server side: plain bytes after `220 go ahead` must not count as a reply.
    const server = await serve(
      startTestServer((socket) => {
        socket.write('220 ready\r\n');
        onLines(socket, (line) => {
          if (line !== 'STARTTLS') return;
          socket.write('220 go ahead\r\n250 secure MAIL\r\n', () => {
            const secure = new TLSSocket(socket, { isServer: true, key: certs.key, cert: certs.cert });
            secure.on('error', () => {});
            onLines(secure, (inner) => secure.write(`250 secure ${inner}\r\n`));
          });
        });
      }),
    );
    const result = await run(
      '220 ready\n>>> STARTTLS\n220 go ahead\n>>>! starttls localhost\n>>> MAIL\n250 secure MAIL\n',
      {
        target: server.target,
        tls: { ca: certs.ca },
        settleMs: 50,
      },
    );
    expect(result.status).toBe('failed');
    const step = failedStep(result);
    expect(step.index).toBe(2);
    expect(step.failure.reason).toBe('mismatch');
    expect(step.failure.message).toContain('plain text before the TLS handshake');
    expect(text(step.failure.received)).toBe('250 secure MAIL\r\n');
  });

  it('fails the next step when the reply to STARTTLS is wrong', async () => {
    const server = await serve(startTlsServer());
    const result = await run(transcript.replace('220 go ahead\n', '220 go ahead now\n'), {
      target: server.target,
      tls: { ca: certs.ca },
    });
    expect(result.status).toBe('failed');
    const step = failedStep(result);
    expect(step.index).toBe(2);
    expect(text(step.failure.received)).toBe('220 go ahead\r\n');
  });
});
