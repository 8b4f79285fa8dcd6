/**
 * git pup and git pu-status against a real bot: pu-status answers for the developer's own commit (what this clone
 * last pushed), tells apart queued, testing, a verdict, a silent watch and no record at all, and waits, bounded.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { installAliases } from '../src/aliases.js';
import { runOnce } from '../src/engine.js';
import { type WatchEvent, watch } from '../src/watch.js';
import { createFixture, eventually, FAIL, type Fixture, writableShared } from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

/** A second developer's clone of origin, with the aliases. */
async function colleague(name: string): Promise<string> {
  const dir = join(f.dir, name);
  await f.git(f.dir, 'clone', '--quiet', f.origin, dir);
  await installAliases({ cwd: dir });
  return dir;
}

/** Commits `file` on a branch of its own in `clone`, from origin's master. */
async function work(clone: string, branch: string, file: string, text = `${file}\n`): Promise<string> {
  await f.git(clone, 'fetch', '--quiet', 'origin');
  await f.git(clone, 'checkout', '--quiet', '-B', branch, 'origin/master');
  writeFileSync(join(clone, file), text);
  await f.git(clone, 'add', file);
  await f.git(clone, 'commit', '--quiet', '-m', `add ${file}`);
  return f.git(clone, 'rev-parse', 'HEAD');
}

