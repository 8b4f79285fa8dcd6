import { describe, expect, it } from 'vitest';
import { formatJson, type JsonReport } from '../src/reporters/json.js';
import { everyStatus, summary } from './fixtures/results.js';
import { jsonReportErrors } from './helpers/consumers.js';

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
      flaky: 0,
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

describe('json reports, against report.schema.json (ajv, draft 2020-12)', () => {
  it('are valid with every transcript status, variables, and a run that ended early', async () => {
    const withVariables = structuredClone(summary);
    withVariables.results[1]!.steps[1]!.failure!.variables = [
      { name: 'id', secret: false, value: '7', origin: 'capture', where: 'line 3' },
      { name: 'token', secret: true, origin: 'env', where: 'PROTODOC_VAR_TOKEN' },
    ];
    const error = {
      code: 'PROTODOC_ERR_SYNTAX',
      message: "a.txt:3:4: unknown line type '>>>X'",
      errors: [{ message: "unknown line type '>>>X'", file: 'a.txt', line: 3, column: 4 }],
    };
    for (const text of [
      await formatJson(everyStatus),
      await formatJson(withVariables),
      await formatJson({ ...summary, results: [] }, { error }),
    ]) {
      expect(jsonReportErrors(JSON.parse(text))).toEqual([]);
    }
  });

  it('are held to it: a field it does not list, or a wrong value, is an error', async () => {
    const report = JSON.parse(await formatJson(summary)) as JsonReport;
    expect(jsonReportErrors({ ...report, extra: 1 })).toEqual([
      '/ must NOT have additional properties {"additionalProperty":"extra"}',
    ]);
    report.transcripts[0]!.status = 'green' as 'passed';
    expect(jsonReportErrors(report)).toEqual([
      '/transcripts/0/status must be equal to one of the allowed values {"allowedValues":["passed","failed","error","flaky","skipped"]}',
    ]);
  });
});
