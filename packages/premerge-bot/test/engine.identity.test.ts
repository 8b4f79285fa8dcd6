/**
 * The engine keys a repository's state, lock and pokes by its identity (repo-identity.ts), and moves state an older
 * keying left; and a verdict it journaled is published even when the bot dies before publishing it.
 */
import { existsSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type EngineEvent, readStatus, runOnce } from '../src/engine.js';
import { legacyRepoPaths, repoPaths } from '../src/paths.js';
import { readJournal } from '../src/store.js';
import { builtEngineRunner, startEngine } from './helpers/engine-child.js';
import {
  createFixture,
  eventually,
  type Fixture,
  pushCandidate,
  writableShared,
} from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

describe('one repository, one identity', () => {
  it('reached through a symlink, it has one lock: a second bot defers to the first, which lands both', async () => {
    f = await createFixture((shared) => `test: sh test.sh\ncandidates: "pu/*"\n${writableShared(shared)}`);
    const link = join(f.dir, 'link.git');
    symlinkSync(f.origin, link);
    const gate = join(f.shared, 'gate');
    await pushCandidate(f, {
      branch: 'pu/a',
      files: { 'test.sh': `while [ ! -e '${gate}' ]; do sleep 0.05; done\n` },
    });
    expect(repoPaths(f.stateDir, link).lock).toBe(repoPaths(f.stateDir, f.origin).lock);
    let second: Awaited<ReturnType<typeof runOnce>> | undefined;
    let b = '';
    const onEvent = (e: EngineEvent) => {
      if (e.type === 'test-started' && !b) {
        b = 'pushing';
        void (async () => {
          b = await pushCandidate(f, { branch: 'pu/b', files: { 'b.txt': 'b\n' }, from: 'origin/pu/a' });
          second = await runOnce({ repo: link, stateDir: f.stateDir });
          writeFileSync(gate, '');
        })();
      }
    };
    const first = await runOnce({ repo: f.origin, stateDir: f.stateDir, onEvent });
    expect(second?.deferred).toBe(true);
    expect(first.verdicts.map((v) => [v.kind, v.branch])).toEqual([
      ['landed', 'pu/a'],
      ['landed', 'pu/b'],
    ]);
    expect(await f.rev(f.origin, 'master')).toBe(b);
    // No poke file: pokes go through the in-process scheduler or the watch's socket.
    expect(existsSync(join(repoPaths(f.stateDir, f.origin).root, 'poke'))).toBe(false);
  });

  it('finds a state directory made under the old keying, moves it and keeps its history', async () => {
    f = await createFixture();
    const link = join(f.dir, 'link.git');
    symlinkSync(f.origin, link);
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const first = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(first.verdicts.map((v) => v.kind)).toEqual(['landed']);
    // What premerge-bot 0.1 made for the repository named through the symlink: its path as given was the key.
    const now = repoPaths(f.stateDir, link);
    const old = legacyRepoPaths(f.stateDir, link);
    expect(old.root).not.toBe(now.root);
    renameSync(now.root, old.root);
    writeFileSync(join(old.root, 'repo.json'), `${JSON.stringify({ repo: link })}\n`);
    const events: EngineEvent[] = [];
    const again = await runOnce({ repo: link, stateDir: f.stateDir, onEvent: (e) => events.push(e) });
    expect(events.filter((e) => e.type === 'state-moved')).toEqual([
      { type: 'state-moved', from: old.root, to: now.root },
    ]);
    expect(existsSync(old.root)).toBe(false);
    // History kept: the landed verdict is still there and nothing is tested again.
    expect(again.testRuns).toBe(0);
    const status = await readStatus({ repo: f.origin, stateDir: f.stateDir });
    expect(status.recent.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
    expect(JSON.parse(readFileSync(join(now.root, 'repo.json'), 'utf8'))).toMatchObject({
      identity: f.origin,
    });
  });
});

describe('journaled before published', () => {
  let runner: string;
  beforeAll(() => {
    runner = builtEngineRunner();
  });

  it('a bot killed after journaling a verdict and before publishing it publishes it after the restart', async () => {
    f = await createFixture();
    const hold = join(f.dir, 'hold');
    const release = join(f.dir, 'release');
    const waiting = join(f.dir, 'waiting');
    // The repository holds a push of the bot's notes while `hold` exists, and then refuses it: the note of a bot
    // killed meanwhile never arrives, whatever its orphaned git push does.
    writeFileSync(
      join(f.origin, 'hooks', 'pre-receive'),
      `#!/bin/sh
while read -r old new ref; do
  case "$ref" in refs/notes/*)
    [ -e '${hold}' ] || exit 0
    touch '${waiting}'
    while [ ! -e '${release}' ]; do sleep 0.05; done
    rm -f '${waiting}'
    exit 1 ;;
  esac
done
exit 0
`,
      { mode: 0o755 },
    );
    writeFileSync(hold, '');
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    const bot = startEngine(runner, { repo: f.origin, stateDir: f.stateDir });
    const journal = repoPaths(f.stateDir, f.origin).journal;
    await eventually(
      () => (existsSync(waiting) ? true : undefined),
      'the publication held by the repository',
    );
    const { records } = readJournal(journal);
    const verdict = records.find((r) => r.type === 'verdict');
    expect(verdict?.type === 'verdict' && verdict.verdict.kind).toBe('landed');
    expect(records.some((r) => r.type === 'published')).toBe(false);
    bot.child.kill('SIGKILL');
    await bot.done;
    // The orphaned push is refused; the restarted bot's goes through.
    rmSync(hold);
    writeFileSync(release, '');
    await eventually(() => (existsSync(waiting) ? undefined : true), 'the held push to end');
    expect(f.gitStatus(f.origin, 'notes', '--ref=premerge', 'show', sha).status).not.toBe(0);
    const restart = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(restart.testRuns).toBe(0);
    const note = f.gitStatus(f.origin, 'notes', '--ref=premerge', 'show', sha);
    expect(note.status).toBe(0);
    expect(JSON.parse(note.stdout)).toMatchObject({ kind: 'landed', sha });
    const published = readJournal(journal).records.filter((r) => r.type === 'published');
    expect(published.flatMap((r) => (r.type === 'published' ? r.ids : []))).toContain(
      verdict?.type === 'verdict' ? verdict.id : '',
    );
  });
});
