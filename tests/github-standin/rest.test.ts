/**
 * The REST API as premerge-bot will call it: @octokit/rest pointed at the stand-in, authenticated through
 * @octokit/auth-app with the generated key. Each endpoint, its errors, and the state behind it.
 */

import { createPrivateKey } from 'node:crypto';
import { createAppAuth } from '@octokit/auth-app';
import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appClient, installationClient, tokenClient, type World, world } from './helpers.js';

let w: World;
beforeEach(async () => {
  w = await world();
});
afterEach(async () => {
  await w.close();
});

/** The status of a request that must fail. */
async function statusOf(request: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await request;
  } catch (error) {
    // Octokit's RequestError: the status and GitHub's error body.
    const e = error as { status?: number; response?: { data?: { message?: string } } };
    if (typeof e.status === 'number') return { status: e.status, message: e.response?.data?.message ?? '' };
    throw error;
  }
  throw new Error('the request succeeded');
}

describe('App authentication (JWT)', () => {
  it('GET /app answers the App itself, to its JWT', async () => {
    const { data, headers } = await appClient(w.gh, w.app).apps.getAuthenticated();
    expect(data).toMatchObject({
      id: w.app.id,
      slug: 'premerge-bot',
      owner: { login: 'premerge-bot-owner' },
    });
    expect(headers['x-github-request-id']).toMatch(/^[0-9A-F]{4}:/);
    expect(headers['x-ratelimit-limit']).toBe('5000');
    expect(headers['content-type']).toBe('application/json; charset=utf-8');
    expect(w.gh.requests.list('apps/get-authenticated')[0]?.auth).toMatchObject({
      kind: 'app',
      appId: w.app.id,
    });
  });

  it('refuses a JWT signed with another key, an expired one, one that lives too long, and a token', async () => {
    const other = w.gh.createApp({ slug: 'other' });
    const key = createPrivateKey(other.privateKey);
    const now = Math.floor(Date.now() / 1000);
    const jwt = (claims: { iat: number; exp: number }, signer = key) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer(String(w.app.id))
        .setIssuedAt(claims.iat)
        .setExpirationTime(claims.exp)
        .sign(signer);
    const call = (token: string) => tokenClient(w.gh, token).apps.getAuthenticated();
    expect(await statusOf(call(await jwt({ iat: now - 30, exp: now + 570 })))).toEqual({
      status: 401,
      message: 'A JSON web token could not be decoded',
    });
    const own = createPrivateKey(w.app.privateKey);
    expect(await statusOf(call(await jwt({ iat: now - 700, exp: now - 100 }, own)))).toMatchObject({
      status: 401,
      message: expect.stringContaining("'Expiration time' claim ('exp') must be a numeric value"),
    });
    expect(await statusOf(call(await jwt({ iat: now, exp: now + 3600 }, own)))).toMatchObject({
      status: 401,
      message: "'Expiration time' claim ('exp') is too far in the future",
    });
    expect((await call(await jwt({ iat: now - 30, exp: now + 570 }, own))).data?.id).toBe(w.app.id);
    const token = w.gh.installationToken(w.installation);
    expect((await statusOf(call(token))).status).toBe(401);
  });

  it('lists the App installations, paginated with Link headers', async () => {
    const others = [];
    for (let i = 0; i < 3; i++) {
      const user = w.gh.createUser({ login: `user${i}` });
      others.push(w.gh.createInstallation({ app: w.app, account: user }));
    }
    const octokit = appClient(w.gh, w.app);
    const first = await octokit.apps.listInstallations({ per_page: 2 });
    expect(first.data.map((i) => i.id)).toEqual([w.installation.id, others[0]!.id]);
    expect(first.headers.link).toContain('rel="next"');
    const all = await octokit.paginate(octokit.apps.listInstallations, { per_page: 2 });
    expect(all.map((i) => i.account?.login)).toEqual(['dev', 'user0', 'user1', 'user2']);
    expect(all[0]).toMatchObject({
      app_id: w.app.id,
      repository_selection: 'selected',
      permissions: { contents: 'write' },
    });
  });

  it('creates installation tokens that expire after an hour, scoped to the installation', async () => {
    const octokit = appClient(w.gh, w.app);
    const { data, status } = await octokit.apps.createInstallationAccessToken({
      installation_id: w.installation.id,
    });
    expect(status).toBe(201);
    expect(data.token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    expect(Date.parse(data.expires_at) - w.gh.clock.now()).toBeGreaterThan(59 * 60 * 1000);
    expect(data.permissions).toEqual({ metadata: 'read', contents: 'write', checks: 'write' });
    const client = tokenClient(w.gh, data.token);
    expect((await client.repos.get({ owner: 'dev', repo: 'project' })).data.id).toBe(w.repo.id);
    w.gh.clock.advance(60 * 60 * 1000);
    expect(await statusOf(client.repos.get({ owner: 'dev', repo: 'project' }))).toMatchObject({
      status: 401,
      message: 'Bad credentials',
    });
    // 404 for an installation of another App, 422 for wider permissions than granted.
    const other = w.gh.createApp({ slug: 'other' });
    expect(
      (
        await statusOf(
          appClient(w.gh, other).apps.createInstallationAccessToken({ installation_id: w.installation.id }),
        )
      ).status,
    ).toBe(404);
    const wider = octokit.apps.createInstallationAccessToken({
      installation_id: w.installation.id,
      permissions: { administration: 'write' },
    });
    expect(await statusOf(wider)).toEqual({
      status: 422,
      message: 'The permissions requested are not granted to this installation.',
    });
  });

  it('narrows a token to fewer permissions on request', async () => {
    const { data } = await appClient(w.gh, w.app).apps.createInstallationAccessToken({
      installation_id: w.installation.id,
      permissions: { contents: 'read', metadata: 'read' },
      repositories: ['project'],
    });
    expect(data.repository_selection).toBe('selected');
    expect(data.repositories?.map((r) => r.full_name)).toEqual(['dev/project']);
    const client = tokenClient(w.gh, data.token);
    const head = (await client.git.getRef({ owner: 'dev', repo: 'project', ref: 'heads/master' })).data.object
      .sha;
    const refused = client.checks.create({ owner: 'dev', repo: 'project', name: 'premerge', head_sha: head });
    expect(await statusOf(refused)).toEqual({
      status: 403,
      message: 'Resource not accessible by integration',
    });
    const logged = w.gh.requests.list('checks/create')[0];
    expect(logged).toMatchObject({ status: 403, auth: { kind: 'installation', token: data.token } });
  });
});

describe('installation endpoints', () => {
  it('lists the repositories the installation reaches, and nothing outside it', async () => {
    const outside = await w.gh.createRepository({ owner: w.dev, name: 'secret' });
    const octokit = installationClient(w.gh, w.app, w.installation);
    const { data } = await octokit.apps.listReposAccessibleToInstallation();
    expect(data.total_count).toBe(1);
    expect(data.repositories[0]).toMatchObject({
      id: w.repo.id,
      full_name: 'dev/project',
      default_branch: 'master',
      private: true,
      clone_url: `${w.gh.url}/dev/project.git`,
      html_url: `${w.gh.url}/dev/project`,
    });
    expect(await statusOf(octokit.repos.get({ owner: 'dev', repo: outside.name }))).toEqual({
      status: 404,
      message: 'Not Found',
    });
    w.gh.addToInstallation(w.installation, [outside]);
    expect((await octokit.repos.get({ owner: 'dev', repo: 'secret' })).data.full_name).toBe('dev/secret');
    w.gh.removeFromInstallation(w.installation, [outside]);
    expect((await statusOf(octokit.repos.get({ owner: 'dev', repo: 'secret' }))).status).toBe(404);
  });

  it('answers 401 for a bad token and for none on a private repository', async () => {
    expect(
      await statusOf(tokenClient(w.gh, 'ghs_nope').repos.get({ owner: 'dev', repo: 'project' })),
    ).toEqual({
      status: 401,
      message: 'Bad credentials',
    });
    const anonymous = await fetch(`${w.gh.apiUrl}/repos/dev/project`);
    expect(anonymous.status).toBe(404);
    // A JWT is the App itself, not an installation: repositories are out of its reach.
    const { token: jwt } = await createAppAuth({ appId: w.app.id, privateKey: w.app.privateKey })({
      type: 'app',
    });
    const withJwt = await fetch(`${w.gh.apiUrl}/repos/dev/project`, {
      headers: { authorization: `Bearer ${jwt}` },
    });
    expect(withJwt.status).toBe(403);
  });

  it('answers 404 for routes it does not serve, in GitHub\u2019s error shape', async () => {
    const response = await fetch(`${w.gh.apiUrl}/repos/dev/project/pulls`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      message: 'Not Found',
      documentation_url: 'https://docs.github.com/rest',
      status: '404',
    });
  });
});

