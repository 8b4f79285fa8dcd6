import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { RepoUnreachableError, unreachable } from '../src/errors.js';
import { resolveOptions } from '../src/options.js';
import { legacyRepoPaths, repoPaths } from '../src/paths.js';
import { githubIdentity, redactCredentials, repoIdentity, repoName } from '../src/repo-identity.js';
import { migrateLegacyState } from '../src/state-migration.js';
import { repoKey } from '../src/watch-ipc.js';

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'premerge-identity-')));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('repoIdentity', () => {
  it.each([
    ['https://x-access-token:ghs_secret@example.com/team/app.git', 'https://example.com/team/app'],
    ['https://user@Example.COM/team/app.git/', 'https://example.com/team/app'],
    ['https://example.com/team/app/', 'https://example.com/team/app'],
    ['ssh://git@example.com:2222/team/app.git', 'ssh://example.com:2222/team/app'],
    ['git@example.com:team/app.git', 'example.com:team/app'],
    ['example.com:team/app', 'example.com:team/app'],
    ['git://example.com/app.git', 'git://example.com/app'],
  ])('%s -> %s', (repo, identity) => {
    expect(repoIdentity(repo)).toBe(identity);
  });

  it('is the real path of a local repository, reached by a symlink, a relative path or a file:// URL', () => {
    const real = join(dir, 'real.git');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'link.git'));
    expect(repoIdentity(join(dir, 'link.git'))).toBe(real);
    expect(repoIdentity('link.git/', dir)).toBe(real);
    expect(repoIdentity(pathToFileURL(join(dir, 'link.git')).href)).toBe(real);
    // One that does not exist yet keeps its real parent.
    expect(repoIdentity(join(dir, 'link.git', 'sub'))).toBe(join(real, 'sub'));
  });

  it('names GitHub repositories by host and id, which survive renames', () => {
    expect(githubIdentity('GitHub.com', 1296269)).toBe('github:github.com:1296269');
    // An identity is its own identity: the socket's key and the state's key agree whatever side computes it.
    expect(repoKey('github:github.com:1296269')).toBe('github:github.com:1296269');
    expect(repoKey(repoIdentity('https://t@example.com/a.git'))).toBe('https://example.com/a');
  });

  it('never carries credentials into names and messages', () => {
    expect(repoName('https://x-access-token:ghs_secret@example.com/a.git')).toBe('https://example.com/a.git');
    expect(redactCredentials("fatal: repository 'https://u:ghs_secret@example.com/a.git/' not found")).toBe(
      "fatal: repository 'https://example.com/a.git/' not found",
    );
    const e = unreachable(
      'fetch',
      'https://u:ghs_secret@example.com/a.git',
      new Error('https://u:ghs_secret@x/'),
    );
    expect(e).toBeInstanceOf(RepoUnreachableError);
    expect(e.code).toBe('PREMERGE_REPO_UNREACHABLE');
    expect(`${e.message} ${e.repo}`).not.toContain('ghs_secret');
  });
});

describe('state keyed by identity', () => {
  it('gives one repository reached through a symlink one state directory and one lock', () => {
    const real = join(dir, 'locked.git');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'locked-link.git'));
    const state = join(dir, 'state-lock');
    const viaLink = repoPaths(state, join(dir, 'locked-link.git'));
    expect(viaLink.lock).toBe(repoPaths(state, real).lock);
    expect(viaLink.root).toBe(repoPaths(state, `${real}/`).root);
    // premerge-bot 0.1 keyed the path as given, so the symlink had a lock of its own.
    expect(legacyRepoPaths(state, join(dir, 'locked-link.git')).lock).not.toBe(viaLink.lock);
  });

  it('finds the state made under a token since rotated, moves it, and keeps no token on disk', () => {
    const state = join(dir, 'state-rotated');
    const before = 'https://x-access-token:ghs_old@example.com/team/app.git';
    const old = legacyRepoPaths(state, before).root;
    mkdirSync(join(old, 'logs'), { recursive: true });
    writeFileSync(
      join(old, 'journal.jsonl'),
      '{"type":"retry","sha":"abc","at":"2024-01-01T00:00:00.000Z"}\n',
    );
    writeFileSync(join(old, 'repo.json'), `${JSON.stringify({ repo: before })}\n`);
    const r = resolveOptions({
      repo: 'https://x-access-token:ghs_new@example.com/team/app.git',
      stateDir: state,
    });
    expect(r.paths.root).not.toBe(old);
    expect(migrateLegacyState(r)).toBe(old);
    expect(readFileSync(join(r.paths.root, 'journal.jsonl'), 'utf8')).toContain('"sha":"abc"');
    expect(existsSync(old)).toBe(false);
    expect(migrateLegacyState(r)).toBeNull();
    expect(r.paths.root).not.toContain('ghs_');
    expect(readFileSync(join(r.paths.root, 'repo.json'), 'utf8')).not.toContain('ghs_');
  });
});
