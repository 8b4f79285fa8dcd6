import { describe, expect, it } from 'vitest';
import type { OnceReport, Verdict } from '../src/engine.js';
import { formatVerdict, formatWatchEvent, jsonLine, summarize } from '../src/progress.js';

const verdict = (over: Partial<Verdict>): Verdict => ({
  kind: 'landed',
  branch: 'pu',
  sha: 'a'.repeat(40),
  base: 'b'.repeat(40),
  tested: 'a'.repeat(40),
  target: 'master',
  configHash: 'h',
  durationMs: 3200,
  exitCode: 0,
  at: '2026-01-01T00:00:00.000Z',
  ...over,
});

const report = (verdicts: Verdict[]): OnceReport => ({
  repo: '/r',
  target: 'master',
  targetSha: 'c'.repeat(40),
  verdicts,
  testRuns: 1,
  candidateRuns: verdicts.length,
  pendingAtStart: verdicts.length,
  deferred: false,
  aborted: false,
});

describe('progress lines', () => {
  it('says what happened to each candidate in one line', () => {
    expect(formatVerdict(verdict({}))).toBe('landed pu aaaaaaaaaaaa on master (3.2s)');
    expect(formatVerdict(verdict({ tested: 'd'.repeat(40) }))).toBe(
      'landed pu aaaaaaaaaaaa on master as dddddddddddd (3.2s)',
    );
    expect(formatVerdict(verdict({ kind: 'failed', exitCode: 2, logPath: '/s/l.log' }))).toBe(
      'failed pu aaaaaaaaaaaa: exit 2 after 3.2s, log /s/l.log',
    );
    expect(
      formatVerdict(
        verdict({ kind: 'timed-out', exitCode: null, reason: 'ran past the configured limit, timeout: 3s' }),
      ),
    ).toBe('timed-out pu aaaaaaaaaaaa after 3.2s: ran past the configured limit, timeout: 3s');
    expect(formatVerdict(verdict({ kind: 'landed', reason: 'its test passed on master bbbbbbbbbbbb' }))).toBe(
      'landed pu aaaaaaaaaaaa on master (3.2s): its test passed on master bbbbbbbbbbbb',
    );
    expect(formatVerdict(verdict({ kind: 'needs-rebase', reason: 'master moved' }))).toBe(
      'needs-rebase pu aaaaaaaaaaaa: master moved',
    );
  });

  it('summarizes a run by verdict kind', () => {
    const two = report([verdict({}), verdict({ kind: 'failed', branch: 'pu/x' })]);
    expect(summarize(two)).toBe('2 verdict(s) in 1 test run(s): landed 1, failed 1; master at cccccccccccc');
    expect(summarize(report([]))).toBe('nothing to do (master at cccccccccccc)');
  });

  it('JSON lines carry a timestamp and flatten engine events under their own type', () => {
    const at = new Date('2026-01-02T03:04:05.000Z');
    const line = jsonLine(
      { type: 'engine', repo: '/r', event: { type: 'verdict', verdict: verdict({}) } },
      at,
    );
    expect(JSON.parse(line)).toEqual({
      time: at.toISOString(),
      repo: '/r',
      type: 'verdict',
      verdict: verdict({}),
    });
    expect(JSON.parse(jsonLine({ type: 'poked', repo: '/r' }, at))).toEqual({
      time: at.toISOString(),
      type: 'poked',
      repo: '/r',
    });
    expect(line.includes('\n')).toBe(false);
  });

  it('shows a daemon error with its stack only when it is a bug', () => {
    const user = formatWatchEvent({
      type: 'run-failed',
      repo: '/r',
      code: 'PREMERGE_CONFIG_INVALID',
      message: 'x:1: bad',
    });
    expect(user).toBe('/r: error: x:1: bad');
    const bug = formatWatchEvent({
      type: 'run-failed',
      repo: '/r',
      code: undefined,
      message: 'boom',
      stack: 'Error: boom\n  at f',
    });
    expect(bug).toBe('/r: error: boom\nError: boom\n  at f');
  });
});
