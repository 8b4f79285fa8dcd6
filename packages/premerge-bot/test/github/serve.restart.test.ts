/**
 * `premerge-bot serve` killed (SIGKILL) while a test runs, then started again: nothing untested lands, the test
 * runs again, and the check run the first process made is the one completed.
 */
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AppWorld,
  appWorld,
  blockingCheck,
  checkRunsOn,
  checkRunsSettle,
} from '../helpers/github-app.js';

let w: AppWorld;
afterEach(async () => {
  await w?.close();
});

describe('serve: a restart mid-test', () => {
  it('lands nothing untested, tests again after the restart, and completes the same check run', async () => {
    w = await appWorld();
    const first = await w.serve();
    const before = await w.ref('master');
    const sha = await w.push({ VERSION: '1.1\n', 'check.sh': blockingCheck(w.goFile) });
    await first.waitFor((e) => e['type'] === 'test-started', 'the test to start');
    const [running] = await checkRunsSettle(w, sha, (runs) => runs[0]?.status === 'in_progress');
    const killed = await first.stop('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    expect(await w.ref('master')).toBe(before);
    const second = await w.serve();
    const started = await second.waitFor((e) => e['type'] === 'scheduled', 'a pass after the restart');
    expect(started['why']).toMatch(/^reconcile: /);
    // The test runs again (the one cut off is not a verdict), and this time it may finish.
    await second.waitFor((e) => e['type'] === 'test-started', 'the test to run again');
    writeFileSync(w.goFile, '');
    const [done] = await checkRunsSettle(w, sha);
    expect(done!.id).toBe(running!.id);
    expect(done).toMatchObject({ status: 'completed', conclusion: 'success' });
    expect(checkRunsOn(w.repo, sha)).toHaveLength(1);
    expect(await w.ref('master')).toBe(sha);
    // Every value master took: the first commit, then the tested one.
    const reflog = w.repo.activities.filter((a) => a.ref === 'refs/heads/master').map((a) => a.after);
    expect(reflog).toEqual([sha]);
  });
});
