import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GitForge } from '../src/git-forge.js';
import { land } from '../src/landing.js';
import { Mirror } from '../src/workspace.js';
import { createFixture, type Fixture, pushCandidate, pushToMaster } from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

async function mirrorOf(f: Fixture): Promise<Mirror> {
  const mirror = new Mirror(join(f.dir, 'mirror.git'));
  await mirror.ensure();
  await mirror.fetch(f.origin);
  return mirror;
}

const forgeOf = (f: Fixture, mirror: Mirror) =>
  new GitForge({ repo: f.origin, candidatesFrom: undefined, mirror, stateDir: join(f.dir, 'state') });

describe('land (compare-and-swap)', () => {
  it('moves the target from the exact base to the tested commit', async () => {
    f = await createFixture();
    const base = await f.rev(f.origin, 'master');
    const tested = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const mirror = await mirrorOf(f);
    expect(await land(forgeOf(f, mirror), mirror, 'master', base, tested)).toEqual({ ok: true });
    expect(await f.rev(f.origin, 'master')).toBe(tested);
  });

  it('does nothing when the target is no longer at the base', async () => {
    f = await createFixture();
    const base = await f.rev(f.origin, 'master');
    const tested = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const mirror = await mirrorOf(f);
    const moved = await pushToMaster(f, { 'm.txt': 'm\n' });
    expect(await land(forgeOf(f, mirror), mirror, 'master', base, tested)).toEqual({
      ok: false,
      reason: 'moved',
      actual: moved,
    });
    expect(await f.rev(f.origin, 'master')).toBe(moved);
  });

  it('refuses a commit that does not descend from the base, though the lease alone would allow it', async () => {
    f = await createFixture();
    const base = await f.rev(f.origin, 'master');
    // A rewrite of master's history: same base, but the tested commit is not its descendant.
    await f.git(f.work, 'checkout', '--quiet', '--orphan', 'rewrite');
    const unrelated = await f.commit({ 'x.txt': 'x\n' }, 'unrelated history');
    await f.git(f.work, 'push', '--quiet', 'origin', 'HEAD:refs/heads/pu');
    const mirror = await mirrorOf(f);
    expect(await land(forgeOf(f, mirror), mirror, 'master', base, unrelated)).toEqual({
      ok: false,
      reason: 'not-descendant',
    });
    expect(await f.rev(f.origin, 'master')).toBe(base);
    // The lease by itself would have let the rewrite through:
    await f.git(
      f.work,
      'push',
      '--quiet',
      `--force-with-lease=refs/heads/master:${base}`,
      'origin',
      'HEAD:master',
    );
    expect(await f.rev(f.origin, 'master')).toBe(unrelated);
  });
});
