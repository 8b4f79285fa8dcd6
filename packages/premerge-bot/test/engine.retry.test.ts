/** premerge-bot retry SHA: a failure that was a flake is tested again, and a pass lands. */
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli.js';
import { retryCandidate, runOnce } from '../src/engine.js';
import type { PremergeError } from '../src/errors.js';
import { runCli } from './helpers/cli-in-process.js';
import { createFixture, FAIL, type Fixture, pushCandidate, writableShared } from './helpers/git-fixture.js';

const CONFIG = '.github/premerge.yml';

let f: Fixture;
afterEach(() => f?.cleanup());

describe('premerge-bot retry SHA', () => {
  it('tests a failed commit again, and lands it when it passes; a landed one is not retried', async () => {
    f = await createFixture((shared) => `test: sh test.sh\n${writableShared(shared)}`);
    // Fails the first time it runs, passes after: a flake.
    const flaky = `n=$(cat ${f.shared}/runs 2>/dev/null || echo 0)\necho $((n + 1)) > ${f.shared}/runs\n[ "$n" -ge 1 ]\n`;
    const base = await f.rev(f.origin, 'master');
    const sha = await pushCandidate(f, { files: { 'test.sh': flaky } });
    const first = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(first.verdicts.map((v) => v.kind)).toEqual(['failed']);
    // Final under this config: not tested again by itself.
    expect((await runOnce({ repo: f.origin, stateDir: f.stateDir })).testRuns).toBe(0);

    const where = { env: f.env, cwd: f.dir };
    const retried = await runCli(
      ['retry', '--repo', f.origin, '--state-dir', f.stateDir, sha.slice(0, 7)],
      where,
    );
    expect(retried.stderr).toBe('');
    expect(retried.code).toBe(EXIT.ok);
    expect(retried.stdout).toMatch(
      new RegExp(
        `^landed pu ${sha.slice(0, 12)} on master .*: its test passed on master ${base.slice(0, 12)}`,
        'm',
      ),
    );
    expect(await f.rev(f.origin, 'master')).toBe(sha);

    const again = await runCli(['retry', '--repo', f.origin, '--state-dir', f.stateDir, sha], where);
    expect([again.code, again.stdout.split(':')[0]]).toEqual([EXIT.ok, `${sha.slice(0, 12)} already landed`]);
  });

  it('exits 1 when the retried commit fails again, 4 for a commit no candidate branch points at', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { 'test.sh': FAIL } });
    await runOnce({ repo: f.origin, stateDir: f.stateDir });
    const where = { env: f.env, cwd: f.dir };
    const failed = await runCli(['retry', '--repo', f.origin, '--state-dir', f.stateDir, sha], where);
    expect(failed.code).toBe(EXIT.notLanded);
    expect(failed.stdout).toMatch(new RegExp(`^failed pu ${sha.slice(0, 12)}: exit 1`, 'm'));
    const unknown = await runCli(['retry', '--repo', f.origin, '--state-dir', f.stateDir, 'abcdef12'], where);
    expect(unknown.code).toBe(EXIT.unavailable);
    expect(unknown.stderr).toMatch(
      /^error: no candidate branch of .* points at abcdef12: only a candidate's tip/,
    );
    const err = (await retryCandidate({ repo: f.origin, stateDir: f.stateDir }, 'xyz').catch(
      (e) => e,
    )) as PremergeError;
    expect(err.code).toBe('PREMERGE_NOT_A_CANDIDATE');
  });

  it('decides a refused commit again, untested: its refusal no longer settles it, and what decides it is asked anew', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { [CONFIG]: 'test: sh test.sh\ntimeout: later\n' } });
    const first = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(first.verdicts.map((v) => v.kind)).toEqual(['refused']);
    expect((await runOnce({ repo: f.origin, stateDir: f.stateDir })).verdicts).toEqual([]);
    const report = await retryCandidate({ repo: f.origin, stateDir: f.stateDir }, sha);
    // Its own config is still invalid: refused again (a verdict of this call: decided afresh), and never tested.
    expect([report.verdicts.map((v) => [v.kind, v.sha]), report.testRuns]).toEqual([[['refused', sha]], 0]);
  });
});
