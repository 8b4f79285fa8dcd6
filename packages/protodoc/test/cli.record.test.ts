/**
 * `protodoc record` through the real binary, with real clients through the proxy (redis-cli, curl, a
 * Python smtplib client) against real servers (redis, the examples' HTTP server, nginx over TLS,
 * aiosmtpd): each recording is written on SIGINT or SIGTERM, and then passes `protodoc check` against
 * the same kind of server, started afresh. Every wait is for an event: the proxy's listening line, a
 * client's output or exit, the recorder's exit.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findPython } from '../../../tests/setup/requirements.mjs';
import { record } from '../src/record.js';
import { buildCli, type Outcome, ROOT, runBin } from './build-cli.js';
import { makeCerts, type TestCerts } from './helpers/certs.js';
import {
  recording as recordingIn,
  type Started,
  start as startIn,
  stopLeftRunning,
} from './helpers/processes.js';
import { type NginxServer, startNginx, startRedis } from './helpers/servers.js';

let dir: string;
const REDIS = "redis-server --port {port} --save '' --appendonly no";
const HTTP = `node ${join(ROOT, 'examples/protodoc/http-server.mjs')} {port}`;
const SMTP = `sh ${join(ROOT, 'examples/protodoc/smtp/aiosmtpd.sh')} -n -l 127.0.0.1:{port}`;

beforeAll(() => {
  buildCli();
  dir = mkdtempSync(join(tmpdir(), 'protodoc-record-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

afterEach(stopLeftRunning);

const start = (file: string, args: readonly string[], cwd = dir): Started => startIn(file, args, cwd);
const recording = (args: readonly string[]) => recordingIn(args, dir);

/** Runs a client to its end, with `input` on its stdin. */
function client(file: string, args: readonly string[], input: string | Buffer = ''): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { cwd: dir, encoding: 'buffer' }, (error, out, err) =>
      resolve({
        out: out.toString('latin1'),
        err: err.toString('utf8'),
        exit: error ? (typeof error.code === 'number' ? error.code : -1) : 0,
      }),
    );
    // A client may exit without reading all of its input (EPIPE): its exit code says how it went.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}

function read(name: string): string {
  return readFileSync(join(dir, name), 'utf8');
}

