/**
 * Webhooks generated from the stand-in's state, signed as GitHub signs them, delivered and recorded; and the ways
 * deliveries go wrong on GitHub (lost, duplicated, out of order, failed), which tests of the bot need.
 */
import { verify } from '@octokit/webhooks-methods';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signature } from './deliveries.mjs';
import { installationClient, tokenClient, type World, webhookReceiver, world } from './helpers.js';

let w: World;
beforeEach(async () => {
  w = await world();
});
afterEach(async () => {
  await w.close();
});

describe('signing', () => {
  it("matches GitHub's documented test vector", async () => {
    const secret = "It's a Secret to Everybody";
    const expected = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(await signature(secret, 'Hello, World!')).toBe(expected);
    expect(await verify(secret, 'Hello, World!', expected)).toBe(true);
  });
});

describe('installation events', () => {
  it('sends installation.created, installation_repositories added and removed, and installation.deleted', async () => {
    const created = await w.receiver.next((h) => h.headers['x-github-event'] === 'installation');
    expect(created.verified).toBe(true);
    expect(created.payload).toMatchObject({
      action: 'created',
      installation: {
        id: w.installation.id,
        app_id: w.app.id,
        account: { login: 'dev' },
        repository_selection: 'selected',
      },
      repositories: [{ id: w.repo.id, full_name: 'dev/project', private: true }],
      sender: { login: 'dev' },
    });
    const more = await w.gh.createRepository({ owner: w.dev, name: 'more' });
    w.gh.addToInstallation(w.installation, [more]);
    const added = await w.receiver.next((h) => h.payload.action === 'added');
    expect(added.headers['x-github-event']).toBe('installation_repositories');
    expect(added.payload).toMatchObject({ repositories_added: [{ id: more.id }], repositories_removed: [] });
    w.gh.removeFromInstallation(w.installation, [w.repo]);
    const removed = await w.receiver.next((h) => h.payload.action === 'removed');
    expect(removed.payload).toMatchObject({
      repositories_added: [],
      repositories_removed: [{ id: w.repo.id }],
    });
    const octokit = installationClient(w.gh, w.app, w.installation);
    expect(
      (await octokit.apps.listReposAccessibleToInstallation()).data.repositories.map((r) => r.name),
    ).toEqual(['more']);
    const token = w.gh.installationToken(w.installation);
    w.gh.uninstall(w.installation);
    const deleted = await w.receiver.next((h) => h.payload.action === 'deleted');
    expect(deleted.headers['x-github-event']).toBe('installation');
    // Its tokens stop working at once. (A plain token client: auth-app retries a fresh token's 401 for seconds.)
    const uninstalled = tokenClient(w.gh, token).repos.get({ owner: 'dev', repo: 'more' });
    await expect(uninstalled).rejects.toMatchObject({ status: 401 });
  });
});

describe('deliveries', () => {
  /** A web commit on `branch` (sends push) and its sha. */
  const push = (branch: string, text: string) =>
    w.gh.commit(w.repo, { branch, files: { 'a.txt': text }, author: w.dev });

  it('records each delivery with its status code and duration', async () => {
    const sha = await push('pu', '1\n');
    const delivery = await w.gh.deliveries.waitFor((d) => d.event === 'push');
    expect(delivery).toMatchObject({
      state: 'delivered',
      statusCode: 202,
      redelivery: false,
      repositoryId: w.repo.id,
    });
    expect(delivery.payload.after).toBe(sha);
    expect(delivery.durationMs).toBeGreaterThanOrEqual(0);
    const received = await w.receiver.next((h) => h.payload.after === sha);
    expect(received.body).toBe(delivery.body);
    expect(received.headers['x-hub-signature-256']).toBe(await signature(w.app.webhookSecret, delivery.body));
  });

  it('drops the next delivery (a missed webhook) and redelivers it later with the same GUID', async () => {
    w.gh.deliveries.drop(1);
    const lost = await push('pu', '1\n');
    const dropped = await w.gh.deliveries.waitFor((d) => d.event === 'push');
    expect(dropped.state).toBe('dropped');
    const kept = await push('pu', '2\n');
    await w.receiver.next((h) => h.payload.after === kept);
    expect(w.receiver.received.some((h) => h.payload.after === lost)).toBe(false);
    const again = w.gh.deliveries.redeliver(dropped.guid);
    const settled = await w.gh.deliveries.waitFor((d) => d.id === again.id);
    expect(settled).toMatchObject({ state: 'delivered', redelivery: true, guid: dropped.guid });
    const received = await w.receiver.next((h) => h.payload.after === lost);
    expect(received.headers['x-github-delivery']).toBe(dropped.guid);
    expect(received.verified).toBe(true);
  });

  it('delivers twice with one GUID, and out of order after a hold', async () => {
    w.gh.deliveries.duplicate(1);
    const twice = await push('pu', '1\n');
    await w.gh.deliveries.waitFor((d) => d.duplicate && d.payload.after === twice);
    const copies = w.receiver.received.filter((h) => h.payload.after === twice);
    expect(copies).toHaveLength(2);
    expect(copies[0]?.headers['x-github-delivery']).toBe(copies[1]?.headers['x-github-delivery']);

    w.gh.deliveries.hold();
    const first = await push('pu', '2\n');
    const second = await push('pu', '3\n');
    expect(w.gh.deliveries.list((d) => d.state === 'held')).toHaveLength(2);
    w.gh.deliveries.release({ order: 'reverse' });
    await w.receiver.next((h) => h.payload.after === first);
    const order = w.receiver.received
      .map((h) => h.payload.after)
      .filter((sha) => sha === first || sha === second);
    expect(order).toEqual([second, first]);
  });

  it('records a failed delivery: the receiver answered 500, or the App has no URL', async () => {
    w.receiver.status = 500;
    await push('pu', '1\n');
    const failed = await w.gh.deliveries.waitFor((d) => d.event === 'push');
    expect(failed).toMatchObject({ state: 'failed', statusCode: 500, error: 'Invalid HTTP Response: 500' });
    w.app.webhookUrl = null;
    const after = failed.id;
    await push('pu', '2\n');
    const nowhere = await w.gh.deliveries.waitFor((d) => d.event === 'push', { after });
    expect(nowhere).toMatchObject({ state: 'failed', statusCode: null, error: 'the App has no webhook URL' });
  });

  it('sends push only to Apps that subscribe to it', async () => {
    w.app.events = [];
    await push('pu', '1\n');
    await w.gh.deliveries.idle();
    expect(w.gh.deliveries.list((d) => d.event === 'push')).toEqual([]);
  });

  it('fails loudly when it would send a payload GitHub would not: the test waiting for it sees why', async () => {
    // Break the state as a stand-in bug would: a default branch is a string in GitHub's payloads.
    (w.repo as { defaultBranch: unknown }).defaultBranch = 7;
    await push('pu', '1\n').catch(() => {});
    await expect(
      w.gh.deliveries.waitFor((d) => d.event === 'push' && d.state === 'delivered'),
    ).rejects.toThrow(
      /^stand-in bug: push payload does not match @octokit\/openapi-webhooks: .*default_branch must be string/,
    );
    expect(w.gh.deliveries.list((d) => d.event === 'push')[0]).toMatchObject({ state: 'failed' });
    expect(w.gh.bugs).toHaveLength(1);
    (w.repo as { defaultBranch: unknown }).defaultBranch = 'master';
    w.gh.bugs.length = 0;
  });
});

