/**
 * The real binary against a real redis-server, writing every report format in one run, each read by
 * its real reader: xmllint with junit-10.xsd, tap-parser, ajv with report.schema.json, and GitHub's
 * parsing of workflow commands. Also the runs that end early (a syntax error, a server that would not
 * start): every report is still written, with the error in it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonReport } from '../src/reporters/json.js';
import { buildCli, runBin } from './build-cli.js';
import { jsonReportErrors, junitSchemas, readAnnotations, readTap, xmllint } from './helpers/consumers.js';
import { type RedisServer, startRedis } from './helpers/servers.js';

let redis: RedisServer;
let dir: string;

beforeAll(async () => {
  buildCli();
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'protodoc-reports-'));
  writeFileSync(join(dir, 'pass.txt'), '>>> SET k hello\n+OK\n>>> GET k\n$5\nhello\n');
  writeFileSync(join(dir, 'fail.txt'), '>>> SET k hello\n+OK\n>>> GET k\n$5\nhowdy\n>>> PING\n+PONG\n');
  writeFileSync(
    join(dir, 'doc.md'),
    '# Two blocks\n\n```protodoc\n>>> PING\n+PONG\n```\n\n```protodoc\n>>> ECHO <&>\n$3\n<&>\n```\n',
  );
  // Its second connection goes where nothing listens: it cannot run from line 4 on.
  writeFileSync(join(dir, 'down.txt'), '>>> PING\n+PONG\n>>>@elsewhere 127.0.0.1:1\n>>> PING\n+PONG\n');
  writeFileSync(join(dir, 'bad.txt'), '>>> PING\n+PONG\n>>>X oops\n');
});

afterAll(async () => {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ALL = ['junit=r.xml', 'json=r.json', 'tap=r.tap', 'github=r.github', 'dot=r.dot', 'pretty=r.pretty'];

function reporters(): string[] {
  return ALL.flatMap((spec) => ['--reporter', spec]);
}

const read = (name: string): string => readFileSync(join(dir, name), 'utf8');

describe('every report of one real run, read by its reader', () => {
  let run: Awaited<ReturnType<typeof runBin>>;
  beforeAll(async () => {
    run = await runBin(
      ['check', '--connect', redis.target, ...reporters(), 'pass.txt', 'fail.txt', 'doc.md', 'down.txt'],
      dir,
    );
  });

  it('prints pretty on stdout, exits 4 (a target could not be reached), and writes each file', () => {
    expect(run.exit).toBe(4);
    expect(run.out).toMatch(/^PASS pass\.txt .*\nFAIL fail\.txt /);
    // The same text into a file as on stdout, but for the timings.
    const timeless = (text: string) => text.replace(/\d+(\.\d+)?m?s\)/g, 'T)');
    expect(timeless(read('r.pretty'))).toBe(timeless(run.out));
    expect(read('r.dot')).toMatch(/^\.F\.\.E\n\nFAIL fail\.txt /);
  });

  it('JUnit: valid for junit-10.xsd readers, a case per step at its file and line', async () => {
    const xml = read('r.xml');
    expect(await xmllint(xml, junitSchemas().withFileAndLine)).toEqual({ valid: true, errors: '' });
    expect(xml).toContain(
      '<testcase name="fail.txt:3 GET k" classname="fail.txt" file="fail.txt" line="5" time="',
    );
    expect(xml).toContain(
      '<testcase name="doc.md:9 ECHO &lt;&amp;&gt;" classname="doc.md" file="doc.md" line="9" time="',
    );
    expect(xml).toMatch(/<testsuite name="down\.txt" tests="3" failures="0" errors="1" skipped="1" /);
  });

  it('JSON: valid against report.schema.json', () => {
    const report = JSON.parse(read('r.json')) as JsonReport;
    expect(jsonReportErrors(report)).toEqual([]);
    expect(report.summary).toMatchObject({ files: 4, transcripts: 5, failed: 1, errors: 1, flaky: 0 });
    expect(report.transcripts.map((t) => t.status)).toEqual([
      'passed',
      'failed',
      'passed',
      'passed',
      'error',
    ]);
  });

  it('TAP: a TAP 14 stream tap-parser reads without a complaint', async () => {
    const tap = await readTap(read('r.tap'));
    expect([tap.version, tap.plan, tap.ok, tap.extra, tap.tapErrors]).toEqual([
      14,
      { start: 1, end: 5 },
      false,
      [],
      [],
    ]);
    expect(tap.points.map((p) => [p.ok, p.name])).toEqual([
      [true, 'pass.txt'],
      [false, 'fail.txt'],
      [true, 'doc.md:4'],
      [true, 'doc.md:9'],
      [false, 'down.txt'],
    ]);
    expect(tap.points[1]!.subtest.map((p) => p.name)).toEqual([
      'line 1: SET k hello',
      'line 3: GET k',
      'line 6: PING',
    ]);
  });

  it('GitHub: annotations at the failing line and at the file that could not run', () => {
    expect(
      readAnnotations(read('r.github')).map((a) => [a.command, a.properties.file, a.properties.line]),
    ).toEqual([
      ['error', 'fail.txt', '5'],
      ['error', 'down.txt', '4'],
    ]);
  });
});

describe('reports of a run that ended early', () => {
  it('are written at a syntax error, with the error at its line, and exit 3', async () => {
    const run = await runBin(
      ['check', '--connect', redis.target, ...reporters(), 'pass.txt', 'bad.txt'],
      dir,
    );
    expect([run.exit, run.out, run.err]).toEqual([3, '', "error: bad.txt:3:4: unknown line type '>>>X'\n"]);
    const json = JSON.parse(read('r.json')) as JsonReport;
    expect(jsonReportErrors(json)).toEqual([]);
    expect(json).toMatchObject({
      status: 'error',
      transcripts: [],
      error: { code: 'PROTODOC_ERR_SYNTAX', errors: [{ file: 'bad.txt', line: 3, column: 4 }] },
    });
    expect(await xmllint(read('r.xml'), junitSchemas().withFileAndLine)).toEqual({ valid: true, errors: '' });
    expect(read('r.xml')).toContain(
      '<testcase name="bad.txt:3:4 (cannot run)" classname="bad.txt" file="bad.txt" line="3" ',
    );
    const tap = await readTap(read('r.tap'));
    expect([tap.ok, tap.bailout, tap.extra]).toEqual([false, "bad.txt:3:4: unknown line type '>>>X'", []]);
    expect(readAnnotations(read('r.github'))).toEqual([
      {
        command: 'error',
        properties: { file: 'bad.txt', line: '3', col: '4', title: 'protodoc cannot run this file' },
        data: "unknown line type '>>>X'",
      },
    ]);
  });

  it('are written when the server would not start, with its last output, and exit 4', async () => {
    const run = await runBin(
      [
        'check',
        '--server',
        'echo cannot bind >&2; exit 3',
        '--connect',
        '127.0.0.1:{port}',
        ...reporters(),
        'pass.txt',
      ],
      dir,
    );
    expect(run.exit).toBe(4);
    expect(run.err).toMatch(/^error: server .*exited with code 3/);
    const json = JSON.parse(read('r.json')) as JsonReport;
    expect(jsonReportErrors(json)).toEqual([]);
    expect(json.error).toMatchObject({ code: 'PROTODOC_ERR_SERVER' });
    expect(json.error!.errors[0]!.message).toContain('cannot bind');
    expect(await xmllint(read('r.xml'), junitSchemas().withFileAndLine)).toEqual({ valid: true, errors: '' });
    expect(read('r.xml')).toContain('type="PROTODOC_ERR_SERVER"');
    expect((await readTap(read('r.tap'))).bailout).toMatch(/exited with code 3/);
    expect(readAnnotations(read('r.github'))[0]!.data).toContain('cannot bind');
  });
});
