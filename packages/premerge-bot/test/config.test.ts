import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli.js';
import { parseConfig, parseDuration } from '../src/config.js';
import { runOnce } from '../src/engine.js';
import type { ConfigError, PremergeError } from '../src/errors.js';
import { runCli } from './helpers/cli-in-process.js';
import { createFixture, type Fixture, pushCandidate, pushToMaster } from './helpers/git-fixture.js';

function configError(text: string, defaultBranch?: string): ConfigError {
  try {
    parseConfig(text, '', defaultBranch);
  } catch (e) {
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const c = parseConfig('test: npm test\n');
    expect({ ...c, hash: undefined }).toEqual({
      target: 'master',
      candidates: ['pu'],
      test: 'npm test',
      timeoutMs: 1_800_000,
      rebase: false,
      sandbox: 'auto',
      sandboxWritable: [],
      testUser: undefined,
      configChanges: 'refuse',
      publishLogs: false,
      landPermission: 'write',
      hash: undefined,
    });
  });

  it('reads land-permission, which changes the hash only when it is not the default', () => {
    const plain = parseConfig('test: x\n');
    expect(parseConfig('test: x\nland-permission: write\n').hash).toBe(plain.hash);
    const maintain = parseConfig('test: x\nland-permission: maintain\n');
    expect(maintain.landPermission).toBe('maintain');
    expect(maintain.hash).not.toBe(plain.hash);
    expect(() => parseConfig('test: x\nland-permission: triage\n')).toThrow(
      /premerge.yml:2: key 'land-permission': expected write or maintain or admin/,
    );
  });

  it('reads the isolation and config-change keys', () => {
    const c = parseConfig(
      'test: x\nsandbox: off\nsandbox-writable: [~/.npm, /var/cache/ccache]\ntest-user: premerge-test\nconfig-changes: allow\n',
    );
    expect([c.sandbox, c.sandboxWritable, c.testUser, c.configChanges]).toEqual([
      'off',
      ['~/.npm', '/var/cache/ccache'],
      'premerge-test',
      'allow',
    ]);
    expect(parseConfig('test: x\ntest-user: 1234:1234\n').testUser).toBe('1234:1234');
    expect(parseConfig('test: x\nsandbox-writable: /cache\n').sandboxWritable).toEqual(['/cache']);
  });

  it('rejects bad isolation and config-change values, naming key and line', () => {
    const cases: Array<[string, string, number]> = [
      ['test: x\nsandbox: on\n', 'sandbox', 2],
      ['test: x\nsandbox-writable: [relative/path]\n', 'sandbox-writable', 2],
      ['test: x\n\ntest-user: "bad user"\n', 'test-user', 3],
      ['test: x\nconfig-changes: sometimes\n', 'config-changes', 2],
    ];
    for (const [text, key, line] of cases) {
      const e = configError(text);
      expect([e.code, e.key, e.line], text).toEqual(['PREMERGE_CONFIG_INVALID', key, line]);
    }
  });

  it('reads every key', () => {
    const c = parseConfig(
      'target: main\ncandidates: [pu, "pu-*"]\ntest: make check\ntimeout: 90s\nrebase: true\n',
    );
    expect([c.target, c.candidates, c.test, c.timeoutMs, c.rebase]).toEqual([
      'main',
      ['pu', 'pu-*'],
      'make check',
      90_000,
      true,
    ]);
  });

  it('defaults target to the branch the config was read from', () => {
    expect(parseConfig('test: x\n', 'branch main of r', 'main').target).toBe('main');
    expect(parseConfig('test: x\ntarget: release\n', 'branch main of r', 'main').target).toBe('release');
    expect(configError('test: x\ncandidates: main\n', 'main').key).toBe('candidates');
  });

  it('refuses candidates that could name a branch and a directory of branches (pu and pu/*)', () => {
    for (const [list, line] of [
      ['[pu, "pu/*"]', 2],
      ['["pu/*", pu]', 2],
      ['\n  - "pu/*"\n  - "pu/*/*"', 4],
      ['[pu, pu/alice]', 2],
      ['["pu-*", "pu-x/*"]', 2],
    ] as const) {
      const e = configError(`test: x\ncandidates: ${list}\n`);
      expect([e.code, e.key, e.line], list).toEqual(['PREMERGE_CONFIG_INVALID', 'candidates', line]);
      expect(e.message).toMatch(/cannot both have branches: git cannot hold a branch/);
    }
    expect(parseConfig('test: x\ncandidates: ["pu/*", "**"]\n').candidates).toEqual(['pu/*', '**']);
    expect(parseConfig('test: x\ncandidates: [pu, "pu-*", "dev/*"]\n').candidates).toEqual([
      'pu',
      'pu-*',
      'dev/*',
    ]);
  });

  it('parses durations in ms, s, m, h', () => {
    expect([
      parseDuration('250ms'),
      parseDuration('2s'),
      parseDuration('30m'),
      parseDuration('1.5h'),
    ]).toEqual([250, 2000, 1_800_000, 5_400_000]);
    expect(parseDuration('10')).toBeNull();
    expect(parseDuration('5 days')).toBeNull();
  });

  it('names file, key and line for a bad value', () => {
    const e = configError('test: npm test\n\ntimeout: soon\n');
    expect([e.code, e.file, e.key, e.line]).toEqual([
      'PREMERGE_CONFIG_INVALID',
      '.github/premerge.yml',
      'timeout',
      3,
    ]);
    expect(e.message.split('\n')).toHaveLength(1);
    expect(e.message.startsWith(".github/premerge.yml:3: key 'timeout'")).toBe(true);
  });

  it('names an unknown key with its line', () => {
    const e = configError('test: x\nrebase: true\ntargte: main\n');
    expect([e.code, e.key, e.line]).toEqual(['PREMERGE_CONFIG_INVALID', 'targte', 3]);
  });

  it('requires test', () => {
    const e = configError('target: master\n');
    expect([e.code, e.key]).toEqual(['PREMERGE_CONFIG_INVALID', 'test']);
  });

  it('rejects a non-boolean rebase and a bad candidates list', () => {
    expect([
      configError('test: x\nrebase: sometimes\n').key,
      configError('test: x\nrebase: sometimes\n').line,
    ]).toEqual(['rebase', 2]);
    expect(configError('test: x\ncandidates: [pu, 3]\n').key).toBe('candidates');
    expect(configError('test: x\ncandidates: master\n').key).toBe('candidates');
  });

  it('reports YAML syntax errors with a line', () => {
    const e = configError('test: x\ncandidates: [pu\n');
    expect(e.code).toBe('PREMERGE_CONFIG_INVALID');
    expect(e.line).toBeGreaterThanOrEqual(2);
  });

  it('changes its hash when the test command changes, not when comments do', () => {
    expect(parseConfig('test: a\n').hash).toBe(parseConfig('# hi\ntest: a\n').hash);
    expect(parseConfig('test: a\n').hash).not.toBe(parseConfig('test: b\n').hash);
  });
});

