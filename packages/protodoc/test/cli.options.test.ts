/**
 * The CLI in process: which options each flag maps to, and which exit code and message each
 * outcome gives. `checkFiles` is replaced by a recorder here; cli.binary.test.ts runs the real thing.
 */

import { WriteStream } from 'node:tty';
import { describe, expect, it, vi } from 'vitest';
import type { CheckOptions, CheckResult } from '../src/check.js';
import { type CliContext, createProgram, runCli, useColor } from '../src/cli.js';
import { ServerStartError, TranscriptParseError, TranscriptSyntaxError, UsageError } from '../src/errors.js';
import type { TranscriptPath } from '../src/files.js';
import type { Recording, RecordOptions } from '../src/record.js';
import { summary } from './fixtures/results.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  calls: { paths: readonly TranscriptPath[]; options: CheckOptions }[];
}

async function cli(argv: string[], check?: CliContext['checkFiles']): Promise<Run> {
  const run: Run = { code: -1, stdout: '', stderr: '', calls: [] };
  run.code = await runCli(argv, {
    stdout: { write: (s: string) => (run.stdout += s) },
    stderr: { write: (s: string) => (run.stderr += s) },
    checkFiles: async (paths, options) => {
      run.calls.push({ paths, options });
      if (check) return check(paths, options);
      return { outcome: 'passed', summary: { ...summary, results: [], errors: 0, failed: 0 } };
    },
  });
  return run;
}

/** The options without the progress callback, its wish for step events and the variables the CLI always adds. */
function optionsOf(run: Run): Omit<CheckOptions, 'onEvent' | 'stepEvents' | 'variables'> {
  const {
    onEvent: _onEvent,
    stepEvents: _stepEvents,
    variables: _variables,
    ...options
  } = run.calls[0]!.options;
  return options;
}

