import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isRemote, localPath, normalizeRepo } from '../src/repo-location.js';

describe('isRemote (git: a colon before any slash means not a local path)', () => {
  it.each([
    ['host:repo.git', true],
    ['git@host:team/repo.git', true],
    ['host:/srv/repo.git', true],
    ['ssh://git@host/repo.git', true],
    ['https://example.com/repo.git', true],
    ['git://example.com/repo.git', true],
    ['file:///srv/repo.git', true],
    ['/srv/repo.git', false],
    ['./host:repo.git', false],
    ['/srv/a:b.git', false],
    ['repo.git', false],
    ['../up/repo', false],
  ])('%s -> %s', (repo, remote) => {
    expect(isRemote(repo)).toBe(remote);
  });

  it('normalizeRepo keeps remotes as written and makes local paths absolute', () => {
    expect(normalizeRepo('host:repo.git', '/cwd')).toBe('host:repo.git');
    expect(normalizeRepo('git@host:repo.git', '/cwd')).toBe('git@host:repo.git');
    expect(normalizeRepo('./host:repo.git', '/cwd')).toBe('/cwd/host:repo.git');
    expect(normalizeRepo('repo.git', '/cwd')).toBe('/cwd/repo.git');
  });

  it('localPath reads file:// URLs and local paths; null for anything reached over the network', () => {
    expect(localPath('file:///srv/repo.git')).toBe('/srv/repo.git');
    expect(localPath('x/repo.git', '/cwd')).toBe('/cwd/x/repo.git');
    expect(localPath('host:repo.git')).toBeNull();
    expect(localPath('https://example.com/repo.git')).toBeNull();
    expect(localPath('file://elsewhere/srv/repo.git')).toBeNull();
  });
});

describe('the rule agrees with git itself', () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'premerge-location-')));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_'))),
    // Any ssh attempt fails at once, naming itself, instead of reaching the network.
    GIT_SSH_COMMAND: 'echo premerge-test-ssh-attempt >&2; exit 255',
    GIT_TERMINAL_PROMPT: '0',
  };
  /** What `git ls-remote` did with `repo` in `cwd`: read a local repository, or try ssh. */
  function gitReads(repo: string, cwd: string): 'local' | 'ssh' | 'other' {
    try {
      execFileSync('git', ['ls-remote', repo], { cwd, env, stdio: 'pipe' });
      return 'local';
    } catch (e) {
      return String((e as { stderr?: Buffer }).stderr).includes('premerge-test-ssh-attempt')
        ? 'ssh'
        : 'other';
    }
  }

  it('a directory named host:repo.git is local only when a slash comes first', () => {
    mkdirSync(join(dir, 'host:repo.git'));
    execFileSync('git', ['init', '--bare', '--quiet', join(dir, 'host:repo.git')], { env });
    for (const repo of [
      'host:repo.git',
      './host:repo.git',
      join(dir, 'host:repo.git'),
      pathToFileURL(join(dir, 'host:repo.git')).href,
    ]) {
      const seen = gitReads(repo, dir);
      expect([repo, seen]).toEqual([repo, isRemote(repo) && !repo.startsWith('file:') ? 'ssh' : 'local']);
    }
  });
});
