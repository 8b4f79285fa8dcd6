/**
 * How the binary starts (src/launch.cts): from the CLI's one-file bundle, with the V8 code cache a run
 * writes at its end when it found none and the next run uses; from dist/cli.js when `tsc -b` has written
 * dist/ since the bundle was made; never with a cache in a directory someone else could write. Its
 * `--jobs` threads start from their own bundle the same way (src/thread-executor.ts). Each test
 * runs a copy of the built package, so that making the bundle stale touches no other test's binary.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binEnv, buildCli, type Outcome, ROOT } from './build-cli.js';
import { type RedisServer, startRedis } from './helpers/servers.js';

const PACKAGE = join(ROOT, 'packages/protodoc');
const VERSION = (JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as { version: string })
  .version;
const CACHE_DIR = `protodoc-compile-cache-${process.getuid?.()}`;

let dir: string;
let pkg: string;
let redis: RedisServer;

/** Runs the copy's binary with `args`, its code cache under `cacheBase` (NODE_COMPILE_CACHE). */
function run(args: string[], cacheBase: string, env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(pkg, 'bin/protodoc.js'), ...args],
      {
        cwd: dir,
        env: binEnv({ NODE_COMPILE_CACHE: cacheBase, NODE_DISABLE_COMPILE_CACHE: undefined, ...env }),
        encoding: 'utf8',
      },
      (error, out, err) => {
        resolve({ out, err, exit: error ? (typeof error.code === 'number' ? error.code : -1) : 0 });
      },
    );
  });
}

/** The cache files under `cacheBase`, by name. */
function cacheFiles(cacheBase: string): string[] {
  const cache = join(cacheBase, CACHE_DIR);
  return existsSync(cache) ? readdirSync(cache).sort() : [];
}

function freshBase(): string {
  return mkdtempSync(join(dir, 'cache-'));
}

beforeAll(async () => {
  buildCli();
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'protodoc-launch-'));
  // The package as npm would lay it out: its files, and node_modules above it for its dependencies.
  pkg = join(dir, 'node_modules/protodoc');
  mkdirSync(pkg, { recursive: true });
  for (const part of ['bin', 'dist', 'scripts', 'package.json']) {
    cpSync(join(PACKAGE, part), join(pkg, part), { recursive: true });
  }
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name !== 'protodoc' && name !== '.bin') {
      symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
    }
  }
  writeFileSync(join(dir, 'ping.txt'), '>>> PING\n+PONG\n');
});

