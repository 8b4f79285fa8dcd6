/**
 * The TAP reporter, read back by tap-parser (the reader of node-tap and of TAP 14 itself): a test point
 * per transcript with its steps as a subtest, YAML diagnostics at the failing line, SKIP directives, a
 * plan, and `Bail out!` for a run that ended early.
 */
import { describe, expect, it } from 'vitest';
import type { RunError } from '../src/reporters/reporter.js';
import { summarize } from '../src/summary.js';
import { parseTranscript } from '../src/transcript.js';
import { everyStatus, passed } from './fixtures/results.js';
import { readTap } from './helpers/consumers.js';
import { report } from './helpers/report.js';

describe('tap reporter, read by tap-parser', () => {
  it('is TAP 14 with a point per transcript, each status as TAP says it, and nothing else in it', async () => {
    const text = await report('tap', everyStatus);
    expect(text.startsWith('TAP version 14\n')).toBe(true);
    const tap = await readTap(text);
    expect([tap.version, tap.plan, tap.ok, tap.bailout]).toEqual([14, { start: 1, end: 5 }, false, false]);
    expect(tap.extra).toEqual([]);
    expect(tap.tapErrors).toEqual([]);
    expect(tap.points.map((p) => [p.id, p.ok, p.name, p.skip])).toEqual([
      [1, true, 'examples/ping.txt', false],
      [2, false, 'tests/get.txt', false],
      [3, false, 'tests/down.txt', false],
      [4, true, 'tests/queue.txt', false],
      [5, true, 'docs/proto.md:7', 'not run'],
    ]);
    expect(tap.comments).toEqual([
      '# 5 files, 9 steps: 4 passed, 1 failed, 4 skipped, 1 flaky, 1 could not run (0.32s)\n',
    ]);
  });

  it('gives the failing step a diagnostic at its file and line, with the diff, and skips the rest', async () => {
    const tap = await readTap(await report('tap', everyStatus));
    const steps = tap.points[1]!.subtest;
    expect(steps.map((p) => [p.id, p.ok, p.name, p.skip])).toEqual([
      [1, true, 'line 1', false],
      [2, false, 'line 4', false],
      [3, true, 'line 7', 'after a failing step'],
    ]);
    expect(steps[1]!.diag).toEqual({
      message: 'the reply differs',
      severity: 'fail',
      at: { file: 'tests/get.txt', line: 6, connection: 'main' },
      reason: 'mismatch',
      diff: '--- expected\n+++ received\n@@ -1,2 +1,3 @@\n $5\n-world\n+hello\n+>>>= \\0<&>\n',
    });
    expect(tap.points[2]!.diag).toEqual({
      message: 'cannot connect to 127.0.0.1:9: connection refused',
      severity: 'error',
      code: 'PROTODOC_ERR_CONNECT',
      at: { file: 'tests/down.txt' },
    });
  });

  it("names each step by its line and what it sends, escaping TAP's # and \\", async () => {
    const transcript = parseTranscript('>>> PING\n+PONG\n>>> ECHO a#b\\c\n$5\na#b\\c\n', 'examples/ping.txt');
    const tap = await readTap(
      await report('tap', summarize([passed], 1), {
        events: [{ type: 'run-start', transcripts: [transcript] }],
      }),
    );
    // The title is in the notation of a `>>>=` line, where a backslash is `\\`.
    expect(tap.points[0]!.subtest.map((p) => p.name)).toEqual(['line 1: PING', 'line 3: ECHO a#b\\\\c']);
  });

  it('bails out of a run that ended early, with each error as a comment', async () => {
    const error: RunError = {
      code: 'PROTODOC_ERR_SYNTAX',
      message: "a.txt:3:4: unknown line type '>>>X'",
      errors: [
        { message: "unknown line type '>>>X'", file: 'a.txt', line: 3, column: 4 },
        { message: 'bad escape', file: 'b.txt', line: 1, column: 9 },
      ],
    };
    const tap = await readTap(await report('tap', summarize([], 0), { error }));
    expect(tap.bailout).toBe("a.txt:3:4: unknown line type '>>>X' (and 1 more)");
    expect(tap.ok).toBe(false);
    expect(tap.comments).toEqual([
      "# error: a.txt:3:4: unknown line type '>>>X'\n",
      '# error: b.txt:1:9: bad escape\n',
    ]);
  });
});
