import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli.js';
import { runCli } from './helpers/cli-in-process.js';
import { BIN, type Project, project, type Sandbox, sandbox } from './helpers/git-fixture.js';

let box: Sandbox;

beforeEach(() => {
  expect(existsSync(join(BIN, '../../dist/cli.js')), 'run npx tsc -b first').toBe(true);
  box = sandbox();
});
afterEach(() => box.cleanup());

/** The real executable, as a user runs it. */
function bin(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: box.env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function inProcess(cwd: string, ...argv: string[]) {
  return runCli(argv, { env: box.env, cwd });
}

const passing = `test: echo running the tests; test -e feature.txt\ntimeout: 1m\n`;

describe('premerge-bot binary', () => {
  it('prints the same help as the program built in process', async () => {
    for (const args of [['--help'], ['once', '--help'], ['alias', 'install', '--help']]) {
      const real = bin(box.dir, ...args);
      expect(real.code).toBe(EXIT.ok);
      expect(real.stdout).toBe((await inProcess(box.dir, ...args)).stdout);
    }
  });

  it('once lands a passing candidate, exits 0, and does nothing the second time', async () => {
    const p: Project = await project(box, passing);
    const sha = await p.commit('feature.txt', 'x\n');
    await box.git(p.clone, 'push', '-q', 'origin', 'HEAD:pu');

    const first = bin(box.dir, 'once', '--repo', p.bare, '--state-dir', p.state);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(EXIT.ok);
    expect(first.stdout).toMatch(new RegExp(`: landed pu ${sha.slice(0, 12)} on master`));
    expect(await box.git(p.bare, 'rev-parse', 'master')).toBe(sha);

    const second = bin(box.dir, 'once', '--repo', p.bare, '--state-dir', p.state, '--json');
    expect(second.code).toBe(EXIT.ok);
    const report = JSON.parse(second.stdout) as { verdicts: unknown[]; testRuns: number; targetSha: string };
    expect(report).toMatchObject({ verdicts: [], testRuns: 0, targetSha: sha });

    const unknown = bin(box.dir, 'log', '--repo', p.bare, '--state-dir', p.state, 'no-such-branch');
    expect(unknown.code).toBe(EXIT.unavailable);
    expect(unknown.stderr).toMatch(/^error: [^\n]+\n$/);
  });

  it('once exits 0 when the test fails; status and log show the verdict and the output', async () => {
    const p = await project(box, passing);
    const sha = await p.commit('other.txt', 'x\n');
    await box.git(p.clone, 'push', '-q', 'origin', 'HEAD:pu');
    const before = await box.git(p.bare, 'rev-parse', 'master');

    expect(bin(box.dir, 'once', '--repo', p.bare, '--state-dir', p.state).code).toBe(EXIT.ok);
    expect(await box.git(p.bare, 'rev-parse', 'master')).toBe(before);

    const status = bin(box.dir, 'status', '--repo', p.bare, '--state-dir', p.state, '--json');
    expect(status.code).toBe(EXIT.ok);
    const parsed = JSON.parse(status.stdout) as {
      recent: Array<{ kind: string; sha: string; exitCode: number }>;
    };
    expect(parsed.recent[0]).toMatchObject({ kind: 'failed', sha, exitCode: 1 });

    const text = bin(box.dir, 'status', '--repo', p.bare, '--state-dir', p.state);
    expect(text.stdout).toContain(`failed pu ${sha.slice(0, 12)}: exit 1`);

    const log = bin(box.dir, 'log', '--repo', p.bare, '--state-dir', p.state, 'pu');
    expect(log.code).toBe(EXIT.ok);
    expect(log.stdout).toContain('running the tests');
  });

  it('an invalid trusted config exits 3 with one line naming file, key and line', async () => {
    const p = await project(box, 'test: make test\ntimeout: soon\n');
    await p.commit('feature.txt', 'x\n');
    await box.git(p.clone, 'push', '-q', 'origin', 'HEAD:pu');
    const r = bin(box.dir, 'once', '--repo', p.bare, '--state-dir', p.state);
    expect(r.code).toBe(EXIT.config);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: \.github\/premerge\.yml:2: key 'timeout': /);
  });

  it('an unreachable repository exits 4 with one line', () => {
    const r = bin(box.dir, 'once', '--repo', join(box.dir, 'missing.git'), '--state-dir', join(box.dir, 's'));
    expect(r.code).toBe(EXIT.unavailable);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: /);
  });

  it('a usage error exits 2', () => {
    const r = bin(box.dir, 'watch', '--repo', '.', '--interval', 'often');
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toBe("error: --interval 'often' is not a duration (e.g. 500ms, 30s, 5m, 1h)\n");
  });

  it('relative --repo and --state-dir are resolved against the working directory', async () => {
    const p = await project(box, passing);
    const sha = await p.commit('feature.txt', 'x\n');
    await box.git(p.clone, 'push', '-q', 'origin', 'HEAD:pu');
    const r = await inProcess(box.dir, 'once', '--repo', 'public.git', '--state-dir', 'rel-state');
    expect(r.code).toBe(EXIT.ok);
    expect(existsSync(join(box.dir, 'rel-state'))).toBe(true);
    expect(await box.git(p.bare, 'rev-parse', 'master')).toBe(sha);
  });

  it('alias install --per-user writes ~/.gitconfig, uninstall --per-user removes it', () => {
    const installed = bin(box.dir, 'alias', 'install', '--per-user', '--branch', 'pu/dev');
    expect(installed.code).toBe(EXIT.ok);
    const config = readFileSync(join(box.dir, '.gitconfig'), 'utf8');
    expect(config).toMatch(/\[alias\]\n\tpup = /);
    expect(config).toMatch(/branch = pu\/dev/);
    expect(bin(box.dir, 'alias', 'uninstall', '--per-user').code).toBe(EXIT.ok);
    expect(readFileSync(join(box.dir, '.gitconfig'), 'utf8')).not.toMatch(/pup|pu\/dev/);
  });

  it('hook install and uninstall through the binary', async () => {
    await box.git(box.dir, 'init', '-q', '--bare', 'r.git');
    const installed = bin(box.dir, 'hook', 'install', '--repo', 'r.git', '--state-dir', 'st');
    expect(installed.code).toBe(EXIT.ok);
    const hook = join(box.dir, 'r.git', 'hooks', 'post-receive');
    expect(installed.stdout).toBe(
      `installed ${hook}; the runs it starts log to ${join(box.dir, 'st', 'hook.log')}\n`,
    );
    expect(readFileSync(hook, 'utf8')).toContain(`--state-dir '${join(box.dir, 'st')}'`);
    const removed = bin(box.dir, 'hook', 'uninstall', '--repo', 'r.git');
    expect(removed.stdout).toBe(`removed ${hook}\n`);
    expect(existsSync(hook)).toBe(false);
  });

  it('alias install outside a clone and hook install on a non-repository exit 4 with one line', () => {
    for (const args of [
      ['alias', 'install'],
      ['hook', 'install', '--repo', box.dir, '--state-dir', 's'],
    ]) {
      const r = bin(box.dir, ...args);
      expect(r.code).toBe(EXIT.unavailable);
      expect(r.stderr).toMatch(/^error: [^\n]+\n$/);
    }
  });
});
