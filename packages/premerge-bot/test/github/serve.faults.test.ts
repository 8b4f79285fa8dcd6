/**
 * GitHub failing the ways it does, under `serve`: server errors (before a call takes effect, or after it, the
 * answer lost), secondary and primary rate limits, on REST and on git. Each is retried with backoff, bounded; a
 * lost answer to `POST …/check-runs` is recovered by looking the run up, never by sending it again blindly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AppWorld, appWorld, checkRunsOn, checkRunsSettle } from '../helpers/github-app.js';

let w: AppWorld;
afterEach(async () => {
  await w?.close();
});

describe('serve: transient failures', () => {
  it('a 502 after the check run was made: found by its external_id, not made twice', async () => {
    w = await appWorld();
    await w.serve();
    w.gh.faults.inject({ operation: 'checks/create', kind: 'server-error', status: 502, when: 'after' });
    const sha = await w.push({ VERSION: '1.1\n' });
    const [run] = await checkRunsSettle(w, sha);
    expect(run).toMatchObject({ status: 'completed', conclusion: 'success' });
    expect(checkRunsOn(w.repo, sha)).toHaveLength(1);
    expect(w.gh.faults.list()[0]!.hits).toBe(1);
    // One POST; before it and after its lost answer, a look for the run by its external_id.
    const calls = w.gh.requests
      .list()
      .filter((r) => /^checks\//.test(r.operation ?? ''))
      .filter((r) => r.operation !== 'checks/list-for-ref' || r.path.includes(sha));
    const ops = calls.map((r) => r.operation);
    expect(ops.filter((o) => o === 'checks/create')).toHaveLength(1);
    const create = ops.indexOf('checks/create');
    expect(ops[create - 1]).toBe('checks/list-for-ref');
    expect(ops[create + 1]).toBe('checks/list-for-ref');
    expect(run!.externalId).not.toBe('');
    expect(await w.ref('master')).toBe(sha);
  });

  it('server errors and rate limits on REST and git are waited out and retried', async () => {
    w = await appWorld();
    const serve = await w.serve();
    // The developer's own push must not meet the faults: its webhook waits until they are in place.
    w.gh.deliveries.hold();
    const sha = await w.push({ VERSION: '1.1\n' });
    const faults = [
      w.gh.faults.inject({ operation: 'git/upload-pack', kind: 'server-error', status: 503 }),
      w.gh.faults.inject({
        operation: 'repos/get-collaborator-permission-level',
        kind: 'server-error',
        status: 500,
      }),
      w.gh.faults.inject({
        operation: 'checks/create',
        kind: 'secondary-rate-limit',
        status: 403,
        retryAfter: 1,
      }),
      w.gh.faults.inject({
        operation: 'checks/update',
        kind: 'secondary-rate-limit',
        status: 429,
        retryAfter: 1,
      }),
      w.gh.faults.inject({
        operation: 'git/get-ref',
        kind: 'primary-rate-limit',
        status: 403,
        retryAfter: 1,
      }),
      w.gh.faults.inject({ operation: 'git/receive-pack', kind: 'server-error', status: 502 }),
    ];
    w.gh.deliveries.release();
    const [run] = await checkRunsSettle(w, sha);
    expect(run).toMatchObject({ status: 'completed', conclusion: 'success' });
    expect(checkRunsOn(w.repo, sha)).toHaveLength(1);
    expect(await w.ref('master')).toBe(sha);
    expect(faults.map((f) => [f.operation, f.hits])).toEqual(faults.map((f) => [f.operation, 1]));
    const notices = serve.events.filter((e) => e['type'] === 'notice').map((e) => e['message'] as string);
    expect(notices.some((m) => /^secondary rate limit on POST .*check-runs: retrying in 1s/.test(m))).toBe(
      true,
    );
    expect(
      notices.some((m) => /^secondary rate limit on PATCH .*check-runs\/\S+: retrying in 1s/.test(m)),
    ).toBe(true);
    expect(notices.some((m) => /^rate limit on GET .*git\/ref\/\S+: retrying in \d+s/.test(m))).toBe(true);
  });
});
