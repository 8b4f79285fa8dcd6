import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  compactRecords,
  Journal,
  type JournalRecord,
  readJournal,
  removeCompactionLeftovers,
  rewriteJournal,
  settlingVerdicts,
  summarize,
} from '../src/store.js';
import type { Verdict } from '../src/types.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'premerge-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const verdict = (sha: string, runId?: string): Verdict => ({
  kind: 'failed',
  branch: 'pu',
  sha,
  base: 'b',
  tested: sha,
  target: 'master',
  configHash: 'h',
  durationMs: 1,
  exitCode: 1,
  at: '2026-01-01T00:00:00.000Z',
  ...(runId ? { runId } : {}),
});

describe('journal', () => {
  it('reads back what was appended', () => {
    const path = join(dir, 'j.jsonl');
    const j = Journal.open(path);
    j.append({ type: 'verdict', id: '1', verdict: verdict('a') });
    j.close();
    const { records, tornLines } = readJournal(path);
    expect(tornLines).toBe(0);
    expect(records).toEqual([{ type: 'verdict', id: '1', verdict: verdict('a') }]);
  });

  it('ignores a torn last line and starts the next record on a line of its own', () => {
    const path = join(dir, 'j.jsonl');
    const j = Journal.open(path);
    j.append({ type: 'verdict', id: '1', verdict: verdict('a') });
    j.close();
    appendFileSync(path, '{"type":"verdict","id":"2","verd'); // a crash in the middle of a write
    expect(readJournal(path).tornLines).toBe(1);
    const again = Journal.open(path);
    expect(again.repairedTail).toBe(true);
    again.append({ type: 'verdict', id: '3', verdict: verdict('c') });
    again.close();
    const { records, tornLines } = readJournal(path);
    expect(tornLines).toBe(1);
    expect(records.map((r) => (r.type === 'verdict' ? r.id : ''))).toEqual(['1', '3']);
    expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true);
    const third = Journal.open(path);
    expect(third.repairedTail).toBe(false);
    third.close();
  });

  it('a missing journal is empty', () => {
    expect(readJournal(join(dir, 'none.jsonl'))).toEqual({ records: [], tornLines: 0 });
  });

  it('derives runs cut off by a crash and passes not yet landed', () => {
    const started = (runId: string) =>
      ({
        type: 'run-started',
        runId,
        at: 'x',
        target: 'master',
        configHash: 'h',
        base: 'b',
        tested: runId,
        members: [{ branch: 'pu', sha: runId, tested: runId }],
        logPath: '/l',
      }) as const;
    const path = join(dir, 'j.jsonl');
    writeFileSync(
      path,
      [
        started('cut'),
        { type: 'run-process', runId: 'cut', pgid: 42, startTime: '7' },
        started('passed'),
        { type: 'run-passed', runId: 'passed', at: 'x', durationMs: 5, exitCode: 0 },
        started('done'),
        { type: 'verdict', id: 'v', verdict: verdict('done', 'done') },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    const { records } = readJournal(path);
    const s = summarize(records);
    expect([...s.runs].map(([id, r]) => [id, r.ended, Boolean(r.passed), r.process?.pgid])).toEqual([
      ['cut', false, false, 42],
      ['passed', false, true, undefined],
      ['done', true, false, undefined],
    ]);
  });

  it('compacts to the latest verdict per commit and config, runs not ended, retries and recent deliveries', () => {
    const v = (
      sha: string,
      kind: Verdict['kind'],
      configHash: string,
      at: string,
      runId?: string,
    ): Verdict => ({
      ...verdict(sha, runId),
      kind,
      configHash,
      at,
    });
    const started = (runId: string): JournalRecord => ({
      type: 'run-started',
      runId,
      at: 'x',
      target: 'master',
      configHash: 'h',
      base: 'b',
      tested: runId,
      members: [{ branch: 'pu', sha: runId, tested: runId }],
      logPath: '/l',
    });
    const now = Date.parse('2026-01-10T00:00:00.000Z');
    const records: JournalRecord[] = [
      started('r1'),
      { type: 'run-process', runId: 'r1', pgid: 1, startTime: '1' },
      { type: 'verdict', id: 'a1', verdict: v('a', 'failed', 'h', '2026-01-01T00:00:00.000Z', 'r1') },
      { type: 'published', remote: 'origin', ids: ['a1'] },
      { type: 'retry', sha: 'a', at: '2026-01-02T00:00:00.000Z' },
      started('r2'),
      { type: 'run-ended', runId: 'r2', at: 'x', outcome: 'stopped' },
      { type: 'verdict', id: 'a2', verdict: v('a', 'landed', 'h', '2026-01-03T00:00:00.000Z') },
      { type: 'verdict', id: 'a3', verdict: v('a', 'failed', 'other', '2026-01-03T00:00:00.000Z') },
      { type: 'verdict', id: 'b1', verdict: v('b', 'needs-rebase', 'h', '2026-01-04T00:00:00.000Z') },
      { type: 'published', remote: 'origin', ids: ['a2', 'b1'] },
      { type: 'published', remote: 'public', ids: ['a1', 'a3'] },
      { type: 'delivery', id: 'old', at: '2026-01-02T00:00:00.000Z' },
      { type: 'delivery', id: 'new', at: '2026-01-09T00:00:00.000Z' },
      { type: 'retry', sha: 'c', at: '2026-01-05T00:00:00.000Z' },
      { type: 'retry', sha: 'c', at: '2026-01-06T00:00:00.000Z' },
      // Cut off by a crash: recovery must still see it.
      started('r3'),
      { type: 'run-process', runId: 'r3', pgid: 3, startTime: '3' },
    ];
    const kept = compactRecords(records, now);
    expect(kept).toEqual([
      records[4], // the retry of a
      records[7], // a landed (config h): the latest of a under h
      records[8], // a failed under another config
      records[9],
      records[13], // the delivery of 2026-01-09
      records[15], // the latest retry of c
      records[16],
      records[17],
      { type: 'published', remote: 'origin', ids: ['a2', 'b1'] },
      { type: 'published', remote: 'public', ids: ['a3'] },
    ]);
    // What the bot decides from the journal is the same before and after.
    const before = summarize(records);
    const after = summarize(kept);
    const latestKinds = (st: typeof before) =>
      Object.fromEntries(settlingVerdicts(st).map((x) => [`${x.sha} ${x.configHash}`, x.kind]));
    expect(latestKinds(after)).toEqual(latestKinds(before));
    expect([...after.runs.keys()]).toEqual(['r3']);
    expect([...after.published].map(([r, ids]) => [r, [...ids]])).toEqual([
      ['origin', ['a2', 'b1']],
      ['public', ['a3']],
    ]);
    expect([...after.deliveries.keys()]).toEqual(['new']);
  });

  it('rewrites the journal atomically, and a compaction cut off by a crash leaves the journal whole', () => {
    const path = join(dir, 'j.jsonl');
    const j = Journal.open(path);
    for (const id of ['1', '2', '3']) j.append({ type: 'verdict', id, verdict: verdict('a') });
    j.close();
    // A crash after writing the new file, before the rename: the journal is the old one, the leftover goes.
    writeFileSync(`${path}.compact-4242`, '{"type":"verd');
    expect(readJournal(path).records).toHaveLength(3);
    removeCompactionLeftovers(path);
    expect(readdirSync(dir)).toEqual(['j.jsonl']);
    rewriteJournal(path, compactRecords(readJournal(path).records));
    expect(readJournal(path)).toEqual({
      records: [{ type: 'verdict', id: '3', verdict: verdict('a') }],
      tornLines: 0,
    });
    expect(existsSync(`${path}.compact-${process.pid}`)).toBe(false);
  });
});
