/**
 * The gate cannot be removed through the gate: a candidate's own `.github/premerge.yml` is read before it is
 * tested, since once landed on the default branch it is the config every later candidate is judged by.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { landConfigChange, runOnce } from '../src/engine.js';
import type { PremergeError } from '../src/errors.js';
import { runCli } from './helpers/cli-in-process.js';
import { createFixture, FAIL, type Fixture, pushCandidate } from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

const CONFIG = '.github/premerge.yml';

describe('a candidate that touches the config', () => {
  it('deleting it does not land (nothing could land after it), and the next candidate still does', async () => {
    f = await createFixture('test: sh test.sh\ncandidates: "pu/*"\n');
    const base = await f.rev(f.origin, 'master');
    await pushCandidate(f, { branch: 'pu/a', files: { 'a.txt': 'a\n' } });
    await f.git(f.work, 'rm', '--quiet', CONFIG);
    await f.git(f.work, 'commit', '--quiet', '-m', 'drop the config');
    await f.git(f.work, 'push', '--quiet', '--force', 'origin', 'HEAD:refs/heads/pu/a');
    const dropped = await f.rev(f.work, 'HEAD');
    const good = await pushCandidate(f, { branch: 'pu/b', files: { 'b.txt': 'b\n' } });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    // Once master moved, a refused candidate is looked at again: it no longer descends from master.
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([
      ['refused', dropped],
      ['landed', good],
      ['needs-rebase', dropped],
    ]);
    expect(report.verdicts[0]!.reason).toContain(`it deletes ${CONFIG}`);
    expect(report.testRuns).toBe(1);
    expect(await f.rev(f.origin, 'master^')).toBe(base);
    expect(await f.git(f.origin, 'show', `master:${CONFIG}`)).toBe('test: sh test.sh\ncandidates: "pu/*"');
  });

  it('an invalid config does not land, and its verdict names the file, line and key', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { [CONFIG]: 'test: sh test.sh\ntimeout: later\n' } });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['refused', sha]]);
    expect(report.verdicts[0]!.reason).toBe(
      `its .github/premerge.yml:2: key 'timeout': expected a duration such as 30m, 90s, 1h or 500ms (commit ${sha.slice(0, 12)}); fix the file and push again`,
    );
  });

  it('changing it does not land by default, untested, and the verdict says how to land it', async () => {
    f = await createFixture();
    const base = await f.rev(f.origin, 'master');
    const sha = await pushCandidate(f, { files: { [CONFIG]: 'test: "true"\n', 'test.sh': FAIL } });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect([report.verdicts.map((v) => [v.kind, v.sha]), report.testRuns]).toEqual([[['refused', sha]], 0]);
    expect(report.verdicts[0]!.reason).toContain('(test: "sh test.sh" -> "true")');
    expect(report.verdicts[0]!.reason).toContain(`premerge-bot land ${sha.slice(0, 12)} --config-change`);
    expect(await f.rev(f.origin, 'master')).toBe(base);
    // Settled: not looked at again until master moves.
    const again = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect([again.pendingAtStart, again.verdicts]).toEqual([0, []]);
  });

  it('with rebase: true, a rebased candidate that changes the config is refused too', async () => {
    f = await createFixture('test: sh test.sh\nrebase: true\n');
    const sha = await pushCandidate(f, { files: { [CONFIG]: 'test: "true"\nrebase: true\n' } });
    await f.git(f.work, 'checkout', '--quiet', '-B', 'm', 'origin/master');
    await f.commit({ 'm.txt': 'm\n' });
    await f.git(f.work, 'push', '--quiet', 'origin', 'HEAD:master');
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['refused', sha]]);
  });

  it('with config-changes: allow, it is tested under the config in force and lands, the change in its verdict', async () => {
    f = await createFixture('test: sh test.sh\nconfig-changes: allow\n');
    const broken = await pushCandidate(f, {
      files: { [CONFIG]: 'test: "true"\nconfig-changes: allow\n', 'test.sh': FAIL },
    });
    const first = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(first.verdicts.map((v) => [v.kind, v.sha])).toEqual([['failed', broken]]);
    const sha = await pushCandidate(f, {
      files: { [CONFIG]: 'test: sh test.sh\nconfig-changes: allow\ntimeout: 5m\n' },
    });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
    expect(report.verdicts[0]!.reason).toMatch(
      /^its test passed on master \w{12}, and master was fast-forwarded to \w{12}; with a change to \.github\/premerge\.yml: timeout: "1800000ms" -> "300000ms"$/,
    );
  });
});

describe('premerge-bot land SHA --config-change', () => {
  it('tests the candidate under its new config and lands it; later candidates are judged by the new config', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, {
      files: { [CONFIG]: 'test: sh check.sh\n', 'check.sh': 'echo the new test ran\n', 'test.sh': FAIL },
    });
    const refused = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(refused.verdicts.map((v) => v.kind)).toEqual(['refused']);
    const report = await landConfigChange({ repo: f.origin, stateDir: f.stateDir }, sha.slice(0, 10));
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
    expect(report.verdicts[0]!.reason).toMatch(
      /; with a change to \.github\/premerge\.yml: test: "sh test.sh" -> "sh check.sh"$/,
    );
    expect(await f.rev(f.origin, 'master')).toBe(sha);
    const next = await pushCandidate(f, { files: { 'check.sh': 'exit 1\n' } });
    const after = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(after.verdicts.map((v) => [v.kind, v.sha])).toEqual([['failed', next]]);
  });

  it('is how the very first config arrives', async () => {
    f = await createFixture();
    await f.git(f.work, 'rm', '--quiet', CONFIG);
    await f.git(f.work, 'commit', '--quiet', '-m', 'no config yet');
    await f.git(f.work, 'push', '--quiet', 'origin', 'master');
    const sha = await pushCandidate(f, { files: { [CONFIG]: 'test: sh test.sh\n' } });
    const none = (await runOnce({ repo: f.origin, stateDir: f.stateDir }).catch((e) => e)) as PremergeError;
    expect(none.code).toBe('PREMERGE_CONFIG_MISSING');
    const report = await landConfigChange({ repo: f.origin, stateDir: f.stateDir }, sha);
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
    expect(report.verdicts[0]!.reason).toMatch(
      /; with a change to \.github\/premerge\.yml: the first config, test: "sh test.sh"$/,
    );
  });

  it('through the CLI: exit 0 when it landed, 1 when its test failed, 4 when no candidate has that sha', async () => {
    f = await createFixture();
    const where = { env: f.env, cwd: f.dir };
    const args = ['--repo', f.origin, '--state-dir', f.stateDir];
    const bad = await pushCandidate(f, {
      files: { [CONFIG]: 'test: sh check.sh\n', 'check.sh': 'exit 1\n' },
    });
    const failed = await runCli(['land', ...args, bad, '--config-change'], where);
    expect([failed.code, failed.stdout.split('\n').at(-2)]).toEqual([
      1,
      expect.stringMatching(new RegExp(`^failed pu ${bad.slice(0, 12)}: exit 1`)),
    ]);
    const good = await pushCandidate(f, {
      files: { [CONFIG]: 'test: sh check.sh\n', 'check.sh': 'exit 0\n' },
    });
    const landed = await runCli(['land', ...args, good.slice(0, 8), '--config-change'], where);
    expect([landed.code, landed.stderr]).toEqual([0, '']);
    expect(landed.stdout).toContain(`landed pu ${good.slice(0, 12)} on master`);
    const unknown = await runCli(['land', ...args, 'deadbeef', '--config-change'], where);
    expect([unknown.code, unknown.stderr]).toEqual([
      4,
      `error: no branch of ${f.origin} points at deadbeef: push it to a candidate branch first\n`,
    ]);
    const noFlag = await runCli(['land', ...args, good], where);
    expect(noFlag.code).toBe(2);
  });
});
