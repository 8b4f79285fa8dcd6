/**
 * The github reporter's workflow commands, read back as GitHub's runner reads them (actions/runner
 * `ActionCommand.TryParseV2`) and checked against the documented annotation syntax: a command at the
 * start of its line, known properties, values escaped so they come back as they were.
 */
import { describe, expect, it } from 'vitest';
import type { RunError } from '../src/reporters/reporter.js';
import type { TranscriptResult } from '../src/results.js';
import { summarize } from '../src/summary.js';
import { everyStatus, failed } from './fixtures/results.js';
import { readAnnotations } from './helpers/consumers.js';
import { report, reportShared } from './helpers/report.js';

describe('github reporter, read as the runner reads it', () => {
  it('annotates the failing line with the diff, a transcript that could not run, and a flaky one', async () => {
    expect(readAnnotations(await report('github', everyStatus))).toEqual([
      {
        command: 'error',
        properties: { file: 'tests/get.txt', line: '6', title: 'the reply differs' },
        data: '--- expected\n+++ received\n@@ -1,2 +1,3 @@\n $5\n-world\n+hello\n+>>>= \\0<&>',
      },
      {
        command: 'error',
        properties: { file: 'tests/down.txt', title: 'tests/down.txt: could not run' },
        data: 'cannot connect to 127.0.0.1:9: connection refused',
      },
      {
        command: 'warning',
        properties: { file: 'tests/queue.txt', line: '3', title: 'tests/queue.txt: flaky' },
        data: 'failed, then passed on attempt 2',
      },
    ]);
  });

  it('writes nothing for a run that passed', async () => {
    expect(await report('github', summarize([everyStatus.results[0]!], 1))).toBe('');
  });

  it('escapes what would end a property or the line, so paths and messages come back unchanged', async () => {
    const path = 'tests/a,b:c%25.txt';
    const odd: TranscriptResult = {
      ...failed,
      path,
      steps: failed.steps.map((step) =>
        step.failure
          ? { ...step, failure: { ...step.failure, message: 'differs: 100%, then\r\nmore' } }
          : step,
      ),
    };
    const text = await report('github', summarize([odd], 1));
    expect(text.split('\n')).toHaveLength(2);
    const [annotation] = readAnnotations(text);
    expect(annotation!.properties).toEqual({ file: path, line: '6', title: 'differs: 100%, then\r\nmore' });
  });

  it('annotates each error of a run that ended early at its line and column', async () => {
    const error: RunError = {
      code: 'PROTODOC_ERR_SYNTAX',
      message: "a.txt:3:4: unknown line type '>>>X'",
      errors: [{ message: "unknown line type '>>>X'", file: 'a.txt', line: 3, column: 4 }],
    };
    const server: RunError = {
      code: 'PROTODOC_ERR_SERVER',
      message: "server 'x' exited with code 3",
      errors: [{ message: "server 'x' exited with code 3; its last output:\n  boom" }],
    };
    expect(readAnnotations(await report('github', summarize([], 0), { error }))).toEqual([
      {
        command: 'error',
        properties: { file: 'a.txt', line: '3', col: '4', title: 'protodoc cannot run this file' },
        data: "unknown line type '>>>X'",
      },
    ]);
    expect(readAnnotations(await report('github', summarize([], 0), { error: server }))).toEqual([
      {
        command: 'error',
        properties: { title: 'protodoc could not run' },
        data: "server 'x' exited with code 3; its last output:\n  boom",
      },
    ]);
  });

  it('beside pretty on one stdout, follows each failing block; beside dot, waits for the marks to end', async () => {
    const pretty = await reportShared(['pretty', 'github'], everyStatus);
    expect(readAnnotations(pretty)).toHaveLength(3);
    expect(pretty).toMatch(/\n\n::error file=tests\/get\.txt,line=6,[^\n]*\nERROR tests\/down\.txt: /);
    const dot = await reportShared(['dot', 'github'], everyStatus);
    expect(readAnnotations(dot)).toHaveLength(3);
    expect(dot).toMatch(/^\.FE!-\n\nFAIL tests\/get\.txt/);
    expect(dot).toMatch(/\(0\.32s\)\n::error file=tests\/get\.txt,/);
  });
});