describe('protodoc check: flags to options', () => {
  it('passes files and directories on as given', async () => {
    const run = await cli(['check', 'a.txt', 'dir/', 'b.md']);
    expect(run.code).toBe(0);
    expect(run.calls[0]!.paths).toEqual(['a.txt', 'dir/', 'b.md']);
    expect(optionsOf(run)).toEqual({});
  });

  it('leaves process.stdin alone unless -i reads answers from it', async () => {
    // Reading process.stdin makes a socket (a pipe's, a terminal's): one more kind of net.Socket before the
    // run's own makes every per-step use of the sockets' shared `_handle` getter a megamorphic lookup.
    const stdin = vi.spyOn(process, 'stdin', 'get');
    try {
      expect((await cli(['check', 'a.txt'])).code).toBe(0);
      expect(stdin).not.toHaveBeenCalled();
    } finally {
      stdin.mockRestore();
    }
  });

  it('traces the run with -v / --verbose, and only then, printing on stderr', async () => {
    expect(optionsOf(await cli(['check', 'a.txt'])).trace).toBeUndefined();
    for (const flag of ['-v', '--verbose']) {
      const run = await cli(['check', flag, 'a.txt'], async (_paths, options) => {
        options.onEvent?.({ type: 'file-start', path: 'a.txt', index: 0 });
        options.trace?.({
          type: 'sent',
          path: 'a.txt',
          connection: 'main',
          bytes: Buffer.from('PING\r\n'),
          at: 1,
        });
        return { outcome: 'passed', summary: { ...summary, results: [], errors: 0, failed: 0 } };
      });
      expect(run.stderr).toBe('* a.txt\n>     1.0ms main: PING\n');
    }
  });

  it('loads --var, --secret and PROTODOC_VAR_<NAME> into the variables, --var winning', async () => {
    process.env.PROTODOC_VAR_fromenv = 'env';
    try {
      const run = await cli([
        'check',
        '--var',
        'a=1',
        '--var',
        'a=2',
        '--secret',
        'b=x',
        '--secret',
        'a',
        'f.txt',
      ]);
      const variables = run.calls[0]!.options.variables!;
      expect(variables.get('a')?.value.toString()).toBe('2');
      expect(variables.isSecret('a')).toBe(true);
      expect(variables.get('b')?.value.toString()).toBe('x');
      expect(variables.get('fromenv')).toMatchObject({ origin: 'env' });
    } finally {
      delete process.env.PROTODOC_VAR_fromenv;
    }
  });

  it('maps every run flag, durations in milliseconds', async () => {
    const run = await cli([
      'check',
      '--connect',
      'tls://example.test:465',
      '--cacert',
      'ca.pem',
      '--insecure',
      '--server',
      'redis-server --port {port}',
      '--server-timeout',
      '3s',
      '--timeout',
      '1.5s',
      '--settle',
      '50ms',
      'x.txt',
    ]);
    expect(run.code).toBe(0);
    expect(optionsOf(run)).toEqual({
      connect: 'tls://example.test:465',
      cacert: 'ca.pem',
      insecure: true,
      server: 'redis-server --port {port}',
      serverStartTimeoutMs: 3000,
      timeoutMs: 1500,
      settleMs: 50,
    });
  });

  it('maps the flags of parallel and partial runs', async () => {
    const run = await cli([
      'check',
      '--jobs',
      '4',
      '--server-scope',
      'file',
      '--shard',
      '2/3',
      '--filter',
      '^specs/(db|mail)/',
      '--bail',
      '--retries',
      '2',
      'x.txt',
    ]);
    expect(run.code).toBe(0);
    expect(optionsOf(run)).toEqual({
      jobs: 4,
      serverScope: 'file',
      shard: { index: 2, count: 3 },
      filter: /^specs\/(db|mail)\//,
      bail: true,
      retries: 2,
    });
    expect(optionsOf(await cli(['check', '-j', 'auto', 'x.txt']))).toEqual({ jobs: 'auto' });
  });

  it.each([
    [
      ['--jobs', '0'],
      "error: option '-j, --jobs <n>' argument '0' is invalid. expected a whole number of at least 1, or auto",
    ],
    [
      ['--jobs', 'all'],
      "error: option '-j, --jobs <n>' argument 'all' is invalid. expected a whole number of at least 1, or auto",
    ],
    [
      ['--shard', '4/3'],
      "error: option '--shard <i/n>' argument '4/3' is invalid. expected I/N with 1 <= I <= N, e.g. 2/4",
    ],
    [
      ['--retries', '-1'],
      "error: option '--retries <n>' argument '-1' is invalid. expected a whole number (0 or more)",
    ],
    [
      ['--server-scope', 'worker'],
      "error: option '--server-scope <scope>' argument 'worker' is invalid. Allowed choices are run, file.",
    ],
    [
      ['--filter', '(unclosed'],
      "error: option '--filter <regex>' argument '(unclosed' is invalid. not a regular expression: Invalid regular expression: /(unclosed/: Unterminated group",
    ],
  ])('refuses %j with one line and exit 2', async (flags, message) => {
    const run = await cli(['check', ...flags, 'x.txt']);
    expect({ code: run.code, stderr: run.stderr, calls: run.calls.length }).toEqual({
      code: 2,
      stderr: `${message}\n`,
      calls: 0,
    });
  });

  it('listens to progress so the pretty report appears as files finish', async () => {
    const run = await cli(['check', 'x.txt']);
    expect(typeof run.calls[0]!.options.onEvent).toBe('function');
  });

  it('asks for an event per step only when -v or a reporter reads them', async () => {
    expect((await cli(['check', 'x.txt'])).calls[0]!.options.stepEvents).toBe(false);
    expect((await cli(['check', '--reporter', 'dot', 'x.txt'])).calls[0]!.options.stepEvents).toBe(false);
    expect((await cli(['check', '-v', 'x.txt'])).calls[0]!.options.stepEvents).toBe(true);
    // A reporter that follows steps (as pretty does on a terminal, live).
    const calls: CheckOptions[] = [];
    await runCli(['check', 'x.txt'], {
      stdout: { write: () => true },
      stderr: { write: () => true },
      reporters: {
        pretty: {
          description: 'follows steps',
          load: async () => ({ createReporter: () => ({ onStepEnd() {}, onRunEnd() {} }) }),
        },
      },
      checkFiles: async (_paths, options) => {
        calls.push(options);
        return { outcome: 'passed', summary: { ...summary, results: [], errors: 0, failed: 0 } };
      },
    });
    expect(calls[0]!.stepEvents).toBe(true);
  });
});

