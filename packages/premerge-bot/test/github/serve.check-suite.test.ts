/**
 * "Re-run all checks" on a commit's check suite (`check_suite` `rerequested`) under `serve`: the App's own suite
 * decides the commit again as a check run's "Re-run" does, journaled with its delivery (once per delivery id, across
 * a restart); another App's suite is none of its business.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { installationClient } from '../../../../tests/github-standin/helpers.js';
import {
  type AppWorld,
  appWorld,
  checkRunsOn,
  checkRunsSettle,
  type LogEvent,
} from '../helpers/github-app.js';

let w: AppWorld;
afterEach(async () => {
  await w?.close();
});

/**
 * A commit whose test fails while `flag` exists (a flake, or a broken runner): its check.sh reads a file outside
 * the repository, so the same commit passes once the file is gone.
 */
async function flakyCommit(w: AppWorld) {
  const flag = join(w.box.dir, 'broken-today');
  writeFileSync(flag, '');
  const sha = await w.push({
    VERSION: '1.1\n',
    'check.sh': `#!/bin/sh\nif [ -e '${flag}' ]; then echo "the runner is broken"; exit 1; fi\necho fine\n`,
  });
  const [failed] = await checkRunsSettle(w, sha);
  expect(failed).toMatchObject({ status: 'completed', conclusion: 'failure' });
  return { sha, flag, failed: failed! };
}

const scheduledCount = (events: LogEvent[]) => events.filter((e) => e['type'] === 'scheduled').length;
/** Passes begun and not yet ended (serve's own `run-failed` for a webhook it could not handle ends none). */
const passesInFlight = (events: LogEvent[]) =>
  events.filter((e) => e['type'] === 'run-started').length -
  events.filter((e) => e['type'] === 'run-finished' || e['type'] === 'run-failed').length;

