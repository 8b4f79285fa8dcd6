import { describe, expect, it } from 'vitest';
import { formatJson, type JsonReport } from '../src/reporters/json.js';
import { summary } from './fixtures/results.js';

describe('json reporter', () => {
  it('writes the totals, the status and every step', async () => {
    const report = JSON.parse(await formatJson(summary)) as JsonReport;
    expect(report.version).toBe(1);
    expect(report.status).toBe('error');
    expect(report.summary).toEqual({
      files: 3,
      transcripts: 3,
      steps: 6,
      passed: 3,
      failed: 1,
      skipped: 2,
      errors: 1,
      durationMs: 210,
    });
    expect(report.transcripts.map((t) => [t.path, t.status, t.steps.length])).toEqual([
      ['examples/ping.txt', 'passed', 2],
      ['tests/get.txt', 'failed', 3],
      ['tests/down.txt', 'error', 1],
    ]);
    expect(report.transcripts[2]!.error).toEqual(summary.results[2]!.error);
  });

  it('gives the received bytes exactly (base64), readably (text), and the diff', async () => {
    const report = JSON.parse(await formatJson(summary)) as JsonReport;
    const failure = report.transcripts[1]!.steps[1]!.failure!;
    expect(Buffer.from(failure.received.base64, 'base64').toString('latin1')).toBe(
      '$5\r\nhello\r\n\x00<&>\r\n',
    );
    expect(failure.received.text).toBe('$5\r\nhello\r\n\x00<&>\r\n');
    expect(failure.expected).toEqual([
      { kind: 'text', line: 5, source: '$5' },
      { kind: 'text', line: 6, source: 'world' },
    ]);
    expect(failure).toMatchObject({ reason: 'mismatch', line: 6, message: 'the reply differs' });
    expect(failure.diff).toContain('\n-world\n+hello\n');
  });

  it('says passed when everything passed', async () => {
    const ok = { ...summary, failed: 0, errors: 0, results: [summary.results[0]!] };
    expect((JSON.parse(await formatJson(ok)) as JsonReport).status).toBe('passed');
  });
});