describe('protodoc check: usage errors exit 2 with one line', () => {
  it.each([
    [
      ['check', '--timeout', 'soon', 'x.txt'],
      "error: option '--timeout <duration>' argument 'soon' is invalid.",
    ],
    [['check', '--timeout', '0s', 'x.txt'], "error: option '--timeout <duration>' argument '0s' is invalid."],
    [['check', '--settle', '5', 'x.txt'], "error: option '--settle <duration>' argument '5' is invalid."],
    [
      ['check', '--reporter', 'xml', 'x.txt'],
      "error: option '--reporter <name[=file]>' argument 'xml' is invalid. Allowed reporters are pretty, dot, json, junit, tap, github.",
    ],
    [
      ['check', '--reporter', 'json=', 'x.txt'],
      "error: option '--reporter <name[=file]>' argument 'json=' is invalid. Give a file after 'json=', or leave '=' out for stdout.",
    ],
    [['check', '--bogus', 'x.txt'], "error: unknown option '--bogus'"],
    [
      ['check'],
      "error: no transcript files given: name files or directories, or list them under 'files:' in protodoc.config.yaml",
    ],
    [['checkk', 'x.txt'], "error: unknown command 'checkk'\n(Did you mean check?)"],
    [['check', '--connect'], "error: option '--connect <target>' argument missing"],
  ])('%j', async (argv, firstLine) => {
    const run = await cli(argv);
    expect(run.code).toBe(2);
    expect(run.calls).toHaveLength(0);
    expect(run.stderr.startsWith(firstLine)).toBe(true);
    // At most commander's `(Did you mean check?)` follows the line; never a stack.
    expect(run.stderr.trimEnd().split('\n').length).toBeLessThanOrEqual(2);
    expect(run.stderr).not.toContain('    at ');
    expect(run.stdout).toBe('');
  });
});

describe('protodoc: help and version exit 0', () => {
  it('prints the version of the package', async () => {
    const run = await cli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('0.1.0\n');
  });

  it('documents the flags and the exit codes in the help', async () => {
    const run = await cli(['check', '--help']);
    expect(run.code).toBe(0);
    for (const flag of [
      '--connect',
      '--cacert',
      '--insecure',
      '--server',
      '--timeout',
      '--settle',
      '--reporter',
      '--jobs',
      '--server-scope',
      '--shard',
      '--filter',
      '--bail',
      '--retries',
      '--config',
    ]) {
      expect(run.stdout).toContain(flag);
    }
    expect(run.stdout).toContain('Exit codes:\n  0   every transcript passed\n');
  });
});