describe('contents and refs', () => {
  it('reads a file (base64, or raw) and a directory at a ref', async () => {
    const octokit = installationClient(w.gh, w.app, w.installation);
    const { data } = await octokit.repos.getContent({
      owner: 'dev',
      repo: 'project',
      path: '.github/premerge.yml',
    });
    if (Array.isArray(data) || data.type !== 'file') throw new Error('expected a file');
    expect(Buffer.from(data.content, 'base64').toString()).toBe('test: ./check.sh\n');
    expect(data).toMatchObject({
      encoding: 'base64',
      path: '.github/premerge.yml',
      name: 'premerge.yml',
      size: 17,
    });
    const raw = await octokit.repos.getContent({
      owner: 'dev',
      repo: 'project',
      path: 'check.sh',
      mediaType: { format: 'raw' },
    });
    expect(String(raw.data)).toBe('#!/bin/sh\nexit 0\n');
    await w.gh.commit(w.repo, { files: { 'docs/résumé.md': 'é\n' }, author: w.dev });
    const docs = await octokit.repos.getContent({ owner: 'dev', repo: 'project', path: 'docs' });
    expect((docs.data as { path: string }[]).map((e) => e.path)).toEqual(['docs/résumé.md']);
    const unicode = await octokit.repos.getContent({ owner: 'dev', repo: 'project', path: 'docs/résumé.md' });
    expect(Buffer.from((unicode.data as { content: string }).content, 'base64').toString()).toBe('é\n');
    const root = await octokit.repos.getContent({ owner: 'dev', repo: 'project', path: '' });
    expect((root.data as { name: string; type: string }[]).map((e) => [e.name, e.type])).toEqual([
      ['.github', 'dir'],
      ['check.sh', 'file'],
      ['docs', 'dir'],
    ]);
    const sha = await w.gh.commit(w.repo, {
      branch: 'pu',
      files: { '.github/premerge.yml': 'test: false\n' },
      author: w.dev,
    });
    const atPu = await octokit.repos.getContent({
      owner: 'dev',
      repo: 'project',
      path: '.github/premerge.yml',
      ref: sha,
    });
    expect(Buffer.from((atPu.data as { content: string }).content, 'base64').toString()).toBe(
      'test: false\n',
    );
    expect(
      await statusOf(octokit.repos.getContent({ owner: 'dev', repo: 'project', path: 'nope.txt' })),
    ).toEqual({
      status: 404,
      message: 'Not Found',
    });
    expect(
      (
        await statusOf(
          octokit.repos.getContent({ owner: 'dev', repo: 'project', path: 'check.sh', ref: 'no-such' }),
        )
      ).status,
    ).toBe(404);
  });

  it('lists matching refs by prefix and gets one ref', async () => {
    const octokit = installationClient(w.gh, w.app, w.installation);
    const a = await w.gh.commit(w.repo, { branch: 'pu', files: { a: '1\n' }, author: w.dev });
    const b = await w.gh.commit(w.repo, { branch: 'pu-feature', files: { b: '1\n' }, author: w.dev });
    const { data } = await octokit.git.listMatchingRefs({ owner: 'dev', repo: 'project', ref: 'heads/pu' });
    expect(data.map((r) => [r.ref, r.object.sha])).toEqual([
      ['refs/heads/pu', a],
      ['refs/heads/pu-feature', b],
    ]);
    expect(
      (await octokit.git.listMatchingRefs({ owner: 'dev', repo: 'project', ref: 'heads/none' })).data,
    ).toEqual([]);
    const one = await octokit.git.getRef({ owner: 'dev', repo: 'project', ref: 'heads/pu-feature' });
    expect(one.data).toMatchObject({ ref: 'refs/heads/pu-feature', object: { type: 'commit', sha: b } });
    // Branches with slashes, as `pu/*` candidates have them; git cannot have `pu/x` beside `pu`.
    const c = await w.gh.commit(w.repo, { branch: 'topic/x', files: { c: '1\n' }, author: w.dev });
    const slashed = await octokit.git.getRef({ owner: 'dev', repo: 'project', ref: 'heads/topic/x' });
    expect(slashed.data.object.sha).toBe(c);
    await expect(w.gh.commit(w.repo, { branch: 'pu/x', files: { c: '1\n' }, author: w.dev })).rejects.toThrow(
      /cannot update refs\/heads\/pu\/x/,
    );
    expect(
      (await statusOf(octokit.git.getRef({ owner: 'dev', repo: 'project', ref: 'heads/gone' }))).status,
    ).toBe(404);
  });

  it('updates a ref only by fast-forward unless forced, and records it as activity with a push webhook', async () => {
    const octokit = installationClient(w.gh, w.app, w.installation);
    const master = (await octokit.git.getRef({ owner: 'dev', repo: 'project', ref: 'heads/master' })).data
      .object.sha;
    const ahead = await w.gh.commit(w.repo, { branch: 'pu', files: { a: '1\n' }, author: w.dev });
    const sideways = await w.gh.commit(w.repo, { branch: 'other', files: { b: '2\n' }, author: w.dev });
    const updated = await octokit.git.updateRef({
      owner: 'dev',
      repo: 'project',
      ref: 'heads/master',
      sha: ahead,
      force: false,
    });
    expect(updated.data.object.sha).toBe(ahead);
    const push = await w.receiver.next((h) => h.payload.ref === 'refs/heads/master');
    expect(push.payload).toMatchObject({
      before: master,
      after: ahead,
      forced: false,
      sender: { login: 'premerge-bot[bot]', type: 'Bot' },
    });
    const refused = octokit.git.updateRef({
      owner: 'dev',
      repo: 'project',
      ref: 'heads/master',
      sha: sideways,
      force: false,
    });
    expect(await statusOf(refused)).toEqual({ status: 422, message: 'Update is not a fast forward' });
    await octokit.git.updateRef({
      owner: 'dev',
      repo: 'project',
      ref: 'heads/master',
      sha: sideways,
      force: true,
    });
    expect(await w.repo.git.ref('refs/heads/master')).toBe(sideways);
    const missing = octokit.git.updateRef({
      owner: 'dev',
      repo: 'project',
      ref: 'heads/master',
      sha: 'f'.repeat(40),
    });
    expect(await statusOf(missing)).toEqual({ status: 422, message: 'Object does not exist' });
    const noRef = octokit.git.updateRef({ owner: 'dev', repo: 'project', ref: 'heads/nope', sha: ahead });
    expect(await statusOf(noRef)).toEqual({ status: 422, message: 'Reference does not exist' });
    const activity = await octokit.repos.listActivities({ owner: 'dev', repo: 'project', ref: 'master' });
    expect(activity.data.map((a) => [a.activity_type, a.actor?.login])).toEqual([
      ['force_push', 'premerge-bot[bot]'],
      ['push', 'premerge-bot[bot]'],
    ]);
  });

  it('refuses an App without the workflows permission a ref update that changes a workflow', async () => {
    const octokit = installationClient(w.gh, w.app, w.installation);
    const sha = await w.gh.commit(w.repo, {
      branch: 'pu',
      files: { '.github/workflows/ci.yml': 'on: push\n' },
      author: w.dev,
    });
    const refused = octokit.git.updateRef({ owner: 'dev', repo: 'project', ref: 'heads/master', sha });
    expect(await statusOf(refused)).toEqual({
      status: 422,
      message:
        'refusing to allow a GitHub App to create or update workflow `.github/workflows/ci.yml` without `workflows` permission',
    });
  });

  it('checks request bodies against the description: 422 for a body GitHub would refuse', async () => {
    const octokit = installationClient(w.gh, w.app, w.installation);
    const bad = octokit.request('PATCH /repos/{owner}/{repo}/git/refs/{ref}', {
      owner: 'dev',
      repo: 'project',
      ref: 'heads/master',
      force: true,
    } as never);
    const { status, message } = await statusOf(bad);
    expect(status).toBe(422);
    expect(message).toMatch(/^Invalid request\.\n\nbody must have required property 'sha'/);
  });
});

