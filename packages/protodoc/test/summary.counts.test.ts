/**
 * One summary for a run: files are files on disk (a Markdown file with two protodoc blocks is one file
 * and two transcripts), computed in one place for the runner, checkFiles and every reporter.
 */
import { describe, expect, it } from 'vitest';
import { parseMarkdown } from '../src/markdown.js';
import { formatSummaryLine } from '../src/reporters/format.js';
import { formatJson, type JsonReport } from '../src/reporters/json.js';
import type { TranscriptResult } from '../src/results.js';
import { runTranscripts } from '../src/runner.js';
import { noteStepCounts, runStatus, summarize } from '../src/summary.js';

const result = (path: string, status: TranscriptResult['status']): TranscriptResult => ({
  path,
  status,
  durationMs: 1,
  steps: [
    {
      index: 0,
      line: 1,
      connection: 'main',
      status: status === 'passed' || status === 'flaky' ? 'passed' : 'skipped',
      durationMs: 1,
    },
  ],
});

describe('summarize', () => {
  it('counts files on disk and transcripts apart', () => {
    const summary = summarize(
      [result('docs/a.md', 'passed'), result('docs/a.md', 'passed'), result('b.txt', 'error')],
      5,
    );
    expect(summary).toMatchObject({ files: 2, transcripts: 3, steps: 3, passed: 2, skipped: 1, errors: 1 });
  });

  it('counts a transcript that passed only on a retry as flaky, and the run as passed', () => {
    const summary = summarize([result('a.txt', 'flaky'), result('b.txt', 'passed')], 10);
    expect(summary).toMatchObject({ transcripts: 2, steps: 2, passed: 2, failed: 0, flaky: 1, errors: 0 });
    expect(runStatus(summary)).toBe('passed');
    expect(formatSummaryLine(summary)).toBe(
      '2 files, 2 steps: 2 passed, 0 failed, 0 skipped, 1 flaky (0.01s)',
    );
    expect(runStatus(summarize([result('a.txt', 'flaky'), result('b.txt', 'failed')], 1))).toBe('failed');
  });

  it("takes a list's noted counts instead of its steps, until the list grows", () => {
    const noted = result('a.txt', 'passed');
    // Counts that disagree with the one passed step: only taking them gives these figures.
    noteStepCounts(noted.steps, 1, 0);
    expect(summarize([noted], 1)).toMatchObject({ steps: 1, passed: 0, failed: 1, skipped: 0 });
    noted.steps.push({ index: 1, line: 3, connection: 'main', status: 'skipped', durationMs: 0 });
    expect(summarize([noted], 1)).toMatchObject({ steps: 2, passed: 1, failed: 0, skipped: 1 });
  });

  it('is what runTranscripts returns: two blocks of one Markdown file are one file', async () => {
    const blocks = parseMarkdown(
      '```protodoc\n>>> PING\n+PONG\n```\n\n```protodoc\n>>> PING\n```\n',
      'two.md',
    );
    // Nothing listens on port 1: both transcripts are errors, which is all this needs.
    const summary = await runTranscripts(blocks, { target: '127.0.0.1:1' });
    expect(summary).toMatchObject({ files: 1, transcripts: 2, errors: 2 });
  });
});

describe('the summary in reports', () => {
  it('names the transcripts when a file holds several', () => {
    const summary = summarize([result('a.md', 'passed'), result('a.md', 'passed')], 10);
    expect(formatSummaryLine(summary)).toBe(
      '1 file (2 transcripts), 2 steps: 2 passed, 0 failed, 0 skipped (0.01s)',
    );
  });

  it('says only files when each file is one transcript', () => {
    const summary = summarize([result('a.txt', 'passed'), result('b.txt', 'passed')], 10);
    expect(formatSummaryLine(summary)).toBe('2 files, 2 steps: 2 passed, 0 failed, 0 skipped (0.01s)');
  });

  it('gives files and transcripts in the JSON summary', async () => {
    const summary = summarize([result('a.md', 'passed'), result('a.md', 'passed')], 10);
    const report = JSON.parse(await formatJson(summary)) as JsonReport;
    expect(report.summary).toMatchObject({ files: 1, transcripts: 2 });
  });
});
