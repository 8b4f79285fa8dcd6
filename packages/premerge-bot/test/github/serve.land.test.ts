/**
 * `premerge-bot serve` end to end against the stand-in GitHub, through the real binary: a developer's `git pup`
 * to the target moving, with the check run on the candidate; a failing test; the target moving between the test
 * and the landing; a newer push superseding a test in progress.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/git-fixture.js';
import {
  type AppWorld,
  appWorld,
  blockingCheck,
  checkRunsOn,
  checkRunsSettle,
  type LogEvent,
} from '../helpers/github-app.js';

let w: AppWorld;
afterEach(async () => {
  await w?.close();
});

const verdictFor = (sha: string) => (e: LogEvent) => e['type'] === 'verdict' && e['verdict']?.sha === sha;

function runBin(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [BIN, ...args], { cwd, env }, (error, stdout, stderr) =>
      error ? reject(new Error(stderr || error.message)) : resolve(stdout),
    ),
  );
}

describe('serve: from git pup to the target moving', () => {
  it('tests the pushed commit, lands it by compare-and-swap, and completes its check run only after landing', async () => {
    w = await appWorld();
    const serve = await w.serve();
    // Reconcile has read the trusted config: the App knows pu is a candidate branch when the push arrives.
    await serve.waitFor((e) => e['type'] === 'reconciled', 'the first reconcile');
    // The stand-in is a GitHub Enterprise Server at its own address, as far as the aliases know.
    await runBin(['alias', 'install', '--github', w.gh.url], w.clone, w.box.env);
    await w.git('switch', '-q', '-c', 'topic');
    writeFileSync(join(w.clone, 'VERSION'), '1.1\n');
    await w.git('commit', '-qam', 'Version 1.1');
    const sha = await w.git('rev-parse', 'HEAD');
    const before = await w.ref('master');
    const pup = await w.git('pup');
    expect(pup).toContain('pushed topic');
    expect(pup).toContain(
      `git pup: on GitHub premerge-bot answers with a check run on the commit: ${w.gh.url}/dev/project/commit/${sha}/checks`,
    );
    const verdict = await serve.waitFor(verdictFor(sha), 'the verdict');
    expect(verdict['verdict'].kind).toBe('landed');
    const runs = await checkRunsSettle(w, sha);
    expect(await w.ref('master')).toBe(sha);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ name: 'premerge-bot', status: 'completed', conclusion: 'success' });
    expect(runs[0]!.output.title).toBe('Landed on master');
    expect(runs[0]!.output.summary).toContain(`its test passed on master ${before!.slice(0, 12)}`);
    // The run was made while the test ran, completed after the landing push.
    const requests = w.gh.requests.list();
    const created = requests.findIndex((r) => r.operation === 'checks/create');
    const landing = requests.findIndex(
      (r) => r.operation === 'git/receive-pack' && r.auth.kind === 'installation',
    );
    const completed = requests.findIndex(
      (r) => r.operation === 'checks/update' && JSON.parse(r.body || '{}').conclusion === 'success',
    );
    expect(JSON.parse(requests[created]!.body).status).toMatch(/^(queued|in_progress)$/);
    expect(created).toBeGreaterThan(-1);
    expect(landing).toBeGreaterThan(created);
    expect(completed).toBeGreaterThan(landing);
    // The landing was a push with the installation token, which GitHub reports as the App's own push: ignored.
    const own = w.gh.deliveries.list(
      (d) => d.event === 'push' && d.payload.sender.login === 'premerge-bot[bot]',
    );
    expect(own).toHaveLength(1);
  });

  it('a failing test: failure with the end of its log, and the target stays', async () => {
    w = await appWorld();
    const serve = await w.serve();
    const before = await w.ref('master');
    const sha = await w.push({ VERSION: 'broken\n' });
    const verdict = await serve.waitFor(verdictFor(sha), 'the verdict');
    expect(verdict['verdict'].kind).toBe('failed');
    const [run] = await checkRunsSettle(w, sha);
    expect(await w.ref('master')).toBe(before);
    expect(run).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(run!.output.title).toBe('Test failed (exit 1)');
    expect(run!.output.summary).toContain('checking broken');
  });
});

describe('serve: races', () => {
  it('the target moving between test and landing: the compare-and-swap refuses, and the check run asks for a rebase', async () => {
    w = await appWorld();
    const serve = await w.serve();
    const sha = await w.push({ VERSION: '1.1\n', 'check.sh': blockingCheck(w.goFile) });
    await serve.waitFor((e) => e['type'] === 'test-started', 'the test to start');
    // Meanwhile someone commits to master on GitHub.
    const moved = await w.gh.commit(w.repo, {
      branch: 'master',
      files: { 'NEWS.md': 'news\n' },
      author: w.dev,
    });
    writeFileSync(w.goFile, '');
    const verdict = await serve.waitFor(verdictFor(sha), 'the verdict');
    expect(verdict['verdict'].kind).toBe('needs-rebase');
    const [run] = await checkRunsSettle(w, sha);
    expect(await w.ref('master')).toBe(moved);
    expect(run).toMatchObject({ status: 'completed', conclusion: 'action_required' });
    expect(run!.output.title).toMatch(/^master moved from .* during the test$/);
  });

  it('with rebase: true, the candidate is rebased onto the moved target, tested again and lands', async () => {
    w = await appWorld({ config: 'test: ./check.sh\nrebase: true\n' });
    const serve = await w.serve();
    const sha = await w.push({ VERSION: '1.1\n', 'check.sh': blockingCheck(w.goFile) });
    await serve.waitFor((e) => e['type'] === 'test-started', 'the test to start');
    const moved = await w.gh.commit(w.repo, {
      branch: 'master',
      files: { 'NEWS.md': 'news\n' },
      author: w.dev,
    });
    writeFileSync(w.goFile, '');
    const verdict = await serve.waitFor(verdictFor(sha), 'the verdict');
    expect(verdict['verdict'].kind).toBe('landed');
    const master = (await w.ref('master'))!;
    expect(master).not.toBe(sha);
    expect(verdict['verdict'].tested).toBe(master);
    expect(await w.repo.git.isAncestor(moved, master)).toBe(true);
    expect(serve.events.filter((e) => e['type'] === 'test-started')).toHaveLength(2);
    const [run] = await checkRunsSettle(w, sha);
    expect(run).toMatchObject({ status: 'completed', conclusion: 'success' });
  });

  it('a newer push supersedes the test in progress: its check run is cancelled and the new tip lands', async () => {
    w = await appWorld();
    const serve = await w.serve();
    const first = await w.push({ VERSION: '1.1\n', 'check.sh': blockingCheck(w.goFile) });
    await serve.waitFor((e) => e['type'] === 'test-started', 'the first test to start');
    const second = await w.push({ VERSION: '1.2\n' });
    const superseded = await serve.waitFor(verdictFor(first), 'the first verdict');
    expect(superseded['verdict'].kind).toBe('superseded');
    const landed = await serve.waitFor(verdictFor(second), 'the second verdict');
    expect(landed['verdict'].kind).toBe('landed');
    expect(await w.ref('master')).toBe(second);
    expect((await checkRunsSettle(w, first))[0]).toMatchObject({
      status: 'completed',
      conclusion: 'cancelled',
    });
    expect((await checkRunsSettle(w, second))[0]).toMatchObject({
      status: 'completed',
      conclusion: 'success',
    });
    expect(checkRunsOn(w.repo, first)).toHaveLength(1);
    expect(checkRunsOn(w.repo, second)).toHaveLength(1);
  });
});

describe('serve: verdicts without a landing', () => {
  it('a test past its timeout: timed_out', async () => {
    w = await appWorld({ config: 'test: ./check.sh\ntimeout: 1s\n' });
    const serve = await w.serve();
    const sha = await w.push({ 'check.sh': '#!/bin/sh\nexec sleep 60\n' });
    const verdict = await serve.waitFor(verdictFor(sha), 'the verdict');
    expect(verdict['verdict'].kind).toBe('timed-out');
    const [run] = await checkRunsSettle(w, sha);
    expect(run).toMatchObject({ status: 'completed', conclusion: 'timed_out' });
    expect(run!.output.title).toMatch(/^Test timed out after /);
  });

  it('a trusted config that became invalid: the queued run says so (action_required), and nothing lands', async () => {
    w = await appWorld();
    const serve = await w.serve();
    await serve.waitFor((e) => e['type'] === 'reconciled', 'the first reconcile');
    const before = await w.gh.commit(w.repo, {
      branch: 'master',
      files: { '.github/premerge.yml': 'test: ./check.sh\ntimeout: soon\n' },
      author: w.dev,
    });
    const sha = await w.push({ VERSION: '1.1\n' });
    const [run] = await checkRunsSettle(w, sha);
    expect(run).toMatchObject({ status: 'completed', conclusion: 'action_required' });
    expect(run!.output.title).toMatch(/^\.github\/premerge\.yml:2: key 'timeout': expected a duration/);
    expect(await w.ref('master')).toBe(before);
  });
});