afterAll(async () => {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the binary with its bundle', () => {
  it('writes the code cache in its first run and leaves it as it is in the next', async () => {
    const base = freshBase();
    expect(await run(['--version'], base)).toEqual({ out: `${VERSION}\n`, err: '', exit: 0 });
    const [file, ...more] = cacheFiles(base);
    expect(more).toEqual([]);
    expect(file).toMatch(/^cli-[0-9a-f]{16}-\d+-\d+-other-[\d.]+-node\.\d+-\w+\.cache$/);
    const path = join(base, CACHE_DIR, file!);
    const written = { bytes: readFileSync(path), mtime: statSync(path).mtimeMs };

    expect(await run(['--version'], base)).toEqual({ out: `${VERSION}\n`, err: '', exit: 0 });
    expect({ bytes: readFileSync(path), mtime: statSync(path).mtimeMs }).toEqual(written);
    expect(statSync(join(base, CACHE_DIR)).mode & 0o777).toBe(0o700);
  });

  it('keeps a check its own cache, beside that of --version', async () => {
    const base = freshBase();
    await run(['--version'], base);
    const check = await run(['check', '--connect', redis.target, 'ping.txt'], base);
    expect(check.exit).toBe(0);
    expect(check.out).toMatch(/^PASS ping\.txt \(1 step, /);
    expect(cacheFiles(base).map((name) => name.split('-')[4])).toEqual(['check', 'other']);
    const again = await run(['check', '--connect', redis.target, 'ping.txt'], base);
    expect({ exit: again.exit, err: again.err }).toEqual({ exit: 0, err: '' });
  });

  it('replaces a cache V8 rejects, and the run goes on', async () => {
    const base = freshBase();
    await run(['--version'], base);
    const [file] = cacheFiles(base);
    const path = join(base, CACHE_DIR, file!);
    const garbage = Buffer.alloc(4096, 7);
    writeFileSync(path, garbage);
    expect(await run(['--version'], base)).toEqual({ out: `${VERSION}\n`, err: '', exit: 0 });
    const rewritten = readFileSync(path);
    expect(rewritten.equals(garbage)).toBe(false);
    await run(['--version'], base);
    expect(readFileSync(path).equals(rewritten)).toBe(true);
  });

  it('keeps the 8 cache files written last when it writes one', async () => {
    const base = freshBase();
    const cache = join(base, CACHE_DIR);
    mkdirSync(cache, { mode: 0o700 });
    // Ten caches of other builds, written one minute apart, the oldest first; and a file of another kind.
    const others = Array.from({ length: 10 }, (_, i) => `cli-${String(i).repeat(16)}-1-1-check-v8-x64.cache`);
    for (const [i, name] of others.entries()) {
      writeFileSync(join(cache, name), 'old');
      const at = new Date(Date.now() - (others.length - i) * 60_000);
      utimesSync(join(cache, name), at, at);
    }
    writeFileSync(join(cache, 'notes.txt'), 'not a cache');
    await run(['--version'], base);
    const left = cacheFiles(base);
    expect(left).toHaveLength(9);
    expect(left).toContain('notes.txt');
    expect(left.filter((name) => others.includes(name))).toEqual(others.slice(3));
  });

  it('writes no cache under NODE_DISABLE_COMPILE_CACHE=1', async () => {
    const base = freshBase();
    const outcome = await run(['--version'], base, { NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(outcome).toEqual({ out: `${VERSION}\n`, err: '', exit: 0 });
    expect(readdirSync(base)).toEqual([]);
  });

  it('takes no cache from, and writes none into, a directory others can write', async () => {
    const base = freshBase();
    mkdirSync(join(base, CACHE_DIR));
    chmodSync(join(base, CACHE_DIR), 0o777);
    expect(await run(['--version'], base)).toEqual({ out: `${VERSION}\n`, err: '', exit: 0 });
    expect(cacheFiles(base)).toEqual([]);
  });

  it('runs dist/cli.js while tsc has written dist/ since the bundle, and the bundle again once remade', async () => {
    // As if `tsc -b` had run since the bundle was made: the bundle is older than its build info.
    const earlier = new Date(statSync(join(pkg, 'dist/.tsbuildinfo')).mtimeMs - 5000);
    utimesSync(join(pkg, 'dist/cli.bundle.cjs'), earlier, earlier);
    const stale = freshBase();
    expect(await run(['--version'], stale)).toEqual({ out: `${VERSION}\n`, err: '', exit: 0 });
    const check = await run(['check', '--connect', redis.target, 'ping.txt'], stale);
    expect({ exit: check.exit, err: check.err }).toEqual({ exit: 0, err: '' });
    // Only the bundle is compiled with a cache.
    expect(cacheFiles(stale)).toEqual([]);

    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, [join(pkg, 'scripts/bundle-cli.mjs'), '--if-stale'], (error) =>
        error ? reject(error) : resolve(),
      );
    });
    const fresh = freshBase();
    expect(await run(['--version'], fresh)).toEqual({ out: `${VERSION}\n`, err: '', exit: 0 });
    expect(cacheFiles(fresh)).toHaveLength(1);
  });

  it('starts --jobs threads from the worker bundle while it is fresh, from dist/file-worker.js once it is stale', async () => {
    // The ES module worker of the copy throws: a run that passes did not start it.
    const worker = join(pkg, 'dist/file-worker.js');
    const bundle = join(pkg, 'dist/file-worker.bundle.cjs');
    const original = readFileSync(worker);
    const times = statSync(bundle);
    writeFileSync(join(dir, 'pong.txt'), '>>> PING\n+PONG\n');
    const args = ['check', '--jobs', '2', '--connect', redis.target, 'ping.txt', 'pong.txt'];
    try {
      writeFileSync(worker, "throw new Error('the ES module worker ran');\n");
      const bundled = await run(args, freshBase());
      expect({ exit: bundled.exit, err: bundled.err }).toEqual({ exit: 0, err: '' });
      expect(bundled.out).toContain('2 files, 2 steps: 2 passed, 0 failed');

      // As if `tsc -b` had run since the bundle was made.
      const earlier = new Date(statSync(join(pkg, 'dist/.tsbuildinfo')).mtimeMs - 5000);
      utimesSync(bundle, earlier, earlier);
      const modules = await run(args, freshBase());
      expect(modules.exit).not.toBe(0);
      expect(`${modules.out}${modules.err}`).toContain('the ES module worker ran');
    } finally {
      writeFileSync(worker, original);
      utimesSync(bundle, times.atime, times.mtime);
    }
  });

  it('carries the licence of the package it bundles', () => {
    const text = readFileSync(join(PACKAGE, 'dist/cli.bundle.cjs'), 'utf8');
    expect(text).toMatch(/^\/\/ protodoc CLI bundle [0-9a-f]{16}\n"use strict";/);
    expect(text).toContain('/*! commander ');
    expect(text).toContain('Copyright (c) 2011 TJ Holowaychuk');
  });

  it('is ASCII, so that V8 holds its source one byte a character', () => {
    const text = readFileSync(join(PACKAGE, 'dist/cli.bundle.cjs'), 'utf8');
    expect(text.match(/[^\x00-\x7f]/gu) ?? []).toEqual([]);
  });
});
