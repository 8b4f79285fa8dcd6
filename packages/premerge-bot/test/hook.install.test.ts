import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hookScript, installHook, shellQuote, uninstallHook } from '../src/hook.js';
import { bareSandbox, type Sandbox } from './helpers/git-fixture.js';

let box: Sandbox;
let bare: string;
let state: string;

beforeEach(async () => {
  ({ box, bare, state } = await bareSandbox('state dir'));
});
afterEach(() => box.cleanup());

describe('hook install', () => {
  it('writes an executable post-receive hook that runs premerge-bot by absolute path, else from PATH', async () => {
    const path = (await installHook({ repo: bare, stateDir: state })).postReceive;
    expect(path).toBe(join(bare, 'hooks', 'post-receive'));
    expect(statSync(path).mode & 0o111).toBe(0o111);
    const text = readFileSync(path, 'utf8');
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
    expect(text).toContain(`\nnode=${shellQuote(process.execPath)}\n`);
    expect(text).toMatch(/\nscript='\/[^']*\/bin\/premerge-bot\.js'\n/);
    expect(text).toContain('[ -x "$node" ] || node=$(command -v node 2>/dev/null) || node=\n');
    expect(text).toContain(
      `"$script" once --poke --repo ${shellQuote(bare)} --state-dir ${shellQuote(state)} `,
    );
  });

  it('is valid POSIX sh (dash -n) even with quotes in the paths', () => {
    const text = hookScript({
      repo: "/srv/it's here.git",
      stateDir: '/var/state $HOME',
      command: { node: '/usr/bin/node', script: '/opt/premerge bot/bin/premerge-bot.js' },
    });
    const r = spawnSync('dash', ['-n'], { input: text, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('goes into the candidates repository in the 3-repo workflow', async () => {
    const origin = join(box.dir, 'origin.git');
    await box.git(box.dir, 'init', '-q', '--bare', origin);
    const path = (await installHook({ repo: origin, candidatesFrom: bare, stateDir: state })).postReceive;
    expect(path).toBe(join(bare, 'hooks', 'post-receive'));
    expect(existsSync(join(origin, 'hooks', 'post-receive'))).toBe(false);
    expect(readFileSync(path, 'utf8')).toContain(
      `--repo ${shellQuote(origin)} --candidates-from ${shellQuote(bare)}`,
    );
  });

  it('re-installs over its own hook but refuses to replace or remove a foreign one', async () => {
    await installHook({ repo: bare, stateDir: state });
    await installHook({ repo: bare, stateDir: join(box.dir, 'other') });
    expect(readFileSync(join(bare, 'hooks', 'post-receive'), 'utf8')).toContain('other');

    writeFileSync(join(bare, 'hooks', 'post-receive'), '#!/bin/sh\necho mine\n');
    await expect(installHook({ repo: bare, stateDir: state })).rejects.toMatchObject({
      code: 'PREMERGE_HOOK_EXISTS',
    });
    await expect(uninstallHook({ repo: bare })).rejects.toMatchObject({ code: 'PREMERGE_HOOK_EXISTS' });
    expect(readFileSync(join(bare, 'hooks', 'post-receive'), 'utf8')).toBe('#!/bin/sh\necho mine\n');
  });

  it('uninstall removes the hook', async () => {
    const path = (await installHook({ repo: bare, stateDir: state })).postReceive;
    expect(await uninstallHook({ repo: bare })).toEqual([path]);
    expect(existsSync(path)).toBe(false);
    expect(await uninstallHook({ repo: bare })).toEqual([]);
  });

  it('needs a local git repository', async () => {
    await expect(installHook({ repo: join(box.dir, 'none'), stateDir: state })).rejects.toMatchObject({
      code: 'PREMERGE_NOT_A_REPO',
    });
    await expect(installHook({ repo: 'ssh://host/repo.git', stateDir: state })).rejects.toMatchObject({
      code: 'PREMERGE_HOOK_NOT_LOCAL',
    });
  });

  it('does not start a run for a push of notes only, and clears GIT_* before starting one', () => {
    // A stand-in for premerge-bot records how the hook called it and what GIT_* it saw.
    const fake = join(box.dir, 'fake-bot.js');
    const record = join(box.dir, 'called');
    writeFileSync(
      fake,
      `const fs = require('fs'); const sid = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[3];
fs.writeFileSync(${JSON.stringify(record)} + '-' + process.argv[2], JSON.stringify({ argv: process.argv.slice(2), sid, git: Object.keys(process.env).filter((k) => k.startsWith('GIT_')) }));`,
    );
    const text = hookScript({
      repo: bare,
      stateDir: state,
      command: { node: process.execPath, script: fake },
    });
    const hook = join(box.dir, 'post-receive');
    writeFileSync(hook, text, { mode: 0o755 });
    const env = { ...box.env, GIT_DIR: '.', GIT_QUARANTINE_PATH: '/x', GIT_PUSH_OPTION_COUNT: '0' };
    const zero = '0'.repeat(40);

    const notes = spawnSync(hook, {
      cwd: bare,
      env,
      input: `${zero} ${'a'.repeat(40)} refs/notes/premerge\n`,
    });
    expect(notes.status).toBe(0);
    // The hook creates the state dir in the foreground right before starting the bot: its absence shows no start.
    expect(existsSync(state)).toBe(false);

    const push = spawnSync(hook, { cwd: bare, env, input: `${zero} ${'a'.repeat(40)} refs/heads/pu\n` });
    expect(push.status).toBe(0);
    const deadline = Date.now() + 30_000;
    while (!existsSync(`${record}-once`) && Date.now() < deadline) spawnSync('sleep', ['0.05']);
    const called = JSON.parse(readFileSync(`${record}-once`, 'utf8')) as {
      argv: string[];
      git: string[];
      sid: string;
    };
    expect(called.argv).toEqual(['once', '--poke', '--repo', bare, '--state-dir', state]);
    // The answer to the pusher ran in the foreground, before the hook returned.
    const answered = JSON.parse(readFileSync(`${record}-hook`, 'utf8')) as { argv: string[]; git: string[] };
    expect(answered).toMatchObject({
      argv: ['hook', 'answer', '--repo', bare, '--state-dir', state],
      git: [],
    });
    expect(called.git).toEqual([]);
    // Detached into a session of its own (setsid is in util-linux, present wherever these tests run).
    const ownSid = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[3];
    expect(called.sid).not.toBe(ownSid);
  });
});
