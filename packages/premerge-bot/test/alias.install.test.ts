import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALIASES, installAliases, uninstallAliases } from '../src/aliases.js';
import { type Sandbox, sandbox } from './helpers/git-fixture.js';

let box: Sandbox;
let clone: string;
let pub: string;

beforeEach(async () => {
  box = sandbox();
  pub = join(box.dir, 'public.git');
  clone = join(box.dir, 'clone');
  await box.git(box.dir, 'init', '-q', '--bare', '-b', 'master', pub);
  await box.git(box.dir, 'init', '-q', '-b', 'master', clone);
  await box.git(clone, 'commit', '-q', '--allow-empty', '-m', 'first');
  await box.git(clone, 'remote', 'add', 'origin', pub);
  await box.git(clone, 'switch', '-q', '-c', 'topic');
  await box.git(clone, 'commit', '-q', '--allow-empty', '-m', 'work');
});
afterEach(() => box.cleanup());

/** Publishes a verdict note on `sha` into the remote, as the engine's publish step does. */
async function publishNote(sha: string, note: string): Promise<void> {
  const other = join(box.dir, 'bot');
  await box.git(box.dir, 'clone', '-q', pub, other);
  await box.git(other, 'fetch', '-q', 'origin', 'pu');
  await box.git(other, 'notes', '--ref=premerge', 'add', '-m', note, sha);
  await box.git(other, 'push', '-q', 'origin', 'refs/notes/premerge');
}

describe('git aliases', () => {
  it('git pup force-pushes the current branch to the remote pu, and again after a rewrite', async () => {
    await installAliases({ cwd: clone });
    await box.git(clone, 'pup');
    const head = await box.git(clone, 'rev-parse', 'HEAD');
    expect(await box.git(pub, 'rev-parse', 'refs/heads/pu')).toBe(head);

    await box.git(clone, 'commit', '-q', '--amend', '--allow-empty', '-m', 'work, reworked');
    await box.git(clone, 'pup', 'origin');
    const rewritten = await box.git(clone, 'rev-parse', 'HEAD');
    expect(rewritten).not.toBe(head);
    expect(await box.git(pub, 'rev-parse', 'refs/heads/pu')).toBe(rewritten);
  });

  it('git pup refuses on a detached HEAD with a message and a non-zero exit, leaving the remote pu alone', async () => {
    await installAliases({ cwd: clone });
    await box.git(clone, 'pup');
    const pushed = await box.git(pub, 'rev-parse', 'refs/heads/pu');
    await box.git(clone, 'switch', '-q', '--detach', 'master');

    const r = box.gitStatus(clone, 'pup');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/detached/);
    expect(await box.git(pub, 'rev-parse', 'refs/heads/pu')).toBe(pushed);
  });

  it('pushes to the configured candidate branch and remote', async () => {
    await box.git(clone, 'remote', 'rename', 'origin', 'public');
    await installAliases({ cwd: clone, remote: 'public', branch: 'pu/alice' });
    await box.git(clone, 'pup');
    expect(await box.git(pub, 'rev-parse', 'refs/heads/pu/alice')).toBe(
      await box.git(clone, 'rev-parse', 'HEAD'),
    );
    expect(box.gitStatus(pub, 'rev-parse', '--verify', '-q', 'refs/heads/pu').status).not.toBe(0);
  });

  it('git pu-status says there is no record yet (exit 2), then shows the published verdict', async () => {
    await installAliases({ cwd: clone });
    await box.git(clone, 'pup');
    const sha = await box.git(clone, 'rev-parse', 'HEAD');
    expect(await box.git(clone, 'config', 'premerge.pushed')).toBe(`${sha} origin pu`);

    const before = box.gitStatus(clone, 'pu-status');
    expect(before.status).toBe(2);
    expect(before.stdout).toContain(`pu ${sha}: no record of this push`);

    await publishNote(sha, '{"kind":"landed","branch":"pu"}');
    const after = box.gitStatus(clone, 'pu-status');
    expect(after.status).toBe(0);
    expect(after.stdout).toBe(`pu ${sha}: landed\n{"kind":"landed","branch":"pu"}\n`);
  });

  it('runs under dash, the POSIX sh git uses on Debian', async () => {
    const dash = ['/usr/bin/dash', '/bin/dash'].find((p) => existsSync(p));
    expect(dash, 'dash is installed where the tests run').toBeDefined();
    await installAliases({ cwd: clone });
    // Git runs `!` aliases as: sh -c 'BODY "$@"' BODY ARGS...
    const body = ALIASES.pup!.slice(1);
    const r = spawnSync(dash!, ['-c', `${body} "$@"`, body, 'origin'], {
      cwd: clone,
      env: box.env,
      encoding: 'utf8',
    });
    expect(r.stderr).not.toMatch(/syntax error/);
    expect(r.status).toBe(0);
    expect(await box.git(pub, 'rev-parse', 'refs/heads/pu')).toBe(await box.git(clone, 'rev-parse', 'HEAD'));
  });

  it('uninstall removes the aliases and settings; a foreign alias is neither replaced nor removed', async () => {
    await installAliases({ cwd: clone, branch: 'pu/alice' });
    const removed = await uninstallAliases({ cwd: clone });
    expect(removed.aliases.sort()).toEqual(['pu-status', 'pup']);
    expect(box.gitStatus(clone, 'config', '--get', 'alias.pup').status).toBe(1);
    expect(box.gitStatus(clone, 'config', '--get', 'alias.pu-status').status).toBe(1);
    expect(box.gitStatus(clone, 'config', '--get', 'premerge.branch').status).toBe(1);
    expect(box.gitStatus(clone, 'pup').status).not.toBe(0);

    await box.git(clone, 'config', 'alias.pup', 'push public');
    await expect(installAliases({ cwd: clone })).rejects.toMatchObject({ code: 'PREMERGE_ALIAS_EXISTS' });
    await uninstallAliases({ cwd: clone });
    expect(await box.git(clone, 'config', '--get', 'alias.pup')).toBe('push public');
  });

  it('outside a clone, install fails with a code', async () => {
    await expect(installAliases({ cwd: box.dir })).rejects.toMatchObject({ code: 'PREMERGE_NOT_A_CLONE' });
  });
});
