import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { OnceReport } from '../src/engine.js';
import { tryLock } from '../src/lock.js';
import { repoPaths } from '../src/paths.js';
import { askQueue, Scheduler, type SchedulerEvent, type WatchEvent, watch } from '../src/watch.js';
import {
  createFixture,
  eventually,
  type Fixture,
  pushCandidate,
  writableShared,
} from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

const gated = (gate: string) => `while [ ! -e '${gate}' ]; do sleep 0.05; done\n`;

describe('Scheduler', () => {
  it('without an interval gives a repository one look and resolves with its report', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const events: SchedulerEvent[] = [];
    const scheduler = new Scheduler({ stateDir: f.stateDir, onEvent: (e) => events.push(e) });
    const report = (await scheduler.add({ repo: f.origin })) as OnceReport;
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
    expect(events.map((e) => e.type).filter((t) => t !== 'engine')).toEqual(['run-started', 'run-finished']);
    // Dropped after its look: a poke for it now finds nothing to wake.
    expect(scheduler.poke(f.origin)).toBe(false);
    expect(scheduler.info()).toEqual([]);
  });

  it('without an interval rejects with the engine error, for the front end to map to its exit code', async () => {
    f = await createFixture();
    const scheduler = new Scheduler({ stateDir: f.stateDir });
    await expect(scheduler.add({ repo: join(f.dir, 'missing.git') })).rejects.toMatchObject({
      code: 'PREMERGE_REPO_UNREACHABLE',
    });
  });

  it('knows a repository by its identity: a poke through a symlink wakes it; stop ends every look', async () => {
    f = await createFixture();
    const link = join(f.dir, 'link.git');
    symlinkSync(f.origin, link);
    const events: SchedulerEvent[] = [];
    // Only pokes start looks.
    const scheduler = new Scheduler({
      stateDir: f.stateDir,
      intervalMs: Number.POSITIVE_INFINITY,
      onEvent: (e) => events.push(e),
    });
    const done = scheduler.add({ repo: f.origin });
    const finished = () => events.filter((e) => e.type === 'run-finished').length;
    await eventually(() => (finished() === 1 ? true : undefined), 'the first look');
    expect(scheduler.info()).toMatchObject([{ repo: f.origin, state: 'idle' }]);
    expect(scheduler.poke(join(f.dir, 'other.git'))).toBe(false);
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    expect(scheduler.poke(link)).toBe(true);
    await eventually(() => (finished() === 2 ? true : undefined), 'the poked look');
    expect(await f.rev(f.origin, 'master')).toBe(sha);
    await scheduler.stop();
    expect(await done).toBeUndefined();
    expect(scheduler.poke(f.origin)).toBe(false);
  });
});

describe('watch while another bot holds the lock', () => {
  it('waits for the lock instead of poking itself in a loop, then lands what was pushed', async () => {
    f = await createFixture();
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    // Another bot (here: this process, outside the watch) holds the repository's lock.
    mkdirSync(repoPaths(f.stateDir, f.origin).root, { recursive: true });
    const held = tryLock(repoPaths(f.stateDir, f.origin).lock);
    if (!held.acquired) throw new Error('the lock should be free');
    const stop = new AbortController();
    const events: WatchEvent[] = [];
    const done = watch({
      repos: [{ repo: f.origin }],
      stateDir: f.stateDir,
      intervalMs: 3_600_000,
      signal: stop.signal,
      onEvent: (e) => events.push(e),
    });
    const engine = () => events.flatMap((e) => (e.type === 'engine' ? [e.event] : []));
    await eventually(
      () =>
        engine().some((e) => e.type === 'warning' && /waiting for it/.test(e.message)) ? true : undefined,
      'the watch to wait for the lock',
    );
    held.lock.release();
    await eventually(
      async () => ((await f.rev(f.origin, 'master')) === sha ? true : undefined),
      'the landing',
    );
    stop.abort();
    await done;
    expect(engine().filter((e) => e.type === 'deferred')).toEqual([]);
    expect(events.filter((e) => e.type === 'run-started')).toHaveLength(1);
  });
});

describe("watch's socket", () => {
  it('answers where a repository\'s candidates stand: "queued, N ahead"', async () => {
    const gate = () => join(f.shared, 'gate');
    f = await createFixture((shared) => `test: sh test.sh\ncandidates: "pu/*"\n${writableShared(shared)}`);
    const a = await pushCandidate(f, { branch: 'pu/a', files: { 'test.sh': gated(gate()) } });
    const b = await pushCandidate(f, { branch: 'pu/b', files: { 'b.txt': 'b\n' }, from: 'origin/pu/a' });
    const stop = new AbortController();
    const events: WatchEvent[] = [];
    const done = watch({
      repos: [{ repo: f.origin }],
      stateDir: f.stateDir,
      intervalMs: 3_600_000,
      signal: stop.signal,
      onEvent: (e) => events.push(e),
    });
    const answer = await eventually(async () => {
      const q = await askQueue(f.stateDir, f.origin);
      return q?.candidates.some((c) => c.state === 'testing') ? q : undefined;
    }, 'the queue while pu/a is tested');
    expect(answer.candidates).toEqual([
      expect.objectContaining({ state: 'testing', branch: 'pu/a', sha: a }),
      { state: 'queued', branch: 'pu/b', sha: b, ahead: 1 },
    ]);
    expect(await askQueue(f.stateDir, join(f.dir, 'other.git'))).toBeNull();
    writeFileSync(gate(), '');
    await eventually(
      () => (events.some((e) => e.type === 'run-finished') ? true : undefined),
      'the look to end',
    );
    stop.abort();
    await done;
    expect(await askQueue(f.stateDir, f.origin)).toBeNull();
  });
});
