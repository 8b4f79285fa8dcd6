import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeFor } from '../src/cli.js';
import { ConfigError, gitReason, PremergeError, RepoUnreachableError } from '../src/errors.js';
import { runCli } from './helpers/cli-in-process.js';

/** Runs the CLI in process, with no user config to find, and captures what it prints. */
function cli(...argv: string[]) {
  return runCli(argv, { env: { HOME: '/nonexistent-home' }, cwd: process.cwd() });
}

describe('CLI usage errors', () => {
  it('exits 2 with one error line for a missing required option', async () => {
    const r = await cli('once');
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr.split('\n')[0]).toBe("error: required option '--repo <path|url>' not specified");
  });

  it('exits 2 for an unknown command or option', async () => {
    expect((await cli('land')).code).toBe(EXIT.usage);
    expect((await cli('status', '--repo', '.', '--colour')).code).toBe(EXIT.usage);
  });

  it('exits 2 for a bad --interval, naming it, without a stack', async () => {
    const r = await cli('watch', '--repo', '.', '--interval', 'soon');
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toBe("error: --interval 'soon' is not a duration (e.g. 500ms, 30s, 5m, 1h)\n");
  });

  it('refuses --candidates-from with several --repo', async () => {
    const r = await cli('watch', '--repo', 'a', '--repo', 'b', '--candidates-from', 'c');
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/^error: --candidates-from needs exactly one --repo/);
  });

  it('-V and --version print the package version and exit 0', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    for (const flag of ['-V', '--version'])
      expect(await cli(flag)).toEqual({ code: EXIT.ok, stdout: `${version}\n`, stderr: '' });
  });

  it('shows help with exit 0 when asked, and exit 2 when no command is given', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(EXIT.ok);
    for (const command of ['once', 'watch', 'status', 'log', 'hook', 'alias'])
      expect(help.stdout).toContain(command);
    const none = await cli();
    expect(none.code).toBe(EXIT.usage);
    expect(none.stderr).toContain('Usage: premerge-bot');
  });
});

describe('exit code mapping', () => {
  const mapped = (err: unknown) => {
    let stderr = '';
    const code = exitCodeFor(err, (t) => {
      stderr += t;
    });
    return { code, stderr };
  };

  it('an invalid config is 3, one line naming file and line', () => {
    const err = new ConfigError(
      ".github/premerge.yml:4: key 'timeout': not a duration",
      'PREMERGE_CONFIG_INVALID',
      { file: '.github/premerge.yml', key: 'timeout', line: 4 },
    );
    expect(mapped(err)).toEqual({
      code: EXIT.config,
      stderr: "error: .github/premerge.yml:4: key 'timeout': not a duration\n",
    });
  });

  it('an unreachable repository is 4, one line', () => {
    const r = mapped(new RepoUnreachableError('cannot read /nowhere: no such repository', '/nowhere'));
    expect(r.code).toBe(EXIT.unavailable);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('a bug is 70 with the stack and a please-report line', () => {
    const r = mapped(new TypeError('x is undefined'));
    expect(r.code).toBe(EXIT.internal);
    expect(r.stderr).toMatch(/^error: internal: x is undefined\nTypeError: x is undefined\n\s+at /);
    expect(r.stderr).toMatch(/please report/);
    expect(mapped(new PremergeError('invariant broken', 'PREMERGE_INTERNAL')).code).toBe(EXIT.internal);
  });
});

describe('CLI against a repository that is not there', () => {
  it("exits 4 with one line that gives git's reason, not its closing advice", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'premerge-unreachable-'));
    const r = await cli('once', '--repo', '/nonexistent/premerge-repo.git', '--state-dir', stateDir);
    rmSync(stateDir, { recursive: true, force: true });
    expect(r.code).toBe(EXIT.unavailable);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('/nonexistent/premerge-repo.git');
    expect(lines[0]).toContain('does not appear to be a git repository');
  });

  it('gitReason picks the fatal line over trailing advice', () => {
    const stderr =
      "fatal: 'x' does not appear to be a git repository\nfatal: Could not read from remote repository.\n\n" +
      'Please make sure you have the correct access rights\nand the repository exists.\n';
    expect(gitReason(stderr)).toBe("'x' does not appear to be a git repository");
    expect(gitReason('warning: something\n')).toBe('warning: something');
    expect(gitReason('')).toBe('');
  });
});
