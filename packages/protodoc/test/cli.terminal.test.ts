/**
 * The binary on a real terminal: `script` gives it a pseudo-terminal, and the test reads every byte it
 * wrote there. On a terminal `pretty` keeps a live line per running file and colours; NO_COLOR takes the
 * colour away but not the live line; into a pipe the output is plain, unless FORCE_COLOR asks for colour.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, binEnv, buildCli, runBin } from './build-cli.js';
import { type RedisServer, startRedis } from './helpers/servers.js';

let redis: RedisServer;
let dir: string;

beforeAll(async () => {
  buildCli();
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'protodoc-terminal-'));
  writeFileSync(join(dir, 'a.txt'), '>>> SET k hello\n+OK\n>>> GET k\n$5\nhello\n');
  writeFileSync(join(dir, 'b.txt'), '>>> PING\n+PONG\n');
});

afterAll(async () => {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const quote = (arg: string): string => `'${arg.replaceAll("'", "'\\''")}'`;

/** Runs `protodoc ARGS` on a pseudo-terminal; what it wrote there (CRLF as LF), and its exit code. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ out: string; exit: number }> {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    execFile(
      'script',
      ['--quiet', '--return', '--command', command, '/dev/null'],
      {
        cwd: dir,
        env: binEnv({ TERM: 'xterm-256color', ...env }),
        encoding: 'utf8',
      },
      (error, out) => {
        if (error !== null && typeof error.code !== 'number') reject(error);
        else resolve({ out: out.replaceAll('\r\n', '\n'), exit: error === null ? 0 : Number(error.code) });
      },
    );
  });
}

const SGR = /\x1b\[[\d;]*m/g;
const CLEAR_LINE = '\r\x1b[2K';

describe('protodoc check on a terminal', () => {
  it('draws a live line per file with its counters, replaces it with the result, and colours', async () => {
    const run = await onTerminal(['check', '--connect', redis.target, 'a.txt', 'b.txt']);
    expect(run.exit).toBe(0);
    const plain = run.out.replace(SGR, '');
    expect(plain).toMatch(
      /^RUN a\.txt \(step 1\/2, file 1\/2\)\r\x1b\[2KPASS a\.txt \(2 steps, [\d.]+m?s\)\n/,
    );
    expect(plain).toContain(`RUN b.txt (step 1/1, file 2/2)${CLEAR_LINE}PASS b.txt (1 step, `);
    expect(plain).toMatch(/\n\n2 files, 3 steps: 3 passed, 0 failed, 0 skipped \(\d+\.\d\ds\)\n$/);
    expect(run.out).toContain('\x1b[1m\x1b[32mPASS\x1b[39m\x1b[22m a.txt');
    expect(run.out).toContain('\x1b[1m\x1b[33mRUN\x1b[39m\x1b[22m a.txt');
  });

  it('under NO_COLOR keeps the live line and leaves the colour out', async () => {
    const run = await onTerminal(['check', '--connect', redis.target, 'a.txt'], { NO_COLOR: '1' });
    expect(run.out).not.toMatch(SGR);
    expect(run.out).toMatch(/^RUN a\.txt \(step 1\/2, file 1\/1\)\r\x1b\[2KPASS a\.txt /);
  });

  it('on TERM=dumb draws no live line and no colour', async () => {
    const run = await onTerminal(['check', '--connect', redis.target, 'a.txt'], { TERM: 'dumb' });
    expect(run.out).toMatch(/^PASS a\.txt \(2 steps, [\d.]+m?s\)\n\n1 file, 2 steps: /);
  });

  it('into a pipe is plain, and coloured (still without a live line) under FORCE_COLOR', async () => {
    const plain = await runBin(['check', '--connect', redis.target, 'a.txt'], dir);
    expect(plain.out).toMatch(/^PASS a\.txt \(2 steps, [\d.]+m?s\)\n\n1 file, /);
    const forced = await runBin(['check', '--connect', redis.target, 'a.txt'], dir, { FORCE_COLOR: '1' });
    expect(forced.out).toMatch(/^\x1b\[1m\x1b\[32mPASS\x1b\[39m\x1b\[22m a\.txt /);
    expect(forced.out).not.toContain('RUN');
    const off = await onTerminal(['check', '--connect', redis.target, 'a.txt'], { FORCE_COLOR: '0' });
    expect(off.out).not.toMatch(SGR);
  });
});
