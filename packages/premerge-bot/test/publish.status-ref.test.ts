/**
 * What the bot publishes where a developer reads it with plain git: the status ref (the queue, the run in progress,
 * when it was seen, what stops it, the end of each failure's log with secrets redacted) and the notes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runOnce } from '../src/engine.js';
import type { EngineEvent } from '../src/types.js';
import {
  createFixture,
  eventually,
  type Fixture,
  pushCandidate,
  pushToMaster,
  writableShared,
} from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

/** The file `path` of `repo`'s status commit. */
const statusFile = (repo: string, path = 'status') => f.git(repo, 'show', `refs/premerge/status:${path}`);

describe('refs/premerge/status', () => {
  it('is one orphan commit, replaced each time, holding the verdicts, the target and a failure log tail, redacted', async () => {
    // Secrets the bot knows of (its environment's credentials) must never be published.
    const secret = 'hunter2-not-for-the-public';
    process.env['PREMERGE_TEST_FAKE_TOKEN'] = secret;
    try {
      f = await createFixture();
      const lines = Array.from({ length: 80 }, (_, i) => `echo line ${i + 1}`).join('\n');
      const test = `${lines}\necho "using ${secret} and https://bot:pa55word@example.com/x.git"\nexit 1\n`;
      const sha = await pushCandidate(f, { files: { 'test.sh': test } });
      await runOnce({ repo: f.origin, stateDir: f.stateDir });
      const master = await f.rev(f.origin, 'master');
      const status = await statusFile(f.origin);
      expect(status).toMatch(
        /^premerge-bot-status 1\nrepo .*\nseen \d{4}-\d\d-\d\dT[\d:.]+Z\nseen-unix \d+\ntimeout-ms 1800000\n/,
      );
      expect(status).toContain(`\ntarget master ${master}\n`);
      expect(status).toMatch(
        new RegExp(`\\nsettled ${sha} pu failed \\S+\\nlog ${sha} logs/${sha}.log tail$`),
      );
      const tail = await statusFile(f.origin, `logs/${sha}.log`);
      const tailLines = tail.split('\n');
      // The last 50 lines: the end of the output, and the bot's own closing line.
      expect(tailLines).toHaveLength(50);
      expect(tailLines[0]).toBe('line 34');
      expect(tail).toContain('using [redacted] and https://[redacted]@example.com/x.git');
      expect(tail).not.toContain(secret);
      expect(tail).not.toContain('pa55word');
      expect(tailLines.at(-1)).toMatch(/^premerge-bot: failed \(exit 1\) after \d+ms$/);
      expect(JSON.parse(await statusFile(f.origin, 'status.json'))).toMatchObject({
        target: { branch: 'master', sha: master },
        candidates: [{ state: 'settled', branch: 'pu', sha, kind: 'failed' }],
        logs: [{ sha, path: `logs/${sha}.log`, whole: false }],
      });
      // Replaced, not appended to: its history stays one commit.
      await pushCandidate(f, { files: { 'b.txt': 'b\n' } });
      await runOnce({ repo: f.origin, stateDir: f.stateDir });
      expect(await f.git(f.origin, 'rev-list', '--count', 'refs/premerge/status')).toBe('1');
      expect(await statusFile(f.origin)).toMatch(/\nsettled \w+ pu landed /);
    } finally {
      delete process.env['PREMERGE_TEST_FAKE_TOKEN'];
    }
  });

  it('says what is being tested since when, and what is queued behind it', async () => {
    f = await createFixture((shared) => `test: sh test.sh\ncandidates: "pu/*"\n${writableShared(shared)}`);
    const gate = join(f.shared, 'gate');
    const held = `while [ ! -e ${gate} ]; do sleep 0.05; done\n`;
    const a = await pushCandidate(f, { branch: 'pu/a', files: { 'test.sh': held } });
    const b = await pushCandidate(f, { branch: 'pu/b', from: 'origin/master', files: { 'b.txt': 'b\n' } });
    const c = await pushCandidate(f, { branch: 'pu/c', from: 'origin/master', files: { 'c.txt': 'c\n' } });
    let startedAt = '';
    const onEvent = (e: EngineEvent) => {
      if (e.type === 'test-started' && e.members[0]!.sha === a) startedAt = new Date().toISOString();
    };
    const run = runOnce({ repo: f.origin, stateDir: f.stateDir, onEvent });
    const status = await eventually(async () => {
      const text = await statusFile(f.origin).catch(() => '');
      return text.includes(`\ntesting ${a} `) ? text : undefined;
    }, 'the status of the running test');
    writeFileSync(gate, '');
    await run;
    const since = new RegExp(`\\ntesting ${a} pu/a (\\S+)\\n`).exec(status)?.[1];
    expect(since && since <= startedAt).toBe(true);
    expect(status.endsWith(`\nqueued ${b} pu/b 1\nqueued ${c} pu/c 2`), status).toBe(true);
  });

  it('says what stops the bot: a config error', async () => {
    f = await createFixture();
    await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    await runOnce({ repo: f.origin, stateDir: f.stateDir });
    await pushToMaster(f, { '.github/premerge.yml': 'test: sh test.sh\ntimeout: soon\n' });
    await expect(runOnce({ repo: f.origin, stateDir: f.stateDir })).rejects.toMatchObject({
      code: 'PREMERGE_CONFIG_INVALID',
    });
    expect(await statusFile(f.origin)).toMatch(
      /\nproblem PREMERGE_CONFIG_INVALID \.github\/premerge\.yml:2: key 'timeout': expected a duration/,
    );
  });

  it('in the three-repository layout is on both repositories; whole logs only with publish-logs: true', async () => {
    f = await createFixture();
    const pub = await f.bare('public');
    const long = `${Array.from({ length: 120 }, (_, i) => `echo line ${i + 1}`).join('\n')}\nexit 1\n`;
    const sha = await pushCandidate(f, { files: { 'test.sh': long }, remote: pub });
    await runOnce({ repo: f.origin, candidatesFrom: pub, stateDir: f.stateDir });
    for (const repo of [f.origin, pub]) {
      expect(await statusFile(repo)).toContain(`\nlog ${sha} logs/${sha}.log tail`);
      expect((await statusFile(repo, `logs/${sha}.log`)).split('\n')).toHaveLength(50);
    }
    await pushToMaster(f, { '.github/premerge.yml': 'test: sh test.sh\npublish-logs: true\n' });
    const next = await pushCandidate(f, { files: { 'test.sh': long, 'x.txt': 'x\n' }, remote: pub });
    await runOnce({ repo: f.origin, candidatesFrom: pub, stateDir: f.stateDir });
    const whole = await statusFile(pub, `logs/${next}.log`);
    expect(whole.startsWith('$ sh test.sh\nline 1\nline 2\n')).toBe(true);
    expect(await statusFile(pub)).toContain(`\nlog ${next} logs/${next}.log whole`);
  });
});

describe('notes', () => {
  it('after a rebased landing are on the commit master got too', async () => {
    f = await createFixture('test: sh test.sh\nrebase: true\n');
    const sha = await pushCandidate(f, { files: { 'a.txt': 'a\n' } });
    await pushToMaster(f, { 'm.txt': 'm\n' });
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    const tested = report.verdicts[0]!.tested;
    expect([report.verdicts[0]!.kind, tested === sha]).toEqual(['landed', false]);
    expect(await f.rev(f.origin, 'master')).toBe(tested);
    const log = await f.git(f.origin, 'log', '--notes=premerge', '--format=%H %N', '-1', 'master');
    expect(log.startsWith(`${tested} {"kind":"landed","branch":"pu","sha":"${sha}"`)).toBe(true);
    expect(JSON.parse(await f.git(f.origin, 'notes', '--ref=premerge', 'show', sha)).tested).toBe(tested);
  });
});
