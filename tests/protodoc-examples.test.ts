/**
 * The example commands in examples/protodoc/README.md work when pasted: each `npx protodoc check`
 * line there is run as written (through /bin/sh, from the repository root) and must pass.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

  for (const command of commands) {
    const file = command.split(' ').at(-1)!;
    const verbose = / (-v|--verbose) /.test(command);
    it(verbose ? `${file} (-v)` : file, async () => {
      // `npx protodoc` resolves to this binary after `npm ci`; call it directly to skip npx's start-up.
      const script = command.replace(
        /^npx protodoc /,
        `"${process.execPath}" packages/protodoc/bin/protodoc.js `,
      );
      const result = await new Promise<{ code: number; out: string; err: string }>((resolve) => {
        execFile('/bin/sh', ['-c', script], { cwd: ROOT, encoding: 'utf8' }, (error, out, err) =>
          resolve({ code: error ? Number(error.code) : 0, out, err }),
        );
      });
      // A -v line prints the conversation on stderr; every other line prints nothing there.
      if (verbose) expect(result.err).toMatch(/^\* .*\n(.*\n)*> +\d+\.\dms \S+: /);
      else expect(result.err).toBe('');
      expect(result.out).toMatch(/^PASS /);
      expect(result.out).not.toMatch(/^(FAIL|ERROR) /m);
      expect(result.code).toBe(0);
    });
  }
});
