/**
 * `--reporter NAME[=FILE]` in process: which reporters a command line gets (one on stdout at most,
 * `pretty` by default, `github` added under GitHub Actions), that several write in one run, that a
 * run ending early still writes its reports, and that the registry is the one list of formats the CLI
 * and its help read.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliContext, resolveReporters, runCli } from '../src/cli.js';
import { ServerStartError, TranscriptParseError, TranscriptSyntaxError } from '../src/errors.js';
import { REPORTERS } from '../src/reporters/registry.js';
import { everyStatus, summary } from './fixtures/results.js';

const dir = mkdtempSync(join(tmpdir(), 'protodoc-cli-reporters-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(argv: string[], context: Partial<CliContext> = {}): Promise<Run> {
  const run: Run = { code: -1, stdout: '', stderr: '' };
  run.code = await runCli(argv, {
    stdout: { write: (s: string) => (run.stdout += s) },
    stderr: { write: (s: string) => (run.stderr += s) },
    checkFiles: async () => ({ outcome: 'failed', summary }),
    env: {},
    ...context,
  });
  return run;
}

describe('resolveReporters', () => {
  it('puts pretty on stdout unless a reporter without a file is named', () => {
    expect(resolveReporters([])).toEqual([{ name: 'pretty' }]);
    expect(resolveReporters([{ name: 'junit', file: 'r.xml' }])).toEqual([
      { name: 'pretty' },
      { name: 'junit', file: 'r.xml' },
    ]);
    expect(resolveReporters([{ name: 'tap' }, { name: 'json', file: 'r.json' }])).toEqual([
      { name: 'tap' },
      { name: 'json', file: 'r.json' },
    ]);
  });

  it('adds github under GITHUB_ACTIONS=true when stdout carries pretty or dot, and only then', () => {
    const env = { GITHUB_ACTIONS: 'true' };
    expect(resolveReporters([], env)).toEqual([{ name: 'pretty' }, { name: 'github' }]);
    expect(resolveReporters([{ name: 'dot' }], env)).toEqual([{ name: 'dot' }, { name: 'github' }]);
    expect(resolveReporters([{ name: 'json' }], env)).toEqual([{ name: 'json' }]);
    expect(resolveReporters([{ name: 'github', file: 'a.txt' }], env)).toEqual([
      { name: 'pretty' },
      { name: 'github', file: 'a.txt' },
    ]);
    expect(resolveReporters([], { GITHUB_ACTIONS: 'false' })).toEqual([{ name: 'pretty' }]);
  });

  it('refuses two reporters on stdout and two reports in one file', () => {
    expect(() => resolveReporters([{ name: 'pretty' }, { name: 'tap' }])).toThrow(
      expect.objectContaining({ code: 'PROTODOC_ERR_USAGE' }),
    );
    expect(() =>
      resolveReporters([
        { name: 'json', file: 'r' },
        { name: 'junit', file: 'r' },
      ]),
    ).toThrow(expect.objectContaining({ code: 'PROTODOC_ERR_USAGE' }));
  });
});

describe('protodoc check --reporter', () => {
  it('writes pretty, JUnit and JSON in one run', async () => {
    const xml = join(dir, 'all.xml');
    const json = join(dir, 'all.json');
    const run = await cli([
      'check',
      '--reporter',
      'pretty',
      '--reporter',
      `junit=${xml}`,
      '--reporter',
      `json=${json}`,
      'x.txt',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^PASS examples\/ping\.txt /);
    expect(run.stdout).toContain(
      '3 files, 6 steps: 3 passed, 1 failed, 2 skipped, 1 could not run (0.21s)\n',
    );
    expect(readFileSync(xml, 'utf8')).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites /);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toMatchObject({ version: 1, summary: { files: 3 } });
  });

  it('keeps --report-json and --report-junit as aliases of json=FILE and junit=FILE', async () => {
    const xml = join(dir, 'alias.xml');
    const json = join(dir, 'alias.json');
    const run = await cli(['check', '--report-json', json, '--report-junit', xml, 'x.txt']);
    expect(run.stdout).toMatch(/^PASS /);
    expect(readFileSync(xml, 'utf8')).toContain('<testsuites ');
    expect(JSON.parse(readFileSync(json, 'utf8')).version).toBe(1);
  });

  it('exits 2 when two reporters would write to stdout, running nothing', async () => {
    let ran = false;
    const run = await cli(['check', '--reporter', 'json', '--reporter', 'tap', 'x.txt'], {
      checkFiles: async () => {
        ran = true;
        return { outcome: 'passed', summary };
      },
    });
    expect([run.code, ran, run.stdout]).toEqual([2, false, '']);
    expect(run.stderr).toBe(
      'error: --reporter json and --reporter tap both write to stdout, and only one can: give the other a file (--reporter tap=FILE)\n',
    );
  });

  it('adds the github annotations to pretty under GITHUB_ACTIONS=true, not as a second stdout reporter', async () => {
    const run = await cli(['check', 'x.txt'], { env: { GITHUB_ACTIONS: 'true' } });
    expect(run.stdout).toMatch(/^PASS /);
    expect(run.stdout).toContain(
      '\n::error file=tests/get.txt,line=6,title=the reply differs::--- expected%0A',
    );
    expect(run.stdout.indexOf('::error file=tests/get.txt')).toBeGreaterThan(
      run.stdout.indexOf('FAIL tests/get.txt'),
    );
    expect(
      (await cli(['check', '--reporter', 'json', 'x.txt'], { env: { GITHUB_ACTIONS: 'true' } })).stdout,
    ).not.toContain('::error');
  });

  it('writes the reports of a run that ends at a syntax error, with the errors in them', async () => {
    const json = join(dir, 'syntax.json');
    const xml = join(dir, 'syntax.xml');
    const run = await cli(['check', '--reporter', `json=${json}`, '--reporter', `junit=${xml}`, 'a.txt'], {
      checkFiles: async () => {
        throw new TranscriptParseError([
          new TranscriptSyntaxError('a.txt', 3, 4, "unknown line type '>>>X'"),
        ]);
      },
    });
    expect(run.code).toBe(3);
    expect(run.stderr).toBe("error: a.txt:3:4: unknown line type '>>>X'\n");
    expect(run.stdout).toBe('');
    expect(JSON.parse(readFileSync(json, 'utf8'))).toMatchObject({
      status: 'error',
      transcripts: [],
      error: {
        code: 'PROTODOC_ERR_SYNTAX',
        message: "a.txt:3:4: unknown line type '>>>X'",
        errors: [{ message: "unknown line type '>>>X'", file: 'a.txt', line: 3, column: 4 }],
      },
    });
    expect(readFileSync(xml, 'utf8')).toContain(
      '<testcase name="a.txt:3:4 (cannot run)" classname="a.txt" file="a.txt" line="3" time="0.000">\n      <error message="unknown line type &apos;&gt;&gt;&gt;X&apos;" type="PROTODOC_ERR_SYNTAX">',
    );
  });

  it('writes the reports of a run whose server would not start', async () => {
    const run = await cli(['check', '--reporter', 'tap', 'x.txt'], {
      checkFiles: async () => {
        throw new ServerStartError("server 'x' exited with code 3; its last output:\n  boom");
      },
    });
    expect(run.code).toBe(4);
    expect(run.stdout).toBe(
      "TAP version 14\n# error: server 'x' exited with code 3; its last output:\n#   boom\nBail out! server 'x' exited with code 3; its last output:\n",
    );
  });

  it('prints every status, flaky and skipped too, with dot', async () => {
    const run = await cli(['check', '--reporter', 'dot', 'x.txt'], {
      checkFiles: async () => ({ outcome: 'error', summary: everyStatus }),
    });
    expect(run.stdout).toMatch(/^\.FE!-\n\nFAIL tests\/get\.txt /);
    expect(run.stdout).toContain('\nERROR tests/down.txt: cannot connect');
    expect(run.stdout).toContain('\nFLAKY tests/queue.txt (1 step, passed on attempt 2, ');
    expect(run.stdout).toMatch(/, 1 flaky, 1 could not run \(0\.32s\)\n$/);
  });
});

describe('the reporter registry', () => {
  it("is what the README's table of reporters lists, in order", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const table = /<!-- reporters:start[^>]*-->\n([\s\S]*?)<!-- reporters:end -->/.exec(readme)![1]!;
    const names = [...table.matchAll(/^\| `([a-z]+)` \|/gm)].map((m) => m[1]);
    expect(names).toEqual(Object.keys(REPORTERS));
  });

  it('is what the help lists, name by name with its description', async () => {
    const run = await cli(['check', '--help']);
    for (const [name, entry] of Object.entries(REPORTERS)) {
      expect(run.stdout).toMatch(
        new RegExp(`\\n  ${name} +${entry.description.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`),
      );
    }
  });

  it('is all it takes to add a format: one more entry works on the command line and shows in the help', async () => {
    const reporters = {
      ...REPORTERS,
      count: {
        description: 'how many transcripts ran',
        load: async () => ({
          createReporter: ({ out }: { out: { write(text: string): void } }) => ({
            onRunEnd: ({ summary: s }: { summary: { transcripts: number } }) =>
              out.write(`${s.transcripts}\n`),
          }),
        }),
      },
    };
    const file = join(dir, 'count.txt');
    const run = await cli(['check', '--reporter', 'count', 'x.txt'], { reporters });
    expect(run.stdout).toBe('3\n');
    const both = await cli(['check', '--reporter', `count=${file}`, 'x.txt'], { reporters });
    expect(both.stdout).toMatch(/^PASS /);
    expect(readFileSync(file, 'utf8')).toBe('3\n');
    expect((await cli(['check', '--help'], { reporters })).stdout).toContain(
      '\n  count   how many transcripts ran\n',
    );
    expect((await cli(['check', '--reporter', 'count', 'x.txt'])).code).toBe(2);
  });
});
