/**
 * What webhooks miss, `serve` finds: a push whose delivery was lost is caught by reconcile (its pusher read from the
 * repository's activity), a pusher no one can name lands nothing, and repositories added to the installation are
 * served without a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AppWorld, appWorld, CHECK, checkRunsSettle } from '../helpers/github-app.js';

let w: AppWorld;
afterEach(async () => {
  await w?.close();
});

describe('serve: missed webhooks', () => {
  it('a lost push delivery: reconcile finds the candidate, reads its pusher from the activity, and lands it', async () => {
    w = await appWorld();
    const serve = await w.serve(['--reconcile-interval', '300ms']);
    await serve.waitFor((e) => e['type'] === 'reconciled', 'the first reconcile');
    w.gh.deliveries.drop(1);
    const sha = await w.push({ VERSION: '1.1\n' });
    const lost = await w.gh.deliveries.waitFor((d) => d.event === 'push');
    expect(lost.state).toBe('dropped');
    const started = await serve.waitFor((e) => e['type'] === 'scheduled', 'a pass');
    expect(started['why']).toBe(`reconcile: pu ${sha.slice(0, 12)} has no verdict`);
    const [run] = await checkRunsSettle(w, sha);
    expect(run!.conclusion).toBe('success');
    expect(await w.ref('master')).toBe(sha);
    const activity = w.gh.requests.list('repos/list-activities');
    expect(activity.length).toBeGreaterThan(0);
    expect(w.gh.requests.list('repos/get-collaborator-permission-level').map((r) => r.path)).toContain(
      '/api/v3/repos/dev/project/collaborators/dev/permission',
    );
  });

  it('a candidate whose pusher cannot be established lands nothing, and its check run says to push again', async () => {
    w = await appWorld();
    w.gh.deliveries.drop(1);
    const sha = await w.push({ VERSION: '1.1\n' });
    await w.gh.deliveries.waitFor((d) => d.event === 'push');
    // The activity that put it there is gone too (the activity list is not forever).
    w.repo.activities.length = 0;
    const before = await w.ref('master');
    await w.serve();
    const [run] = await checkRunsSettle(w, sha);
    expect(run).toMatchObject({ conclusion: 'action_required' });
    expect(run!.output.title).toMatch(/could not tell who pushed this commit.*push again/);
    expect(await w.ref('master')).toBe(before);
  });
});

describe('serve: installation events', () => {
  it('a repository added to the installation is served without a restart; one removed is not', async () => {
    w = await appWorld();
    const serve = await w.serve();
    await serve.waitFor((e) => e['type'] === 'reconciled', 'the first reconcile');
    const other = await w.gh.createRepository({
      owner: w.dev,
      name: 'other',
      files: {
        '.github/premerge.yml': 'test: ./check.sh\n',
        'check.sh': { content: CHECK, executable: true },
        VERSION: '1.0\n',
      },
    });
    w.gh.addToInstallation(w.installation, [other]);
    const added = await serve.waitFor(
      (e) => e['type'] === 'repository' && e['repo'] === 'dev/other',
      'the new repository',
    );
    expect(added['action']).toBe('added');
    const sha = await w.gh.commit(other, { branch: 'pu', files: { VERSION: '1.1\n' }, author: w.dev });
    const [run] = await checkRunsSettle({ gh: w.gh, repo: other }, sha);
    expect(run!.conclusion).toBe('success');
    expect(await other.git.ref('refs/heads/master')).toBe(sha);

    w.gh.removeFromInstallation(w.installation, [other]);
    const removed = await serve.waitFor(
      (e) => e['type'] === 'repository' && e['action'] === 'removed',
      'the repository to go',
    );
    expect(removed['repo']).toBe('dev/other');
  });
});
