/**
 * Who may land through `serve`, and what an installation's token may push: `land-permission`, a change of the
 * trusted config (maintain at least), and `.github/workflows/` without the workflows permission.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AppWorld,
  appWorld,
  checkRunsOn,
  checkRunsSettle,
  type LogEvent,
  type ServeProcess,
} from '../helpers/github-app.js';

let w: AppWorld;
afterEach(async () => {
  await w?.close();
});

/** Pushes the clone's HEAD to pu as `user`, through their own credentials. */
async function pushAs(w: AppWorld, user: ReturnType<AppWorld['gh']['createUser']>, branch = 'pu') {
  await w.git('push', '-q', '--force', w.gh.cloneUrlFor(w.repo, user), `HEAD:refs/heads/${branch}`);
  return w.git('rev-parse', 'HEAD');
}

/**
 * Resolves with the `run-finished` of the first engine pass that looked at the repository after serve scheduled a
 * look for a reason `why` matches: that pass saw what the scheduling event was about (a poke during a pass makes it
 * look again before it finishes).
 */
async function passAfter(serve: ServeProcess, why: RegExp, what: string): Promise<LogEvent> {
  const scheduled = await serve.waitFor(
    (e) => e['type'] === 'scheduled' && why.test(String(e['why'])),
    `serve to schedule ${what}`,
  );
  const from = serve.events.indexOf(scheduled);
  return serve.waitFor(
    (e) => e['type'] === 'run-finished' && serve.events.indexOf(e) > from,
    `the pass after ${what}`,
  );
}

const verdictsOf = (serve: ServeProcess, sha: string) =>
  serve.events.filter((e) => e['type'] === 'verdict' && e['verdict']?.sha === sha).map((e) => e['verdict']);

/** wanda, a writer, and max, a maintainer, on the repository. */
function team(w: AppWorld) {
  const writer = w.gh.createUser({ login: 'wanda', email: 'wanda@example.com' });
  const maintainer = w.gh.createUser({ login: 'max', email: 'max@example.com' });
  w.gh.addCollaborator(w.repo, writer, 'write');
  w.gh.addCollaborator(w.repo, maintainer, 'maintain');
  return { writer, maintainer };
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
    const { writer, maintainer } = team(w);
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
    // The change pushed again by the repository's owner (admin), here as a new commit (the same commit on a
    // branch of their own would do as well: see the next test).
    await w.git('commit', '-q', '--amend', '-m', 'change .github/premerge.yml (approved)');
    const byadmin = await pushAs(w, w.dev);
    const [landed] = await checkRunsSettle(w, byadmin);
    expect(landed).toMatchObject({ conclusion: 'success' });
    expect(await w.ref('master')).toBe(byadmin);
  });
});

