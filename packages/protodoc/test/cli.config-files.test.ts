/**
 * `files:` in protodoc.config.yaml, through the real binary: the transcripts a run checks when the
 * command line names none (paths and glob patterns, relative to the config file's directory, shown
 * relative to the cwd); files on the command line win; a path or pattern that finds nothing is an
 * error at FILE:LINE:COL.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildCli, type Outcome, runBin, timeless } from './build-cli.js';
import { startTestServer, type TestServer } from './helpers/tcp-servers.js';

let server: TestServer;
let dir: string;

function write(name: string, text: string): void {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

/** The binary in `cwd` (default: the test's directory). */
function protodoc(args: string[], cwd = dir): Promise<Outcome> {
  return runBin(args, cwd);
}

/** The PASS/FAIL lines of the pretty report, timings left out. */
const verdicts = (run: Outcome): string[] =>
  timeless(run.out)
    .split('\n')
    .filter((line) => /^(PASS|FAIL) /.test(line));

beforeAll(async () => {
  buildCli();
  server = await startTestServer((socket) => socket.on('data', () => socket.write('+PONG\r\n')));
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'protodoc-config-files-'));
  const ping = '>>> PING\n+PONG\n';
  write('ci/specs/b.txt', ping);
  write('ci/specs/a.txt', ping);
  write('ci/specs/deep/c.protodoc', ping);
  write('ci/specs/node_modules/dep/x.txt', ping);
  write('ci/more/z.txt', ping);
  write('ci/more/y.txt', ping);
  write('ci/docs/guide.md', `# Guide\n\n\`\`\`protodoc\n${ping}\`\`\`\n`);
  // Documentation without a transcript: a pattern that finds it skips it, as a directory search does.
  write('ci/docs/notes.md', '# Notes\n\nNothing to check here.\n');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("protodoc.config.yaml's files:", () => {
  it('are checked when the command line names none: paths and patterns, relative to the config', async () => {
    write(
      'ci/protodoc.config.yaml',
      `connect: ${server.target}\nfiles:\n  - more/z.txt\n  - 'specs/**/*.txt'\n  - docs/*.md\n  - more\n`,
    );
    const run = await protodoc(['check', '--config', 'ci/protodoc.config.yaml']);
    expect(run.exit, run.out + run.err).toBe(0);
    // In the order written; a pattern's matches sorted, node_modules left out; a file named twice once.
    expect(verdicts(run)).toEqual([
      'PASS ci/more/z.txt (1 step, TIME)',
      'PASS ci/specs/a.txt (1 step, TIME)',
      'PASS ci/specs/b.txt (1 step, TIME)',
      'PASS ci/docs/guide.md:4 (1 step, TIME)',
      'PASS ci/more/y.txt (1 step, TIME)',
    ]);
    expect(timeless(run.out)).toContain('5 files, 5 steps: 5 passed, 0 failed, 0 skipped (TIME)');

    // From the config's own directory, the paths read as written there.
    const inside = await protodoc(['check'], join(dir, 'ci'));
    expect(verdicts(inside)[0]).toBe('PASS more/z.txt (1 step, TIME)');
  });

  it('a directory in files: is searched as on the command line', async () => {
    write('ci/protodoc.config.yaml', `connect: ${server.target}\nfiles: specs\n`);
    const run = await protodoc(['check'], join(dir, 'ci'));
    expect(run.exit, run.out + run.err).toBe(0);
    expect(verdicts(run)).toEqual([
      'PASS specs/a.txt (1 step, TIME)',
      'PASS specs/b.txt (1 step, TIME)',
      'PASS specs/deep/c.protodoc (1 step, TIME)',
    ]);
  });

  it('give way to files on the command line', async () => {
    write('ci/protodoc.config.yaml', `connect: ${server.target}\nfiles: ['specs/*.txt', missing.txt]\n`);
    const run = await protodoc(['check', 'more/y.txt'], join(dir, 'ci'));
    expect(run.exit, run.out + run.err).toBe(0);
    expect(verdicts(run)).toEqual(['PASS more/y.txt (1 step, TIME)']);
  });

  it.each([
    [
      'a path that does not exist',
      'files:\n  - specs/a.txt\n  - spec/b.txt\n',
      "error: protodoc.config.yaml:3:5: 'files': spec/b.txt: no such file or directory\n",
    ],
    [
      'a pattern that matches no file',
      "files: [specs, 'spec/*.txt']\n",
      "error: protodoc.config.yaml:1:16: 'files': the pattern spec/*.txt matches no file\n",
    ],
    [
      'a value that is no path',
      'files: 42\n',
      "error: protodoc.config.yaml:1:8: 'files' must be a string or a list of strings\n",
    ],
  ])('refuse %s, at FILE:LINE:COL with exit 3', async (_, config, err) => {
    write('ci/protodoc.config.yaml', `${config}connect: ${server.target}\n`);
    const before = server.accepted;
    const run = await protodoc(['check'], join(dir, 'ci'));
    expect(run).toEqual({ out: '', err, exit: 3 });
    expect(server.accepted).toBe(before);
  });

  it('without them and without files on the command line, a run is a usage error', async () => {
    write('ci/protodoc.config.yaml', `connect: ${server.target}\n`);
    expect(await protodoc(['check'], join(dir, 'ci'))).toEqual({
      out: '',
      err: "error: no transcript files given: name files or directories, or list them under 'files:' in protodoc.config.yaml\n",
      exit: 2,
    });
  });
});