describe('protodoc check: outcomes to exit codes', () => {
  const result =
    (outcome: CheckResult['outcome']): CliContext['checkFiles'] =>
    async () => ({ outcome, summary });

  it('exits 1 when a transcript failed, and prints the report and summary', async () => {
    const run = await cli(['check', 'x.txt'], result('failed'));
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '3 files, 6 steps: 3 passed, 1 failed, 2 skipped, 1 could not run (0.21s)\n',
    );
  });

  it('exits 4 when a transcript could not run', async () => {
    expect((await cli(['check', 'x.txt'], result('error'))).code).toBe(4);
  });

  it('exits 2 with one line for a usage error from the library', async () => {
    const run = await cli(['check', 'x.txt'], async () => {
      throw new UsageError('x.txt: no such file or directory');
    });
    expect([run.code, run.stderr]).toEqual([2, 'error: x.txt: no such file or directory\n']);
  });

  it('exits 3 and lists every parse error, without a stack', async () => {
    const run = await cli(['check', 'a.txt', 'b.txt'], async () => {
      throw new TranscriptParseError([
        new TranscriptSyntaxError('a.txt', 3, 4, "unknown line type '>>>X'"),
        new TranscriptSyntaxError('b.txt', 1, 6, "unknown escape '\\q'"),
      ]);
    });
    expect(run.code).toBe(3);
    expect(run.stderr).toBe(
      "error: a.txt:3:4: unknown line type '>>>X'\nerror: b.txt:1:6: unknown escape '\\q'\n",
    );
  });

  it('exits 4 when --server failed, with its output after the first line', async () => {
    const run = await cli(['check', 'x.txt'], async () => {
      throw new ServerStartError("server 'x' exited with code 3; its last output:\n  boom");
    });
    expect([run.code, run.stderr]).toEqual([
      4,
      "error: server 'x' exited with code 3; its last output:\n  boom\n",
    ]);
  });

  it('exits 70 with the stack and a request to report an internal error', async () => {
    const run = await cli(['check', 'x.txt'], async () => {
      throw new TypeError('undefined is not a function');
    });
    expect(run.code).toBe(70);
    expect(run.stderr).toMatch(/^protodoc: internal error: TypeError: undefined is not a function\n {4}at /);
    expect(run.stderr).toContain('Please report it');
  });

  it('writes the JSON report on stdout with --reporter json, and nothing else there', async () => {
    const run = await cli(['check', '--reporter', 'json', 'x.txt'], result('failed'));
    expect(JSON.parse(run.stdout)).toMatchObject({ version: 1, status: 'error', summary: { files: 3 } });
  });

  it('writes JUnit XML on stdout with --reporter junit', async () => {
    const run = await cli(['check', '--reporter', 'junit', 'x.txt'], result('failed'));
    expect(run.stdout.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="protodoc"')).toBe(
      true,
    );
  });
});

describe('useColor', () => {
  const tty = { write: () => true, isTTY: true, hasColors: () => true };
  const pipe = { write: () => true };

  it('follows --color / --no-color, else colours only a terminal that has colours', () => {
    expect(useColor(true, pipe, {})).toBe(true);
    expect(useColor(false, tty, {})).toBe(false);
    expect(useColor(undefined, tty, {})).toBe(true);
    expect(useColor(undefined, pipe, {})).toBe(false);
    expect(useColor(undefined, { ...tty, hasColors: () => false }, {})).toBe(false);
  });

  it('takes FORCE_COLOR as Node does: 0 or false turn colour off, anything else on, into a pipe too', () => {
    for (const on of ['', '1', '2', '3', 'true'])
      expect(useColor(undefined, pipe, { FORCE_COLOR: on })).toBe(true);
    for (const off of ['0', 'false']) expect(useColor(undefined, tty, { FORCE_COLOR: off })).toBe(false);
    expect(useColor(false, pipe, { FORCE_COLOR: '1' })).toBe(false);
  });

  it("asks a real terminal stream with the CLI's environment, so NO_COLOR and TERM=dumb turn colour off", () => {
    // What tty.WriteStream.hasColors decides from an environment (it reads nothing else of the stream).
    const hasColors = (env: object) => WriteStream.prototype.hasColors.call({}, 16, env);
    const real = { write: () => true, isTTY: true, hasColors };
    expect(useColor(undefined, real, { TERM: 'xterm-256color' })).toBe(true);
    expect(useColor(undefined, real, { TERM: 'xterm-256color', NO_COLOR: '1' })).toBe(false);
    expect(useColor(undefined, real, { TERM: 'dumb' })).toBe(false);
  });
});

describe('createProgram', () => {
  it('throws CommanderErrors instead of exiting, and writes to the given streams', async () => {
    let err = '';
    const program = createProgram({
      stdout: { write: () => true },
      stderr: { write: (s: string) => (err += s) },
    });
    await expect(program.parseAsync(['check', '--bogus', 'x.txt'], { from: 'user' })).rejects.toMatchObject({
      code: 'commander.unknownOption',
      exitCode: 1,
    });
    expect(err).toBe("error: unknown option '--bogus'\n");
  });
});

describe('report files', () => {
  it('refuses a report path in a missing directory before running anything', async () => {
    const run = await cli(['check', '--report-junit', '/nonexistent/dir/report.xml', 'x.txt']);
    expect(run.code).toBe(2);
    expect(run.calls).toHaveLength(0);
    expect(run.stderr).toBe(
      'error: cannot write the report /nonexistent/dir/report.xml: no such directory /nonexistent/dir\n',
    );
  });
});

