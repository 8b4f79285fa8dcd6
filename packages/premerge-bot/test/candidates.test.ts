import { describe, expect, it } from 'vitest';
import { isSettled, selectCandidates, settlingVerdict } from '../src/candidates.js';
import { matchesCandidate, parseConfig } from '../src/config.js';
import type { Pusher, Verdict } from '../src/types.js';

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
  const tip = { branch: 'pu', sha: 'c' };

  it('landed settles a commit for good', () => {
    expect(isSettled(tip, 'other', config, [v('landed', 'b', 'old-config')])).toBe(true);
  });
  it('failed and timed-out settle it for their config, whatever the base', () => {
    expect(isSettled(tip, 'b2', config, [v('failed', 'b1')])).toBe(true);
    expect(isSettled(tip, 'b2', config, [v('timed-out', 'b1')])).toBe(true);
    expect(isSettled(tip, 'b1', config, [v('failed', 'b1', 'old-config')])).toBe(false);
  });
  it('needs-rebase and error are looked at again once the target moved', () => {
    expect(isSettled(tip, 'b1', config, [v('needs-rebase', 'b1')])).toBe(true);
    expect(isSettled(tip, 'b2', config, [v('needs-rebase', 'b1')])).toBe(false);
    expect(isSettled(tip, 'b2', config, [v('error', 'b1')])).toBe(false);
  });
  it('superseded settles nothing', () => {
    expect(isSettled(tip, 'b1', config, [v('superseded', 'b1')])).toBe(false);
  });

  it('a refusal about the pusher settles the commit for that pusher only; another pusher is decided afresh', () => {
    const wanda: Pusher = { login: 'wanda', id: 7 };
    const max: Pusher = { login: 'max', id: 8 };
    const refused = { ...v('refused', 'b1'), refusedPusher: wanda };
    const byWanda = { branch: 'pu/wanda', sha: 'c', pusher: wanda };
    const byMax = { branch: 'pu/max', sha: 'c', pusher: max };
    expect(settlingVerdict(byWanda, 'b1', config, [refused])).toBe(refused);
    expect(isSettled(byMax, 'b1', config, [refused])).toBe(false);
    // The same account renamed is asked about again (its old login may belong to someone else now).
    expect(isSettled({ ...byWanda, pusher: { login: 'wanda2', id: 7 } }, 'b1', config, [refused])).toBe(
      false,
    );
    // A pusher that could not be established settles only a tip whose pusher is still unknown.
    const unknown = { ...v('refused', 'b1'), refusedPusher: null };
    expect(isSettled(tip, 'b1', config, [unknown])).toBe(true);
    expect(isSettled(byMax, 'b1', config, [unknown])).toBe(false);
    // Still per base and config, as every refusal.
    expect(isSettled(byWanda, 'b2', config, [refused])).toBe(false);
    // A refusal about the commit itself (its config, what it touches) holds whoever pushes it.
    expect(isSettled(byMax, 'b1', config, [v('refused', 'b1')])).toBe(true);
  });
});
