import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readRunLog, readStatus, runOnce } from '../src/engine.js';
import type { PremergeError } from '../src/errors.js';
import type { EngineEvent } from '../src/types.js';
import {
  createFixture,
  FAIL,
  type Fixture,
  processesMentioning,
  pushCandidate,
  refusePushesTo,
  writableShared,
} from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

describe('runOnce: several candidates', () => {
  it('without rebase: lands the first of several pu/* and marks the others needs-rebase', async () => {
    f = await createFixture('test: sh test.sh\ncandidates: ["pu/*"]\n');
    const a = await pushCandidate(f, { branch: 'pu/a', files: { 'a.txt': 'a\n' } });
    const b = await pushCandidate(f, { branch: 'pu/b', files: { 'b.txt': 'b\n' } });
    const c = await pushCandidate(f, { branch: 'pu/c', files: { 'test.sh': FAIL } });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.branch, v.sha])).toEqual([
      ['landed', 'pu/a', a],
      ['needs-rebase', 'pu/b', b],
      ['needs-rebase', 'pu/c', c],
    ]);
    expect(await f.rev(f.origin, 'master')).toBe(a);
  });

  it('with rebase, one at a time (maxBatch 1): every good candidate lands, the bad one does not', async () => {
    f = await createFixture('test: sh test.sh\ncandidates: ["pu/*"]\nrebase: true\n');
    await pushCandidate(f, { branch: 'pu/a', files: { 'a.txt': 'a\n' } });
    const bad = await pushCandidate(f, { branch: 'pu/b', files: { 'test.sh': FAIL } });
    await pushCandidate(f, { branch: 'pu/c', files: { 'c.txt': 'c\n' } });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir, maxBatch: 1 });
    expect(report.verdicts.map((v) => [v.kind, v.branch])).toEqual([
      ['landed', 'pu/a'],
      ['failed', 'pu/b'],
      ['landed', 'pu/c'],
    ]);
    expect(report.testRuns).toBe(3);
    expect(report.verdicts[1]!.sha).toBe(bad);
    expect(await f.git(f.origin, 'show', 'master:a.txt')).toBe('a');
    expect(await f.git(f.origin, 'show', 'master:c.txt')).toBe('c');
    expect(await f.git(f.origin, 'show', 'master:test.sh')).toBe('exit 0');
    expect(await f.git(f.origin, 'rev-list', '--merges', 'master')).toBe('');
  });

  it('the three-repository workflow: candidates from public, landing on origin, notes on both', async () => {
    f = await createFixture();
    const pub = await f.bare('public');
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' }, remote: pub });
    const report = await runOnce({ repo: f.origin, candidatesFrom: pub, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
    expect(await f.rev(f.origin, 'master')).toBe(sha);
    // master of public is not touched: only origin is landed on.
    expect(await f.git(pub, 'for-each-ref', '--format=%(refname)', 'refs/heads')).toBe('refs/heads/pu');
    const note = await f.git(pub, 'notes', '--ref=premerge', 'show', sha);
    expect(JSON.parse(note).kind).toBe('landed');
  });

  it('publishes verdicts as git notes another clone sees after a fetch', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { 'test.sh': FAIL } });
    await runOnce({ repo: f.origin, stateDir: f.stateDir });
    const other = join(f.dir, 'other');
    await f.git(f.dir, 'clone', '--quiet', f.origin, other);
    await f.git(other, 'fetch', '--quiet', 'origin', 'refs/notes/premerge:refs/notes/premerge');
    const note = JSON.parse(await f.git(other, 'notes', '--ref=premerge', 'show', sha));
    expect([note.kind, note.sha, note.branch, note.exitCode]).toEqual(['failed', sha, 'pu', 1]);
  });

  it('a verdict whose publication failed is published by a later run', async () => {
    f = await createFixture();
    const hook = refusePushesTo(f.origin, 'refs/notes/*', 'notes closed');
    const sha = await pushCandidate(f, { files: { 'test.sh': FAIL } });
    const events: EngineEvent[] = [];
    const first = await runOnce({ repo: f.origin, stateDir: f.stateDir, onEvent: (e) => events.push(e) });
    expect(first.verdicts.map((v) => v.kind)).toEqual(['failed']);
    expect(events.some((e) => e.type === 'publish-failed')).toBe(true);
    expect(await f.git(f.origin, 'for-each-ref', 'refs/notes')).toBe('');
    rmSync(hook);
    const second = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect([second.verdicts.length, second.testRuns]).toEqual([0, 0]);
    expect(JSON.parse(await f.git(f.origin, 'notes', '--ref=premerge', 'show', sha)).kind).toBe('failed');
  });

  it('a timed-out test gets timed-out, nothing lands and no process of its run is left', async () => {
    f = await createFixture((shared) => `test: sh test.sh\ntimeout: 700ms\n${writableShared(shared)}`);
    const started = join(f.shared, 'started');
    const base = await f.rev(f.origin, 'master');
    const sha = await pushCandidate(f, {
      files: { 'test.sh': `sleep 300.0701 &\nsleep 300.0702 &\ntouch ${started}\nwait\n` },
    });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha, v.exitCode])).toEqual([['timed-out', sha, null]]);
    // The verdict and the log name the configured limit.
    expect(report.verdicts[0]!.reason).toBe(
      'ran past the configured limit, timeout: 700ms (.github/premerge.yml); everything it started was stopped',
    );
    expect(await readRunLog({ repo: f.origin, stateDir: f.stateDir }, sha)).toMatch(
      /\npremerge-bot: timed-out: ran past the configured limit, timeout: 700ms; everything it started was stopped after \d+ms\n$/,
    );
    expect(await f.rev(f.origin, 'master')).toBe(base);
    expect(existsSync(started)).toBe(true);
    expect([...processesMentioning('300.0701'), ...processesMentioning('300.0702')]).toEqual([]);
  });

  it('a newer push cancels the running test (superseded) and the new tip is tested', async () => {
    f = await createFixture();
    const slow = await pushCandidate(f, { files: { 'test.sh': 'sleep 300.0703\n' } });
    let newer = '';
    const onEvent = (e: EngineEvent) => {
      if (e.type === 'test-started' && e.members[0]!.sha === slow) {
        void pushCandidate(f, { files: { 'test.sh': 'exit 0\n', 'b.txt': 'b\n' } }).then((sha) => {
          newer = sha;
        });
      }
    };
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir, pollIntervalMs: 100, onEvent });
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([
      ['superseded', slow],
      ['landed', newer],
    ]);
    expect(await f.rev(f.origin, 'master')).toBe(newer);
    expect(processesMentioning('300.0703')).toEqual([]);
    // The superseded run's verdict and log say by what.
    expect(report.verdicts[0]!.reason).toBe(
      `superseded: pu moved to ${newer.slice(0, 12)} during the test (the new tip is tested next)`,
    );
    expect(await readRunLog({ repo: f.origin, stateDir: f.stateDir }, slow)).toMatch(
      new RegExp(
        `\npremerge-bot: superseded: pu moved to ${newer.slice(0, 12)} during the test, so it was stopped\n$`,
      ),
    );
  });
});

