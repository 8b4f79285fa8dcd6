/**
 * Real git over smart HTTP at the repositories' clone URLs: who may fetch and push, with which token, and the
 * `push` webhooks and activity a real push produces.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitResult, type World, withCredentials, world } from './helpers.js';
import { ZERO_SHA } from './index.mjs';

let w: World;
beforeEach(async () => {
  w = await world();
});
afterEach(async () => {
  await w.close();
});

/** Clones the repository as the developer into `name` and returns its path. */
async function cloneAsDev(name = 'work'): Promise<string> {
  const dir = join(w.box.dir, name);
  await w.box.git(w.box.dir, 'clone', '--quiet', w.gh.cloneUrlFor(w.repo, w.dev), dir);
  return dir;
}

/** Commits a file change in a clone and returns the new sha. */
async function change(dir: string, file: string, text: string): Promise<string> {
  await w.box.git(dir, 'checkout', '--quiet', '-B', 'work');
  mkdirSync(dirname(join(dir, file)), { recursive: true });
  writeFileSync(join(dir, file), text);
  await w.box.git(dir, 'add', file);
  await w.box.git(dir, 'commit', '--quiet', '-m', `change ${file}`);
  return w.box.git(dir, 'rev-parse', 'HEAD');
}

describe('git over smart HTTP', () => {
  it('lets the developer clone and push with their token; the push sends a signed push webhook', async () => {
    const dir = await cloneAsDev();
    const master = await w.box.git(dir, 'rev-parse', 'HEAD');
    expect(master).toBe(await w.repo.git.ref('refs/heads/master'));
    const sha = await change(dir, 'src/a.txt', 'a\n');
    await w.box.git(dir, 'push', '--quiet', 'origin', 'HEAD:refs/heads/pu');
    expect(await w.repo.git.ref('refs/heads/pu')).toBe(sha);

    const hook = await w.receiver.next((h) => h.headers['x-github-event'] === 'push');
    expect(hook.verified).toBe(true);
    expect(hook.headers).toMatchObject({
      'content-type': 'application/json',
      'x-github-hook-id': String(w.app.hookId),
      'x-github-hook-installation-target-id': String(w.app.id),
      'x-github-hook-installation-target-type': 'integration',
      'user-agent': expect.stringMatching(/^GitHub-Hookshot\//),
      'x-github-delivery': expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      ),
    });
    expect(hook.payload).toMatchObject({
      ref: 'refs/heads/pu',
      before: ZERO_SHA,
      after: sha,
      created: true,
      deleted: false,
      forced: false,
      pusher: { name: 'dev', email: 'dev@example.com' },
      sender: { login: 'dev', id: w.dev.id, type: 'User' },
      installation: { id: w.installation.id },
      repository: {
        id: w.repo.id,
        full_name: 'dev/project',
        clone_url: `${w.gh.url}/dev/project.git`,
        default_branch: 'master',
      },
      head_commit: {
        id: sha,
        distinct: true,
        added: ['src/a.txt'],
        author: { username: 'dev', email: 'dev@example.com' },
      },
    });
    expect(hook.payload.commits.map((c: { id: string }) => c.id)).toEqual([sha]);
    const unicode = await change(dir, 'docs/résumé.md', 'é\n');
    await w.box.git(dir, 'push', '--quiet', 'origin', 'HEAD:refs/heads/pu');
    const named = await w.receiver.next((h) => h.payload.after === unicode);
    expect(named.payload.head_commit.added).toEqual(['docs/résumé.md']);
    expect(w.repo.activities[1]).toMatchObject({ type: 'push', before: sha, after: unicode });
    expect(typeof hook.payload.repository.pushed_at).toBe('number');
    const [activity] = w.repo.activities;
    expect(activity).toMatchObject({
      type: 'branch_creation',
      ref: 'refs/heads/pu',
      after: sha,
      actor: { login: 'dev' },
    });
    // The push was logged with the user's token, as git sent it.
    const pushes = w.gh.requests.list('git/receive-pack');
    expect(pushes.map((r) => r.auth)).toContainEqual({ kind: 'user', login: 'dev', token: w.dev.token });
  });

  it('reports a force push as forced and a deletion as deleted', async () => {
    const dir = await cloneAsDev();
    const first = await change(dir, 'a.txt', '1\n');
    await w.box.git(dir, 'push', '--quiet', 'origin', 'HEAD:refs/heads/pu');
    await w.box.git(dir, 'reset', '--quiet', '--hard', 'HEAD~1');
    const second = await change(dir, 'b.txt', '2\n');
    await w.box.git(dir, 'push', '--quiet', '--force', 'origin', 'HEAD:refs/heads/pu');
    const forced = await w.receiver.next((h) => h.payload.after === second);
    expect(forced.payload).toMatchObject({
      before: first,
      forced: true,
      created: false,
      commits: [{ id: second }],
    });
    await w.box.git(dir, 'push', '--quiet', 'origin', ':refs/heads/pu');
    const deleted = await w.receiver.next((h) => h.payload.deleted === true);
    expect(deleted.payload).toMatchObject({
      before: second,
      after: ZERO_SHA,
      head_commit: null,
      commits: [],
    });
    expect(w.repo.activities.map((a) => a.type)).toEqual([
      'branch_creation',
      'force_push',
      'branch_deletion',
    ]);
  });

  it('attributes concurrent pushes by two users each to its pusher', async () => {
    const other = w.gh.createUser({ login: 'ola', email: 'ola@example.com' });
    w.gh.addCollaborator(w.repo, other, 'write');
    const mine = await cloneAsDev('mine');
    const theirs = join(w.box.dir, 'theirs');
    await w.box.git(w.box.dir, 'clone', '--quiet', w.gh.cloneUrlFor(w.repo, other), theirs);
    const a = await change(mine, 'a.txt', 'a\n');
    const b = await change(theirs, 'b.txt', 'b\n');
    await Promise.all([
      w.box.git(mine, 'push', '--quiet', 'origin', 'HEAD:refs/heads/pu-dev'),
      w.box.git(theirs, 'push', '--quiet', 'origin', 'HEAD:refs/heads/pu-ola'),
    ]);
    const byDev = await w.receiver.next((h) => h.payload.after === a);
    const byOla = await w.receiver.next((h) => h.payload.after === b);
    expect([byDev.payload.sender.login, byDev.payload.ref]).toEqual(['dev', 'refs/heads/pu-dev']);
    expect([byOla.payload.sender.login, byOla.payload.ref]).toEqual(['ola', 'refs/heads/pu-ola']);
  });

  it('lets the App push with its installation token as x-access-token, as its bot', async () => {
    const dir = await cloneAsDev();
    const sha = await change(dir, 'a.txt', 'a\n');
    const token = w.gh.installationToken(w.installation);
    await w.box.git(
      dir,
      'push',
      '--quiet',
      withCredentials(`${w.gh.url}/dev/project.git`, 'x-access-token', token),
      'HEAD:refs/heads/master',
    );
    const hook = await w.receiver.next((h) => h.payload.ref === 'refs/heads/master');
    expect(hook.payload).toMatchObject({
      after: sha,
      pusher: { name: 'premerge-bot[bot]' },
      sender: { login: 'premerge-bot[bot]', type: 'Bot' },
    });
    expect(w.repo.activities.at(-1)).toMatchObject({ type: 'push', actor: { login: 'premerge-bot[bot]' } });
  });

  it('refuses git without credentials (401), with a bad token, a read-only token for push, and outside the installation', async () => {
    const url = `${w.gh.url}/dev/project.git`;
    const target = join(w.box.dir, 'anon');
    const anonymous = await gitResult(w.box, w.box.dir, 'clone', '--quiet', url, target);
    expect(anonymous.code).not.toBe(0);
    expect(w.gh.requests.list('git/upload-pack').at(-1)).toMatchObject({
      status: 401,
      auth: { kind: 'none' },
    });
    const bad = await gitResult(
      w.box,
      w.box.dir,
      'clone',
      '--quiet',
      withCredentials(url, 'x-access-token', 'ghs_bad'),
      target,
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Authentication failed|Invalid username or token/);

    const readOnly = w.gh.installationToken(w.installation, {
      permissions: { contents: 'read', metadata: 'read' },
    });
    const clone = join(w.box.dir, 'ro');
    await w.box.git(w.box.dir, 'clone', '--quiet', withCredentials(url, 'x-access-token', readOnly), clone);
    await change(clone, 'a.txt', 'a\n');
    const push = await gitResult(w.box, clone, 'push', 'origin', 'HEAD:refs/heads/pu');
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain('403');
    expect(await w.repo.git.ref('refs/heads/pu')).toBeNull();

    const outside = await w.gh.createRepository({ owner: w.dev, name: 'elsewhere', files: { a: 'a\n' } });
    const token = w.gh.installationToken(w.installation);
    const elsewhere = await gitResult(
      w.box,
      w.box.dir,
      'clone',
      withCredentials(`${w.gh.url}/${outside.fullName}.git`, 'x-access-token', token),
      join(w.box.dir, 'e'),
    );
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toMatch(/not found/i);
    expect(w.receiver.received.filter((h) => h.headers['x-github-event'] === 'push')).toEqual([]);
  });

  it('lets a reader fetch but not push; lets anyone fetch a public repository', async () => {
    const reader = w.gh.createUser({ login: 'rea' });
    w.gh.addCollaborator(w.repo, reader, 'read');
    const dir = join(w.box.dir, 'reader');
    await w.box.git(w.box.dir, 'clone', '--quiet', w.gh.cloneUrlFor(w.repo, reader), dir);
    await change(dir, 'a.txt', 'a\n');
    const push = await gitResult(w.box, dir, 'push', 'origin', 'HEAD:refs/heads/pu');
    expect(push.code).not.toBe(0);
    expect(w.gh.requests.list('git/receive-pack').at(-1)?.status).toBe(403);
    const open = await w.gh.createRepository({
      owner: w.dev,
      name: 'open',
      private: false,
      files: { a: 'a\n' },
    });
    await w.box.git(
      w.box.dir,
      'clone',
      '--quiet',
      `${w.gh.url}/${open.fullName}.git`,
      join(w.box.dir, 'open'),
    );
  });

  it('refuses an App without the workflows permission a push that changes a workflow, as GitHub does', async () => {
    const dir = await cloneAsDev();
    await change(dir, '.github/workflows/ci.yml', 'on: push\n');
    const token = w.gh.installationToken(w.installation);
    const push = await gitResult(
      w.box,
      dir,
      'push',
      withCredentials(`${w.gh.url}/dev/project.git`, 'x-access-token', token),
      'HEAD:refs/heads/pu',
    );
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain(
      'refusing to allow a GitHub App to create or update workflow `.github/workflows/ci.yml` without `workflows` permission',
    );
    expect(await w.repo.git.ref('refs/heads/pu')).toBeNull();
    // The developer may.
    await w.box.git(dir, 'push', '--quiet', 'origin', 'HEAD:refs/heads/pu');
    expect(await w.repo.git.ref('refs/heads/pu')).not.toBeNull();
  });
});
