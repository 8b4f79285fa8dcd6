// The real servers the benchmarks talk to, each on a free 127.0.0.1 port in a temporary directory, stopped after.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, waitForPort } from './net.mjs';
import { pinned } from './pin.mjs';
import { BenchError, tail, tempDir } from './process.mjs';

const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';
const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';

/**
 * Start redis-server with persistence off.
 * @param {{ pin?: boolean }} [options]  pin: run it on the benchmark CPU (see pin.mjs) @default false
 * @returns {Promise<{ port: number, stop: () => Promise<void> }>}
 */
export async function startRedis({ pin = false } = {}) {
  const port = await freePort();
  const tmp = tempDir('redis');
  const server = await startServer(
    'redis-server',
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp.dir],
    port,
    tmp,
    pin,
  );
  return { port, stop: server.stop };
}

/**
 * Start nginx as a single foreground process (no master, so it works the same as root or not) serving `files`.
 * The access log records each request's connection serial number, so a benchmark can count the connections a
 * client really used.
 * @param {Record<string, string>} files  path under the document root → content
 * @param {{ pin?: boolean, tls?: boolean }} [options]  pin: run it on the benchmark CPU (see pin.mjs); tls: also
 *   serve the same files over TLS with HTTP/2 on `tlsPort` (`listen … ssl http2`, as Debian's nginx 1.22 takes it),
 *   with a self-signed certificate made for this run @default false, false
 * @returns {Promise<{ port: number, tlsPort: number, stop: () => Promise<void>, accessLog: () => string[] }>}
 */
export async function startNginx(files, { pin = false, tls = false } = {}) {
  // A free port can be taken by another process before nginx binds it: nginx then keeps the ports it did bind
  // open while it retries the other for 2.5 s, and exits. Started again on fresh ports, twice at most.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNginxOnce(files, pin, tls);
    } catch (err) {
      if (attempt === 3 || !(err instanceof BenchError) || !err.message.includes('Address already in use'))
        throw err;
    }
  }
}

/**
 * {@link startNginx}, once, on ports free a moment ago.
 * @param {Record<string, string>} files
 * @param {boolean} pin
 * @param {boolean} tls
 * @returns {Promise<{ port: number, tlsPort: number, stop: () => Promise<void>, accessLog: () => string[] }>}
 */
async function startNginxOnce(files, pin, tls) {
  const port = await freePort();
  const tlsPort = tls ? await freePort() : 0;
  const tmp = tempDir('nginx');
  if (tls) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
      ].concat([
        '-keyout',
        join(tmp.dir, 'key.pem'),
        '-out',
        join(tmp.dir, 'cert.pem'),
        '-subj',
        '/CN=127.0.0.1',
      ]),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  }
  const tlsServer = tls
    ? `server {
    listen 127.0.0.1:${tlsPort} ssl http2;
    ssl_certificate ${tmp.dir}/cert.pem;
    ssl_certificate_key ${tmp.dir}/key.pem;
    root ${join(tmp.dir, 'html')};
  }`
    : '';
  const html = join(tmp.dir, 'html');
  mkdirSync(html);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(html, name), content);
  const log = join(tmp.dir, 'access.log');
  const conf = join(tmp.dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
pid ${tmp.dir}/nginx.pid;
error_log ${tmp.dir}/error.log warn;
events { worker_connections 64; }
http {
  types { text/plain txt; text/html html; }
  default_type application/octet-stream;
  log_format bench '$connection $connection_requests $status $request';
  access_log ${log} bench;
  client_body_temp_path ${tmp.dir}/client_body;
  proxy_temp_path ${tmp.dir}/proxy;
  fastcgi_temp_path ${tmp.dir}/fastcgi;
  uwsgi_temp_path ${tmp.dir}/uwsgi;
  scgi_temp_path ${tmp.dir}/scgi;
  keepalive_requests 100000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:${port};
    root ${html};
  }
  ${tlsServer}
}
`,
  );
  // -e: without it nginx first opens the compiled-in /var/log/nginx/error.log, which a non-root user cannot.
  const server = await startServer(
    'nginx',
    NGINX,
    ['-p', tmp.dir, '-c', conf, '-e', `${tmp.dir}/error.log`],
    port,
    tmp,
    pin,
    // Written once every port is bound: the plain port answering alone does not say the TLS one is nginx's.
    { readyFile: join(tmp.dir, 'nginx.pid'), logFile: join(tmp.dir, 'error.log') },
  );
  return {
    port,
    tlsPort,
    stop: server.stop,
    accessLog: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
  };
}

/**
 * Spawn a server and wait until it accepts connections on `port`; `stop` kills it and removes `tmp`.
 * @param {string} name  for the error message
 * @param {string} cmd
 * @param {string[]} args
 * @param {number} port  where it listens once started
 * @param {ReturnType<typeof tempDir>} tmp  its temporary directory
 * @param {boolean} pin  run it on the benchmark CPU (see pin.mjs)
 * @param {{ readyFile?: string, logFile?: string }} [files]  readyFile: one it writes once it is ready, when
 *   listening on `port` does not say so; logFile: where it says why it did not start, if not on stderr
 * @returns {Promise<{ stop: () => Promise<void> }>}
 */
async function startServer(name, cmd, args, port, tmp, pin, { readyFile, logFile } = {}) {
  const [file, argv] = pin ? pinned(cmd, args) : [cmd, args];
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  /** @param {Buffer} chunk */
  const keep = (chunk) => {
    output = (output + chunk).slice(-8192);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = false;
  /** @type {Promise<void>} */
  const exit = new Promise((resolve) => {
    child.on('exit', () => {
      exited = true;
      resolve();
    });
  });
  /** @type {Error | undefined} */
  let spawnError;
  child.on('error', (err) => {
    spawnError = err;
    exited = true;
  });
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await exit;
    }
    tmp.remove();
  };
  try {
    await waitForPort(port, { alive: () => !exited });
    if (readyFile !== undefined) await waitForFile(readyFile, () => !exited);
  } catch (err) {
    const log = logFile !== undefined && existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    await stop();
    const why = spawnError ? spawnError.message : err instanceof Error ? err.message : String(err);
    throw new BenchError(`${name} did not start: ${why}\n${tail(output + log, 10)}`);
  }
  return { stop };
}

/**
 * Waits for `path` to exist while `alive()`; polled (nothing tells when a server writes a file), outside every
 * timed region, for at most 10 s (four times nginx's retries of a failed bind).
 * @param {string} path
 * @param {() => boolean} alive
 */
async function waitForFile(path, alive) {
  const deadline = Date.now() + 10_000;
  while (!existsSync(path)) {
    if (!alive()) throw new Error(`it exited before writing ${path}`);
    if (Date.now() > deadline) throw new Error(`${path} was not written within 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * How many PING commands redis has executed so far (INFO commandstats), to prove a contender made every round trip.
 * @param {number} port
 * @returns {Promise<number>}
 */
export function redisPingCalls(port) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      text += chunk;
      // A bulk string reply: $LEN\r\nBODY\r\n
      const header = /^\$(\d+)\r\n/.exec(text);
      if (header && Buffer.byteLength(text) >= header[0].length + Number(header[1]) + 2) {
        socket.destroy();
        const calls = /^cmdstat_ping:calls=(\d+)/m.exec(text);
        resolve(calls ? Number(calls[1]) : 0);
      }
    });
    socket.write('INFO commandstats\r\n');
  });
}
