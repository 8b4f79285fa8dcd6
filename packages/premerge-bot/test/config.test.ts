import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, parseDuration } from '../src/config.js';
import { runOnce } from '../src/engine.js';
import type { ConfigError, PremergeError } from '../src/errors.js';
import { createFixture, type Fixture, pushCandidate, pushToMaster } from './helpers/git-fixture.js';

function configError(text: string): ConfigError {
  try {
    parseConfig(text);
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
      hash: undefined,
    });
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
      'target: main\ncandidates: [pu, "pu/*"]\ntest: make check\ntimeout: 90s\nrebase: true\n',
    );
    expect([c.target, c.candidates, c.test, c.timeoutMs, c.rebase]).toEqual([
      'main',
      ['pu', 'pu/*'],
      'make check',
      90_000,
      true,
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

  it('reports a target branch that does not exist', async () => {
    f = await createFixture('test: sh test.sh\ntarget: release\n');
    const err = (await runOnce({ repo: f.origin, stateDir: f.stateDir }).catch((e) => e)) as PremergeError;
    expect(err.code).toBe('PREMERGE_TARGET_MISSING');
  });

  it('reports an unreachable repository', async () => {
    f = await createFixture();
    const err = (await runOnce({ repo: `${f.dir}/nope.git`, stateDir: f.stateDir }).catch(
      (e) => e,
    )) as PremergeError;
    expect(err.code).toBe('PREMERGE_REPO_UNREACHABLE');
  });
});
