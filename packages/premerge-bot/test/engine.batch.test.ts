import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readStatus, runOnce } from '../src/engine.js';
import {
  createFixture,
  FAIL,
  type Fixture,
  pushCandidate,
  readLines,
  recordBranchValues,
  writableShared,
} from './helpers/git-fixture.js';

const fixtures: Fixture[] = [];
afterEach(() => {
  for (const f of fixtures.splice(0)) f.cleanup();
});

/** A repository with `n` pu/* candidates on master, the one at index `bad` breaking the tests. */
async function queueOf(n: number, bad: number) {
  const f = await createFixture();
  fixtures.push(f);
  const passes = join(f.shared, 'passes');
  const masterLog = join(f.dir, 'master-values');
  // The trusted test command records every commit it passed for.
  const config = `test: sh test.sh && git rev-parse HEAD >> ${passes}\ncandidates: "pu/*"\nrebase: true\n${writableShared(f.shared)}`;
  await f.commit({ '.github/premerge.yml': config }, 'configure premerge');
  await f.git(f.work, 'push', '--quiet', 'origin', 'HEAD:master');
  recordBranchValues(f.origin, 'master', masterLog);
  const shas: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `c${String(i).padStart(2, '0')}`;
    const files: Record<string, string> = { [`${name}.txt`]: `${name}\n` };
    if (i === bad) files['test.sh'] = FAIL;
    shas.push(await pushCandidate(f, { branch: `pu/${name}`, files }));
  }
  return { f, passes, masterLog, shas };
}

describe('batching with bisection (rebase: true)', () => {
  it('a queue with one bad candidate costs far fewer runs than one at a time and lands exactly the good ones', async () => {
    const n = 12;
    const bad = 6;
    const batched = await queueOf(n, bad);
    const single = await queueOf(n, bad);

    const rb = await runOnce({ repo: batched.f.origin, stateDir: batched.f.stateDir });
    const rs = await runOnce({ repo: single.f.origin, stateDir: single.f.stateDir, maxBatch: 1 });

    for (const [{ f, shas }, report] of [
      [batched, rb],
      [single, rs],
    ] as const) {
      const landed = report.verdicts.filter((v) => v.kind === 'landed').map((v) => v.sha);
      const failed = report.verdicts.filter((v) => v.kind === 'failed').map((v) => v.sha);
      expect(new Set(landed)).toEqual(new Set(shas.filter((_, i) => i !== bad)));
      expect(failed).toEqual([shas[bad]]);
      expect(report.verdicts).toHaveLength(n);
      // Master holds every good change and not the bad one, linearly.
      const tree = await f.git(f.origin, 'ls-tree', '--name-only', 'master');
      for (let i = 0; i < n; i++) expect(tree.includes(`c${String(i).padStart(2, '0')}.txt`)).toBe(i !== bad);
      expect(await f.git(f.origin, 'show', 'master:test.sh')).toBe('exit 0');
      expect(await f.git(f.origin, 'rev-list', '--merges', 'master')).toBe('');
    }
    expect(rs.testRuns).toBe(n);
    expect(rb.testRuns).toBeLessThanOrEqual(7);
    expect(rb.testRuns * 2).toBeLessThan(rs.testRuns + 1);

    // Every value master took passed the test as it stands.
    for (const { passes, masterLog } of [batched, single]) {
      const passed = new Set(readLines(passes));
      const values = readLines(masterLog);
      expect(values.length).toBeGreaterThan(0);
      expect(values.filter((v) => !passed.has(v))).toEqual([]);
    }
  });

  it.each([
    // As in the benchmark (it once got two failed verdicts in one run), and the two ends of the queue.
    { n: 16, bad: 10, where: 'the 11th' },
    { n: 16, bad: 0, where: 'the first' },
    { n: 16, bad: 15, where: 'the last' },
  ])(
    'queue of $n, $where bad: exactly one failed verdict for it, and at most log2(n) + 2 runs',
    async ({ n, bad }) => {
      const { f, shas } = await queueOf(n, bad);
      const options = { repo: f.origin, stateDir: f.stateDir };
      const report = await runOnce(options);
      const failed = report.verdicts.filter((v) => v.kind === 'failed');
      expect(failed.map((v) => v.sha)).toEqual([shas[bad]]);
      expect(report.verdicts.filter((v) => v.kind === 'landed')).toHaveLength(n - 1);
      expect(report.testRuns).toBeLessThanOrEqual(Math.ceil(Math.log2(n)) + 2);
      // The journal agrees, and a second run neither re-tests the bad candidate nor records anything.
      const again = await runOnce(options);
      expect([again.testRuns, again.verdicts.length]).toEqual([0, 0]);
      const { recent } = await readStatus(options);
      const perShaConfig = new Map<string, number>();
      for (const v of recent.filter((v) => v.kind === 'failed')) {
        const key = `${v.sha} ${v.configHash}`;
        perShaConfig.set(key, (perShaConfig.get(key) ?? 0) + 1);
      }
      expect([...perShaConfig.values()]).toEqual([1]);
    },
  );

  it('a good queue lands in one run', async () => {
    const { f, shas } = await queueOf(5, -1);
    const report = await runOnce({ repo: f.origin, stateDir: f.stateDir });
    expect(report.testRuns).toBe(1);
    expect(report.candidateRuns).toBe(5);
    expect(report.verdicts.map((v) => v.kind)).toEqual(Array(5).fill('landed'));
    expect(report.verdicts.map((v) => v.sha)).toEqual(shas);
    expect(await f.rev(f.origin, 'master')).toBe(report.verdicts.at(-1)!.tested);
  });
});
