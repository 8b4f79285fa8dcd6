/**
 * The real `protodoc` binary (bin/protodoc.js → dist/cli.js), as a user runs it, against a real
 * redis-server: output compared exactly (timings aside), exit codes, report files, colour, and
 * --server stopped on Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, binEnv, buildCli, type Outcome, ROOT, runBin, timeless } from './build-cli.js';
import { type RedisServer, startRedis } from './helpers/servers.js';
import { startTestServer, type TestServer } from './helpers/tcp-servers.js';

let redis: RedisServer;
let dir: string;

function protodoc(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return runBin(args, dir, env);
}

beforeAll(async () => {
  buildCli();
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'protodoc-bin-'));
  writeFileSync(join(dir, 'pass.txt'), '>>> SET k hello\n+OK\n>>> GET k\n$5\nhello\n');
  writeFileSync(join(dir, 'fail.txt'), '>>> SET k hello\n+OK\n>>> GET k\n$5\nhowdy\n>>> PING\n+PONG\n');
});

afterAll(async () => {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('protodoc check (the binary)', () => {
  it('prints PASS and the summary, and exits 0', async () => {
    const run = await protodoc(['check', '--connect', redis.target, 'pass.txt']);
    expect({ ...run, out: timeless(run.out) }).toEqual({
      out: 'PASS pass.txt (2 steps, TIME)\n\n1 file, 2 steps: 2 passed, 0 failed, 0 skipped (TIME)\n',
      err: '',
      exit: 0,
    });
  });

  it('prints the failing step as PATH:LINE: and a diff, and exits 1', async () => {
    const run = await protodoc(['check', '--connect', redis.target, 'pass.txt', 'fail.txt']);
    expect({ ...run, out: timeless(run.out) }).toEqual({
      out: [
        'PASS pass.txt (2 steps, TIME)',
        'FAIL fail.txt (3 steps: 1 passed, 1 failed, 1 skipped, TIME)',
        'fail.txt:5: the reply differs from the transcript',
        '--- expected',
        '+++ received',
        '@@ -1,2 +1,2 @@',
        ' $5',
        '-howdy',
        '+hello',
        '',
        '2 files, 5 steps: 3 passed, 1 failed, 1 skipped (TIME)',
        '',
      ].join('\n'),
      err: '',
      exit: 1,
    });
  });

  it('colours with --color even when stdout is not a terminal, and not by default', async () => {
    const plain = await protodoc(['check', '--connect', redis.target, 'fail.txt']);
    expect(plain.out).not.toContain('\x1b[');
    const coloured = await protodoc(['check', '--color', '--connect', redis.target, 'fail.txt']);
    expect(coloured.out).toContain('\x1b[31m-howdy\x1b[39m');
    expect(coloured.out).toContain('\x1b[32m+hello\x1b[39m');
  });

  it('writes JSON and JUnit reports to files next to the pretty output', async () => {
    const run = await protodoc([
      'check',
      '--connect',
      redis.target,
      '--report-json',
      'report.json',
      '--report-junit',
      'report.xml',
      'pass.txt',
      'fail.txt',
    ]);
    expect(run.exit).toBe(1);
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(json).toMatchObject({ status: 'failed', summary: { files: 2, steps: 5, failed: 1 } });
    expect(json.transcripts[1].steps[1].failure.diff).toContain('-howdy\n+hello\n');
    const xml = readFileSync(join(dir, 'report.xml'), 'utf8');
    expect(xml).toContain('<testsuite name="fail.txt" tests="3" failures="1" errors="0" skipped="1"');
  });

  it('prints only JSON on stdout with --reporter json', async () => {
    const run = await protodoc(['check', '--reporter', 'json', '--connect', redis.target, 'pass.txt']);
    expect(run.exit).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({ version: 1, status: 'passed' });
  });

  it('exits 2 with one line for a bad flag, 3 for a parse error, 4 for a refused connection', async () => {
    writeFileSync(join(dir, 'bad.txt'), '>>> PING\n>>>% what\n');
    const usage = await protodoc(['check', '--timeout', 'forever', 'pass.txt']);
    const parse = await protodoc(['check', '--connect', redis.target, 'bad.txt', 'pass.txt']);
    const refused = await protodoc(['check', '--connect', '127.0.0.1:1', 'pass.txt']);
    expect([usage.exit, parse.exit, refused.exit]).toEqual([2, 3, 4]);
    expect(usage.err).toMatch(/^error: option '--timeout <duration>' argument 'forever' is invalid\..*\n$/);
    expect(parse).toEqual({ out: '', err: "error: bad.txt:2:4: unknown line type '>>>%'\n", exit: 3 });
    expect(refused.err).toBe('error: pass.txt: cannot connect to 127.0.0.1:1: connection refused\n');
  });

  it('prints the conversation on stderr with -v, and the same report on stdout', async () => {
    const quiet = await protodoc(['check', '--connect', redis.target, 'pass.txt']);
    const run = await protodoc(['check', '-v', '--connect', redis.target, 'pass.txt']);
    expect(run.exit).toBe(0);
    expect(timeless(run.out)).toBe(timeless(quiet.out));
    const err = run.err.replace(/^([*<>]) +\d+\.\dms /gm, '$1 TIME ').replace(/\(\d+\.\dms\)$/gm, '(TIME)');
    expect(err).toBe(
      [
        '* pass.txt',
        `* TIME main: connecting to ${redis.target}`,
        '* TIME main: connected',
        '> TIME main: SET k hello',
        '< TIME main: +OK',
        '* pass.txt:1: passed (TIME)',
        '> TIME main: GET k',
        '< TIME main: $5',
        '< TIME main: hello',
        '* pass.txt:3: passed (TIME)',
        '* TIME main: half-close (protodoc sends nothing more)',
        '* TIME main: closed by the server',
        '* pass.txt: passed',
        '',
      ].join('\n'),
    );
  });

  it('runs from the repository root as `npx protodoc` does, with paths as given', async () => {
    const run = await runBin(
      ['check', '--connect', redis.target, 'examples/protodoc/redis-tutorial.md'],
      ROOT,
    );
    expect(timeless(run.out)).toContain('PASS examples/protodoc/redis-tutorial.md:9 (3 steps, TIME)\n');
  });

  it('finishes quietly with the right exit code when its reader goes away (| head)', async () => {
    for (let i = 0; i < 200; i++)
      writeFileSync(join(dir, `many-${String(i).padStart(3, '0')}.txt`), '>>> PING\n+PONG\n');
    const files = Array.from({ length: 200 }, (_, i) => `many-${String(i).padStart(3, '0')}.txt`);
    const child = spawn(process.execPath, [BIN, 'check', '--connect', redis.target, ...files], {
      cwd: dir,
      env: binEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    // Read the first chunk, then close the pipe as `head -1` would.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect({ code, err }).toEqual({ code: 0, err: '' });
  });

  it('writes a report of several MB through a pipe to its last byte before it exits', async () => {
    // A server whose reply is 3 MB of lines: the failing step's JSON carries all of it twice (text and
    // base64), far past the 64 KiB a pipe holds; the pretty diff is cut, but still past 64 KiB.
    const big = `${'x'.repeat(999)}\n`.repeat(3000);
    const server: TestServer = await startTestServer((socket) => {
      socket.once('data', () => socket.end(big));
    });
    try {
      writeFileSync(join(dir, 'big.txt'), '>>> SEND\nnot this\n');
      const through = async (reporter: string): Promise<{ code: number | null; out: string }> => {
        const child = spawn(
          process.execPath,
          [BIN, 'check', '--reporter', reporter, '--connect', server.target, 'big.txt'],
          { cwd: dir, env: binEnv(), stdio: ['ignore', 'pipe', 'ignore'] },
        );
        const chunks: Buffer[] = [];
        child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
        const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
        return { code, out: Buffer.concat(chunks).toString('utf8') };
      };
      const json = await through('json');
      expect(json.code).toBe(1);
      const report = JSON.parse(json.out);
      expect(Buffer.from(report.transcripts[0].steps[0].failure.received.base64, 'base64').toString()).toBe(
        big,
      );
      const pretty = await through('pretty');
      expect(pretty.code).toBe(1);
      expect(pretty.out.length).toBeGreaterThan(65536);
      expect(timeless(pretty.out)).toMatch(/\n1 file, 1 step: 0 passed, 1 failed, 0 skipped \(TIME\)\n$/);
    } finally {
      await server.close();
    }
  });

  it('stops the --server process group when interrupted with Ctrl-C (SIGINT)', async () => {
    const pidFile = join(dir, 'server.pid');
    // BLPOP with no timeout blocks forever: protodoc is waiting for a reply when the signal comes.
    writeFileSync(join(dir, 'block.txt'), '>>> BLPOP nothing 0\n*2\n');
    const child = spawn(
      process.execPath,
      [
        BIN,
        'check',
        '--timeout',
        '60s',
        '--server',
        `echo $$ > ${pidFile}; exec redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no`,
        'block.txt',
      ],
      { cwd: dir, env: binEnv(), stdio: 'ignore' },
    );
    // The server is up once it wrote its pid and protodoc connected; poll the pid file, then wait a moment
    // for the step to be sent (no assertion depends on the timing: only on what happens after SIGINT).
    while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8') === '')
      await new Promise((r) => setTimeout(r, 20));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(signal ?? code)),
    );
    child.kill('SIGINT');
    expect(await exited).toBe('SIGINT');
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });
});
