import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installAliases } from '../src/aliases.js';
import { HOOK_LOG, installHook } from '../src/hook.js';
import { readStatus } from '../src/status.js';
import { type WatchEvent, watch } from '../src/watch.js';
import {
  BIN,
  eventually,
  type Project,
  processesMentioning,
  project,
  type Sandbox,
  sandbox,
  writableShared,
} from './helpers/git-fixture.js';

let box: Sandbox;
let p: Project;
let gate: string;

beforeEach(async () => {
  expect(
    existsSync(join(BIN, '../../dist/cli.js')),
    'run npx tsc -b first: the hook runs the built binary',
  ).toBe(true);
  box = sandbox();
  gate = join(box.shared, 'gate');
  // The test waits for a gate file the test below opens, so a hook that waited for the run would never return.
  p = await project(
    box,
    `test: while [ ! -e '${gate}' ]; do sleep 0.05; done; echo gate passed\ntimeout: 5m\n${writableShared(box.shared)}`,
  );
  await installAliases({ cwd: p.clone });
});
afterEach(() => {
  writeFileSync(gate, '');
  box.cleanup();
});

const master = (bare: string) => box.gitStatus(bare, 'rev-parse', 'refs/heads/master').stdout.trim();

describe('post-receive hook on a real push', () => {
  it('git pup returns before the test ends, and the run it starts lands the pushed commit', async () => {
    await installHook({ repo: p.bare, stateDir: p.state });
    const before = master(p.bare);
    const sha = await p.commit('feature.txt', 'feature\n');

    const push = box.gitStatus(p.clone, 'pup');
    expect(push.status).toBe(0);
    // The push is back while the test is still held at the gate: master cannot have moved yet.
    expect(master(p.bare)).toBe(before);

    writeFileSync(gate, '');
    await eventually(
      () => (master(p.bare) === sha ? true : undefined),
      'master to move to the pushed commit',
    );
    const status = await eventually(() => {
      const r = box.gitStatus(p.clone, 'pu-status');
      return r.status === 0 ? r.stdout : undefined;
    }, 'the published verdict');
    expect(status.split('\n')[0]).toBe(`pu ${sha}: landed`);
    expect(readFileSync(join(p.state, HOOK_LOG), 'utf8')).toMatch(/landed pu /);
  });

  it("a candidate that rewrites the config is refused, and master's config is what its test would run", async () => {
    writeFileSync(gate, '');
    await installHook({ repo: p.bare, stateDir: p.state });
    // master's (trusted) config says the test is `exit 1`; the candidate rewrites it to `true`: with the default
    // config-changes: refuse, it does not land at all (engine.config-gate.test.ts covers allow).
    await box.git(p.clone, 'switch', '-q', 'master');
    await p.commit('.github/premerge.yml', 'test: exit 1\n');
    await box.git(p.clone, 'push', '-q', 'origin', 'master');
    await box.git(p.clone, 'switch', '-q', 'topic');
    await box.git(p.clone, 'rebase', '-q', 'master');
    const before = master(p.bare);
    const sha = await p.commit('.github/premerge.yml', 'test: "true"\n');

    expect(box.gitStatus(p.clone, 'pup').status).toBe(0);
    const status = await eventually(() => {
      const r = box.gitStatus(p.clone, 'pu-status');
      return r.status === 1 ? r.stdout : undefined;
    }, 'the published verdict');
    expect(status.split('\n')[0]).toBe(`pu ${sha}: refused`);
    expect(status).toContain('--config-change');
    expect(master(p.bare)).toBe(before);
  });

  it('pokes a running watch instead of starting a run of its own', async () => {
    writeFileSync(gate, '');
    await installHook({ repo: p.bare, stateDir: p.state });
    const events: WatchEvent[] = [];
    const stop = new AbortController();
    const daemon = watch({
      repos: [{ repo: p.bare }],
      stateDir: p.state,
      intervalMs: 3_600_000,
      signal: stop.signal,
      onEvent: (e) => events.push(e),
    });
    try {
      await eventually(
        () => (events.some((e) => e.type === 'run-finished') ? true : undefined),
        'the first poll',
      );
      const sha = await p.commit('feature.txt', 'feature\n');
      expect(box.gitStatus(p.clone, 'pup').status).toBe(0);
      // With an hour between polls, only the hook's poke can make the watch land it.
      await eventually(() => (master(p.bare) === sha ? true : undefined), 'the watch to land the push');
      expect(events.some((e) => e.type === 'poked')).toBe(true);
      await eventually(
        () =>
          /a running watch was poked/.test(readFileSync(join(p.state, HOOK_LOG), 'utf8')) ? true : undefined,
        'the hook log',
      );
    } finally {
      stop.abort();
      await daemon;
    }
  });

  it('three repositories: pu pushed to public lands on origin, and pu-status reads the verdict from public', async () => {
    writeFileSync(gate, '');
    const origin = p.bare;
    const pub = join(box.dir, 'public-3.git');
    await box.git(box.dir, 'init', '-q', '--bare', '-b', 'master', pub);
    await box.git(p.clone, 'remote', 'add', 'public', pub);
    await installHook({ repo: origin, candidatesFrom: pub, stateDir: p.state });
    const sha = await p.commit('feature.txt', 'feature\n');

    expect(box.gitStatus(p.clone, 'pup', 'public').status).toBe(0);
    await eventually(() => (master(origin) === sha ? true : undefined), 'origin master to move');
    const status = await eventually(() => {
      const r = box.gitStatus(p.clone, 'pu-status', 'public');
      return r.status === 0 ? r.stdout : undefined;
    }, 'the verdict on public');
    expect(status.split('\n')[0]).toBe(`pu ${sha}: landed`);
    expect(box.gitStatus(origin, 'rev-parse', '--verify', '-q', 'refs/heads/pu').status).not.toBe(0);
  });

  it('says at push time what happens: queued with how many ahead, not a candidate, already failed', async () => {
    await box.git(p.clone, 'switch', '-q', 'master');
    await p.commit(
      '.github/premerge.yml',
      `candidates: "pu/*"\nrebase: true\ntest: while [ ! -e '${gate}' ]; do sleep 0.05; done; test ! -e BROKEN\ntimeout: 5m\n${writableShared(box.shared)}`,
    );
    await box.git(p.clone, 'push', '-q', 'origin', 'master');
    await installHook({ repo: p.bare, stateDir: p.state });
    const push = (...args: string[]) => box.gitStatus(p.clone, 'push', ...args);
    await box.git(p.clone, 'switch', '-q', '-c', 'alice');
    const a = await p.commit('a.txt', 'a\n');
    const first = push('origin', 'HEAD:refs/heads/pu/alice');
    expect(first.status).toBe(0);
    expect(first.stderr).toContain(
      `remote: premerge-bot: queued pu/alice ${a.slice(0, 7)} (nothing ahead of it); git pu-status shows where it stands`,
    );
    // The run the first push started must be testing pu/alice, alone, before pu/bob is pushed: a bot that looks
    // after pu/bob's ref moved (git updates refs before post-receive runs) stacks both into one run (rebase: true),
    // and the answer is then rightly "testing pu/bob". Held at the gate, pu/alice's run takes nothing else in.
    await eventually(async () => {
      const status = await readStatus({ repo: p.bare, stateDir: p.state }).catch(() => undefined);
      const running = status?.running ?? [];
      return running.length === 1 && running[0]!.members.map((m) => m.branch).join() === 'pu/alice'
        ? true
        : undefined;
    }, 'the test of pu/alice alone');
    await box.git(p.clone, 'switch', '-q', '-c', 'bob', 'master');
    const b = await p.commit('b.txt', 'b\n');
    expect(push('origin', 'HEAD:refs/heads/pu/bob').stderr).toContain(
      `remote: premerge-bot: queued pu/bob ${b.slice(0, 7)} (1 ahead of it)`,
    );
    expect(push('origin', 'HEAD:refs/heads/feature').stderr).toContain(
      'remote: premerge-bot: feature is not a candidate branch (candidates: pu/*): it is not tested',
    );
    await box.git(p.clone, 'switch', '-q', '-c', 'carol', 'master');
    const c = await p.commit('BROKEN', 'x\n');
    expect(push('origin', 'HEAD:refs/heads/pu/carol').stderr).toContain(
      `remote: premerge-bot: queued pu/carol ${c.slice(0, 7)} (2 ahead of it)`,
    );
    writeFileSync(gate, '');
    await eventually(async () => {
      const note = box.gitStatus(p.bare, 'notes', '--ref=premerge', 'show', c);
      return note.status === 0 && note.stdout.includes('"kind":"failed"') ? true : undefined;
    }, 'the failed verdict');
    // Pushed again (here to another candidate branch), a commit that already failed is not tested again: it says so.
    const again = push('origin', 'HEAD:refs/heads/pu/carol-again');
    expect(again.stderr).toMatch(
      new RegExp(
        `remote: premerge-bot: pu/carol-again ${c.slice(0, 7)} already failed \\(\\S+\\) under this config, which is final: it is not tested again; push a new commit, or ask whoever runs the bot for premerge-bot retry ${c.slice(0, 7)}`,
      ),
    );
  });

  it('finds node and premerge-bot on PATH when they moved, and says what to do when it cannot', async () => {
    writeFileSync(gate, '');
    const bin = join(box.dir, 'bin');
    mkdirSync(bin);
    symlinkSync(BIN, join(bin, 'premerge-bot'));
    await installHook({
      repo: p.bare,
      stateDir: p.state,
      command: {
        node: join(box.dir, 'old-node', 'node'),
        script: join(box.dir, 'old-checkout', 'premerge-bot.js'),
      },
    });
    const sha = await p.commit('feature.txt', 'feature\n');
    const env = { ...box.env, PATH: `${bin}:${process.env['PATH']}` };
    const moved = spawnSync('git', ['pup'], { cwd: p.clone, env, encoding: 'utf8' });
    expect(moved.status).toBe(0);
    expect(moved.stderr).toContain(
      `remote: premerge-bot: queued pu ${sha.slice(0, 7)} (nothing ahead of it)`,
    );
    await eventually(() => (master(p.bare) === sha ? true : undefined), 'master to move');
    // The bot's own landing ran the hook too, which started another bot: one that may look after the next push (on a
    // loaded machine it did, and tested and logged it). Every bot of this state directory must be done first, so
    // that the push below is all that happens.
    await eventually(
      () => (processesMentioning(p.state).length === 0 ? true : undefined),
      'the bots of the first push to finish',
    );

    // Without premerge-bot on PATH either: one line saying what to do, at push time and in hook.log.
    const next = await p.commit('more.txt', 'more\n');
    // A PATH without premerge-bot (vitest's has node_modules/.bin).
    const path = (process.env['PATH'] ?? '')
      .split(':')
      .filter((dir) => !existsSync(join(dir, 'premerge-bot')))
      .join(':');
    const lost = spawnSync('git', ['pup'], {
      cwd: p.clone,
      env: { ...box.env, PATH: path },
      encoding: 'utf8',
    });
    expect(lost.status).toBe(0);
    const said = `premerge-bot: cannot start the bot: premerge-bot (installed as ${join(box.dir, 'old-checkout', 'premerge-bot.js')}) is gone and not on PATH; install the hook again (premerge-bot hook install --repo ${p.bare} --state-dir ${p.state}). The push is kept, but nothing tests it until a bot runs`;
    expect(lost.stderr).toContain(`remote: ${said}`);
    expect(readFileSync(join(p.state, HOOK_LOG), 'utf8')).toMatch(
      new RegExp(`\\n\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\[\\d+\\] ${p.bare}: ${reEscape(said)}\\n$`),
    );
    expect(master(p.bare)).toBe(sha);
    expect(next).not.toBe(sha);
  });

  it('stamps every line of hook.log the same way, errors of its runs included', async () => {
    writeFileSync(gate, '');
    await installHook({ repo: p.bare, stateDir: p.state });
    await p.commit('feature.txt', 'feature\n');
    expect(box.gitStatus(p.clone, 'pup').status).toBe(0);
    await eventually(() => (/: 1 verdict\(s\)/.test(readLog()) ? true : undefined), 'the run in hook.log');
    // A broken config on master: the hook's run fails with exit 3, and says so in hook.log.
    await box.git(p.clone, 'fetch', '-q', 'origin');
    await box.git(p.clone, 'switch', '-q', '-C', 'master', 'origin/master');
    await p.commit('.github/premerge.yml', 'test: x\ntimeout: soon\n');
    expect(box.gitStatus(p.clone, 'push', '-q', 'origin', 'master').stderr).toBe('');
    await box.git(p.clone, 'switch', '-q', '-c', 'next');
    await p.commit('next.txt', 'n\n');
    const pushed = box.gitStatus(p.clone, 'pup');
    expect(pushed.stderr).toMatch(
      /remote: premerge-bot: cannot test pu \w{7}: \.github\/premerge\.yml:2: key 'timeout'/,
    );
    await eventually(
      () => (/error: \.github\/premerge\.yml:2: key 'timeout'/.test(readLog()) ? true : undefined),
      'the error',
    );
    const lines = readLog().trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines)
      expect(line).toMatch(
        new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\[\\d+\\] ${reEscape(p.bare)}: `),
      );
  });
});

function readLog(): string {
  try {
    return readFileSync(join(p.state, HOOK_LOG), 'utf8');
  } catch {
    return '';
  }
}

function reEscape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
