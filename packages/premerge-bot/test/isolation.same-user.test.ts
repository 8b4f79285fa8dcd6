/**
 * Without a sandbox or a test user, tests run as the bot's own user: the bot says so in one line, checks its own
 * repositories after every run (and stops when a test changed them), and sweeps what a run left running.
 */
import { spawn } from 'node:child_process';
import { chownSync, lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runOnce } from '../src/engine.js';
import type { PremergeError } from '../src/errors.js';
import { MIRROR_CONFIG } from '../src/mirror-guard.js';
import { repoPaths } from '../src/paths.js';
import { processStartTime } from '../src/process-group.js';
import { Journal } from '../src/store.js';
import type { EngineEvent, Verdict } from '../src/types.js';
import { builtEngineRunner, startEngine } from './helpers/engine-child.js';
import {
  createFixture,
  type Fixture,
  freeTestUid,
  isRunning,
  processesMentioning,
  pushCandidate,
  requireRoot,
} from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

const isolationEvents = (events: EngineEvent[]) =>
  events.flatMap((e) => (e.type === 'isolation' ? [[e.mode, e.detail]] : []));

describe('choosing how tests run', () => {
  it('says in one line, once per process, that tests run as the bot itself with sandbox: off', async () => {
    f = await createFixture('test: sh test.sh\nsandbox: off\n');
    await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const events: EngineEvent[] = [];
    await runOnce({ repo: f.origin, stateDir: f.stateDir, onEvent: (e) => events.push(e) });
    await runOnce({ repo: f.origin, stateDir: f.stateDir, onEvent: (e) => events.push(e) });
    const lines = isolationEvents(events);
    expect(lines).toHaveLength(1);
    expect(lines[0]![0]).toBe('same-user');
    expect(lines[0]![1]).toMatch(
      /^warning: tests run as the bot's own user \(uid \d+\) without a sandbox \(sandbox: off, set by \.github\/premerge\.yml\): .*trusted code/,
    );
    expect(lines[0]![1]).not.toContain('\n');
  });

  it('PREMERGE_SANDBOX wins over the config, a bad value is an error, and a missing bwrap means no sandbox', async () => {
    f = await createFixture('test: sh test.sh\nsandbox: auto\n');
    const saved = { ...process.env };
    try {
      process.env['PREMERGE_SANDBOX'] = 'off';
      const events: EngineEvent[] = [];
      await runOnce({ repo: f.origin, stateDir: f.stateDir, onEvent: (e) => events.push(e) });
      expect(isolationEvents(events)[0]?.[1]).toContain('set by PREMERGE_SANDBOX');

      process.env['PREMERGE_SANDBOX'] = 'yes';
      const bad = (await runOnce({ repo: f.origin, stateDir: f.stateDir }).catch((e) => e)) as PremergeError;
      expect([bad.code, bad.message]).toEqual([
        'PREMERGE_ISOLATION',
        "PREMERGE_SANDBOX is 'yes': expected auto or off",
      ]);

      delete process.env['PREMERGE_SANDBOX'];
      process.env['PREMERGE_BWRAP'] = join(f.dir, 'no-bwrap-here');
      const missing: EngineEvent[] = [];
      await runOnce({ repo: f.origin, stateDir: f.stateDir, onEvent: (e) => missing.push(e) });
      expect(isolationEvents(missing)[0]).toEqual([
        'same-user',
        expect.stringContaining(`(bubblewrap is not installed (no ${join(f.dir, 'no-bwrap-here')}))`),
      ]);
      // A front end that must not run tests as itself (the GitHub App) refuses instead.
      const refused = (await runOnce({ repo: f.origin, stateDir: f.stateDir, allowSameUser: false }).catch(
        (e) => e,
      )) as PremergeError;
      expect(refused.code).toBe('PREMERGE_ISOLATION');
    } finally {
      for (const k of ['PREMERGE_SANDBOX', 'PREMERGE_BWRAP']) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  it('refuses a sandbox-writable path that would open the state directory to the test', async () => {
    f = await createFixture((shared) => `test: sh test.sh\nsandbox-writable: ["${join(shared, '..')}"]\n`);
    const err = (await runOnce({ repo: f.origin, stateDir: f.stateDir }).catch((e) => e)) as PremergeError;
    expect(err.code).toBe('PREMERGE_ISOLATION');
    expect(err.message).toContain(`would open ${f.stateDir}`);
  });
});

describe("the bot's own repositories, checked after each run (same user)", () => {
  it('a test that writes a hook into the mirror gets an error verdict, and the bot stops until the mirror is gone', async () => {
    f = await createFixture('test: sh test.sh\ncandidates: "pu/*"\nsandbox: off\n');
    const paths = repoPaths(f.stateDir, f.origin);
    const attack = `mkdir -p '${paths.mirror}/hooks'\nprintf '#!/bin/sh\\nexit 1\\n' > '${paths.mirror}/hooks/pre-push'\nexit 1\n`;
    const bad = await pushCandidate(f, { branch: 'pu/a', files: { 'test.sh': attack } });
    const good = await pushCandidate(f, { branch: 'pu/b', files: { 'b.txt': 'b\n' } });
    const verdicts: Verdict[] = [];
    const onEvent = (e: EngineEvent) => {
      if (e.type === 'verdict') verdicts.push(e.verdict);
    };
    const err = (await runOnce({ repo: f.origin, stateDir: f.stateDir, onEvent }).catch(
      (e) => e,
    )) as PremergeError;
    expect(err.code).toBe('PREMERGE_MIRROR_TAMPERED');
    expect(err.message).toContain('(hooks/pre-push)');
    expect(verdicts.map((v) => [v.kind, v.sha])).toEqual([['error', bad]]);
    expect(verdicts[0]!.reason).toContain("the bot's repository changed during this candidate's test");
    // Still stopped on the next start: nothing runs in a mirror the bot did not write.
    const again = (await runOnce({ repo: f.origin, stateDir: f.stateDir }).catch((e) => e)) as PremergeError;
    expect(again.code).toBe('PREMERGE_MIRROR_TAMPERED');
    expect(await f.rev(f.origin, 'master')).not.toBe(good);
    // As the message says: remove the mirror, and the bot makes it anew.
    rmSync(paths.mirror, { recursive: true, force: true });
    const after = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(after.verdicts.map((v) => [v.kind, v.sha])[0]).toEqual(['landed', good]);
    expect(await f.rev(f.origin, 'master')).toBe(good);
  });

  it("a test that adds url.insteadOf to the mirror's config or alternates to its objects is caught as well", async () => {
    for (const attack of [
      `git config --file "$M/config" url./nowhere.insteadOf "${'$'}ORIGIN"`,
      'echo /tmp > "$M/objects/info/alternates"',
    ]) {
      f?.cleanup();
      f = await createFixture('test: sh test.sh\nsandbox: off\n');
      const paths = repoPaths(f.stateDir, f.origin);
      await pushCandidate(f, {
        files: { 'test.sh': `M='${paths.mirror}' ORIGIN='${f.origin}'\n${attack}\n` },
      });
      const err = (await runOnce({ repo: f.origin, stateDir: f.stateDir }).catch((e) => e)) as PremergeError;
      expect(err.code, attack).toBe('PREMERGE_MIRROR_TAMPERED');
    }
  });

  it('takes over a mirror made by an earlier version (git init with its sample hooks) without a complaint', async () => {
    f = await createFixture();
    const paths = repoPaths(f.stateDir, f.origin);
    await f.git(f.dir, 'init', '--quiet', '--bare', paths.mirror);
    await f.git(f.dir, '--git-dir', paths.mirror, 'config', 'core.logAllRefUpdates', 'false');
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
    expect(readFileSync(join(paths.mirror, 'config'), 'utf8')).toBe(MIRROR_CONFIG);
  });
});

describe('what a run leaves running (same user: the best-effort sweep)', () => {
  it('kills a daemon that left the process group, found by its environment or by its working directory', async () => {
    f = await createFixture('test: sh test.sh\nsandbox: off\n');
    // One keeps the run's marker in its environment but leaves the tree; the other clears its environment.
    const up = (n: number) => join(f.shared, `daemon-${n}`);
    const test = `setsid sh -c 'cd /; touch ${up(1)}; exec sleep 300.0951' &
setsid env -i /bin/sh -c 'touch ${up(2)}; exec sleep 300.0952' &
while [ ! -e ${up(1)} ] || [ ! -e ${up(2)} ]; do sleep 0.01; done
exit 0
`;
    const sha = await pushCandidate(f, { files: { 'test.sh': test } });
    const alive: number[][] = [];
    const report = await runOnce({
      repo: f.origin,
      stateDir: f.stateDir,
      onEvent: (e) => {
        if (e.type === 'test-finished')
          alive.push([...processesMentioning('300.0951'), ...processesMentioning('300.0952')]);
      },
    });
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
    expect(alive).toEqual([[]]);
  });
});

describe('a process the bot may not signal (needs root to set up)', () => {
  it("another user's process in a recorded process group is a warning, not an internal error", async () => {
    requireRoot('EPERM on kill');
    f = await createFixture('test: sh test.sh\nsandbox: off\n');
    const bot = freeTestUid();
    let other = freeTestUid();
    while (other === bot) other = freeTestUid();
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    await runOnce({ repo: f.origin, stateDir: f.stateDir, signal: AbortSignal.abort() });
    // A test process of another user, recorded as the group of a run a crash cut off.
    const orphan = spawn('/bin/sh', ['-c', 'sleep 300.0961 & wait'], {
      detached: true,
      stdio: 'ignore',
      uid: other,
      gid: other,
    });
    orphan.unref();
    const pgid = orphan.pid!;
    const paths = repoPaths(f.stateDir, f.origin);
    const journal = Journal.open(paths.journal);
    journal.append({
      type: 'run-started',
      runId: 'cut-off',
      at: new Date().toISOString(),
      target: 'master',
      configHash: 'x',
      base: await f.rev(f.origin, 'master'),
      tested: sha,
      members: [{ branch: 'pu', sha, tested: sha }],
      logPath: join(paths.logs, 'cut-off.log'),
    });
    journal.append({ type: 'run-process', runId: 'cut-off', pgid, startTime: processStartTime(pgid) });
    journal.close();
    try {
      // The bot runs as a user of its own that owns everything it works with.
      const chownAll = (path: string) => {
        chownSync(path, bot, bot);
        if (lstatSync(path).isDirectory()) for (const name of readdirSync(path)) chownAll(join(path, name));
      };
      chownAll(f.dir);
      writeFileSync(join(f.dir, '.gitconfig'), '[safe]\n\tdirectory = *\n');
      const child = await startEngine(
        builtEngineRunner(),
        { repo: f.origin, stateDir: f.stateDir },
        { ...f.env, PATH: process.env['PATH'] },
        { uid: bot, gid: bot },
      ).done;
      expect(child.code, child.stderr).toBe(0);
      const events = child.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as EngineEvent);
      const warnings = events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
      expect(warnings).toEqual([
        expect.stringMatching(/^run cut-off: process group \d+: not permitted to signal .*EPERM/),
      ]);
      const report = JSON.parse(child.stdout) as { verdicts: Verdict[] };
      expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
      expect(isRunning(pgid)).toBe(true);
    } finally {
      process.kill(-pgid, 'SIGKILL');
    }
  });
});
