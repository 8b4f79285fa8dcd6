/**
 * `premerge-bot status` on the state of `premerge-bot serve`: found by the repository's URL (the App keys its state
 * by GitHub's id), read from the App's mirror without a token, and per pusher: a refusal about one pusher is not
 * the answer for another's push of the same commit.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readStatus } from '../../src/engine.js';
import { formatStatus } from '../../src/progress.js';
import { runCli } from '../helpers/cli-in-process.js';
import { type AppWorld, appWorld, blockingCheck, checkRunsSettle } from '../helpers/github-app.js';

let w: AppWorld;
afterEach(async () => {
  await w?.close();
});

describe("premerge-bot status on serve's state", () => {
  it('shows per pusher what was decided: refused for the writer, landed as the maintainer pushed it', async () => {
    w = await appWorld({ config: 'test: ./check.sh\ncandidates: "pu/*"\nland-permission: maintain\n' });
    const wanda = w.gh.createUser({ login: 'wanda', email: 'wanda@example.com' });
    const max = w.gh.createUser({ login: 'max', email: 'max@example.com' });
    w.gh.addCollaborator(w.repo, wanda, 'write');
    w.gh.addCollaborator(w.repo, max, 'maintain');
    const serve = await w.serve();
    const before = await w.ref('master');
    // Its test waits for the go: what status says while it runs can be looked at.
    await w.git('fetch', '-q', 'origin');
    await w.git('checkout', '-q', '--detach', 'origin/master');
    writeFileSync(join(w.clone, 'check.sh'), blockingCheck(w.goFile));
    await w.git('commit', '-q', '-am', 'Ready for review');
    const sha = await w.git('rev-parse', 'HEAD');
    // The state is found by the repository's URL, as a user knows it (with or without `.git`).
    const url = `${w.gh.url}/dev/project`;
    const options = { repo: url, stateDir: w.stateDir };
    await w.git('push', '-q', '--force', w.gh.cloneUrlFor(w.repo, wanda), 'HEAD:refs/heads/pu/wanda');
    await checkRunsSettle(w, sha, (r) => r.some((x) => x.conclusion === 'action_required'));

    // The same commit pushed by the maintainer: testing for him while it stays refused for her.
    await w.git('push', '-q', w.gh.cloneUrlFor(w.repo, max), 'HEAD:refs/heads/pu/max');
    await serve.waitFor((e) => e['type'] === 'test-started', "the test of the maintainer's push");
    const testing = await readStatus(options);
    expect(testing.problem).toBeUndefined();
    expect(testing.target).toEqual({ branch: 'master', sha: before });
    expect(testing.candidates).toEqual([
      {
        state: 'testing',
        branch: 'pu/max',
        sha,
        since: expect.any(String),
        runId: expect.any(String),
        pusher: { id: max.id, login: 'max' },
      },
      {
        state: 'settled',
        branch: 'pu/wanda',
        sha,
        kind: 'refused',
        at: expect.any(String),
        pusher: { id: wanda.id, login: 'wanda' },
      },
    ]);
    writeFileSync(w.goFile, '');
    await checkRunsSettle(w, sha, (r) => r.some((x) => x.conclusion === 'success'));
    expect(await w.ref('master')).toBe(sha);

    const status = await readStatus(options);
    // Named as the App knows it, and the App answers status's question on the state directory's socket.
    expect(status.repo).toBe(`${url}.git`);
    expect(status.watch).toMatchObject({ pid: serve.child.pid, kind: 'serve' });
    expect(status.candidates.map((c) => [c.branch, c.state, c.pusher?.login])).toEqual([
      ['pu/max', 'settled', 'max'],
      ['pu/wanda', 'settled', 'wanda'],
    ]);
    expect(status.decided).toEqual([
      {
        sha,
        branches: ['pu/max', 'pu/wanda'],
        decisions: [
          {
            kind: 'refused',
            at: expect.any(String),
            reason: expect.stringMatching(/^wanda may not land .*maintain/),
            pusher: { id: wanda.id, login: 'wanda' },
            forPusher: true,
          },
          {
            kind: 'landed',
            at: expect.any(String),
            reason: expect.stringMatching(/^its test passed on master/),
            pusher: { id: max.id, login: 'max' },
            forPusher: false,
          },
        ],
      },
    ]);
    const text = formatStatus(status);
    expect(text).toMatch(
      new RegExp(
        `^repository: ${url}\\.git\ntarget: master at ${sha.slice(0, 12)}\nbot: serve \\(pid ${serve.child.pid}\\) running, (idle|working) since `,
      ),
    );
    expect(text).toContain(
      `\ndecided, by pusher:\n  ${sha.slice(0, 12)} "Ready for review" (Dev) on pu/max, pu/wanda: refused for @wanda (wanda may not land`,
    );
    expect(text).toMatch(/\); pushed by @max: landed\n/);
    expect(text).toMatch(
      new RegExp(`\\n {2}\\S+ {2}refused pu/wanda ${sha.slice(0, 12)} for @wanda: wanda may not land`),
    );

    // The CLI says the same, and its JSON carries it.
    const json = await runCli(['status', '--json', '--repo', `${url}.git`, '--state-dir', w.stateDir], {
      env: w.box.env,
      cwd: w.box.dir,
    });
    expect(json.stderr).toBe('');
    const parsed = JSON.parse(json.stdout) as typeof status;
    expect(parsed.decided).toEqual(JSON.parse(JSON.stringify(status.decided)));
    expect(parsed.candidates.map((c) => c.pusher?.login)).toEqual(['max', 'wanda']);
  });
});
