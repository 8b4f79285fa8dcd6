/**
 * `premerge-bot serve`'s webhook endpoint, the real binary: unsigned and wrongly signed deliveries change nothing,
 * a delivery of the stand-in's (signed after a real push) starts a pass, and a replay of it (GitHub's "Redeliver",
 * the same GUID) does nothing again, also after a restart.
 */
import { Webhooks } from '@octokit/webhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppWorld, appWorld, checkRunsSettle } from '../helpers/github-app.js';

let w: AppWorld;
afterEach(async () => {
  await w?.close();
});

async function post(url: string, headers: Record<string, string>, body: string): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers, body });
  await res.arrayBuffer();
  return res.status;
}

describe('serve: webhook signatures', () => {
  it('401 for a missing or wrong signature (nothing happens), 202 for a signed push, 200 for its replay', async () => {
    w = await appWorld();
    const serve = await w.serve();
    // Its look at start is over: from now on only a webhook could make it do anything.
    await serve.waitFor((e) => e['type'] === 'reconciled', 'the first reconcile');
    // A push payload as the stand-in would send it, for a commit the developer pushed while deliveries are held.
    w.gh.deliveries.hold();
    const sha = await w.push({ VERSION: '1.1\n' });
    const held = w.gh.deliveries.list((d) => d.event === 'push' && d.state === 'held');
    expect(held).toHaveLength(1);
    const body = held[0]!.body;
    const headers = {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': 'forged-1',
    };
    w.gh.requests.clear();
    expect(await post(serve.url, headers, body)).toBe(401);
    const forged = await new Webhooks({ secret: 'not the secret' }).sign(body);
    expect(await post(serve.url, { ...headers, 'x-hub-signature-256': forged }, body)).toBe(401);
    const answers = await serve.waitFor(
      (e) => e['type'] === 'webhook' && e['reason'] === 'signature does not match',
      'the second refusal',
    );
    expect(answers['status']).toBe(401);
    // Nothing happened: no pass, not one request to GitHub.
    expect(serve.events.filter((e) => e['type'] === 'scheduled')).toEqual([]);
    expect(w.gh.requests.list()).toEqual([]);
    expect(await w.ref('master')).not.toBe(sha);

    w.gh.deliveries.release();
    const delivered = await w.gh.deliveries.waitFor((d) => d.event === 'push' && d.state === 'delivered');
    expect(delivered.statusCode).toBe(202);
    const [run] = await checkRunsSettle(w, sha);
    expect(run!.conclusion).toBe('success');
    expect(await w.ref('master')).toBe(sha);
    const passes = () => serve.events.filter((e) => e['type'] === 'scheduled').length;
    const before = passes();

    const again = w.gh.deliveries.redeliver(delivered.guid);
    expect((await w.gh.deliveries.waitFor((d) => d.id === again.id)).statusCode).toBe(200);
    expect(passes()).toBe(before);

    // The journal of deliveries survives a restart.
    await serve.stop();
    const second = await w.serve();
    const third = w.gh.deliveries.redeliver(delivered.guid);
    expect((await w.gh.deliveries.waitFor((d) => d.id === third.id)).statusCode).toBe(200);
    expect(second.events.filter((e) => e['type'] === 'scheduled' && /push/.test(e['why']))).toEqual([]);
  });
});
