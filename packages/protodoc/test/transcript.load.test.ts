import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtodocError } from '../src/errors.js';
import { loadTranscripts } from '../src/load.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'protodoc-load-'));
  await writeFile(join(dir, 'ping.txt'), '>>> PING\n+PONG\n');
  await writeFile(join(dir, 'ping.protodoc'), '>>> PING\n+PONG\n');
  await writeFile(join(dir, 'doc.MD'), '# x\n```protodoc\n>>> A\na\n```\n```protodoc\n>>> B\nb\n```\n');
  await writeFile(join(dir, 'bad.txt'), '>>> A\n>>>% x\n');
  // Latin-1 bytes where UTF-8 is due, in a block and in the prose around it.
  await writeFile(
    join(dir, 'latin1.md'),
    Buffer.from('caf\xe9\n```protodoc\n>>> A\n\xe9t\xe9\n```\n', 'latin1'),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loadError(path: string): Promise<ProtodocError> {
  let caught: unknown;
  try {
    await loadTranscripts(path);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtodocError);
  return caught as ProtodocError;
}

describe('loadTranscripts', () => {
  it('reads a plain transcript under any other extension', async () => {
    for (const name of ['ping.txt', 'ping.protodoc']) {
      const ts = await loadTranscripts(join(dir, name));
      expect(ts).toHaveLength(1);
      expect(ts[0]!.path).toBe(join(dir, name));
      expect(ts[0]!.steps[0]!.expect).toEqual([{ kind: 'text', text: '+PONG', line: 2 }]);
    }
  });

  it('reads the protodoc blocks of a Markdown file (extension in any case)', async () => {
    const ts = await loadTranscripts(join(dir, 'doc.MD'));
    expect(ts.map((t) => t.steps[0]!.line)).toEqual([3, 7]);
  });

  it('names the path of a missing file', async () => {
    const path = join(dir, 'missing.txt');
    const err = await loadError(path);
    expect(err.code).toBe('PROTODOC_ERR_FILE');
    expect(err.message).toContain(path);
  });

  it('refuses a directory', async () => {
    expect((await loadError(dir)).code).toBe('PROTODOC_ERR_FILE');
  });

  it('refuses bytes that are not UTF-8, at their line and column, and says to write \\xHH', async () => {
    // The BOM that latin1 cannot encode is written as its UTF-8 bytes by hand.
    const path = join(dir, 'latin1.txt');
    await writeFile(
      path,
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('>>> A\nca\xe9\n>>> \xff\n', 'latin1')]),
    );
    const err = await loadError(path);
    expect(err.code).toBe('PROTODOC_ERR_SYNTAX');
    expect(err.message.split('\n')).toEqual([
      `${path}:2:3: invalid UTF-8 (byte 0xe9): a transcript is UTF-8 text; write other bytes as \\xHH in a '>>>(esc)' or '>>>=' line`,
      `${path}:3:5: invalid UTF-8 (byte 0xff): a transcript is UTF-8 text; write other bytes as \\xHH in a '>>>(esc)' or '>>>=' line`,
    ]);
  });

  it('refuses bytes that are not UTF-8 inside a protodoc block only', async () => {
    const err = await loadError(join(dir, 'latin1.md'));
    expect(err.message).toMatch(/latin1\.md:4:1: invalid UTF-8 \(byte 0xe9\)/);
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('passes syntax errors through with the path as given', async () => {
    const err = await loadError(join(dir, 'bad.txt'));
    expect(err.code).toBe('PROTODOC_ERR_SYNTAX');
    expect(err.message.startsWith(`${join(dir, 'bad.txt')}:2:4: `)).toBe(true);
  });
});
