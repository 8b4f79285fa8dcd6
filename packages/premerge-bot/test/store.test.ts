import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal, readJournal, summarize } from '../src/store.js';
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
});
