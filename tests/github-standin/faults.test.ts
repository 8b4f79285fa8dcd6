/**
 * Faults as Octokit meets them: server errors (retried by @octokit/plugin-retry), a change that happened though
 * its answer was lost, the secondary and primary rate limits (recognised by @octokit/plugin-throttling), a failing
 * git push; and the request log a test searches for a leaked token.
 */

import { join } from 'node:path';
import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitResult, installationClient, type World, world } from './helpers.js';

let w: World;
beforeEach(async () => {
  w = await world();
});
afterEach(async () => {
  await w.close();
});

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** An installation client with the retry and throttling plugins, waiting milliseconds where GitHub says seconds. */
function resilientClient(events: { secondary: number[]; primary: number[] }) {
  const Resilient = Octokit.plugin(retry, throttling);
  return new Resilient({
    baseUrl: w.gh.apiUrl,
    log: quiet,
    authStrategy: createAppAuth,
    auth: { appId: w.app.id, privateKey: w.app.privateKey, installationId: w.installation.id },
    retry: { retryAfterBaseValue: 1 },
    throttle: {
      retryAfterBaseValue: 1,
      onSecondaryRateLimit: (
        retryAfter: number,
        _options: unknown,
        _octokit: unknown,
        retryCount: number,
      ) => {
        events.secondary.push(retryAfter);
        return retryCount < 1;
      },
      onRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) => {
        events.primary.push(retryAfter);
        return retryCount < 1;
      },
    },
  });
}

describe('faults', () => {
  it('answers the next N calls of an operation with a 5xx, which plugin-retry retries', async () => {
    const plain = installationClient(w.gh, w.app, w.installation);
    const fault = w.gh.faults.inject({ operation: 'repos/get', status: 503, times: 1 });
    await expect(plain.repos.get({ owner: 'dev', repo: 'project' })).rejects.toMatchObject({ status: 503 });
    expect(fault).toMatchObject({ hits: 1, remaining: 0 });
    w.gh.faults.inject({ operation: 'repos/get', times: 2 });
    const events = { secondary: [], primary: [] };
    const { data } = await resilientClient(events).repos.get({ owner: 'dev', repo: 'project' });
    expect(data.full_name).toBe('dev/project');
    expect(w.gh.requests.list('repos/get').map((r) => r.status)).toEqual([503, 502, 502, 200]);
  });

  it("fails a call after it took effect ('after'): the check run exists though the answer was a 502", async () => {
    const octokit = installationClient(w.gh, w.app, w.installation);
    const head = (await w.repo.git.ref('refs/heads/master')) as string;
    w.gh.faults.inject({ operation: 'checks/create', when: 'after' });
    const create = octokit.checks.create({
      owner: 'dev',
      repo: 'project',
      name: 'premerge',
      head_sha: head,
      external_id: 'job-7',
    });
    await expect(create).rejects.toMatchObject({ status: 502 });
    // What a careful client does next: look for the run by its external_id before creating another.
    const { data } = await octokit.checks.listForRef({ owner: 'dev', repo: 'project', ref: head });
    expect(data.check_runs.map((r) => r.external_id)).toEqual(['job-7']);
    expect(w.gh.requests.list('checks/create')).toHaveLength(1);
  });

  it('sends the secondary rate limit as GitHub does; plugin-throttling sees it and retries after retry-after', async () => {
    w.gh.faults.inject({ operation: 'repos/get', kind: 'secondary-rate-limit', retryAfter: 7 });
    const events = { secondary: [] as number[], primary: [] as number[] };
    await resilientClient(events).repos.get({ owner: 'dev', repo: 'project' });
    expect(events).toEqual({ secondary: [7], primary: [] });
    expect(w.gh.requests.list('repos/get').map((r) => [r.status, r.fault])).toEqual([
      [403, 'secondary-rate-limit'],
      [200, null],
    ]);
    // GitHub may answer 429 instead; the headers and message are the same.
    w.gh.faults.inject({
      operation: 'git/get-ref',
      kind: 'secondary-rate-limit',
      status: 429,
      retryAfter: 3,
    });
    const plain = installationClient(w.gh, w.app, w.installation);
    const error = await plain.git
      .getRef({ owner: 'dev', repo: 'project', ref: 'heads/master' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 429,
      response: {
        headers: { 'retry-after': '3' },
        data: { message: expect.stringMatching(/^You have exceeded a secondary rate limit\b/) },
      },
    });
  });

  it('sends the primary rate limit with x-ratelimit-remaining 0 and the reset time', async () => {
    w.gh.faults.inject({ operation: 'repos/get', kind: 'primary-rate-limit', retryAfter: 2 });
    const plain = installationClient(w.gh, w.app, w.installation);
    const error = await plain.repos.get({ owner: 'dev', repo: 'project' }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 403,
      response: {
        headers: { 'x-ratelimit-remaining': '0' },
        data: {
          message: expect.stringMatching(
            new RegExp(`^API rate limit exceeded for installation ID ${w.installation.id}`),
          ),
        },
      },
    });
    const reset = Number(
      (error as { response: { headers: Record<string, string> } }).response.headers['x-ratelimit-reset'],
    );
    expect(reset).toBeGreaterThanOrEqual(Math.floor(w.gh.clock.now() / 1000));
    w.gh.faults.inject({ operation: '*', kind: 'primary-rate-limit', retryAfter: 0 });
    const events = { secondary: [] as number[], primary: [] as number[] };
    await resilientClient(events).repos.get({ owner: 'dev', repo: 'project' });
    expect(events.primary).toHaveLength(1);
  });

  it('fails a git push with a 5xx, once', async () => {
    const dir = join(w.box.dir, 'work');
    await w.box.git(w.box.dir, 'clone', '--quiet', w.gh.cloneUrlFor(w.repo, w.dev), dir);
    await w.box.git(dir, 'commit', '--quiet', '--allow-empty', '-m', 'x');
    w.gh.faults.inject({ operation: 'git/receive-pack', status: 500 });
    const failed = await gitResult(w.box, dir, 'push', 'origin', 'HEAD:refs/heads/pu');
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('500');
    await w.box.git(dir, 'push', '--quiet', 'origin', 'HEAD:refs/heads/pu');
    expect(await w.repo.git.ref('refs/heads/pu')).not.toBeNull();
  });
});

describe('the request log', () => {
  it('keeps every request with its credential, and finds a token sent anywhere but authorization', async () => {
    const octokit = installationClient(w.gh, w.app, w.installation);
    const head = (await w.repo.git.ref('refs/heads/master')) as string;
    await octokit.checks.create({ owner: 'dev', repo: 'project', name: 'premerge', head_sha: head });
    const tokens = w.gh.requests.list((r) => r.auth.kind === 'installation').map((r) => r.auth.token);
    const token = tokens[0] as string;
    expect(token).toMatch(/^ghs_/);
    expect(w.gh.requests.list().map((r) => r.operation)).toEqual([
      'apps/create-installation-access-token',
      'checks/create',
    ]);
    expect(w.gh.requests.search(token)).toEqual([]);
    // A careless client that puts the token in a check run's summary is caught.
    await octokit.checks.create({
      owner: 'dev',
      repo: 'project',
      name: 'premerge',
      head_sha: head,
      conclusion: 'failure',
      output: { title: 'failed', summary: `git said: https://x-access-token:${token}@host/` },
    });
    expect(w.gh.requests.search(token).map((r) => r.operation)).toEqual(['checks/create']);
  });
});
