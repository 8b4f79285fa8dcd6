/**
 * `protodoc/vitest` as a user's suite runs it: a real Vitest (this repository's, as a child process) on
 * a small project whose test files call `describeTranscripts`, against a real redis-server the helper
 * starts; the outcome read from Vitest's JSON report. Passing, failing (with protodoc's diff as the
 * message), skipped steps, a target that cannot be reached, a server that would not start, a syntax
 * error.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, ROOT } from './build-cli.js';

const REDIS = 'server: "redis-server --port {port} --save \'\'"';

interface VitestJson {
  numFailedTestSuites: number;
  testResults: {
    name: string;
    status: string;
    message: string;
    assertionResults: { fullName: string; status: string; failureMessages: string[] }[];
  }[];
}

let dir: string;
let report: VitestJson;
let exit: number;

/** The tests of `file`, as `[full name, status]`. */
function outcomes(file: string): [string, string][] {
  const result = report.testResults.find((r) => r.name.endsWith(`/${file}`))!;
  return result.assertionResults.map((a) => [a.fullName, a.status]);
}

function failure(fullName: string): string {
  for (const result of report.testResults) {
    for (const test of result.assertionResults)
      if (test.fullName === fullName) return test.failureMessages.join('\n');
  }
  throw new Error(`no test ${fullName}`);
}

beforeAll(async () => {
  buildCli();
  dir = mkdtempSync(join(tmpdir(), 'protodoc-vitest-'));
  // The project imports protodoc and vitest as an installed package would be found.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'vitest.config.mjs'), "export default { test: { include: ['*.test.mjs'] } };\n");
  writeFileSync(join(dir, 'pass.txt'), '>>> SET k hello\n+OK\n>>> GET k\n$5\nhello\n');
  writeFileSync(join(dir, 'fail.txt'), '>>> SET k hello\n+OK\n>>> GET k\n$5\nhowdy\n>>> PING\n+PONG\n');
  writeFileSync(
    join(dir, 'doc.md'),
    '```protodoc\n>>> PING\n+PONG\n```\n\n```protodoc\n>>> ECHO hi\n$2\nhi\n```\n',
  );
  writeFileSync(join(dir, 'down.txt'), '>>> PING\n+PONG\n>>>@elsewhere 127.0.0.1:1\n>>> PING\n+PONG\n');
  writeFileSync(join(dir, 'bad.txt'), '>>> PING\n>>>X\n');
  writeFileSync(
    join(dir, 'transcripts.test.mjs'),
    [
      "import { describeTranscripts } from 'protodoc/vitest';",
      `await describeTranscripts(['pass.txt', 'fail.txt', 'doc.md', 'down.txt'], { ${REDIS} });`,
      `await describeTranscripts('fail.txt', { name: 'steps', each: 'step', ${REDIS} });`,
      "await describeTranscripts('pass.txt', { name: 'no server', server: 'echo no luck >&2; exit 3' });",
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'syntax.test.mjs'),
    "import { describeTranscripts } from 'protodoc/vitest';\nawait describeTranscripts('bad.txt');\n",
  );
  // The child is a Vitest of its own, not a worker of this one.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  exit = await new Promise<number>((resolve, reject) => {
    execFile(
      process.execPath,
      [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=json', '--outputFile=report.json'],
      { cwd: dir, env, encoding: 'utf8' },
      (error) => {
        if (error !== null && typeof error.code !== 'number') reject(error);
        else resolve(error === null ? 0 : Number(error.code));
      },
    );
  });
  report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as VitestJson;
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('describeTranscripts in a Vitest run', () => {
  it('makes one test per transcript, named as the reports name it, failing where protodoc fails', () => {
    expect(exit).toBe(1);
    expect(outcomes('transcripts.test.mjs').slice(0, 5)).toEqual([
      ['protodoc pass.txt', 'passed'],
      ['protodoc fail.txt', 'failed'],
      ['protodoc doc.md:2', 'passed'],
      ['protodoc doc.md:7', 'passed'],
      ['protodoc down.txt', 'failed'],
    ]);
  });

  it("fails with protodoc's report, the diff of the failing step, as the message", () => {
    expect(failure('protodoc fail.txt')).toMatch(
      new RegExp(
        '^TranscriptFailedError: FAIL fail\\.txt \\(3 steps: 1 passed, 1 failed, 1 skipped, [\\d.]+m?s\\)\\n' +
          'fail\\.txt:5: the reply differs from the transcript\\n--- expected\\n\\+\\+\\+ received\\n' +
          '@@ -1,2 \\+1,2 @@\\n \\$5\\n-howdy\\n\\+hello\\n',
      ),
    );
    expect(failure('protodoc down.txt')).toContain(
      "ERROR down.txt:4: connection 'elsewhere': cannot connect to 127.0.0.1:1: connection refused",
    );
  });

  it('with each: step, makes a test per step, and skips those after a failing one', () => {
    expect(outcomes('transcripts.test.mjs').slice(5, 8)).toEqual([
      ['steps fail.txt line 1: SET k hello', 'passed'],
      ['steps fail.txt line 3: GET k', 'failed'],
      ['steps fail.txt line 6: PING', 'skipped'],
    ]);
    expect(failure('steps fail.txt line 3: GET k')).toMatch(
      /^TranscriptFailedError: fail\.txt:5: the reply differs from the transcript\n--- expected\n/,
    );
  });

  it('fails the tests of a server that would not start, with its last output', () => {
    expect(outcomes('transcripts.test.mjs').slice(8)).toEqual([['no server pass.txt', 'failed']]);
    expect(failure('no server pass.txt')).toMatch(/exited with code 3 .*its last output:\n {2}no luck/);
  });

  it("fails a file whose transcript cannot be parsed, at protodoc's PATH:LINE:COL", () => {
    const syntax = report.testResults.find((r) => r.name.endsWith('/syntax.test.mjs'))!;
    expect(syntax.status).toBe('failed');
    expect(syntax.message).toContain("bad.txt:2:4: unknown line type '>>>X'");
  });
});
