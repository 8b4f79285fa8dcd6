/**
 * Launchers for the real Debian servers the tests run against: each starts on a free 127.0.0.1
 * port with its own temp dir and config, through protodoc's own `startServer` (so the `--server`
 * lifecycle is exercised by every test), and is stopped with `stop()`.
 * Shared with the CLI/golden tests and the benchmarks.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type RunningServer, startServer } from '../../src/server.js';

export interface LaunchedServer {
  /** `127.0.0.1:PORT`, ready for `--connect` or `RunOptions.target`. */
  target: string;
  port: number;
  /** The server's temp dir (config, data, logs, sockets); removed by `stop()`. */
  dir: string;
  /** The underlying process handle (pid, output). */
  process: RunningServer;
  /** Stops the process group and removes the temp dir. */
  stop(): Promise<void>;
}

function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `protodoc-${name}-`));
}

/** POSIX single-quoting for paths in a `/bin/sh -c` command. */
function sh(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

async function launch(dir: string, command: string, target?: string): Promise<LaunchedServer> {
  let server: RunningServer;
  try {
    server = await startServer({ command, target, handleSignals: false });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    target: server.target,
    port: server.port!,
    dir,
    process: server,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisServer extends LaunchedServer {
  /** `unix:/tmp/.../redis.sock`: the same server on a Unix socket. */
  unixTarget: string;
}

/** redis-server without persistence, on TCP and on a Unix socket in its temp dir. */
export async function startRedis(): Promise<RedisServer> {
  const dir = tempDir('redis');
  const socket = join(dir, 'redis.sock');
  const server = await launch(
    dir,
    `exec redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no --dir ${sh(dir)} ` +
      `--unixsocket ${sh(socket)} --unixsocketperm 700 --protected-mode no --logfile ''`,
  );
  return { ...server, unixTarget: `unix:${socket}` };
}

/** memcached on TCP only (UDP off). */
export async function startMemcached(): Promise<LaunchedServer> {
  const dir = tempDir('memcached');
  // memcached refuses to run as root unless told which user to become.
  const user = process.getuid?.() === 0 ? ' -u root' : '';
  return launch(dir, `exec memcached -l 127.0.0.1 -p {port} -U 0${user}`);
}

/** beanstalkd without a binlog. */
export async function startBeanstalkd(): Promise<LaunchedServer> {
  const dir = tempDir('beanstalkd');
  return launch(dir, 'exec beanstalkd -l 127.0.0.1 -p {port}');
}

export interface NginxOptions {
  /** Files served from the document root, by relative path. */
  files?: Record<string, string | Uint8Array>;
  /** Extra directives inside the `server { }` block (locations, headers). */
  serverConfig?: string;
  /**
   * Also listen with TLS on a second free port, with this key and certificate (PEM paths); `http2`: offer
   * HTTP/2 there too (ALPN `h2` and `http/1.1`; Debian's nginx 1.22 takes `listen … ssl http2`, not
   * `http2 on`).
   */
  tls?: { keyPath: string; certPath: string; http2?: boolean };
}

export interface NginxServer extends LaunchedServer {
  /** Document root: write more files here at any time. */
  root: string;
  /** `127.0.0.1:PORT` of the TLS listener when `tls` was given (connect with `tls://`). */
  tlsTarget?: string;
}

/** nginx as one foreground process (no workers, runs as the current user), logs in its temp dir. */
export async function startNginx(options: NginxOptions = {}): Promise<NginxServer> {
  const dir = tempDir('nginx');
  const root = join(dir, 'www');
  mkdirSync(root);
  for (const [path, content] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  // The TLS port is picked before nginx binds it, so another test's server can take it in between.
  // nginx then keeps the ports it did bind open (the plain one answers, so the start looks done) while
  // it retries for 2.5 s, and exits: it is ready only once it writes its pid file, after every bind.
  for (let attempt = 1; ; attempt++) {
    const server = await launchNginx(dir, root, options);
    if (await pidFileWritten(join(dir, 'nginx.pid'), server.process.pid)) return server;
    const log = readFileSync(join(dir, 'error.log'), 'utf8');
    await server.process.stop();
    if (attempt === 3 || !log.includes('Address already in use')) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx did not start:\n${log}`);
    }
    writeFileSync(join(dir, 'error.log'), '');
  }
}

/**
 * Waits for nginx's pid file; false when the process ended (or 10 s passed) without writing it. Polled: nothing
 * tells of a file being written or of the process ending here, and 10 s is four times nginx's bind retries.
 */
async function pidFileWritten(path: string, pid: number): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (!existsSync(path)) {
    if (!alive(pid) || Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function launchNginx(dir: string, root: string, options: NginxOptions): Promise<NginxServer> {
  const { freePort } = await import('../../src/free-port.js');
  const tlsPort = options.tls ? await freePort() : undefined;
  const tlsServer =
    options.tls && tlsPort
      ? `server {
    listen 127.0.0.1:${tlsPort} ssl${options.tls.http2 ? ' http2' : ''};
    ssl_certificate ${options.tls.certPath};
    ssl_certificate_key ${options.tls.keyPath};
    root ${root};
    ${options.serverConfig ?? ''}
  }`
      : '';
  // `@PORT@` is filled in by the shell command below; everything else lives in the temp dir.
  const conf = `daemon off;
master_process off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:@PORT@;
    root ${root};
    ${options.serverConfig ?? ''}
  }
  ${tlsServer}
}
`;
  const template = join(dir, 'nginx.conf.in');
  writeFileSync(template, conf);
  const confPath = join(dir, 'nginx.conf');
  // The port is only known inside startServer, so the shell writes the final config.
  const server = await launch(
    dir,
    `sed 's/@PORT@/{port}/' ${sh(template)} > ${sh(confPath)} && ` +
      `exec nginx -e ${sh(join(dir, 'error.log'))} -p ${sh(dir)} -c ${sh(confPath)}`,
  );
  return { ...server, root, tlsTarget: tlsPort ? `127.0.0.1:${tlsPort}` : undefined };
}