describe('serve: a refusal for the pusher holds for that pusher only', () => {
  it("a writer's refused commit, pushed as it is by a maintainer to a branch of their own, is tested and lands", async () => {
    w = await appWorld({ config: 'test: ./check.sh\nland-permission: maintain\ncandidates: ["pu/*"]\n' });
    const { writer, maintainer } = team(w);
    const serve = await w.serve();
    const before = await w.ref('master');
    await commit(w, { VERSION: '1.1\n' });
    const sha = await pushAs(w, writer, 'pu/wanda');
    const [refused] = await checkRunsSettle(w, sha);
    expect(refused).toMatchObject({ conclusion: 'action_required' });
    expect(refused!.output.title).toBe(
      'wanda may not land on this repository: landing needs maintain permission, and wanda has write',
    );
    expect(await w.ref('master')).toBe(before);
    // The maintainer vouches for exactly that commit: the same sha, pushed by them.
    expect(await pushAs(w, maintainer, 'pu/max')).toBe(sha);
    await passAfter(serve, /push to refs\/heads\/pu\/max/, "the maintainer's push");
    expect(verdictsOf(serve, sha).map((v) => [v.kind, v.branch])).toEqual([
      ['refused', 'pu/wanda'],
      ['landed', 'pu/max'],
    ]);
    expect(await w.ref('master')).toBe(sha);
    expect(serve.events.filter((e) => e['type'] === 'test-started')).toHaveLength(1);
    const runs = await checkRunsSettle(
      w,
      sha,
      (r) => r.length === 2 && r.every((x) => x.status === 'completed'),
    );
    expect(runs.map((r) => r.conclusion)).toEqual(['action_required', 'success']);
  });

  it("the maintainer's push of it missed (serve was down): the reconcile at start finds it, and it lands", async () => {
    w = await appWorld({ config: 'test: ./check.sh\nland-permission: maintain\ncandidates: ["pu/*"]\n' });
    const { writer, maintainer } = team(w);
    const first = await w.serve();
    await commit(w, { VERSION: '1.1\n' });
    const sha = await pushAs(w, writer, 'pu/wanda');
    const [refused] = await checkRunsSettle(w, sha);
    expect(refused).toMatchObject({ conclusion: 'action_required' });
    await first.stop('SIGTERM');
    await pushAs(w, maintainer, 'pu/max');
    const lost = await w.gh.deliveries.waitFor(
      (d) => d.event === 'push' && d.payload.ref === 'refs/heads/pu/max',
    );
    expect(lost.state).toBe('failed');
    // Its tip has a completed check run (the writer's refusal), but on two candidate branches: worth a look.
    const serve = await w.serve();
    expect(serve.events.filter((e) => e['type'] === 'scheduled').map((e) => e['why'])).toEqual([
      `reconcile: pu/max ${sha.slice(0, 12)} was refused, and another candidate branch has it too`,
    ]);
    const runs = await checkRunsSettle(w, sha, (r) => r.some((x) => x.conclusion === 'success'));
    expect(runs.map((r) => r.conclusion)).toEqual(['action_required', 'success']);
    expect(await w.ref('master')).toBe(sha);
  });

  it('"Re-run" on the check run decides the commit again: still refused, then landed once the pusher may land', async () => {
    w = await appWorld({ config: 'test: ./check.sh\nland-permission: maintain\n' });
    const writer = w.gh.createUser({ login: 'wanda', email: 'wanda@example.com' });
    w.gh.addCollaborator(w.repo, writer, 'write');
    const serve = await w.serve();
    const before = await w.ref('master');
    await commit(w, { VERSION: '1.1\n' });
    const sha = await pushAs(w, writer);
    const [refused] = await checkRunsSettle(w, sha);
    expect(refused).toMatchObject({ conclusion: 'action_required' });
    const asked = () => w.gh.requests.list('repos/get-collaborator-permission-level').length;
    const askedBefore = asked();

    // Re-run with nothing changed: the role is asked again, and the answer is the same.
    w.gh.rerequestCheckRun(w.repo, refused!.id, w.dev);
    await passAfter(serve, /re-run of/, 'the first re-run');
    expect(verdictsOf(serve, sha).map((v) => v.kind)).toEqual(['refused', 'refused']);
    expect(asked()).toBeGreaterThan(askedBefore);
    expect(await w.ref('master')).toBe(before);
    const twice = await checkRunsSettle(
      w,
      sha,
      (r) => r.length === 2 && r.every((x) => x.status === 'completed'),
    );
    expect(twice.map((r) => r.conclusion)).toEqual(['action_required', 'action_required']);

    // wanda is made a maintainer; she clicks Re-run herself: her push now lands, tested first.
    w.gh.addCollaborator(w.repo, writer, 'maintain');
    w.gh.rerequestCheckRun(w.repo, twice[1]!.id, writer);
    const runs = await checkRunsSettle(w, sha, (r) => r.some((x) => x.conclusion === 'success'));
    expect(await w.ref('master')).toBe(sha);
    expect(runs.map((r) => r.conclusion)).toEqual(['action_required', 'action_required', 'success']);
    expect(verdictsOf(serve, sha).map((v) => v.kind)).toEqual(['refused', 'refused', 'landed']);
    expect(serve.events.filter((e) => e['type'] === 'test-started')).toHaveLength(1);
    expect(checkRunsOn(w.repo, sha)).toHaveLength(3);
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
