import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installAliases } from '../src/aliases.js';
import { HOOK_LOG, installHook } from '../src/hook.js';
import { type WatchEvent, watch } from '../src/watch.js';
import {
  BIN,
  eventually,
  type Project,
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
      return r.status === 0 ? r.stdout : undefined;
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
});
