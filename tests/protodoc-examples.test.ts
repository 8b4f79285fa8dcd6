/**
 * The example commands in examples/protodoc/README.md work when pasted: each `npx protodoc check`
 * line there is run as written (through /bin/sh, from the repository root) and must pass. A line that
 * rewrites its file (`--update`, `-i`) runs on a copy of it, answering `a` (all) to `-i`, with a settle
 * time of a second (a `>>>?` reply ends after that much quiet: far longer than a busy machine's
 * stalls); it must print UPDATED, and the copy must then pass the same command without the flag.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCli, ROOT } from '../packages/protodoc/test/build-cli.js';

const README = join(ROOT, 'examples/protodoc/README.md');
const commands = readFileSync(README, 'utf8')
  .split('\n')
  .filter((line) => line.startsWith('npx protodoc check '));

beforeAll(() => buildCli());

describe('examples/protodoc/README.md', () => {
  it('lists a command for every example transcript', () => {
    expect(commands.length).toBeGreaterThanOrEqual(8);
  });

  /** Runs a README line through /bin/sh from the root, with `input` on stdin. */
  const sh = (command: string, input = ''): Promise<{ code: number; out: string; err: string }> => {
    // `npx protodoc` resolves to this binary after `npm ci`; call it directly to skip npx's start-up.
    const script = command.replace(
      /^npx protodoc /,
      `"${process.execPath}" packages/protodoc/bin/protodoc.js `,
    );
    return new Promise((resolve) => {
      const child = execFile('/bin/sh', ['-c', script], { cwd: ROOT, encoding: 'utf8' }, (error, out, err) =>
        resolve({ code: error ? Number(error.code) : 0, out, err }),
      );
      child.stdin?.end(input);
    });
  };

  for (const command of commands) {
    const file = command.split(' ').at(-1)!;
    const verbose = / (-v|--verbose) /.test(command);
    const rewrites = / (--update|-i|--interactive) /.exec(command)?.[1];
    it(rewrites ? `${file} (${rewrites})` : verbose ? `${file} (-v)` : file, async () => {
      if (rewrites !== undefined) {
        const dir = mkdtempSync(join(tmpdir(), 'protodoc-example-'));
        try {
          const copy = join(dir, 'copy.txt');
          copyFileSync(join(ROOT, file), copy);
          const onCopy = command.slice(0, -file.length) + copy;
          const result = await sh(onCopy.replace(` ${rewrites} `, ` ${rewrites} --settle 1s `), 'a\n');
          expect(result.err).toBe('');
          expect(result.out).toMatch(/^(\n.*\n)?UPDATED |\nUPDATED /);
          expect(result.out).toMatch(/\nupdated [1-9]\d* steps? in 1 file\n$/);
          expect(result.code).toBe(0);
          const again = await sh(onCopy.replace(` ${rewrites} `, ' '));
          expect(again.out).toMatch(/^PASS /);
          expect(again.code).toBe(0);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        return;
      }
      const result = await sh(command);
      // A -v line prints the conversation on stderr; every other line prints nothing there.
      if (verbose) expect(result.err).toMatch(/^\* .*\n(.*\n)*> +\d+\.\dms \S+: /);
      else expect(result.err).toBe('');
      expect(result.out).toMatch(/^PASS /);
      expect(result.out).not.toMatch(/^(FAIL|ERROR) /m);
      expect(result.code).toBe(0);
    });
  }
});
