import { describe, expect, it } from 'vitest';
import { createReportHub } from '../src/reporters/hub.js';
import {
  createReporter,
  formatPretty,
  formatSummary,
  formatTranscriptResult,
} from '../src/reporters/pretty.js';
import type { ReportOutput } from '../src/reporters/reporter.js';
import type { StepResult } from '../src/results.js';
import { summarize } from '../src/summary.js';
import { parseTranscript } from '../src/transcript.js';
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
      flaky: 0,
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

/** A terminal: what was written, and the screen's lines once cursor moves and line clears are applied. */
function terminal(): ReportOutput & { raw: string; screen(): string[] } {
  let raw = '';
  return {
    live: true,
    columns: 60,
    get atLineStart() {
      return raw === '' || raw.endsWith('\n');
    },
    write(text: string) {
      raw += text;
    },
    get raw() {
      return raw;
    },
    screen() {
      const lines: string[] = [''];
      // \r\x1b[2K clears the line; \x1b[1A\x1b[2K goes up one and clears it.
      for (const part of raw.split(/(\r\x1b\[2K|\x1b\[1A\x1b\[2K|\n)/)) {
        if (part === '\n') lines.push('');
        else if (part === '\r\x1b[2K') lines[lines.length - 1] = '';
        else if (part === '\x1b[1A\x1b[2K') {
          lines.pop();
          lines[lines.length - 1] = '';
        } else lines[lines.length - 1] += part;
      }
      return lines;
    },
  };
}

describe('pretty reporter on a terminal', () => {
  const a = parseTranscript('>>> PING\n+PONG\n>>> ECHO x\n$1\nx\n', 'tests/a.txt');
  const b = parseTranscript(
    '>>> PING\n+PONG\n>>> PING\n+PONG\n>>> PING\n+PONG\n',
    'tests/a-very-long-directory-name/b.txt',
  );
  const step = (index: number, line: number): StepResult => ({
    index,
    line,
    connection: 'main',
    status: 'passed',
    durationMs: 1,
  });
  const resultA = { path: a.path, status: 'passed' as const, durationMs: 2, steps: [step(0, 1), step(1, 3)] };

  it('keeps a live line per running file with its step and file counters, replaced by its block at the end', async () => {
    const out = terminal();
    const hub = createReportHub([createReporter({ out, color: false })]);
    hub.onEvent({ type: 'run-start', transcripts: [a, b] });
    hub.onEvent({ type: 'file-start', path: a.path, index: 0 });
    await hub.idle();
    expect(out.screen()).toEqual(['RUN tests/a.txt (step 1/2, file 1/2)']);
    hub.onEvent({ type: 'step-end', path: a.path, step: step(0, 1), index: 0 });
    // A second file under way (as with --jobs): both lines are drawn, each with its own progress.
    hub.onEvent({ type: 'file-start', path: b.path, index: 1 });
    await hub.idle();
    expect(out.screen()).toEqual([
      'RUN tests/a.txt (step 2/2, file 1/2)',
      // Cut from the left to fit the terminal's 60 columns, so it never wraps.
      'RUN ...-very-long-directory-name/b.txt (step 1/3, file 2/2)',
    ]);
    expect(out.screen()[1]).toHaveLength(59);
    hub.onEvent({ type: 'file-end', result: resultA, index: 0 });
    await hub.idle();
    expect(out.screen()).toEqual([
      'PASS tests/a.txt (2 steps, 2ms)',
      'RUN ...-very-long-directory-name/b.txt (step 1/3, file 2/2)',
    ]);
    const resultB = {
      path: b.path,
      status: 'passed' as const,
      durationMs: 3,
      steps: [step(0, 1), step(1, 3), step(2, 5)],
    };
    hub.onEvent({ type: 'file-end', result: resultB, index: 1 });
    await hub.end({ summary: summarize([resultA, resultB], 10) });
    expect(out.screen()).toEqual([
      'PASS tests/a.txt (2 steps, 2ms)',
      'PASS tests/a-very-long-directory-name/b.txt (3 steps, 3ms)',
      '',
      '2 files, 5 steps: 5 passed, 0 failed, 0 skipped (0.01s)',
      '',
    ]);
  });

  it('draws nothing live when the output is not a terminal', async () => {
    const out = { ...terminal(), live: false };
    let raw = '';
    out.write = (text: string) => {
      raw += text;
    };
    const hub = createReportHub([createReporter({ out, color: false })]);
    hub.onEvent({ type: 'run-start', transcripts: [a] });
    hub.onEvent({ type: 'file-start', path: a.path, index: 0 });
    hub.onEvent({ type: 'file-end', result: resultA, index: 0 });
    await hub.end({ summary: summarize([resultA], 10) });
    expect(raw).toBe(
      'PASS tests/a.txt (2 steps, 2ms)\n\n1 file, 2 steps: 2 passed, 0 failed, 0 skipped (0.01s)\n',
    );
  });
});