describe('serve: "Re-run all checks" on the check suite', () => {
  it("decides a failed commit again from the App's suite: tested again, and landed once its test passes", async () => {
    w = await appWorld();
    const serve = await w.serve();
    const before = await w.ref('master');
    const { sha, flag, failed } = await flakyCommit(w);
    expect(await w.ref('master')).toBe(before);

    // Still broken: the re-run tests it again, and it fails again (a new check run: the old one stays as it was).
    await w.gh.rerequestCheckSuite(w.repo, failed.checkSuiteId, w.dev);
    const twice = await checkRunsSettle(
      w,
      sha,
      (r) => r.length === 2 && r.every((x) => x.status === 'completed'),
    );
    expect(twice.map((r) => r.conclusion)).toEqual(['failure', 'failure']);
    expect(await w.ref('master')).toBe(before);
    const scheduled = serve.events.filter((e) => e['type'] === 'scheduled' && /^re-run of/.test(e['why']));
    expect(scheduled.map((e) => e['why'])).toEqual([
      `re-run of ${sha.slice(0, 12)} (all checks; its check run ${failed.id} failure) asked by dev`,
    ]);

    // Fixed: "Re-run all checks" again (the same suite: GitHub keeps one per App and commit), and it lands.
    rmSync(flag);
    expect(twice[1]!.checkSuiteId).toBe(failed.checkSuiteId);
    await w.gh.rerequestCheckSuite(w.repo, failed.checkSuiteId, w.dev);
    const runs = await checkRunsSettle(w, sha, (r) => r.some((x) => x.conclusion === 'success'));
    expect(runs.map((r) => r.conclusion)).toEqual(['failure', 'failure', 'success']);
    expect(await w.ref('master')).toBe(sha);
    expect(serve.events.filter((e) => e['type'] === 'test-started')).toHaveLength(3);
    const delivered = w.gh.deliveries.list((d) => d.event === 'check_suite');
    expect(delivered.map((d) => [d.state, d.statusCode])).toEqual([
      ['delivered', 202],
      ['delivered', 202],
    ]);
  });

  it("ignores another App's suite on the same commit (202, nothing happens)", async () => {
    w = await appWorld();
    const serve = await w.serve();
    const { sha, failed } = await flakyCommit(w);
    // GitHub sends a suite's events only to the App that owns it; an App sharing serve's URL and secret (two Apps
    // behind one endpoint) is how another App's suite can reach it with a valid signature.
    const ci = w.gh.createApp({
      slug: 'other-ci',
      events: ['check_suite'],
      webhookSecret: w.app.webhookSecret,
    });
    const inst = w.gh.createInstallation({ app: ci, account: w.dev, repositories: [w.repo] });
    await w.gh.deliveries.idle();
    ci.webhookUrl = serve.url;
    const theirs = await installationClient(w.gh, ci, inst).rest.checks.create({
      owner: w.dev.login,
      repo: w.repo.name,
      name: 'lint',
      head_sha: sha,
      status: 'completed',
      conclusion: 'failure',
    });
    expect(theirs.data.check_suite!.id).not.toBe(failed.checkSuiteId);
    // What "nothing happens" is measured from: every webhook so far delivered, and every pass serve began
    // (the failed commit's, and any a webhook about it scheduled) finished, so none of their requests comes later.
    await w.gh.deliveries.idle();
    await serve.waitFor(() => passesInFlight(serve.events) <= 0, 'serve to finish its passes');
    const passes = scheduledCount(serve.events);
    const requests = w.gh.requests.list().length;

    await w.gh.rerequestCheckSuite(w.repo, theirs.data.check_suite!.id, w.dev);
    const delivery = await w.gh.deliveries.waitFor((d) => d.event === 'check_suite');
    expect([delivery.appId, delivery.statusCode]).toEqual([ci.id, 202]);
    const ignored = await serve.waitFor(
      (e) => e['type'] === 'ignored' && e['delivery'] === delivery.guid,
      'serve to ignore the other suite',
    );
    expect(ignored['reason']).toBe('not a re-run of a check suite the App has a check run in');
    // Nothing happened: no pass, no request to GitHub, the commit's runs as they were.
    expect(scheduledCount(serve.events)).toBe(passes);
    expect(w.gh.requests.list().length).toBe(requests);
    expect(checkRunsOn(w.repo, sha).map((r) => [r.app.id, r.conclusion])).toEqual([
      [w.app.id, 'failure'],
      [ci.id, 'failure'],
    ]);
  });

  it('does a delivery once: a redelivery does nothing, before or after a restart; one not taken up is after it', async () => {
    w = await appWorld();
    let serve = await w.serve();
    const { sha, flag, failed } = await flakyCommit(w);
    rmSync(flag);

    // GitHub cannot be fetched from while the re-run arrives: it is journaled, but no pass takes it up.
    w.gh.faults.inject({
      operation: 'git/upload-pack',
      kind: 'secondary-rate-limit',
      status: 403,
      times: 1000,
    });
    await w.gh.rerequestCheckSuite(w.repo, failed.checkSuiteId, w.dev);
    const delivery = await w.gh.deliveries.waitFor((d) => d.event === 'check_suite');
    expect(delivery.statusCode).toBe(202);
    await serve.waitFor((e) => e['type'] === 'run-failed', 'the pass to fail');
    await serve.stop();
    w.gh.faults.clear();
    expect(await w.ref('master')).not.toBe(sha);

    // After the restart, the journal says the re-run was asked for and no pass took it up: it is, and lands.
    serve = await w.serve();
    expect(serve.events.filter((e) => e['type'] === 'scheduled').map((e) => e['why'])).toEqual([
      `reconcile: the re-run of ${sha.slice(0, 12)} asked for was not taken up yet`,
    ]);
    const runs = await checkRunsSettle(w, sha, (r) => r.some((x) => x.conclusion === 'success'));
    expect(runs.map((r) => r.conclusion)).toEqual(['failure', 'success']);
    expect(await w.ref('master')).toBe(sha);

    // Redelivered (GitHub's "Redeliver", same GUID): 200, nothing done again.
    const again = w.gh.deliveries.redeliver(delivery.guid);
    expect((await w.gh.deliveries.waitFor((d) => d.id === again.id)).statusCode).toBe(200);
    await serve.stop();
    // Nor after another restart: the re-run was taken up, and the delivery is still known.
    serve = await w.serve();
    expect(serve.events.filter((e) => e['type'] === 'scheduled')).toEqual([]);
    const third = w.gh.deliveries.redeliver(delivery.guid);
    expect((await w.gh.deliveries.waitFor((d) => d.id === third.id)).statusCode).toBe(200);
    expect(serve.events.filter((e) => e['type'] === 'scheduled')).toEqual([]);
    expect(serve.events.filter((e) => e['type'] === 'test-started')).toEqual([]);
    expect(checkRunsOn(w.repo, sha)).toHaveLength(2);
  });
});