describe('runOnce with a broken config', () => {
  let f: Fixture;
  afterEach(() => f?.cleanup());

  it('refuses to work when master has no premerge.yml, and lands nothing', async () => {
    f = await createFixture();
    await f.git(f.work, 'rm', '--quiet', '.github/premerge.yml');
    await f.git(f.work, 'commit', '--quiet', '-m', 'drop config');
    await f.git(f.work, 'push', '--quiet', 'origin', 'master');
    const base = await f.rev(f.origin, 'master');
    await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const err = (await runOnce({ repo: f.origin, stateDir: f.stateDir }).catch((e) => e)) as PremergeError;
    expect(err.code).toBe('PREMERGE_CONFIG_MISSING');
    // The error says what to do.
    expect(err.message).toBe(
      `.github/premerge.yml: missing on branch master of ${f.origin}; nothing lands until it exists: add one with a \`test:\` key (the command whose exit 0 lets a candidate land), or bring it with premerge-bot land SHA --config-change`,
    );
    expect(await f.rev(f.origin, 'master')).toBe(base);
  });

  it('refuses to work on an invalid config, naming file, key and line', async () => {
    f = await createFixture();
    const base = await pushToMaster(f, { '.github/premerge.yml': 'test: sh test.sh\ntimeout: 10 minutes\n' });
    await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const err = (await runOnce({ repo: f.origin, stateDir: f.stateDir }).catch((e) => e)) as ConfigError;
    expect([err.code, err.file, err.key, err.line]).toEqual([
      'PREMERGE_CONFIG_INVALID',
      '.github/premerge.yml',
      'timeout',
      2,
    ]);
    expect(await f.rev(f.origin, 'master')).toBe(base);
  });

  it('a candidate fixing the config does not change the config it is judged by', async () => {
    f = await createFixture();
    await pushToMaster(f, { '.github/premerge.yml': 'test: sh test.sh\ntimeout: bad\n' });
    await pushCandidate(f, { files: { '.github/premerge.yml': 'test: sh test.sh\n' } });
    const err = (await runOnce({ repo: f.origin, stateDir: f.stateDir }).catch((e) => e)) as PremergeError;
    expect(err.code).toBe('PREMERGE_CONFIG_INVALID');
  });

  it('reports a target branch that does not exist, and what to do about it', async () => {
    f = await createFixture('test: sh test.sh\ntarget: release\n');
    const err = (await runOnce({ repo: f.origin, stateDir: f.stateDir }).catch((e) => e)) as PremergeError;
    expect(err.code).toBe('PREMERGE_TARGET_MISSING');
    expect(err.message).toBe(
      `.github/premerge.yml: target branch 'release' does not exist in ${f.origin}, so nothing can land: push a branch release there, or name the branch to land on with \`target: BRANCH\` in .github/premerge.yml on master`,
    );
  });

  it('lands on the default branch when the config names no target (a repository whose default is main)', async () => {
    f = await createFixture();
    await f.git(f.work, 'push', '--quiet', 'origin', 'master:main');
    await f.git(f.origin, 'symbolic-ref', 'HEAD', 'refs/heads/main');
    const master = await f.rev(f.origin, 'master');
    const sha = await pushCandidate(f, { from: 'origin/main', files: { 'a.txt': 'a\n' } });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.target, v.sha])).toEqual([['landed', 'main', sha]]);
    expect([await f.rev(f.origin, 'main'), await f.rev(f.origin, 'master')]).toEqual([sha, master]);
  });

  it('refuses to work with candidates pu and pu/* (exit 3 through the CLI)', async () => {
    f = await createFixture('test: sh test.sh\ncandidates: [pu, "pu/*"]\n');
    await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const base = await f.rev(f.origin, 'master');
    const r = await runCli(['once', '--repo', f.origin, '--state-dir', f.stateDir], {
      env: f.env,
      cwd: f.dir,
    });
    expect(r.code).toBe(EXIT.config);
    expect(r.stderr).toMatch(
      /^error: \.github\/premerge\.yml:2: key 'candidates': 'pu' and 'pu\/\*' cannot both have branches/,
    );
    expect(await f.rev(f.origin, 'master')).toBe(base);
  });

  it('reports an unreachable repository', async () => {
    f = await createFixture();
    const err = (await runOnce({ repo: `${f.dir}/nope.git`, stateDir: f.stateDir }).catch(
      (e) => e,
    )) as PremergeError;
    expect(err.code).toBe('PREMERGE_REPO_UNREACHABLE');
    expect(err.message).toMatch(
      /^cannot fetch .*nope\.git: .* \(check the path or URL, and that the bot's user may read it\)$/,
    );
  });
});
