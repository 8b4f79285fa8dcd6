import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expandPaths } from '../src/files.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'protodoc-files-'));
  for (const path of [
    'b.txt',
    'a.md',
    'c.protodoc',
    'notes.json',
    'sub/z.txt',
    'sub/deeper/y.txt',
    '.hidden/x.txt',
  ]) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), '');
  }
  mkdirSync(join(dir, 'node_modules/pkg'), { recursive: true });
  writeFileSync(join(dir, 'node_modules/pkg/readme.txt'), '');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('expandPaths', () => {
  it('searches directories recursively for *.txt, *.md and *.protodoc, sorted', async () => {
    const files = await expandPaths([dir]);
    expect(files.map((f) => f.path.slice(dir.length + 1))).toEqual([
      'a.md',
      'b.txt',
      'c.protodoc',
      'sub/deeper/y.txt',
      'sub/z.txt',
    ]);
    expect(files.every((f) => !f.explicit)).toBe(true);
  });

  it('takes files as given, whatever their extension, in the order given, once each', async () => {
    const json = join(dir, 'notes.json');
    const txt = join(dir, 'b.txt');
    const files = await expandPaths([json, txt, json]);
    expect(files).toEqual([
      { path: json, explicit: true },
      { path: txt, explicit: true },
    ]);
  });

  it('names a missing path in a usage error', async () => {
    const missing = join(dir, 'nope.txt');
    await expect(expandPaths([missing])).rejects.toMatchObject({
      code: 'PROTODOC_ERR_USAGE',
      message: `${missing}: no such file or directory`,
    });
  });

  it('refuses an empty list', async () => {
    await expect(expandPaths([])).rejects.toMatchObject({ code: 'PROTODOC_ERR_USAGE' });
  });
});
