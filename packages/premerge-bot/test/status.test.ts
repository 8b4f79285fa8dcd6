/** premerge-bot status: what the bot knows of a repository, read without creating or disturbing anything. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readStatus, runOnce } from '../src/engine.js';
import { formatStatus } from '../src/progress.js';
import { type WatchEvent, watch } from '../src/watch.js';
import {
  createFixture,
  eventually,
  type Fixture,
  pushCandidate,
  writableShared,
} from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

describe('readStatus', () => {
  it('in the three-repository layout answers without --candidates-from', async () => {
    f = await createFixture();
    const pub = await f.bare('public');
    const landed = await pushCandidate(f, { files: { 'a.txt': 'a\n' }, remote: pub });
    await runOnce({ repo: f.origin, candidatesFrom: pub, stateDir: f.stateDir });
    const next = await pushCandidate(f, { files: { 'b.txt': 'b\n' }, remote: pub });
    const status = await readStatus({ repo: f.origin, stateDir: f.stateDir });
    expect(status.candidatesFrom).toBe(pub);
    expect(status.recent.map((v) => [v.kind, v.sha])).toEqual([['landed', landed]]);
    expect(status.pending).toEqual([{ branch: 'pu', sha: next }]);
    expect(formatStatus(status)).toContain(`repository: ${f.origin} (candidates from ${pub})\n`);
  });

  it('lists the running candidate as testing, not pending, with subjects and authors', async () => {
    f = await createFixture((shared) => `test: sh test.sh\ncandidates: "pu/*"\n${writableShared(shared)}`);
    const gate = join(f.shared, 'gate');
    const a = await pushCandidate(f, {
      branch: 'pu/a',
      files: { 'test.sh': `while [ ! -e ${gate} ]; do sleep 0.05; done\n` },
      message: 'Wait for the gate',
    });
    const b = await pushCandidate(f, { branch: 'pu/b', from: 'origin/master', files: { 'b.txt': 'b\n' } });
    const run = runOnce({ repo: f.origin, stateDir: f.stateDir });
    try {
      const status = await eventually(async () => {
        const s = await readStatus({ repo: f.origin, stateDir: f.stateDir }).catch(() => undefined);
        return s?.candidates.some((c) => c.state === 'testing') ? s : undefined;
      }, 'the run to show');
      expect(status.candidates.map((c) => [c.state, c.branch])).toEqual([
        ['testing', 'pu/a'],
        ['queued', 'pu/b'],
      ]);
      expect(status.pending).toEqual([{ branch: 'pu/b', sha: b }]);
      expect(status.commits[a]).toEqual({ subject: 'Wait for the gate', author: 'Dev' });
      const text = formatStatus(status);
      expect(text).toContain(`\nbot: running (pid ${process.pid})\n`);
      expect(text).toMatch(
        new RegExp(`\\ntesting: pu/a ${a.slice(0, 12)} "Wait for the gate" \\(Dev\\) since \\S+\\n`),
      );
      expect(text).toContain(
        `\npending:\n  pu/b ${b.slice(0, 12)} "candidate for pu/b" (Dev), 1 ahead of it\n`,
      );
    } finally {
      writeFileSync(gate, '');
      await run;
    }
    const after = formatStatus(await readStatus({ repo: f.origin, stateDir: f.stateDir }));
    expect(after).toMatch(
      new RegExp(`\\n  \\S+  landed pu/a ${a.slice(0, 12)} on master .* \\("Wait for the gate", Dev\\)\\n`),
    );
  });

  it('knows a running watch that is idle', async () => {
    f = await createFixture();
    const stop = new AbortController();
    const events: WatchEvent[] = [];
    const daemon = watch({
      repos: [{ repo: f.origin }],
      stateDir: f.stateDir,
      intervalMs: 3_600_000,
      signal: stop.signal,
      onEvent: (e) => events.push(e),
    });
    try {
      await eventually(
        () => (events.some((e) => e.type === 'run-finished') ? true : undefined),
        'the first look',
      );
      const status = await readStatus({ repo: f.origin, stateDir: f.stateDir });
      expect(status.lockHolder).toBeNull();
      expect(status.watch?.pid).toBe(process.pid);
      expect(status.watch?.repos.map((r) => [r.repo, r.state])).toEqual([[f.origin, 'idle']]);
      expect(formatStatus(status)).toMatch(
        new RegExp(`\\nbot: watch \\(pid ${process.pid}\\) running, idle since \\S+, next look at \\S+\\n`),
      );
    } finally {
      stop.abort();
      await daemon;
    }
    expect(formatStatus(await readStatus({ repo: f.origin, stateDir: f.stateDir }))).toContain(
      '\nbot: not running\n',
    );
  });
});