describe('check runs', () => {
  it('creates, updates and lists check runs on a commit, with the filters GitHub has', async () => {
    const octokit = installationClient(w.gh, w.app, w.installation);
    const head = (await octokit.git.getRef({ owner: 'dev', repo: 'project', ref: 'heads/master' })).data
      .object.sha;
    const created = await octokit.checks.create({
      owner: 'dev',
      repo: 'project',
      name: 'premerge',
      head_sha: head,
      external_id: 'job-1',
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({
      head_sha: head,
      status: 'queued',
      conclusion: null,
      external_id: 'job-1',
      app: { id: w.app.id, slug: 'premerge-bot' },
      completed_at: null,
    });
    const id = created.data.id;
    await octokit.checks.update({ owner: 'dev', repo: 'project', check_run_id: id, status: 'in_progress' });
    const done = await octokit.checks.update({
      owner: 'dev',
      repo: 'project',
      check_run_id: id,
      conclusion: 'success',
      output: { title: 'Landed', summary: 'tests passed; master moved' },
    });
    expect(done.data).toMatchObject({
      status: 'completed',
      conclusion: 'success',
      output: { title: 'Landed', summary: 'tests passed; master moved' },
    });
    expect(done.data.completed_at).not.toBeNull();
    const again = await octokit.checks.create({
      owner: 'dev',
      repo: 'project',
      name: 'premerge',
      head_sha: head,
      status: 'in_progress',
    });
    const other = await octokit.checks.create({
      owner: 'dev',
      repo: 'project',
      name: 'lint',
      head_sha: head,
      conclusion: 'failure',
      output: { title: 't', summary: 's' },
    });
    const list = (query: Record<string, string | number> = {}) =>
      octokit.checks
        .listForRef({ owner: 'dev', repo: 'project', ref: head, ...query })
        .then((r) => r.data.check_runs.map((c) => c.id));
    expect(await list()).toEqual([other.data.id, again.data.id]);
    expect(await list({ filter: 'all' })).toEqual([other.data.id, again.data.id, id]);
    expect(await list({ filter: 'all', check_name: 'premerge', status: 'completed' })).toEqual([id]);
    expect(await list({ app_id: w.app.id + 1000 })).toEqual([]);
    const byBranch = await octokit.checks.listForRef({
      owner: 'dev',
      repo: 'project',
      ref: 'master',
      filter: 'all',
      per_page: 2,
    });
    expect(byBranch.data.total_count).toBe(3);
    expect(byBranch.data.check_runs).toHaveLength(2);
    expect(byBranch.headers.link).toContain('rel="next"');
    // Check runs are kept per repository in the model too.
    expect([...w.repo.checkRuns.values()].map((r) => r.conclusion)).toEqual(['success', null, 'failure']);
  });

  it('refuses a check run on an unknown commit, an update by another App, and one from a personal token', async () => {
    const octokit = installationClient(w.gh, w.app, w.installation);
    const unknown = octokit.checks.create({
      owner: 'dev',
      repo: 'project',
      name: 'premerge',
      head_sha: 'a'.repeat(40),
    });
    expect(await statusOf(unknown)).toEqual({
      status: 422,
      message: `No commit found for SHA: ${'a'.repeat(40)}`,
    });
    const head = (await w.repo.git.ref('refs/heads/master')) as string;
    const run = await octokit.checks.create({
      owner: 'dev',
      repo: 'project',
      name: 'premerge',
      head_sha: head,
    });
    const other = w.gh.createApp({ slug: 'other' });
    const otherInst = w.gh.createInstallation({ app: other, account: w.dev });
    const byOther = installationClient(w.gh, other, otherInst).checks.update({
      owner: 'dev',
      repo: 'project',
      check_run_id: run.data.id,
      status: 'completed',
      conclusion: 'success',
    });
    expect((await statusOf(byOther)).status).toBe(403);
    const personal = tokenClient(w.gh, w.gh.userToken(w.dev)).checks.create({
      owner: 'dev',
      repo: 'project',
      name: 'x',
      head_sha: head,
    });
    expect(await statusOf(personal)).toEqual({
      status: 403,
      message: 'You must authenticate via a GitHub App.',
    });
  });
});

describe('collaborators and activity', () => {
  it("answers a user's permission with role_name, and none for a stranger", async () => {
    const octokit = installationClient(w.gh, w.app, w.installation);
    const maintainer = w.gh.createUser({ login: 'mia' });
    const stranger = w.gh.createUser({ login: 'sam' });
    w.gh.addCollaborator(w.repo, maintainer, 'maintain');
    const permission = (username: string) =>
      octokit.repos
        .getCollaboratorPermissionLevel({ owner: 'dev', repo: 'project', username })
        .then((r) => r.data);
    expect(await permission('dev')).toMatchObject({
      permission: 'admin',
      role_name: 'admin',
      user: { login: 'dev', id: w.dev.id },
    });
    expect(await permission('mia')).toMatchObject({
      permission: 'write',
      role_name: 'maintain',
      user: { id: maintainer.id, permissions: { maintain: true, admin: false } },
    });
    expect(await permission('sam')).toMatchObject({
      permission: 'none',
      role_name: '',
      user: { id: stranger.id },
    });
    expect((await statusOf(permission('nobody'))).status).toBe(404);
  });

  it('lists activity with filters and cursor pagination', async () => {
    const octokit = installationClient(w.gh, w.app, w.installation);
    const first = await w.gh.commit(w.repo, { branch: 'pu', files: { a: '1\n' }, author: w.dev });
    const second = await w.gh.commit(w.repo, { branch: 'pu', files: { a: '2\n' }, author: w.dev });
    await w.gh.commit(w.repo, { branch: 'other', files: { b: '1\n' }, author: w.dev });
    const list = await octokit.repos.listActivities({ owner: 'dev', repo: 'project', ref: 'refs/heads/pu' });
    expect(list.data.map((a) => [a.activity_type, a.after])).toEqual([
      ['push', second],
      ['branch_creation', first],
    ]);
    const page = await octokit.repos.listActivities({ owner: 'dev', repo: 'project', per_page: 2 });
    expect(page.data).toHaveLength(2);
    expect(page.headers.link).toMatch(/after=[^&>]+.*rel="next"/);
    const all = await octokit.paginate(octokit.repos.listActivities, {
      owner: 'dev',
      repo: 'project',
      per_page: 1,
    });
    expect(all.map((a) => a.ref)).toEqual(['refs/heads/other', 'refs/heads/pu', 'refs/heads/pu']);
    const asc = await octokit.repos.listActivities({
      owner: 'dev',
      repo: 'project',
      direction: 'asc',
      activity_type: 'branch_creation',
    });
    expect(asc.data.map((a) => a.ref)).toEqual(['refs/heads/pu', 'refs/heads/other']);
    expect(
      (await octokit.repos.listActivities({ owner: 'dev', repo: 'project', actor: 'someone' })).data,
    ).toEqual([]);
  });
});
