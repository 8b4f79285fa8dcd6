import { describe, expect, it } from 'vitest';
import { formatPretty, formatSummary, formatTranscriptResult } from '../src/reporters/pretty.js';
import { failed, passed, summary, unreachable } from './fixtures/results.js';

describe('pretty reporter', () => {
  it('prints PASS with the step count and time', async () => {
    expect(await formatTranscriptResult(passed)).toBe('PASS examples/ping.txt (2 steps, 3ms)\n');
  });

  it('prints FAIL, a PATH:LINE: header for the failing step, and its diff', async () => {
    expect(await formatTranscriptResult(failed)).toBe(
      [
        'FAIL tests/get.txt (3 steps: 1 passed, 1 failed, 1 skipped, 12ms)',
        'tests/get.txt:6: the reply differs',
        '--- expected',
        '+++ received',
        '@@ -1,2 +1,3 @@',
        ' $5',
        '-world',
        '+hello',
        '+>>>= \\0<&>',
        '',
        '',
      ].join('\n'),
    );
  });

  it('shows what was received when the diff has nothing to show (a reply that never settled)', async () => {
    const ticks = Array.from({ length: 30 }, (_, i) => `tick ${i + 1}\r\n`).join('');
    const never = {
      ...failed,
      steps: [
        {
          ...failed.steps[1]!,
          failure: {
            reason: 'unsettled' as const,
            message: 'the reply never settled',
            line: 5,
            expected: [
              { kind: 'text' as const, text: 'tick 1', line: 5 },
              { kind: 'any-lines' as const, line: 6 },
            ],
            received: Buffer.from(ticks),
          },
        },
      ],
    };
    const out = await formatTranscriptResult(never);
    expect(out).toContain(
      [
        'tests/get.txt:5: the reply never settled',
        'received, 30 lines:',
        '  tick 1',
        '  tick 2',
        '  tick 3',
        '  tick 4',
        '  tick 5',
        '  tick 6',
        '  tick 7',
        '  tick 8',
        '  tick 9',
        '  tick 10',
        '  [10 lines not shown]',
        '  tick 21',
      ].join('\n'),
    );
    expect(out).toContain('  tick 30\n\n');
  });

  it('names the connection of a failing step that is not the main one', async () => {
    const onSub = { ...failed, steps: failed.steps.map((s) => ({ ...s, connection: 'sub' })) };
    expect(await formatTranscriptResult(onSub)).toContain(
      'tests/get.txt:6: the reply differs (connection sub)\n',
    );
  });

  it('prints ERROR with the reason for a transcript that could not run', async () => {
    expect(await formatTranscriptResult(unreachable)).toBe(
      'ERROR tests/down.txt: cannot connect to 127.0.0.1:9: connection refused\n',
    );
  });

  it('ends with the summary line', async () => {
    const out = await formatPretty(summary);
    expect(
      out.endsWith('\n\n3 files, 6 steps: 3 passed, 1 failed, 2 skipped, 1 could not run (0.21s)\n'),
    ).toBe(true);
    expect(out.startsWith('PASS examples/ping.txt (2 steps, 3ms)\nFAIL tests/get.txt')).toBe(true);
  });

  it('says 1 file, 1 step in the singular, and times in seconds', () => {
    const one = {
      ...summary,
      files: 1,
      transcripts: 1,
      steps: 1,
      passed: 1,
      failed: 0,
      skipped: 0,
      errors: 0,
      durationMs: 1234,
    };
    expect(formatSummary(one)).toBe('1 file, 1 step: 1 passed, 0 failed, 0 skipped (1.23s)\n');
  });

  it('colours only when asked', async () => {
    expect(await formatPretty(summary)).not.toContain('\x1b[');
    const coloured = await formatPretty(summary, { color: true });
    expect(coloured).toContain('\x1b[31m-world\x1b[39m');
    expect(coloured).toContain('\x1b[32m+hello\x1b[39m');
    expect(coloured).toContain('\x1b[32mPASS');
  });
});
