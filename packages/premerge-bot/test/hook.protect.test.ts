/**
 * `hook install --protect`: the target takes pushes from the bot only, told apart by a token only the bot holds,
 * although here the bot and the developer push as the same account.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { landConfigChange, runOnce } from '../src/engine.js';
import { installHook, uninstallHook } from '../src/hook.js';
import { runCli } from './helpers/cli-in-process.js';
import { createFixture, type Fixture, pushCandidate } from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

const push = (f: Fixture, ...args: string[]) => f.gitStatus(f.work, 'push', ...args);

describe('hook install --protect', () => {
  it('refuses direct pushes to the target, even with a guessed token, and lets the bot land', async () => {
    f = await createFixture();
    const installed = await installHook({ repo: f.origin, stateDir: f.stateDir, protect: true });
    // This test runs the bot itself: the post-receive hook must not start one in the background.
    rmSync(installed.postReceive);
    expect(installed.protect).toEqual({ path: join(f.origin, 'hooks', 'pre-receive'), target: 'master' });
    const token = readFileSync(join(f.stateDir, 'push-token'), 'utf8').trim();
    expect(statSync(join(f.stateDir, 'push-token')).mode & 0o777).toBe(0o600);
    expect(readFileSync(installed.protect!.path, 'utf8')).not.toContain(token);
    const base = await f.rev(f.origin, 'master');

    await f.git(f.work, 'checkout', '--quiet', '-B', 'direct', 'origin/master');
    await f.commit({ 'direct.txt': 'untested\n' });
    const direct = push(f, 'origin', 'HEAD:master');
    expect(direct.status).not.toBe(0);
    expect(direct.stderr).toContain('premerge-bot: refs/heads/master only takes tested commits');
    const guessed = push(f, '-o', `premerge-bot-token=${'0'.repeat(64)}`, 'origin', 'HEAD:master');
    expect(guessed.status).not.toBe(0);
    const deleted = push(f, 'origin', ':master');
    expect(deleted.status).not.toBe(0);
    expect(await f.rev(f.origin, 'master')).toBe(base);

    // Candidates are pushed as always; the bot's landing carries the token.
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
    expect(await f.rev(f.origin, 'master')).toBe(sha);
    // So do its verdicts and its status; nobody else can forge them.
    expect(JSON.parse(await f.git(f.origin, 'notes', '--ref=premerge', 'show', sha)).kind).toBe('landed');
    expect(await f.git(f.origin, 'show', 'refs/premerge/status:status')).toMatch(
      `\nsettled ${sha} pu landed `,
    );
    await f.git(f.work, 'fetch', '--quiet', 'origin', 'refs/notes/premerge:refs/notes/premerge');
    await f.git(f.work, 'notes', '--ref=premerge', 'add', '--force', '-m', '{"kind":"landed"}', 'HEAD');
    for (const ref of ['refs/notes/premerge', 'refs/premerge/status', 'refs/premerge/other']) {
      const forged = push(f, '--force', 'origin', `refs/notes/premerge:${ref}`);
      expect(forged.status, ref).not.toBe(0);
      expect(forged.stderr, ref).toContain(`premerge-bot: ${ref} is written by premerge-bot only`);
    }
    expect(push(f, 'origin', ':refs/premerge/status').status).not.toBe(0);
    expect(await f.git(f.origin, 'show', 'refs/premerge/status:status')).toMatch(
      `\nsettled ${sha} pu landed `,
    );
  });

  it('in the three-repository layout guards the verdicts in the candidates repository too', async () => {
    f = await createFixture();
    const pub = await f.bare('public');
    const installed = await installHook({
      repo: f.origin,
      candidatesFrom: pub,
      stateDir: f.stateDir,
      protect: true,
    });
    rmSync(installed.postReceive);
    expect(installed.protect?.candidatesPath).toBe(join(pub, 'hooks', 'pre-receive'));
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' }, remote: pub });
    const report = await runOnce({ repo: f.origin, candidatesFrom: pub, stateDir: f.stateDir });
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
    expect(JSON.parse(await f.git(pub, 'notes', '--ref=premerge', 'show', sha)).kind).toBe('landed');
    const forged = push(f, '--force', pub, `${sha}:refs/premerge/status`);
    expect(forged.stderr).toContain('premerge-bot: refs/premerge/status is written by premerge-bot only');
    // pu is pushed there as always.
    expect(push(f, '--force', pub, 'HEAD:refs/heads/pu').status).toBe(0);
    expect(await uninstallHook({ repo: f.origin, candidatesFrom: pub })).toEqual([
      join(f.origin, 'hooks', 'pre-receive'),
      join(pub, 'hooks', 'pre-receive'),
    ]);
  });

  it('lets the very first config arrive through premerge-bot land --config-change', async () => {
    f = await createFixture();
    await f.git(f.work, 'rm', '--quiet', '.github/premerge.yml');
    await f.git(f.work, 'commit', '--quiet', '-m', 'no config yet');
    await f.git(f.work, 'push', '--quiet', 'origin', 'master');
    rmSync((await installHook({ repo: f.origin, stateDir: f.stateDir, protect: 'master' })).postReceive);
    const sha = await pushCandidate(f, { files: { '.github/premerge.yml': 'test: sh test.sh\n' } });
    const report = await landConfigChange({ repo: f.origin, stateDir: f.stateDir }, sha);
    expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
  });

  it('never replaces a pre-receive hook of someone else; uninstall removes both of its own', async () => {
    f = await createFixture();
    const foreign = join(f.origin, 'hooks', 'pre-receive');
    writeFileSync(foreign, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    await expect(installHook({ repo: f.origin, stateDir: f.stateDir, protect: true })).rejects.toMatchObject({
      code: 'PREMERGE_HOOK_EXISTS',
    });
    expect(existsSync(join(f.origin, 'hooks', 'post-receive'))).toBe(false);
    const removedForeign = await uninstallHook({ repo: f.origin });
    expect([removedForeign, readFileSync(foreign, 'utf8')]).toEqual([[], '#!/bin/sh\nexit 0\n']);

    f.cleanup();
    f = await createFixture();
    const out = await runCli(
      ['hook', 'install', '--repo', f.origin, '--state-dir', f.stateDir, '--protect'],
      {
        env: f.env,
        cwd: f.dir,
      },
    );
    expect([out.code, out.stdout.split('\n')[1]]).toEqual([
      0,
      `installed ${join(f.origin, 'hooks', 'pre-receive')}: refs/heads/master and the bot's verdicts (refs/notes/premerge, refs/premerge/*) now take pushes from this bot only (its token: ${join(f.stateDir, 'push-token')})`,
    ]);
    expect(await uninstallHook({ repo: f.origin })).toEqual([
      join(f.origin, 'hooks', 'post-receive'),
      join(f.origin, 'hooks', 'pre-receive'),
    ]);
  });
});