describe('"Re-run" buttons', () => {
  it('sends check_suite rerequested for a suite to the App that owns it only, when it subscribes', async () => {
    const sha = (await w.repo.git.ref('refs/heads/master'))!;
    const ci = w.gh.createApp({ slug: 'other-ci', events: ['push', 'check_suite'] });
    const ciReceiver = await webhookReceiver(ci.webhookSecret);
    ci.webhookUrl = ciReceiver.url;
    try {
      const ciInstallation = w.gh.createInstallation({ app: ci, account: w.dev, repositories: [w.repo] });
      const ours = await installationClient(w.gh, w.app, w.installation).rest.checks.create({
        owner: 'dev',
        repo: 'project',
        name: 'premerge-bot',
        head_sha: sha,
        status: 'completed',
        conclusion: 'failure',
      });
      const theirs = await installationClient(w.gh, ci, ciInstallation).rest.checks.create({
        owner: 'dev',
        repo: 'project',
        name: 'lint',
        head_sha: sha,
      });
      // One suite per App and commit.
      expect(ours.data.check_suite!.id).not.toBe(theirs.data.check_suite!.id);
      await expect(w.gh.rerequestCheckSuite(w.repo, 999_999, w.dev)).rejects.toThrow(
        /^no check suite 999999/,
      );

      // premerge-bot subscribes to push only (the world's default): its suite's button sends it nothing.
      await w.gh.rerequestCheckSuite(w.repo, ours.data.check_suite!.id, w.dev);
      w.app.events = ['push', 'check_suite'];
      await w.gh.rerequestCheckSuite(w.repo, ours.data.check_suite!.id, w.dev);
      await w.gh.rerequestCheckSuite(w.repo, theirs.data.check_suite!.id, w.dev);
      await w.gh.deliveries.idle();
      const sent = w.gh.deliveries.list((d) => d.event === 'check_suite');
      expect(sent.map((d) => [d.appId, d.state, d.payload.check_suite.id])).toEqual([
        [w.app.id, 'delivered', ours.data.check_suite!.id],
        [ci.id, 'delivered', theirs.data.check_suite!.id],
      ]);
      const mine = await w.receiver.next((r) => r.headers['x-github-event'] === 'check_suite');
      expect(mine.verified).toBe(true);
      expect(mine.payload).toMatchObject({
        action: 'rerequested',
        check_suite: { head_sha: sha, app: { id: w.app.id }, latest_check_runs_count: 1, status: 'queued' },
        sender: { login: 'dev' },
        installation: { id: w.installation.id },
      });
      const theirsSent = await ciReceiver.next((r) => r.headers['x-github-event'] === 'check_suite');
      expect([theirsSent.verified, theirsSent.payload.check_suite.app.id]).toEqual([true, ci.id]);
      // The run in it is left as it was: the App decides what to run again.
      expect(w.repo.checkRuns.get(ours.data.id)).toMatchObject({
        status: 'completed',
        conclusion: 'failure',
      });
    } finally {
      await ciReceiver.close();
    }
  });
});