describe('the worktree a test runs in', () => {
  it('is a pristine checkout each time: nothing a previous test wrote or changed is left', async () => {
    f = await createFixture('test: sh test.sh\ncandidates: "pu/*"\n');
    const messy =
      'echo junk > untracked.txt\nmkdir -p build && touch build/out\necho more >> README\nexit 1\n';
    const check =
      '[ ! -e untracked.txt ] && [ ! -e build ] && [ "$(cat README)" = project ] && [ -z "$(git status --porcelain --ignored)" ]\n';
    await pushCandidate(f, { branch: 'pu/a-messy', files: { 'test.sh': messy, '.gitignore': 'build/\n' } });
    const clean = await pushCandidate(f, {
      branch: 'pu/b-check',
      files: { 'test.sh': check, '.gitignore': 'build/\n' },
    });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.branch])).toEqual([
      ['failed', 'pu/a-messy'],
      ['landed', 'pu/b-check'],
    ]);
    expect(await f.rev(f.origin, 'master')).toBe(clean);
  });
});

describe('the worktree, after a test that broke it', () => {
  it('is made anew when a test deleted its .git, without the bot touching a repository around the state dir', async () => {
    f = await createFixture('test: sh test.sh\ncandidates: "pu/*"\n');
    const vandal = 'mkdir -p locked/inner && chmod 000 locked\nrm -f .git\nexit 1\n';
    const check = '[ ! -e locked ] && [ -z "$(git status --porcelain --ignored)" ]\n';
    await pushCandidate(f, { branch: 'pu/a', files: { 'test.sh': vandal } });
    const good = await pushCandidate(f, { branch: 'pu/b', files: { 'test.sh': check } });
    // The state dir sits inside someone's repository: with the worktree's .git gone, the bot's git calls there must
    // fail rather than reset and clean that enclosing repository.
    const host = join(f.dir, 'host');
    await f.git(f.dir, 'init', '--quiet', host);
    writeFileSync(join(host, 'tracked.txt'), 'committed\n');
    await f.git(host, 'add', 'tracked.txt');
    await f.git(host, 'commit', '--quiet', '-m', 'host');
    writeFileSync(join(host, 'tracked.txt'), 'work in progress\n');
    const report = await runOnce({ repo: f.origin, stateDir: join(host, 'state') });
    expect(report.verdicts.map((v) => [v.kind, v.branch])).toEqual([
      ['failed', 'pu/a'],
      ['landed', 'pu/b'],
    ]);
    expect(await f.rev(f.origin, 'master')).toBe(good);
    expect(readFileSync(join(host, 'tracked.txt'), 'utf8')).toBe('work in progress\n');
  });
});

describe('readStatus and readRunLog', () => {
  it('knows nothing before the first run, then shows the verdicts, the queue and the log of a run', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { 'test.sh': FAIL } });
    const none = (await readStatus({ repo: f.origin, stateDir: f.stateDir }).catch(
      (e) => e,
    )) as PremergeError;
    expect(none.code).toBe('PREMERGE_NO_STATE');
    expect(existsSync(f.stateDir)).toBe(false);
    await runOnce({ repo: f.origin, stateDir: f.stateDir });
    const after = await readStatus({ repo: f.origin, stateDir: f.stateDir });
    expect(after.pending).toEqual([]);
    expect(after.target?.branch).toBe('master');
    expect(after.recent.map((v) => [v.kind, v.sha])).toEqual([['failed', sha]]);
    expect(after.lockHolder).toBeNull();
    const next = await pushCandidate(f, { files: { 'test.sh': FAIL, 'b.txt': 'b\n' } });
    expect((await readStatus({ repo: f.origin, stateDir: f.stateDir })).pending).toEqual([
      { branch: 'pu', sha: next },
    ]);
    expect(await readRunLog({ repo: f.origin, stateDir: f.stateDir }, sha.slice(0, 8))).toContain(
      'tests broken',
    );
    expect(await readRunLog({ repo: f.origin, stateDir: f.stateDir }, 'pu')).toContain('tests broken');
    const err = (await readRunLog({ repo: f.origin, stateDir: f.stateDir }, 'deadbeef').catch(
      (e) => e,
    )) as PremergeError;
    expect(err.code).toBe('PREMERGE_LOG_NOT_FOUND');
  });
});
