/**
 * Who may land through `serve`, and what an installation's token may push: `land-permission`, a change of the
 * trusted config (maintain at least), and `.github/workflows/` without the workflows permission.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppWorld, appWorld, checkRunsSettle } from '../helpers/github-app.js';

let w: AppWorld;
afterEach(async () => {
  await w?.close();
});

/** Pushes the clone's HEAD to pu as `user`, through their own credentials. */
async function pushAs(w: AppWorld, user: ReturnType<AppWorld['gh']['createUser']>, branch = 'pu') {
  await w.git('push', '-q', '--force', w.gh.cloneUrlFor(w.repo, user), `HEAD:refs/heads/${branch}`);
  return w.git('rev-parse', 'HEAD');
}

async function commit(w: AppWorld, files: Record<string, string>) {
  await w.git('fetch', '-q', 'origin');
  await w.git('checkout', '-q', '--detach', 'origin/master');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(w.clone, path)), { recursive: true });
    writeFileSync(join(w.clone, path), text);
  }
  await w.git('add', '-A');
  await w.git('commit', '-q', '-m', `change ${Object.keys(files).join(', ')}`);
}

describe('serve: land-permission', () => {
  it('with maintain, a writer lands nothing (action_required, saying why); a maintainer lands', async () => {
    w = await appWorld({ config: 'test: ./check.sh\nland-permission: maintain\n' });
    const writer = w.gh.createUser({ login: 'wanda', email: 'wanda@example.com' });
    const maintainer = w.gh.createUser({ login: 'max', email: 'max@example.com' });
    w.gh.addCollaborator(w.repo, writer, 'write');
    w.gh.addCollaborator(w.repo, maintainer, 'maintain');
    await w.serve();
    const before = await w.ref('master');
    await commit(w, { VERSION: '1.1\n' });
    const bywriter = await pushAs(w, writer);
    const [refused] = await checkRunsSettle(w, bywriter);
    expect(refused).toMatchObject({ conclusion: 'action_required' });
    expect(refused!.output.title).toBe(
      'wanda may not land on this repository: landing needs maintain permission, and wanda has write',
    );
    expect(await w.ref('master')).toBe(before);
    await commit(w, { VERSION: '1.2\n' });
    const bymaintainer = await pushAs(w, maintainer);
    const [landed] = await checkRunsSettle(w, bymaintainer);
    expect(landed).toMatchObject({ conclusion: 'success' });
    expect(await w.ref('master')).toBe(bymaintainer);
  });

  it('a change of .github/premerge.yml needs maintain: a writer is refused, the admin lands it', async () => {
    w = await appWorld();
    const writer = w.gh.createUser({ login: 'wanda', email: 'wanda@example.com' });
    w.gh.addCollaborator(w.repo, writer, 'write');
    await w.serve();
    const before = await w.ref('master');
    await commit(w, { '.github/premerge.yml': 'test: ./check.sh\ntimeout: 10m\n' });
    const bywriter = await pushAs(w, writer);
    const [refused] = await checkRunsSettle(w, bywriter);
    expect(refused).toMatchObject({ conclusion: 'action_required' });
    expect(refused!.output.title).toBe(
      'wanda may not land on this repository: landing needs maintain permission (it changes .github/premerge.yml), and wanda has write',
    );
    expect(await w.ref('master')).toBe(before);
    // The change pushed again by the repository's owner (admin), as a new commit: the refusal of that sha stays
    // final while the target does not move.
    await w.git('commit', '-q', '--amend', '-m', 'change .github/premerge.yml (approved)');
    const byadmin = await pushAs(w, w.dev);
    const [landed] = await checkRunsSettle(w, byadmin);
    expect(landed).toMatchObject({ conclusion: 'success' });
    expect(await w.ref('master')).toBe(byadmin);
  });
});

describe('serve: the workflows permission', () => {
  it('a candidate changing .github/workflows/ without it is refused before any test, saying so', async () => {
    w = await appWorld();
    const serve = await w.serve();
    await commit(w, { '.github/workflows/ci.yml': 'on: push\njobs: {}\n' });
    const sha = await pushAs(w, w.dev);
    const [refused] = await checkRunsSettle(w, sha);
    expect(refused).toMatchObject({ conclusion: 'action_required' });
    expect(refused!.output.title).toMatch(
      /^it changes \.github\/workflows\/ci\.yml under \.github\/workflows\/, and the App's installation lacks the workflows permission/,
    );
    expect(serve.events.filter((e) => e['type'] === 'test-started')).toEqual([]);
  });

  it('with the workflows permission it lands', async () => {
    w = await appWorld({
      permissions: { metadata: 'read', contents: 'write', checks: 'write', workflows: 'write' },
    });
    await w.serve();
    await commit(w, { '.github/workflows/ci.yml': 'on: push\njobs: {}\n' });
    const sha = await pushAs(w, w.dev);
    const [landed] = await checkRunsSettle(w, sha);
    expect(landed).toMatchObject({ conclusion: 'success' });
    expect(await w.ref('master')).toBe(sha);
  });
});
