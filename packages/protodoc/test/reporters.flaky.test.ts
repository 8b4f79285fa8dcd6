/**
 * A transcript that passed only on a retry (status `flaky`, `attempts`) is visible in every reporter and
 * the run still passes: each reporter's reading of one fixture run, through its real reader where the
 * format has one. `--retries` only has to set the status.
 */
import { describe, expect, it } from 'vitest';
import type { JsonReport } from '../src/reporters/json.js';
import { REPORTER_NAMES } from '../src/reporters/registry.js';
import { runStatus, summarize } from '../src/summary.js';
import { flaky, passed } from './fixtures/results.js';
import { jsonReportErrors, junitSchemas, readAnnotations, readTap, xmllint } from './helpers/consumers.js';
import { report } from './helpers/report.js';

const run = summarize([passed, flaky], 12);

describe('a flaky transcript', () => {
  it('makes a run that passes, counted apart in the summary', () => {
    expect(runStatus(run)).toBe('passed');
    expect(run).toMatchObject({ flaky: 1, passed: 3, failed: 0, errors: 0 });
  });

  it('is FLAKY with its attempt in pretty, and in the summary line', async () => {
    const text = await report('pretty', run);
    expect(text).toMatch(
      /^PASS examples\/ping\.txt .*\nFLAKY tests\/queue\.txt \(1 step, passed on attempt 2, 4ms\)\n/,
    );
    expect(text).toMatch(/\n2 files, 3 steps: 3 passed, 0 failed, 0 skipped, 1 flaky \(0\.01s\)\n$/);
  });

  it('is ! in dot, then FLAKY below the marks', async () => {
    const text = await report('dot', run);
    expect(text).toMatch(/^\.!\n\nFLAKY tests\/queue\.txt \(1 step, passed on attempt 2, /);
    expect(text).toContain(', 1 flaky (0.01s)\n');
  });

  it('has status flaky and its attempts in json, valid against the schema', async () => {
    const doc = JSON.parse(await report('json', run)) as JsonReport;
    expect(jsonReportErrors(doc)).toEqual([]);
    expect(doc.status).toBe('passed');
    expect(doc.summary.flaky).toBe(1);
    expect(doc.transcripts[1]).toMatchObject({ path: 'tests/queue.txt', status: 'flaky', attempts: 2 });
  });

  it('is a passing suite with flaky properties in junit, valid for junit-10.xsd readers', async () => {
    const xml = await report('junit', run);
    expect(await xmllint(xml, junitSchemas().withFileAndLine)).toEqual({ valid: true, errors: '' });
    expect(xml).toContain(
      '<testsuite name="tests/queue.txt" tests="1" failures="0" errors="0" skipped="0" time="0.004" file="tests/queue.txt">\n' +
        '    <properties>\n' +
        '      <property name="status" value="flaky"/>\n' +
        '      <property name="attempts" value="2"/>\n' +
        '    </properties>\n' +
        '    <system-out>flaky: failed, then passed on attempt 2\n</system-out>\n',
    );
    expect(xml).not.toContain('<failure');
  });

  it('is an ok test point with flaky in its diagnostic in tap', async () => {
    const tap = await readTap(await report('tap', run));
    expect(tap.ok).toBe(true);
    expect(tap.points.map((p) => [p.ok, p.name, p.diag])).toEqual([
      [true, 'examples/ping.txt', null],
      [true, 'tests/queue.txt', { flaky: true, attempts: 2 }],
    ]);
  });

  it('is a warning annotation in github, not an error', async () => {
    expect(readAnnotations(await report('github', run))).toEqual([
      {
        command: 'warning',
        properties: { file: 'tests/queue.txt', line: '3', title: 'tests/queue.txt: flaky' },
        data: 'failed, then passed on attempt 2',
      },
    ]);
  });

  it('is shown by every registered reporter', async () => {
    for (const name of REPORTER_NAMES) expect(await report(name, run), name).toMatch(/flaky|FLAKY|!/);
  });
});
