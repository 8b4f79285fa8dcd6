import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { git, PINNED_CONFIG } from '../src/git.js';
import { type Sandbox, sandbox } from './helpers/git-fixture.js';

let box: Sandbox;
beforeEach(() => {
  box = sandbox('premerge-pins-');
});
afterEach(() => box.cleanup());

/** A hook script that leaves `marker` behind when git runs it. */
function hook(path: string, marker: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 });
}

describe('the pins every git command of the bot runs with', () => {
  it('reach git as command-line settings, above any config file', async () => {
    const repo = join(box.dir, 'r.git');
    await box.git(box.dir, 'init', '-q', '--bare', repo);
    await box.git(repo, 'config', 'core.hooksPath', join(box.dir, 'evil-hooks'));
    await box.git(repo, 'config', 'core.fsmonitor', join(box.dir, 'monitor.sh'));
    for (const setting of PINNED_CONFIG) {
      const [key, value] = setting.split('=') as [string, string];
      const r = await git(['--git-dir', repo, 'config', '--show-origin', '--get', key], { env: box.env });
      expect(r.stdout).toBe(`command line:\t${value}\n`);
    }
  });

  it("keep a repository's hooks and fsmonitor from running, but not the hooks of the repository pushed to", async () => {
    const mirror = join(box.dir, 'mirror.git');
    const target = join(box.dir, 'target.git');
    const work = join(box.dir, 'work');
    await box.git(box.dir, 'init', '-q', '--bare', '-b', 'master', target);
    await box.git(box.dir, 'init', '-q', '-b', 'master', work);
    await box.git(work, 'commit', '-q', '--allow-empty', '-m', 'one');
    await box.git(box.dir, 'clone', '-q', '--bare', work, mirror);
    // What a test that reached the mirror once wrote: a pre-push hook, hooks elsewhere, a file-system monitor.
    hook(join(mirror, 'hooks', 'pre-push'), join(box.dir, 'pre-push-ran'));
    hook(join(box.dir, 'evil-hooks', 'pre-push'), join(box.dir, 'hooks-path-ran'));
    hook(join(box.dir, 'monitor.sh'), join(box.dir, 'fsmonitor-ran'));
    hook(join(target, 'hooks', 'pre-receive'), join(box.dir, 'pre-receive-ran'));
    await box.git(mirror, 'config', 'core.fsmonitor', join(box.dir, 'monitor.sh'));

    await git(['--git-dir', mirror, 'push', '--quiet', target, 'master:refs/heads/master'], { env: box.env });
    const tree = join(box.dir, 'tree');
    mkdirSync(tree);
    await git(['--git-dir', mirror, '--work-tree', tree, 'checkout', '--quiet', '--force', 'master'], {
      env: box.env,
    });
    await git(['--git-dir', mirror, '--work-tree', tree, 'status', '--porcelain'], { env: box.env });

    expect(await box.git(target, 'rev-parse', 'master')).toBe(await box.git(work, 'rev-parse', 'HEAD'));
    expect(existsSync(join(box.dir, 'pre-receive-ran'))).toBe(true);
    expect(['pre-push-ran', 'fsmonitor-ran'].filter((m) => existsSync(join(box.dir, m)))).toEqual([]);
    await box.git(mirror, 'config', 'core.hooksPath', join(box.dir, 'evil-hooks'));
    await git(['--git-dir', mirror, 'push', '--quiet', '--force', target, 'master:refs/heads/other'], {
      env: box.env,
    });
    expect(existsSync(join(box.dir, 'hooks-path-ran'))).toBe(false);
  });
});
