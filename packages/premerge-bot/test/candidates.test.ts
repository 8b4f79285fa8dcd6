import { describe, expect, it } from 'vitest';
import { isSettled, selectCandidates } from '../src/candidates.js';
import { matchesCandidate, parseConfig } from '../src/config.js';
import type { Verdict } from '../src/types.js';

describe('candidate selection', () => {
  it('matches names and globs: * within a path segment, ** across', () => {
    expect(matchesCandidate('pu', ['pu'])).toBe(true);
    expect(matchesCandidate('pu/alice', ['pu/*'])).toBe(true);
    expect(matchesCandidate('pu/alice/wip', ['pu/*'])).toBe(false);
    expect(matchesCandidate('pu/alice/wip', ['pu/**'])).toBe(true);
    expect(matchesCandidate('pux', ['pu'])).toBe(false);
    expect(matchesCandidate('pu.x', ['pu?x'])).toBe(false);
  });

  it('never selects the target, and sorts by branch name', () => {
    const config = parseConfig('test: x\ncandidates: ["pu/*", "**"]\n');
    const picked = selectCandidates(
      [
        { branch: 'pu/b', sha: '2' },
        { branch: 'master', sha: '0' },
        { branch: 'pu/a', sha: '1' },
      ],
      config,
    );
    expect(picked.map((c) => c.branch)).toEqual(['pu/a', 'pu/b']);
  });
});

describe('isSettled', () => {
  const config = parseConfig('test: x\n');
  const v = (kind: Verdict['kind'], base: string, configHash = config.hash): Verdict => ({
    kind,
    branch: 'pu',
    sha: 'c',
    base,
    tested: 'c',
    target: 'master',
    configHash,
    durationMs: 0,
    exitCode: null,
    at: '',
  });

  it('landed settles a commit for good', () => {
    expect(isSettled('c', 'other', config, [v('landed', 'b', 'old-config')])).toBe(true);
  });
  it('failed and timed-out settle it for their config, whatever the base', () => {
    expect(isSettled('c', 'b2', config, [v('failed', 'b1')])).toBe(true);
    expect(isSettled('c', 'b2', config, [v('timed-out', 'b1')])).toBe(true);
    expect(isSettled('c', 'b1', config, [v('failed', 'b1', 'old-config')])).toBe(false);
  });
  it('needs-rebase and error are looked at again once the target moved', () => {
    expect(isSettled('c', 'b1', config, [v('needs-rebase', 'b1')])).toBe(true);
    expect(isSettled('c', 'b2', config, [v('needs-rebase', 'b1')])).toBe(false);
    expect(isSettled('c', 'b2', config, [v('error', 'b1')])).toBe(false);
  });
  it('superseded settles nothing', () => {
    expect(isSettled('c', 'b1', config, [v('superseded', 'b1')])).toBe(false);
  });
});
