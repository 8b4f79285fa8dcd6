/**
 * The App's small pieces on their own: the check run a verdict becomes (conclusions, titles, GitHub's size limits,
 * logs that carry backticks), the level a permission answer grants, the token's environment for git and the clone
 * URLs it is refused for, and the delivery journal across restarts (retention, a torn last line).
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PremergeError } from '../../src/errors.js';
import { completedCheck, conclusionFor, SUMMARY_LIMIT, TITLE_LIMIT } from '../../src/github/check-runs.js';
import { DeliveryJournal, rerunHint } from '../../src/github/deliveries.js';
import { checkedCloneUrl, gitAuthEnv, gitOriginFor } from '../../src/github/git-auth.js';
import { levelOf } from '../../src/github/permission.js';
import { workflowsRefusal } from '../../src/github/workflows-permission.js';
import type { Verdict } from '../../src/types.js';

const verdict = (over: Partial<Verdict> = {}): Verdict => ({
  kind: 'landed',
  branch: 'pu',
  sha: 'a'.repeat(40),
  base: 'b'.repeat(40),
  tested: 'a'.repeat(40),
  target: 'master',
  configHash: 'h',
  durationMs: 65_000,
  exitCode: 0,
  at: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('check runs from verdicts', () => {
  it('maps every verdict kind to the conclusion issue 9 names', () => {
    expect(
      (['landed', 'failed', 'timed-out', 'superseded', 'needs-rebase', 'refused', 'error'] as const).map(
        conclusionFor,
      ),
    ).toEqual([
      'success',
      'failure',
      'timed_out',
      'cancelled',
      'action_required',
      'action_required',
      'neutral',
    ]);
  });

  it('titles: the reason for action_required, a few words otherwise; the summary has the verdict and duration', () => {
    const landed = completedCheck(verdict({ reason: 'its test passed' }));
    expect(landed.output.title).toBe('Landed on master');
    expect(landed.output.summary).toContain('**landed**: its test passed');
    expect(landed.output.summary).toContain('| duration | 65s |');
    const refused = completedCheck(verdict({ kind: 'refused', reason: 'wanda may not land\nsecond line' }));
    expect(refused).toMatchObject({ conclusion: 'action_required', output: { title: 'wanda may not land' } });
    expect(completedCheck(verdict({ kind: 'failed', exitCode: 3 })).output.title).toBe(
      'Test failed (exit 3)',
    );
    expect(
      completedCheck(verdict({ kind: 'timed-out', exitCode: null, durationMs: 1_800_000 })).output.title,
    ).toBe('Test timed out after 30m');
  });

  it("stays within GitHub's limits, keeping the end of a huge log, whatever backticks it holds", () => {
    const log = `${'x'.repeat(100)}\n`.repeat(2000) + '```\nthe last line\n';
    const c = completedCheck(verdict({ kind: 'failed', exitCode: 1, reason: 'r'.repeat(500) }), log);
    expect(c.output.summary.length).toBeLessThanOrEqual(SUMMARY_LIMIT);
    expect(c.output.summary).toContain('the last line');
    expect(c.output.summary).toContain('[… cut]');
    // The block's fence is longer than any run of backticks inside it.
    expect(c.output.summary).toMatch(/````text\n/);
    const long = completedCheck(verdict({ kind: 'refused', reason: 'y'.repeat(1000) }));
    expect(long.output.title.length).toBe(TITLE_LIMIT);
  });
});

describe('permission levels', () => {
  const user = { id: 1, login: 'u' };
  it("GitHub's five roles from role_name; a custom role by the base permissions it carries", () => {
    expect(levelOf({ permission: 'write', role_name: 'maintain', user })).toBe('maintain');
    expect(levelOf({ permission: 'read', role_name: 'triage', user })).toBe('triage');
    expect(
      levelOf({
        permission: 'write',
        role_name: 'release-manager',
        user: {
          ...user,
          permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
        },
      }),
    ).toBe('write');
    expect(levelOf({ permission: 'admin', role_name: 'owner-ish', user: null })).toBe('admin');
    expect(levelOf({ permission: 'none', role_name: '', user })).toBe(null);
  });
});

describe('the token for git', () => {
  it('goes in an extraHeader scoped to the origin, with credential helpers off, never in the URL', () => {
    const env = gitAuthEnv('ghs_secret', 'https://github.com/o/r.git');
    expect(env).toEqual({
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'http.https://github.com/.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from('x-access-token:ghs_secret').toString('base64')}`,
      GIT_CONFIG_KEY_1: 'credential.helper',
      GIT_CONFIG_VALUE_1: '',
      GIT_TRACE_REDACT: '1',
    });
  });

  it('is sent only to the git host of GITHUB_API_URL', () => {
    expect(gitOriginFor('https://api.github.com')).toBe('https://github.com');
    expect(gitOriginFor('https://ghe.example.com/api/v3')).toBe('https://ghe.example.com');
    expect(checkedCloneUrl('https://github.com/o/r.git', 'https://api.github.com')).toBe(
      'https://github.com/o/r.git',
    );
    for (const url of ['https://evil.example/o/r.git', 'https://x:y@github.com/o/r.git', 'not a url']) {
      let code = '';
      try {
        checkedCloneUrl(url, 'https://api.github.com');
      } catch (e) {
        code = (e as PremergeError).code;
      }
      expect(code).toBe('PREMERGE_GITHUB_UNTRUSTED_URL');
    }
  });

  it('without the workflows permission, a change under .github/workflows/ is refused; with it, not', () => {
    expect(workflowsRefusal(['.github/workflows/ci.yml'], { contents: 'write' })).toMatch(
      /lacks the workflows/,
    );
    expect(workflowsRefusal(['.github/workflows/ci.yml'], { workflows: 'write' })).toBeNull();
    expect(workflowsRefusal([], { contents: 'write' })).toBeNull();
  });
});

describe('the delivery journal', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'premerge-deliveries-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('remembers deliveries and pushers across a restart, forgets them after 7 days, and survives a torn line', () => {
    const path = join(dir, 'deliveries.jsonl');
    const a = DeliveryJournal.open(path);
    const push = {
      repositoryId: 7,
      ref: 'refs/heads/pu',
      after: 'c'.repeat(40),
      sender: { id: 1, login: 'dev' },
    };
    expect(a.claim('d1', 'push', push)).toBe(true);
    expect(a.claim('d1', 'push', push)).toBe(false);
    a.close();
    appendFileSync(path, '{"type":"delivery","id":"torn');
    const b = DeliveryJournal.open(path);
    expect(b.has('d1')).toBe(true);
    expect(b.pusherOf(7, 'refs/heads/pu', 'c'.repeat(40))).toEqual({ id: 1, login: 'dev' });
    expect(b.claim('d2', 'installation')).toBe(true);
    b.close();
    expect(
      readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).id),
    ).toEqual(['d1', 'd2']);
    const later = DeliveryJournal.open(path, Date.now() + 8 * 86_400_000);
    expect(later.has('d1')).toBe(false);
    later.close();
    expect(readFileSync(path, 'utf8')).toBe('');
    writeFileSync(path, '');
  });

  it('journals a "Re-run" of one of its own check runs or suites, and keeps the latest per commit across a restart', () => {
    const path = join(dir, 'deliveries.jsonl');
    const sha = 'd'.repeat(40);
    const payload = (appId: number, action = 'rerequested') => ({
      action,
      check_run: { head_sha: sha, app: { id: appId } },
      repository: { id: 7 },
      sender: { id: 2, login: 'max' },
    });
    expect(rerunHint('check_run', payload(5), 5)).toEqual({
      repositoryId: 7,
      sha,
      sender: { id: 2, login: 'max' },
    });
    // Another App's run, another action, another event: not a re-run to act on.
    expect(rerunHint('check_run', payload(6), 5)).toBeUndefined();
    expect(rerunHint('check_run', payload(5, 'completed'), 5)).toBeUndefined();
    expect(rerunHint('push', payload(5), 5)).toBeUndefined();
    // "Re-run all checks" on its own suite of the commit, when the suite holds a run (GitHub counts them).
    const suite = (appId: number, runs: number) => ({
      action: 'rerequested',
      check_suite: { head_sha: sha, app: { id: appId }, latest_check_runs_count: runs },
      repository: { id: 7 },
      sender: { id: 3, login: 'dev' },
    });
    expect(rerunHint('check_suite', suite(5, 1), 5)).toEqual({
      repositoryId: 7,
      sha,
      sender: { id: 3, login: 'dev' },
    });
    expect(rerunHint('check_suite', suite(6, 1), 5)).toBeUndefined();
    expect(rerunHint('check_suite', suite(5, 0), 5)).toBeUndefined();
    expect(rerunHint('check_run', suite(5, 1), 5)).toBeUndefined();
    const a = DeliveryJournal.open(path);
    expect(a.rerunsOf(7).size).toBe(0);
    expect(a.claim('r1', 'check_run', undefined, rerunHint('check_run', payload(5), 5))).toBe(true);
    const first = a.rerunsOf(7).get(sha);
    expect(first).toBeDefined();
    a.close();
    const b = DeliveryJournal.open(path);
    expect(b.rerunsOf(7).get(sha)).toBe(first);
    expect(b.rerunsOf(8).size).toBe(0);
    b.close();
  });
});
