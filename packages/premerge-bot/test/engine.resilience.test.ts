import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runOnce } from '../src/engine.js';
import { repoPaths } from '../src/paths.js';
import { processStartTime } from '../src/process-group.js';
import { Journal } from '../src/store.js';
import type { EngineEvent } from '../src/types.js';
import { builtEngineRunner, startEngine } from './helpers/engine-child.js';
import {
  createFixture,
  eventually,
  type Fixture,
  isRunning,
  processesMentioning,
  pushCandidate,
  pushToMaster,
  refusePushesTo,
  writableShared,
} from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

describe('runOnce: stopping, racing and recovering', () => {
  it('stops cleanly on abort: the test group is killed, no verdict, and the next run tests it again', async () => {
    f = await createFixture((shared) => `test: sh test.sh\n${writableShared(shared)}`);
    const flag = join(f.shared, 'fixed');
    const running = join(f.shared, 'running');
    // Hangs the first time; passes once the flag exists.
    const sha = await pushCandidate(f, {
      files: { 'test.sh': `[ -f ${flag} ] && exit 0\ntouch ${running}\nsleep 300.0801\n` },
    });
    const controller = new AbortController();
    const onEvent = (e: EngineEvent) => {
      if (e.type === 'test-started') {
        void eventually(() => existsSync(running) || undefined, 'the test to run').then(() =>
          controller.abort(),
        );
      }
    };
    const report = await runOnce({
      repo: f.origin,
      stateDir: f.stateDir,
      signal: controller.signal,
      onEvent,
    });
    expect([report.aborted, report.verdicts, report.testRuns]).toEqual([true, [], 1]);
    expect(processesMentioning('300.0801')).toEqual([]);
    expect(existsSync(repoPaths(f.stateDir, f.origin).lock)).toBe(false);
    writeFileSync(flag, '');
    const again = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect([again.pendingAtStart, again.testRuns]).toEqual([1, 1]);
    expect(again.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
  });

  it('a stop that comes before the test process exists is not lost', async () => {
    f = await createFixture();
    await pushCandidate(f, { files: { 'test.sh': 'sleep 300\n' } });
    const controller = new AbortController();
    const onEvent = (e: EngineEvent) => {
      if (e.type === 'test-started') controller.abort(); // while the worktree is still being made
    };
    const report = await runOnce({
      repo: f.origin,
      stateDir: f.stateDir,
      signal: controller.signal,
      onEvent,
    });
    expect([report.aborted, report.verdicts]).toEqual([true, []]);
  });

  it('master moved during the test, without rebase: needs-rebase against the new master, nothing lands', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { 'test.sh': 'sleep 0.5\nexit 0\n' } });
    let moved = '';
    const onEvent = (e: EngineEvent) => {
      if (e.type === 'test-started') void pushToMaster(f, { 'm.txt': 'm\n' }).then((s) => (moved = s));
    };
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir, onEvent });
    expect(report.verdicts.map((v) => [v.kind, v.sha, v.base])).toEqual([['needs-rebase', sha, moved]]);
    expect(await f.rev(f.origin, 'master')).toBe(moved);
  });

  it('master moved during the test, with rebase: rebased onto the new master, tested again and landed', async () => {
    f = await createFixture('test: sh test.sh\nrebase: true\n');
    const sha = await pushCandidate(f, { files: { 'test.sh': 'sleep 0.5\nexit 0\n' } });
    let moved = '';
    let started = 0;
    const onEvent = (e: EngineEvent) => {
      if (e.type === 'test-started' && started++ === 0) {
        void pushToMaster(f, { 'm.txt': 'm\n' }).then((s) => (moved = s));
      }
    };
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir, onEvent });
    expect(report.testRuns).toBe(2);
    const v = report.verdicts[0]!;
    expect([report.verdicts.length, v.kind, v.sha, v.base]).toEqual([1, 'landed', sha, moved]);
    expect(await f.rev(f.origin, 'master')).toBe(v.tested);
    expect(await f.rev(f.origin, 'master^')).toBe(moved);
  });

  it('a second bot defers to the one holding the lock, which picks up the new push', async () => {
    f = await createFixture('test: sh test.sh\ncandidates: "pu/*"\n');
    await pushCandidate(f, { branch: 'pu/a', files: { 'test.sh': 'sleep 1\nexit 0\n' } });
    let second: Awaited<ReturnType<typeof runOnce>> | undefined;
    let b = '';
    const onEvent = (e: EngineEvent) => {
      if (e.type === 'test-started' && !b) {
        b = 'pushing';
        void (async () => {
          b = await pushCandidate(f, { branch: 'pu/b', files: { 'b.txt': 'b\n' }, from: 'origin/pu/a' });
          second = await runOnce({ repo: f.origin, stateDir: f.stateDir });
        })();
      }
    };
    const first = await runOnce({ repo: f.origin, stateDir: f.stateDir, onEvent });
    expect(second?.deferred).toBe(true);
    expect(second?.verdicts).toEqual([]);
    expect(first.verdicts.map((v) => [v.kind, v.branch])).toEqual([
      ['landed', 'pu/a'],
      ['landed', 'pu/b'],
    ]);
    expect(await f.rev(f.origin, 'master')).toBe(b);
  });

  it('on start, kills an orphaned test group, removes stale worktrees and git lock files, and re-runs the test', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    // A first look creates the mirror; pretend a bot then died mid-test, leaving all of its mess.
    await runOnce({ repo: f.origin, stateDir: f.stateDir, signal: AbortSignal.abort() });
    const paths = repoPaths(f.stateDir, f.origin);
    const orphan = spawn('/bin/sh', ['-c', 'sleep 300 & wait'], { detached: true, stdio: 'ignore' });
    orphan.unref();
    const pgid = orphan.pid!;
    await new Promise((r) => setTimeout(r, 100));
    const journal = Journal.open(paths.journal);
    const base = await f.rev(f.origin, 'master');
    journal.append({
      type: 'run-started',
      runId: 'dead',
      at: new Date().toISOString(),
      target: 'master',
      configHash: 'x',
      base,
      tested: sha,
      members: [{ branch: 'pu', sha, tested: sha }],
      logPath: join(paths.logs, 'dead.log'),
    });
    journal.append({ type: 'run-process', runId: 'dead', pgid, startTime: processStartTime(pgid) });
    journal.close();
    mkdirSync(join(paths.worktrees, 'dead'), { recursive: true });
    writeFileSync(join(paths.mirror, 'packed-refs.lock'), '');
    const events: EngineEvent[] = [];
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir, onEvent: (e) => events.push(e) });
    const recovered = events.flatMap((e) => (e.type === 'recovered' ? [e.what] : []));
    expect(recovered.sort()).toEqual(['git-lock-file', 'orphan-process-group', 'stale-worktree']);
    expect(isRunning(pgid)).toBe(false);
    expect(existsSync(join(paths.worktrees, 'dead'))).toBe(false);
    expect(existsSync(join(paths.mirror, 'packed-refs.lock'))).toBe(false);
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
  });

  it('on start, cleans what a run cut off before its cleaning left in the tree, with nothing left to test', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const first = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(first.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
    // As a bot SIGKILLed after recording the verdict and before its cleaning finished finds it: the test's .git,
    // an output, HOME and TMPDIR still full, and the tree not marked cleaned.
    const { trees, treeGit } = repoPaths(f.stateDir, f.origin);
    rmSync(join(treeGit, 'premerge-cleaned'), { force: true });
    mkdirSync(join(trees.tree, '.git'), { recursive: true });
    writeFileSync(join(trees.tree, 'build-output'), 'left\n');
    writeFileSync(join(trees.home, '.secret'), 'left\n');
    mkdirSync(join(trees.tmp, 'scratch'), { recursive: true });
    const events: EngineEvent[] = [];
    const second = await runOnce({ repo: f.origin, stateDir: f.stateDir, onEvent: (e) => events.push(e) });
    expect([second.testRuns, second.verdicts.length]).toEqual([0, 0]);
    expect(events.flatMap((e) => (e.type === 'recovered' ? [[e.what, e.detail]] : []))).toEqual([
      ['test-tree', trees.tree],
    ]);
    expect([
      existsSync(join(trees.tree, '.git')),
      existsSync(join(trees.tree, 'build-output')),
      readdirSync(trees.home),
      readdirSync(trees.tmp),
      existsSync(join(trees.tree, 'a.txt')),
    ]).toEqual([false, false, [], [], true]);
    // Cleaned once: the next start has nothing to recover.
    const third: EngineEvent[] = [];
    await runOnce({ repo: f.origin, stateDir: f.stateDir, onEvent: (e) => third.push(e) });
    expect(third.filter((e) => e.type === 'recovered')).toEqual([]);
  });

  it('works when started from a hook, with GIT_DIR=. inherited', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const saved = process.env['GIT_DIR'];
    process.env['GIT_DIR'] = '.';
    try {
      const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
      expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
    } finally {
      if (saved === undefined) delete process.env['GIT_DIR'];
      else process.env['GIT_DIR'] = saved;
    }
  });

  it('a push the repository refuses (pre-receive hook) is an error verdict with the reason, not a loop', async () => {
    f = await createFixture();
    refusePushesTo(f.origin, 'refs/heads/master', 'master is frozen');
    const base = await f.rev(f.origin, 'master');
    const cand = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['error', cand]]);
    expect(report.verdicts[0]!.reason).toContain('master is frozen');
    expect(await f.rev(f.origin, 'master')).toBe(base);
    const again = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect([again.testRuns, again.verdicts.length]).toEqual([0, 0]);
  });

  it("keeps the bot's secrets out of the test's environment and passes the rest", async () => {
    f = await createFixture();
    const check =
      '[ -z "$GITHUB_TOKEN" ] && [ -z "$PREMERGE_SECRET" ] && [ "$GIT_TERMINAL_PROMPT" = 0 ] && [ "$KEEP_ME" = yes ]\n';
    const sha = await pushCandidate(f, { files: { 'test.sh': check } });
    const vars = { GITHUB_TOKEN: 'ghs_secret', PREMERGE_SECRET: 'x', KEEP_ME: 'yes' };
    Object.assign(process.env, vars);
    try {
      const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
      expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
    } finally {
      for (const k of Object.keys(vars)) delete process.env[k];
    }
  });

  it('rebases with a committer identity of its own when the account has none', async () => {
    f = await createFixture('test: sh test.sh\nrebase: true\n');
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    await pushToMaster(f, { 'm.txt': 'm\n' });
    const home = join(f.dir, 'empty-home');
    mkdirSync(home);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_')));
    Object.assign(env, {
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      GIT_CONFIG_NOSYSTEM: '1',
      EMAIL: '',
    });
    const runner = builtEngineRunner();
    const child = await startEngine(runner, { repo: f.origin, stateDir: f.stateDir }, env).done;
    expect(child.code, child.stderr).toBe(0);
    const report = JSON.parse(child.stdout);
    expect(report.verdicts.map((v: { kind: string; sha: string }) => [v.kind, v.sha])).toEqual([
      ['landed', sha],
    ]);
    expect(await f.git(f.origin, 'log', '-1', '--format=%cn <%ce> / %an <%ae>', 'master')).toBe(
      'premerge-bot <premerge-bot@localhost> / Dev <dev@example.com>',
    );
  });
});