describe('protodoc record: flags to options', () => {
  /** Runs `record` in process with a stand-in recorder that returns `recording` when stopped. */
  async function recordCli(argv: string[], recording: Partial<Recording> = {}) {
    const run = { code: -1, stdout: '', stderr: '', options: [] as RecordOptions[], released: false };
    run.code = await runCli(['record', ...argv], {
      stdout: { write: (s: string) => (run.stdout += s) },
      stderr: { write: (s: string) => (run.stderr += s) },
      record: async (options) => {
        run.options.push(options);
        options.trace?.({
          type: 'sent',
          path: 'r.txt',
          connection: 'conn1',
          bytes: Buffer.from('PING\r\n'),
          at: 1,
        });
        options.onWarning?.('conn2: cannot connect to 127.0.0.1:1: connection refused');
        return {
          address: '127.0.0.1:4000',
          target: '127.0.0.1:6379',
          accepted: 1,
          stop: async () => ({
            text: 'x',
            steps: 2,
            connections: 1,
            captures: [],
            written: 'r.txt',
            ...recording,
          }),
        };
      },
      untilStopped: () => ({ stopped: Promise.resolve(), release: () => void (run.released = true) }),
    });
    return run;
  }

  it('maps every flag, says where it listens and what it wrote, and exits 0', async () => {
    const run = await recordCli([
      '--listen',
      '4000',
      '--connect',
      'tls://localhost:6380',
      '--output',
      'r.txt',
      '--server',
      'srv {port}',
      '--server-timeout',
      '3s',
      '--settle',
      '50ms',
      '--timeout',
      '2s',
      '--volatile',
      'id=\\d+',
      '--volatile',
      'x',
      '--secret',
      'a=b',
      '--cacert',
      'ca.pem',
      '--insecure',
    ]);
    const { onWarning: _onWarning, ...options } = run.options[0]!;
    expect(options).toEqual({
      listen: '4000',
      output: 'r.txt',
      connect: 'tls://localhost:6380',
      server: 'srv {port}',
      serverStartTimeoutMs: 3000,
      settleMs: 50,
      timeoutMs: 2000,
      volatile: ['id=\\d+', 'x'],
      secrets: ['a=b'],
      cacert: 'ca.pem',
      insecure: true,
    });
    expect(run.stdout).toBe(
      'listening on 127.0.0.1:4000, forwarding to 127.0.0.1:6379; Ctrl-C (or SIGTERM) writes r.txt\n' +
        'wrote r.txt: 2 steps on 1 connection\n',
    );
    expect(run.stderr).toBe('warning: conn2: cannot connect to 127.0.0.1:1: connection refused\n');
    expect(run.code).toBe(0);
    expect(run.released).toBe(true);
  });

  it('prints the traffic with -v, secrets hidden, and names the captures it wrote', async () => {
    const run = await recordCli(
      ['--listen', '0', '--connect', 'h:1', '--output', 'r.txt', '-v', '--secret', 'p=PING'],
      {
        captures: ['job', 'session'],
      },
    );
    expect(run.stderr).toBe(
      '>     1.0ms conn1: {{p}}\nwarning: conn2: cannot connect to 127.0.0.1:1: connection refused\n',
    );
    expect(run.stdout).toMatch(
      /\nwrote r\.txt: 2 steps on 1 connection, capturing \{\{job\}\}, \{\{session\}\}\n$/,
    );
  });

  it('exits 1 when nothing was recorded, and 2 without --listen or --output', async () => {
    const nothing = await recordCli(['--listen', '0', '--connect', 'h:1', '--output', 'r.txt'], {
      steps: 0,
      connections: 0,
      text: '',
      written: undefined,
    });
    expect(nothing.stderr).toContain(
      'error: nothing was recorded (no bytes went through); r.txt was not written\n',
    );
    expect(nothing.code).toBe(1);
    const missing = await recordCli(['--connect', 'h:1', '--output', 'r.txt']);
    expect(missing.stderr).toBe("error: required option '--listen <[host:]port>' not specified\n");
    expect(missing.code).toBe(2);
    expect(missing.options).toEqual([]);
  });
});
