/**
 * `--shard I/N`: a stable 1/N of the files, so a CI matrix of N machines covers a suite exactly once.
 * Which shard a file is in depends on its path alone (not on its position, nor on the other files):
 * adding, removing or renaming a file moves no other file to another shard.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { UsageError } from './errors.js';

/** One shard of N: `index` counts from 1. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * Parses `I/N` (1 ≤ I ≤ N).
 * @throws UsageError for anything else
 * @example parseShard('2/4') // { index: 2, count: 4 }
 */
export function parseShard(text: string): Shard {
  const match = /^(\d{1,6})\/(\d{1,6})$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || count < 1 || index < 1 || index > count) {
    throw new UsageError(`--shard '${text}': expected I/N with 1 <= I <= N, e.g. 1/4`);
  }
  return { index, count };
}

/**
 * The key a file is sharded by: its path relative to `cwd`, with `/` between the parts, so every
 * checkout of a repository (at whatever absolute path, on whatever system) puts it in the same shard.
 * A path outside `cwd` keeps its absolute form.
 */
export function shardKey(path: string, cwd: string = process.cwd()): string {
  const absolute = resolve(cwd, path);
  const rel = relative(cwd, absolute);
  const key = rel === '' || rel.startsWith('..') || isAbsolute(rel) ? absolute : rel;
  return sep === '/' ? key : key.split(sep).join('/');
}

/**
 * The shard (1..count) of `key`: the first 32 bits of the key's SHA-256, modulo `count`, plus one.
 * SHA-256 rather than a quick hash: the same on every Node, documented, and well spread for paths that
 * differ in one digit (`test-01.txt`, `test-02.txt`).
 */
export function shardOf(key: string, count: number): number {
  // node:crypto only when a run is sharded: loading it is a noticeable part of a short run's start-up.
  const { createHash } = process.getBuiltinModule('node:crypto');
  const digest = createHash('sha256').update(key, 'utf8').digest();
  return (digest.readUInt32BE(0) % count) + 1;
}

/** Whether the unit with `key` belongs to `shard`. */
export function inShard(key: string, shard: Shard): boolean {
  return shard.count === 1 || shardOf(key, shard.count) === shard.index;
}
