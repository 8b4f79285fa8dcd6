/**
 * `--shard I/N`: N shards cover a set of files exactly once, a file's shard depends on its path alone
 * (adding or removing files moves no other file), and the path is taken relative to the cwd with `/`.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProtodocError } from '../src/errors.js';
import { inShard, parseShard, shardKey, shardOf } from '../src/shard.js';

/** 300 paths like a real suite's: directories, numbered files, a Markdown page or two. */
function suite(count = 300): string[] {
  return Array.from({ length: count }, (_, i) =>
    i % 50 === 0
      ? `docs/page-${i}.md`
      : `specs/${['redis', 'smtp', 'http'][i % 3]}/case-${String(i).padStart(3, '0')}.txt`,
  );
}

function shards(paths: readonly string[], count: number): string[][] {
  return Array.from({ length: count }, (_, k) =>
    paths.filter((path) => inShard(path, { index: k + 1, count })),
  );
}

describe('shards', () => {
  it.each([1, 2, 3, 4, 7, 16])('partition a set of files exactly into %i shards', (count) => {
    const paths = suite();
    const parts = shards(paths, count);
    // Every file in exactly one shard: the union is the set, and the sizes add up.
    expect(parts.flat().sort()).toEqual([...paths].sort());
    expect(parts.reduce((n, part) => n + part.length, 0)).toBe(paths.length);
    // Spread: with 300 files no shard is empty or holds more than twice its share.
    for (const part of parts) {
      expect(part.length).toBeGreaterThan(0);
      expect(part.length).toBeLessThan((2 * paths.length) / count);
    }
  });

  it('move no other file when a file is added or removed', () => {
    const before = suite();
    const after = [...before.slice(0, 100), 'specs/redis/new-case.txt', ...before.slice(100, 250)];
    for (const count of [2, 3, 5]) {
      const was = new Map(before.map((path) => [path, shardOf(path, count)]));
      for (const path of after) {
        if (was.has(path)) expect(shardOf(path, count)).toBe(was.get(path));
      }
    }
  });

  it('are the same on every machine: the first 32 bits of SHA-256 of the path, mod N, plus one', () => {
    // Pinned, so a CI matrix split by one protodoc version splits the same with the next.
    const key = 'examples/protodoc/redis.txt';
    const first32 = createHash('sha256').update(key).digest().readUInt32BE(0);
    for (const count of [2, 3, 10]) expect(shardOf(key, count)).toBe((first32 % count) + 1);
    // Fixed values, so the hash cannot change under a CI matrix unnoticed.
    expect(['a.txt', 'b.txt', 'specs/x.txt', key].map((k) => shardOf(k, 4))).toEqual([2, 2, 3, 1]);
  });

  it('key a file by its path relative to the cwd, with /', () => {
    expect(shardKey('specs/a.txt', '/repo')).toBe('specs/a.txt');
    expect(shardKey('./specs//a.txt', '/repo')).toBe('specs/a.txt');
    expect(shardKey('/repo/specs/a.txt', '/repo')).toBe('specs/a.txt');
    // Two checkouts at different places agree.
    expect(shardKey('/home/ci/work/specs/a.txt', '/home/ci/work')).toBe(shardKey('specs/a.txt', '/tmp/x'));
    // Outside the cwd: the absolute path.
    expect(shardKey('../other/a.txt', '/repo/sub')).toBe('/repo/other/a.txt');
  });

  it('parse I/N, 1-based, and refuse anything else with a usage error', () => {
    expect(parseShard('1/1')).toEqual({ index: 1, count: 1 });
    expect(parseShard('3/4')).toEqual({ index: 3, count: 4 });
    for (const bad of ['0/4', '5/4', '1/0', '1', '1/2/3', 'a/b', '-1/2', '']) {
      let error: unknown;
      try {
        parseShard(bad);
      } catch (err) {
        error = err;
      }
      expect((error as ProtodocError).code, bad).toBe('PROTODOC_ERR_USAGE');
      expect(error).toBeInstanceOf(ProtodocError);
    }
  });
});