describe('protodoc record (the binary)', () => {
  it('records redis-cli, bytes escaped as they need, and the file passes against a fresh redis', async () => {
    const rec = await recording(['--server', REDIS, '--output', 'redis.txt']);
    const cli = (...args: string[]) => client('redis-cli', ['-p', String(rec.port), ...args]);
    expect((await cli('SET', 'greeting', 'hello')).out).toBe('OK\n');
    expect((await cli('GET', 'greeting')).out).toBe('hello\n');
    // -x: the value from stdin, bytes and all: LF, CR inside a line, bytes that are not UTF-8, a bidi override.
    const odd = Buffer.concat([
      Buffer.from('one\ntwo\rthree'),
      Buffer.of(0xff),
      Buffer.from(' user\u202Egnp'),
    ]);
    expect((await client('redis-cli', ['-p', String(rec.port), '-x', 'SET', 'odd'], odd)).out).toBe('OK\n');
    await cli('--no-raw', 'GET', 'odd');
    const stopped = await rec.stop();
    expect(stopped.err).toBe('');
    expect(stopped.out).toMatch(/\nwrote redis\.txt: 4 steps on 4 connections\n$/);
    expect(stopped.exit).toBe(0);
    const text = read('redis.txt');
    expect(text).toMatch(/^>>>! connect 127\.0\.0\.1:\{port\}\n>>>@conn1\n>>> \*3\n>>> \$3\n>>> SET\n/);
    expect(text).toContain('\n>>>(lf) one\n>>>(esc) two\\rthree\\xff user\\u{202e}gnp\n');
    expect(text).toContain(`\n$${odd.length}\none\n>>>= two\\rthree\\xff user\\u{202e}gnp\n`);
    expect(text).not.toMatch(/[\r\u202e]/u);
    const check = await runBin(['check', '--server', REDIS, 'redis.txt'], dir);
    expect(check.out).toMatch(/^PASS redis\.txt \(4 steps, /);
    expect(check.exit).toBe(0);
  });

  it('records two redis-cli clients, SUBSCRIBE and PUBLISH, as two named connections', async () => {
    const rec = await recording(['--server', REDIS, '--output', 'pubsub.txt']);
    const subscriber = start('redis-cli', ['-p', String(rec.port), 'SUBSCRIBE', 'news']);
    await subscriber.waitFor(/^subscribe\nnews\n1\n/m);
    expect((await client('redis-cli', ['-p', String(rec.port), 'PUBLISH', 'news', 'hello'])).out).toBe('1\n');
    await subscriber.waitFor(/^message\nnews\nhello\n/m);
    subscriber.child.kill('SIGTERM');
    await subscriber.exited;
    expect((await rec.stop()).out).toMatch(/\nwrote pubsub\.txt: 3 steps on 2 connections\n$/);
    expect(read('pubsub.txt')).toBe(
      [
        '>>>! connect 127.0.0.1:{port}',
        '>>>@conn1',
        ...['*2', '$9', 'SUBSCRIBE', '$4', 'news'].map((l) => `>>> ${l}`),
        ...['*3', '$9', 'subscribe', '$4', 'news', ':1'],
        '>>>@conn2',
        ...['*3', '$7', 'PUBLISH', '$4', 'news', '$5', 'hello'].map((l) => `>>> ${l}`),
        ':1',
        '>>>@conn1',
        ...['*3', '$7', 'message', '$4', 'news', '$5', 'hello'],
        '',
      ].join('\n'),
    );
    const check = await runBin(['check', '--server', REDIS, 'pubsub.txt'], dir);
    expect(check.out).toMatch(/^PASS pubsub\.txt \(3 steps, /);
    expect(check.exit).toBe(0);
  });

  it('records curl: a Location and a session cookie reused later become captures, Date a pattern', async () => {
    const rec = await recording(['--server', HTTP, '--output', 'session.txt']);
    const base = `http://127.0.0.1:${rec.port}`;
    const created = await client('curl', [
      '-s',
      '-i',
      '-c',
      'jar',
      '--data-binary',
      'hello',
      `${base}/notes`,
    ]);
    const location = /^Location: (\S+)\r$/m.exec(created.out)?.[1];
    expect(location).toMatch(/^\/notes\/[0-9a-f]{8}$/);
    expect((await client('curl', ['-s', '-b', 'jar', `${base}${location}`])).out).toBe('hello');
    // A body with a CR inside, an invisible character and no final newline, echoed back.
    writeFileSync(join(dir, 'body.bin'), 'a\rb\u200Bc');
    expect((await client('curl', ['-s', '--data-binary', '@body.bin', `${base}/echo`])).out).toBe(
      Buffer.from('a\rb\u200Bc').toString('latin1'),
    );
    const stopped = await rec.stop('SIGTERM');
    expect(stopped.out).toMatch(
      /\nwrote session\.txt: 3 steps on 3 connections, capturing \{\{location\}\}, \{\{session\}\}\n$/,
    );
    expect(stopped.exit).toBe(0);
    const text = read('session.txt');
    expect(text).toContain(
      '\n>>>$ Location: /{{location=...}}\n>>>$ Set-Cookie: session={{session=...}};...\n',
    );
    expect(text).toContain('\n>>>(vars) GET /{{location}} HTTP/1.1\n');
    expect(text).toContain('\n>>>(vars) Cookie: session={{session}}\n');
    expect(text).toContain('\nDate: ...\n');
    expect(text).toContain('\n>>>(esc,no-eol) a\\rb\\u{200b}c\n');
    expect(text).toMatch(/\n>>>=\(no-eol\) a\\rb\\u\{200b\}c\n$/);
    const check = await runBin(['check', '--server', HTTP, 'session.txt'], dir);
    expect(check.out).toMatch(/^PASS session\.txt \(3 steps, /);
    expect(check.exit).toBe(0);
  });

  it('records a Python smtplib client: the greeting first, then the conversation', async () => {
    const python = findPython('smtplib');
    expect(python).toBeDefined();
    const rec = await recording(['--server', SMTP, '--output', 'smtp.txt']);
    const script = [
      'import smtplib, sys',
      "with smtplib.SMTP('127.0.0.1', int(sys.argv[1])) as s:",
      "    s.sendmail('a@example.com', ['b@example.com'], 'Subject: hi\\r\\n\\r\\nhello\\r\\n')",
    ].join('\n');
    const sent = await client(python!, ['-c', script, String(rec.port)]);
    expect(sent.err).toBe('');
    expect(sent.exit).toBe(0);
    expect((await rec.stop()).out).toMatch(/\nwrote smtp\.txt: 7 steps on 1 connection\n$/);
    const text = read('smtp.txt');
    expect(text).toMatch(/^>>>! connect 127\.0\.0\.1:\{port\}\n220 .*\n>>> ehlo /);
    expect(text).toContain(
      '\n>>> data\n354 End data with <CR><LF>.<CR><LF>\n>>> Subject: hi\n>>>\n>>> hello\n>>> .\n250 OK\n',
    );
    const check = await runBin(['check', '--server', SMTP, 'smtp.txt'], dir);
    expect(check.out).toMatch(/^PASS smtp\.txt \(7 steps, /);
    expect(check.exit).toBe(0);
  });

  it('warns when a client starts TLS inside a connection (STARTTLS), which it cannot record', async () => {
    const starttls = `sh ${join(ROOT, 'examples/protodoc/smtp/serve-starttls.sh')} {port}`;
    const rec = await recording(['--server', starttls, '--output', 'starttls.txt']);
    const script = [
      'import smtplib, ssl, sys',
      "with smtplib.SMTP('127.0.0.1', int(sys.argv[1])) as s:",
      '    s.starttls(context=ssl._create_unverified_context())',
      '    s.noop()',
    ].join('\n');
    expect((await client(findPython('smtplib')!, ['-c', script, String(rec.port)])).exit).toBe(0);
    const stopped = await rec.stop();
    expect(stopped.err).toBe(
      'warning: conn1: the client started TLS inside the connection (STARTTLS): the proxy sees only ' +
        'encrypted bytes from here on, which a transcript cannot replay\n',
    );
    expect(read('starttls.txt')).toContain('\n>>> STARTTLS\n220 Ready to start TLS\n');
  });

  it('writes --secret values as {{name}} and what --volatile names as ...', async () => {
    const rec = await recording([
      '--server',
      REDIS,
      '--output',
      'secret.txt',
      '--secret',
      'token=s3cr3t-t0ken',
      '--volatile',
      '^\\$?\\d+$',
    ]);
    const cli = (...args: string[]) => client('redis-cli', ['-p', String(rec.port), ...args]);
    expect((await cli('ECHO', 's3cr3t-t0ken')).out).toBe('s3cr3t-t0ken\n');
    await cli('TIME');
    expect((await rec.stop()).exit).toBe(0);
    const text = read('secret.txt');
    expect(text).not.toContain('s3cr3t');
    expect(text).toContain('\n>>>(vars) {{token}}\n>>>$ ...\n>>>$ {{token}}\n');
    // TIME: seconds and microseconds, and their lengths, are patterns.
    expect(text).toMatch(/\n>>> TIME\n\*2\n>>>\$ \.\.\.\n>>>\$ \.\.\.\n>>>\$ \.\.\.\n>>>\$ \.\.\.\n$/);
    const check = await runBin(
      ['check', '--server', REDIS, '--secret', 'token=s3cr3t-t0ken', 'secret.txt'],
      dir,
    );
    expect(check.out).toMatch(/^PASS secret\.txt \(2 steps, /);
    expect(check.exit).toBe(0);
  });

  it('exits 1 without writing a file when nothing went through', async () => {
    const rec = await recording(['--server', REDIS, '--output', 'nothing.txt']);
    const stopped = await rec.stop();
    expect(stopped.err).toBe(
      'error: nothing was recorded (no bytes went through); nothing.txt was not written\n',
    );
    expect(stopped.exit).toBe(1);
    expect(() => read('nothing.txt')).toThrow(/ENOENT/);
  });

  it('says what is wrong in one line: a bad address (2), a missing directory (2), a target that refuses (4)', async () => {
    const bad = await runBin(
      ['record', '--listen', 'nowhere', '--connect', '127.0.0.1:1', '--output', 'x.txt'],
      dir,
    );
    expect(bad).toEqual({
      out: '',
      err: "error: --listen 'nowhere': expected [HOST:]PORT (a port from 0 to 65535; 0 picks a free one)\n",
      exit: 2,
    });
    const noDir = await runBin(
      ['record', '--listen', '0', '--connect', '127.0.0.1:1', '--output', 'no/x.txt'],
      dir,
    );
    expect(noDir).toEqual({ out: '', err: 'error: --output no/x.txt: no such directory no\n', exit: 2 });
    const secret = await runBin(
      ['record', '--listen', '0', '--connect', '127.0.0.1:1', '--output', 'x.txt', '--secret', 'token'],
      dir,
    );
    expect(secret.err).toBe(
      "error: --secret 'token': record needs NAME=VALUE, the value to write as {{NAME}}\n",
    );
    expect(secret.exit).toBe(2);
    // Written as {{NAME}} within a line: a value across lines would reach the file as it is.
    const pem = await runBin(
      [
        'record',
        '--listen',
        '0',
        '--connect',
        '127.0.0.1:1',
        '--output',
        'x.txt',
        '--secret',
        'key=BEGIN\nc2VjcmV0',
      ],
      dir,
    );
    expect(pem).toEqual({
      out: '',
      err: "error: --secret 'key': its value holds a line break, which record cannot write as {{key}} within a line\n",
      exit: 2,
    });
    const refused = await runBin(
      ['record', '--listen', '0', '--connect', '127.0.0.1:1', '--output', 'x.txt'],
      dir,
    );
    expect(refused).toEqual({
      out: '',
      err: 'error: cannot connect to 127.0.0.1:1: connection refused\n',
      exit: 4,
    });
  });
});

describe('protodoc record: TLS targets', () => {
  let certs: TestCerts;
  let nginx: NginxServer;

  beforeAll(async () => {
    certs = makeCerts();
    nginx = await startNginx({
      files: { 'hello.txt': 'Hello, TLS!\n' },
      tls: { keyPath: certs.keyPath, certPath: certs.certPath },
    });
  });

  afterAll(async () => {
    await nginx?.stop();
    certs?.remove();
  });

  it('listens in plain text and connects to an https:// target with TLS; the file says tls://', async () => {
    const target = `https://localhost:${nginx.tlsTarget!.split(':')[1]}`;
    const rec = await recording(['--connect', target, '--cacert', certs.caPath, '--output', 'tls.txt']);
    const got = await client('curl', ['-s', `http://127.0.0.1:${rec.port}/hello.txt`]);
    expect(got.out).toBe('Hello, TLS!\n');
    expect((await rec.stop()).exit).toBe(0);
    const text = read('tls.txt');
    expect(text).toMatch(/^>>>! connect tls:\/\/localhost:\d+\n>>> GET \/hello\.txt HTTP\/1\.1\n/);
    expect(text).toContain('\nDate: ...\n');
    expect(text).toContain('\nLast-Modified: ...\n');
    expect(text).toContain('\nETag: ...\n');
    expect(text).toMatch(/\n\nHello, TLS!\n$/);
    const check = await runBin(['check', '--cacert', certs.caPath, 'tls.txt'], dir);
    expect(check.out).toMatch(/^PASS tls\.txt \(1 step, /);
    expect(check.exit).toBe(0);
  });

  it('checks the certificate before it listens', async () => {
    const target = `tls://localhost:${nginx.tlsTarget!.split(':')[1]}`;
    const run = await runBin(['record', '--listen', '0', '--connect', target, '--output', 'x.txt'], dir);
    expect(run.err).toMatch(/^error: cannot connect to tls:\/\/localhost:\d+: TLS handshake failed: /);
    expect(run.exit).toBe(4);
  });
});

describe('record() (the library)', () => {
  it('returns the transcript from stop(), and writes nothing without an output', async () => {
    const redis = await startRedis();
    try {
      const recorder = await record({ listen: '127.0.0.1:0', connect: redis.target });
      expect(recorder.address).toMatch(/^127\.0\.0\.1:\d+$/);
      const port = Number(recorder.address.split(':')[1]);
      const { createConnection } = await import('node:net');
      await new Promise<void>((resolve, reject) => {
        const socket = createConnection(port, '127.0.0.1', () => socket.write('PING\r\n'));
        socket.on('data', (chunk) => {
          if (chunk.toString() === '+PONG\r\n') socket.end();
        });
        socket.on('error', reject);
        socket.on('close', () => resolve());
      });
      const recorded = await recorder.stop();
      expect(recorded).toEqual({
        text: `>>>! connect ${redis.target}\n>>> PING\n+PONG\n`,
        steps: 1,
        connections: 1,
        captures: [],
      });
      expect(recorder.accepted).toBe(1);
    } finally {
      await redis.stop();
    }
  });

  it.each([
    ['h2://127.0.0.1:8443', 'HTTP/2 is binary frames'],
    ['h2c://127.0.0.1:8080', 'HTTP/2 is binary frames'],
  ])(
    'refuses to record %s, whose traffic no transcript line shows, before it listens',
    async (connect, why) => {
      const error = await record({ listen: '127.0.0.1:0', connect }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).toMatchObject({ code: 'PROTODOC_ERR_USAGE' });
      expect((error as Error).message).toContain(`--connect ${connect}: record cannot write a `);
      expect((error as Error).message).toContain(why);
    },
  );

  it('writes a .md output as one protodoc block, which check reads as a transcript', async () => {
    const redis = await startRedis();
    try {
      const output = join(dir, 'recorded.md');
      const recorder = await record({ listen: '0', connect: redis.target, output });
      const port = Number(recorder.address.split(':')[1]);
      expect((await client('redis-cli', ['-p', String(port), 'PING'])).out).toBe('PONG\n');
      expect((await recorder.stop()).written).toBe(output);
      expect(read('recorded.md')).toMatch(
        /^```protodoc\n>>>! connect 127\.0\.0\.1:\d+\n>>> \*1\n[\s\S]*\n\+PONG\n```\n$/,
      );
      const check = await runBin(['check', 'recorded.md'], dir);
      expect(check.out).toMatch(/^PASS recorded\.md:3 \(1 step, /);
      expect(check.exit).toBe(0);
    } finally {
      await redis.stop();
    }
  });
});
