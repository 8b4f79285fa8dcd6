/**
 * The servers of `--server` with `--jobs` (src/server-pool.ts), with real redis: each worker its own
 * port and `{dir}`, kept for the run (scope run) or fresh per file (scope file); directories removed
 * once their server has stopped.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProtodocError } from '../src/errors.js';
import { type ServerLease, ServerPool } from '../src/server-pool.js';

/** redis on {port}, its working directory {dir}, writing a file there so we see it runs in it. */
const REDIS =
  "exec redis-server --port {port} --bind 127.0.0.1 --save '' --dir {dir} --logfile {dir}/redis.log";

function ping(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(`error:${err.code}`));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => {
      resolve(chunk.toString());
      socket.destroy();
    });
  });
}

const pools: ServerPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

function pool(scope: 'run' | 'file', command = REDIS): ServerPool {
  const made = new ServerPool({ command, scope });
  pools.push(made);
  return made;
}

describe('ServerPool', () => {
  it('scope run: one server per worker, each on its own port and dir, kept until close', async () => {
    const servers = pool('run');
    await servers.open(3);
    const leases: ServerLease[] = [];
    for (const worker of [0, 1, 2, 0, 1]) leases.push(await servers.acquire(worker));
    const ports = leases.map((l) => l.port);
    const dirs = leases.map((l) => l.dir!);
    // Workers 0 and 1 got the same server both times; three servers in all.
    expect(ports[3]).toBe(ports[0]);
    expect(ports[4]).toBe(ports[1]);
    expect(new Set(ports).size).toBe(3);
    expect(new Set(dirs).size).toBe(3);
    for (const lease of leases) {
      expect(await ping(lease.port!)).toBe('+PONG\r\n');
      // redis writes its log in {dir}: it really runs there.
      expect(readFileSync(join(lease.dir!, 'redis.log'), 'utf8')).toContain('Ready to accept connections');
      await lease.release(); // does not stop a run-scoped server
    }
    expect(await ping(ports[0]!)).toBe('+PONG\r\n');
    await servers.close();
    for (const lease of leases) {
      expect(await ping(lease.port!)).toBe('error:ECONNREFUSED');
      expect(existsSync(lease.dir!)).toBe(false);
    }
  });

  it('scope file: a fresh server and dir for every lease, stopping once released, gone at close', async () => {
    const servers = pool('file');
    await servers.open(2); // nothing to start ahead
    const first = await servers.acquire(0);
    const second = await servers.acquire(0);
    expect(first.port).not.toBe(second.port);
    expect(first.dir).not.toBe(second.dir);
    expect(await ping(first.port!)).toBe('+PONG\r\n');
    await first.release();
    // It stops in the background; the other one runs on.
    expect(await ping(second.port!)).toBe('+PONG\r\n');
    await servers.close();
    for (const lease of [first, second]) {
      expect(await ping(lease.port!)).toBe('error:ECONNREFUSED');
      expect(existsSync(lease.dir!)).toBe(false);
    }
  });

  it('makes no directory when the command has no {dir}', async () => {
    const servers = pool('file', "exec redis-server --port {port} --bind 127.0.0.1 --save ''");
    expect(servers.providesDir).toBe(false);
    const lease = await servers.acquire(0);
    expect(lease.dir).toBeUndefined();
    expect(await ping(lease.port!)).toBe('+PONG\r\n');
    await lease.release();
  });

  it('scope run: a server that cannot start stops the others and leaves no directory', async () => {
    // Directories are made in TMPDIR: here one of this test's own, to see what is left in it.
    const tmp = mkdtempSync(join(tmpdir(), 'protodoc-pool-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      // Of the two starts, the one that makes the marker first runs redis; the other fails.
      const marker = join(tmp, 'started-once');
      const servers = pool(
        'run',
        `if mkdir ${marker} 2>/dev/null; then ${REDIS}; else echo no more >&2; exit 3; fi`,
      );
      let err: unknown;
      try {
        await servers.open(2);
      } catch (e) {
        err = e;
      }
      expect((err as ProtodocError).code).toBe('PROTODOC_ERR_SERVER');
      expect((err as Error).message).toContain('exited with code 3');
      expect((err as Error).message).toContain('no more');
      // Both directories are gone: the failed start's at once, the other's once its redis stopped.
      expect(readdirSync(tmp)).toEqual(['started-once']);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