/** `git ARGS` in `clone`, without waiting synchronously (a bot may be running in this process). */
function git(clone: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn('git', args, { cwd: clone, env: f.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

describe('git pu-status', () => {
  it("answers for the commit this clone pushed, not a colleague's that replaced it on a shared pu", async () => {
    f = await createFixture();
    const alice = await colleague('alice');
    const bob = await colleague('bob');
    const a = await work(alice, 'topic', 'a.txt');
    expect((await git(alice, 'pup')).code).toBe(0);
    const b = await work(bob, 'topic', 'b.txt');
    const overwrote = await git(bob, 'pup');
    expect(overwrote.code).toBe(0);
    expect(overwrote.stderr).toContain(
      `git pup: warning: origin pu held ${a.slice(0, 7)}, which this clone did not push and which has no verdict yet: it will not be tested now`,
    );
    await runOnce({ repo: f.origin, stateDir: f.stateDir });
    // Bob's commit landed; Alice's was never tested, and she is told so, not "landed".
    const mine = await git(alice, 'pu-status');
    expect([mine.code, mine.stdout]).toEqual([
      1,
      `pu ${a}: origin pu moved on to ${b.slice(0, 12)} before your commit was tested, so it never will be; git pup it again to have it tested\n`,
    ]);
    const his = await git(bob, 'pu-status');
    expect(his.code).toBe(0);
    expect(his.stdout.split('\n').slice(0, 2)).toEqual([
      `pu ${b}: landed`,
      expect.stringMatching(
        /^ {2}its test passed on master \w{12}, and master was fast-forwarded to \w{12}$/,
      ),
    ]);
    // Without a push recorded, it answers for HEAD.
    await f.git(alice, 'config', '--unset', 'premerge.pushed');
    await f.git(alice, 'fetch', '--quiet', 'origin');
    await f.git(alice, 'checkout', '--quiet', '--detach', b);
    expect((await git(alice, 'pu-status')).stdout.split('\n')[0]).toBe(`pu ${b}: landed`);
  });

  it('tells queued (N ahead) from testing since T, then waits for the verdict', async () => {
    f = await createFixture(
      (shared) => `test: sh test.sh\ncandidates: "pu/*"\nrebase: true\n${writableShared(shared)}`,
    );
    const gate = join(f.shared, 'gate');
    const alice = await colleague('alice');
    const bob = await colleague('bob');
    await f.git(alice, 'config', 'premerge.branch', 'pu/alice');
    await f.git(bob, 'config', 'premerge.branch', 'pu/bob');
    const a = await work(alice, 'topic', 'test.sh', `while [ ! -e ${gate} ]; do sleep 0.05; done\n`);
    const b = await work(bob, 'topic', 'b.txt');
    expect((await git(alice, 'pup')).code).toBe(0);
    expect((await git(bob, 'pup')).code).toBe(0);
    // One at a time: bob waits behind alice rather than sharing her stack.
    const run = runOnce({ repo: f.origin, stateDir: f.stateDir, maxBatch: 1 });
    try {
      const testing = await eventually(async () => {
        const r = await git(alice, 'pu-status');
        return r.stdout.includes(': testing since ') ? r : undefined;
      }, 'alice to be tested');
      expect(testing.code).toBe(2);
      expect(testing.stdout).toMatch(
        new RegExp(`^pu/alice ${a}: testing since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\n$`),
      );
      expect(await git(bob, 'pu-status')).toEqual({
        code: 2,
        stdout: `pu/bob ${b}: queued (1 ahead)\n`,
        stderr: '',
      });
      const waiting = git(bob, 'pu-status', '--wait');
      writeFileSync(gate, '');
      const waited = await waiting;
      expect(waited.code).toBe(0);
      expect(waited.stdout.split('\n')[0]).toBe(`pu/bob ${b}: landed`);
      expect(waited.stderr).toContain(`pu/bob ${b}: queued (1 ahead)`);
    } finally {
      writeFileSync(gate, '');
      await run;
    }
  });

  it('says when the watch stopped publishing its heartbeat', async () => {
    f = await createFixture();
    const alice = await colleague('alice');
    const stop = new AbortController();
    const events: WatchEvent[] = [];
    const daemon = watch({
      repos: [{ repo: f.origin }],
      stateDir: f.stateDir,
      intervalMs: 1000,
      signal: stop.signal,
      onEvent: (e) => events.push(e),
    });
    await eventually(
      () => (events.some((e) => e.type === 'run-finished') ? true : undefined),
      'the first look',
    );
    stop.abort();
    await daemon;
    const a = await work(alice, 'topic', 'a.txt');
    expect((await git(alice, 'pup')).code).toBe(0);
    const silent = await eventually(async () => {
      const r = await git(alice, 'pu-status');
      return r.stdout.includes('no heartbeat') ? r : undefined;
    }, 'the heartbeat to be late');
    expect(silent.code).toBe(2);
    expect(silent.stdout).toMatch(
      new RegExp(
        `^pu ${a}: no verdict yet, and no heartbeat from the bot since \\S+ \\(its watch says it every 1s\\): it may be down; ask whoever runs it\\n$`,
      ),
    );
  });

  it('says there is no record when no bot ever published, and gives up waiting when told', async () => {
    f = await createFixture();
    const alice = await colleague('alice');
    const a = await work(alice, 'topic', 'a.txt');
    const pushed = await git(alice, 'pup');
    expect(pushed.stdout).toContain('git pup: no premerge-bot hook answered on origin');
    const none = await git(alice, 'pu-status');
    expect(none).toEqual({
      code: 2,
      stdout: `pu ${a}: no record of this push: no premerge-bot has published to origin (is its hook installed there, or a watch running?)\n`,
      stderr: '',
    });
    const bounded = await git(alice, 'pu-status', '--wait=1s');
    expect(bounded.code).toBe(2);
    expect(bounded.stderr).toContain('git pu-status: still no verdict after 1s of waiting');
    expect((await git(alice, 'pu-status', '--wait=soon')).code).toBe(2);
  });

  it('on a github.com remote points at the check run, the one answer GitHub gives, and does not wait for notes', async () => {
    f = await createFixture();
    const alice = await colleague('alice');
    // The remote is GitHub's, as a developer's clone has it; git reaches the local origin through insteadOf.
    const url = 'git@github.com:acme/widgets.git';
    await f.git(alice, 'config', 'remote.origin.url', url);
    await f.git(alice, 'config', `url.${f.origin}.insteadOf`, url);
    const a = await work(alice, 'topic', 'a.txt');
    const checks = `https://github.com/acme/widgets/commit/${a}/checks`;
    const pushed = await git(alice, 'pup');
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toContain(
      `git pup: on GitHub premerge-bot answers with a check run on the commit: ${checks}\n`,
    );
    expect(pushed.stdout).not.toContain('no premerge-bot hook answered');
    const status = await git(alice, 'pu-status', '--wait=1h');
    expect(status).toEqual({
      code: 2,
      stdout: `pu ${a}: on GitHub premerge-bot answers with a check run on the commit, which git cannot read: ${checks}\n`,
      stderr: '',
    });
    // A GitHub Enterprise Server, named at install; https remotes too.
    await installAliases({ cwd: alice, github: 'https://ghe.example.com/' });
    await f.git(alice, 'config', 'remote.origin.url', 'https://ghe.example.com/acme/widgets');
    await f.git(alice, 'config', `url.${f.origin}.insteadOf`, 'https://ghe.example.com/acme/widgets');
    expect((await git(alice, 'pu-status')).stdout).toContain(
      `which git cannot read: https://ghe.example.com/acme/widgets/commit/${a}/checks\n`,
    );
  });

  it('shows a failure with its reason and the end of its log; git pup of it again says it already failed', async () => {
    f = await createFixture();
    const alice = await colleague('alice');
    const a = await work(alice, 'topic', 'test.sh', FAIL);
    await git(alice, 'pup');
    await runOnce({ repo: f.origin, stateDir: f.stateDir });
    const failed = await git(alice, 'pu-status');
    expect(failed.code).toBe(1);
    const lines = failed.stdout.split('\n');
    expect(lines[0]).toBe(`pu ${a}: failed`);
    expect(lines[1]).toMatch(/^\{"kind":"failed"/);
    expect(lines.slice(2, 5)).toEqual([
      `the end of its log (premerge-bot log ${a} on the bot's host has all of it):`,
      '$ sh test.sh',
      'tests broken',
    ]);
    await f.git(alice, 'push', '--quiet', 'origin', ':pu');
    const again = await git(alice, 'pup');
    expect(again.stdout).toContain(
      `git pup: ${a.slice(0, 7)} already failed, which is final: premerge-bot does not test it again; push a new commit, or ask whoever runs the bot for premerge-bot retry ${a.slice(0, 7)}`,
    );
  });
});
