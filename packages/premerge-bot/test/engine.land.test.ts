import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runOnce } from '../src/engine.js';
import type { PremergeError } from '../src/errors.js';
import {
  createFixture,
  FAIL,
  type Fixture,
  pushCandidate,
  pushToMaster,
  writableShared,
} from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

describe('runOnce: one candidate', () => {
  it('lands a passing pu by fast-forwarding master to exactly the tested commit', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const base = await f.rev(f.origin, 'master');
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha, v.base, v.tested])).toEqual([
      ['landed', sha, base, sha],
    ]);
    expect(await f.rev(f.origin, 'master')).toBe(sha);
    expect(report.testRuns).toBe(1);
    expect(report.verdicts[0]!.exitCode).toBe(0);
    // A landed verdict says why it landed.
    expect(report.verdicts[0]!.reason).toBe(
      `its test passed on master ${base.slice(0, 12)}, and master was fast-forwarded to ${sha.slice(0, 12)}`,
    );
  });

  it('records failed and leaves master alone when the test fails', async () => {
    f = await createFixture();
    const base = await f.rev(f.origin, 'master');
    const sha = await pushCandidate(f, { files: { 'test.sh': FAIL } });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha, v.exitCode])).toEqual([['failed', sha, 1]]);
    expect(await f.rev(f.origin, 'master')).toBe(base);
  });

  it('is idempotent: a second run does nothing', async () => {
    f = await createFixture('test: sh test.sh\ncandidates: "pu/*"\n');
    const bad = await pushCandidate(f, { branch: 'pu/bad', files: { 'test.sh': FAIL } });
    const ok = await pushCandidate(f, { branch: 'pu/ok', files: { 'b.txt': 'b\n' } });
    const first = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(first.verdicts.map((v) => [v.kind, v.sha])).toEqual([
      ['failed', bad],
      ['landed', ok],
    ]);
    const second = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(second.verdicts).toEqual([]);
    expect(second.testRuns).toBe(0);
    expect(second.pendingAtStart).toBe(0);
  });

  it('takes the test command from master, never from the candidate', async () => {
    // With config-changes: allow (the default refuses such a candidate before testing it: engine.config-gate).
    f = await createFixture('test: sh test.sh\nconfig-changes: allow\n');
    const base = await f.rev(f.origin, 'master');
    // The candidate breaks its tests and tries to switch the test to `true`.
    const sha = await pushCandidate(f, {
      files: { '.github/premerge.yml': 'test: "true"\n', 'test.sh': FAIL },
    });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['failed', sha]]);
    expect(await f.rev(f.origin, 'master')).toBe(base);
  });

  it('without rebase, a candidate behind a moved master gets needs-rebase and nothing lands', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const moved = await pushToMaster(f, { 'm.txt': 'm\n' });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha, v.base])).toEqual([['needs-rebase', sha, moved]]);
    expect(report.testRuns).toBe(0);
    expect(await f.rev(f.origin, 'master')).toBe(moved);
  });

  it('with rebase, rebases onto the moved master, tests the result and lands it linearly', async () => {
    f = await createFixture('test: sh test.sh\nrebase: true\n');
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const moved = await pushToMaster(f, { 'm.txt': 'm\n' });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    const v = report.verdicts[0]!;
    expect([v.kind, v.sha, v.base]).toEqual(['landed', sha, moved]);
    expect(v.tested).not.toBe(sha);
    const master = await f.rev(f.origin, 'master');
    expect(master).toBe(v.tested);
    expect(await f.rev(f.origin, 'master^')).toBe(moved);
    expect(v.reason).toBe(
      `its test passed rebased onto master ${moved.slice(0, 12)} (as ${master.slice(0, 12)}), and master was fast-forwarded to ${master.slice(0, 12)}`,
    );
    // Linear: no merge commit, the candidate's change is there.
    expect(await f.git(f.origin, 'rev-list', '--merges', `${moved}..master`)).toBe('');
    expect(await f.git(f.origin, 'show', 'master:a.txt')).toBe('a');
  });

  it('with rebase, a candidate that conflicts with master gets needs-rebase', async () => {
    f = await createFixture('test: sh test.sh\nrebase: true\n');
    const sha = await pushCandidate(f, { files: { README: 'theirs\n' } });
    const moved = await pushToMaster(f, { README: 'ours\n' });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha, v.base])).toEqual([['needs-rebase', sha, moved]]);
    expect(await f.rev(f.origin, 'master')).toBe(moved);
  });

  it('with rebase, a candidate whose range holds a merge commit is not flattened: needs-rebase says why', async () => {
    f = await createFixture('test: sh test.sh\nrebase: true\n');
    const base = await f.rev(f.origin, 'master');
    // A topic with a merge in it (its resolution lives in the merge commit, which a rebase would drop).
    await f.git(f.work, 'checkout', '--quiet', '-B', 'side', base);
    await f.commit({ 'side.txt': 'side\n' }, 'side');
    await f.git(f.work, 'checkout', '--quiet', '-B', 'topic', base);
    await f.commit({ 'topic.txt': 'topic\n' }, 'topic');
    await f.git(f.work, 'merge', '--quiet', '--no-edit', 'side');
    const merge = await f.rev(f.work, 'HEAD');
    await f.git(f.work, 'push', '--quiet', '--force', 'origin', 'HEAD:refs/heads/pu');
    const moved = await pushToMaster(f, { 'm.txt': 'm\n' });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha, v.base, v.reason])).toEqual([
      [
        'needs-rebase',
        merge,
        moved,
        `contains merge commits (${merge.slice(0, 12)}): rebase it onto master yourself, or use rebase: false`,
      ],
    ]);
    expect([report.testRuns, await f.rev(f.origin, 'master')]).toEqual([0, moved]);

    // Rebased by hand onto master, keeping the merge, it descends from master: tested and landed as it is.
    await f.git(f.work, 'checkout', '--quiet', 'topic');
    await f.git(f.work, 'merge', '--quiet', '--no-edit', 'origin/master');
    const again = await f.rev(f.work, 'HEAD');
    await f.git(f.work, 'push', '--quiet', '--force', 'origin', 'HEAD:refs/heads/pu');
    const second = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(second.verdicts.map((v) => [v.kind, v.sha, v.tested])).toEqual([['landed', again, again]]);
  });

  it('refuses a repository that has the target checked out before testing anything', async () => {
    f = await createFixture(
      (shared) => `target: master\ntest: touch ${shared}/ran; sh test.sh\n${writableShared(shared)}`,
    );
    // The developer clone itself: not bare, master checked out, a pu branch beside it.
    await f.git(f.work, 'branch', 'pu', await f.commit({ 'a.txt': 'a\n' }));
    await f.git(f.work, 'reset', '--quiet', '--hard', 'HEAD^');
    const err = (await runOnce({ repo: f.work, stateDir: f.stateDir }).catch((e) => e)) as PremergeError;
    expect(err.code).toBe('PREMERGE_REPO_NOT_BARE');
    expect(err.message).toMatch(/is not a bare repository and has master checked out: git refuses/);
    expect(existsSync(join(f.shared, 'ran'))).toBe(false);

    // With another branch checked out, landing there works.
    await f.git(f.work, 'checkout', '--quiet', '-b', 'elsewhere');
    const report = await runOnce({ repo: f.work, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => v.kind)).toEqual(['landed']);
  });

  it('a pu already contained in master is not a candidate', async () => {
    f = await createFixture();
    await f.git(f.work, 'push', '--quiet', 'origin', 'master:refs/heads/pu');
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.pendingAtStart).toBe(0);
    expect(report.testRuns).toBe(0);
  });

  it('lands on the branch the default branch config names as target', async () => {
    f = await createFixture('test: sh test.sh\ntarget: release\n');
    await f.git(f.work, 'push', '--quiet', 'origin', 'master:refs/heads/release');
    const master = await f.rev(f.origin, 'master');
    const sha = await pushCandidate(f, { from: 'origin/release', files: { 'r.txt': 'r\n' } });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect([report.target, report.verdicts.map((v) => [v.kind, v.sha, v.target])]).toEqual([
      'release',
      [['landed', sha, 'release']],
    ]);
    expect(await f.rev(f.origin, 'release')).toBe(sha);
    expect(await f.rev(f.origin, 'master')).toBe(master);
  });
});
