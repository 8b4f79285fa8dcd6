import { describe, expect, it } from 'vitest';
import { createVerbose } from '../src/reporters/verbose.js';
import type { StepResult, TraceEvent } from '../src/results.js';

const base = { path: 't.txt', connection: 'main' };
const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
const passed: StepResult = { index: 0, line: 1, connection: 'main', status: 'passed', durationMs: 0.25 };

function printer(): { out: string[]; verbose: ReturnType<typeof createVerbose> } {
  const out: string[] = [];
  return { out, verbose: createVerbose((text) => out.push(text)) };
}

describe('createVerbose', () => {
  it('prints the conversation line by line with the time and the connection', () => {
    const { out, verbose } = printer();
    verbose.event({ type: 'file-start', path: 't.txt' });
    const trace: TraceEvent[] = [
      { ...base, type: 'connect', target: '127.0.0.1:6379', at: 0.04 },
      { ...base, type: 'connected', at: 0.5 },
      { ...base, type: 'sent', bytes: bytes('PING\r\n'), at: 0.61 },
      { ...base, type: 'received', bytes: bytes('+PO'), at: 0.8 },
      { ...base, type: 'received', bytes: bytes('NG\r\n\x00x\r\n'), at: 1.25 },
    ];
    for (const event of trace) verbose.trace(event);
    verbose.event({ type: 'step-end', path: 't.txt', step: passed });
    verbose.trace({ ...base, type: 'half-close', at: 12.3 });
    verbose.trace({ ...base, type: 'closed', at: 12345.6 });
    verbose.event({
      type: 'file-end',
      result: { path: 't.txt', status: 'passed', durationMs: 13, steps: [passed] },
    });
    expect(out.join('')).toBe(
      [
        '* t.txt',
        '*     0.0ms main: connecting to 127.0.0.1:6379',
        '*     0.5ms main: connected',
        '>     0.6ms main: PING',
        '<     1.3ms main: +PONG',
        '<     1.3ms main: >>>= \\0x',
        '* t.txt:1: passed (0.3ms)',
        '*    12.3ms main: half-close (protodoc sends nothing more)',
        '* 12345.6ms main: closed by the server',
        '* t.txt: passed',
        '',
      ].join('\n'),
    );
  });

  it("holding received lines, prints each step's at its reply's end, and keeps the next step's back", () => {
    const out: string[] = [];
    const verbose = createVerbose((text) => out.push(text), {
      holdReceived: true,
      redact: (b) =>
        Buffer.from(Buffer.from(b).toString('latin1').replaceAll('s3cr3t', '{{token}}'), 'latin1'),
    });
    verbose.trace({ ...base, type: 'sent', bytes: bytes('A\r\nB\r\n'), at: 1 });
    // One chunk: step 1's line, then step 2's, which will capture the secret.
    verbose.trace({ ...base, type: 'received', bytes: bytes('ok\r\ns3cr3t\r\n'), at: 2 });
    verbose.trace({ ...base, type: 'reply-end', leftover: 8, at: 3 });
    verbose.event({ type: 'step-end', path: 't.txt', step: passed });
    expect(out.join('')).toBe(
      '>     1.0ms main: A\n>     1.0ms main: B\n<     2.0ms main: ok\n* t.txt:1: passed (0.3ms)\n',
    );
    verbose.trace({ ...base, type: 'reply-end', leftover: 0, at: 4 });
    expect(out.join('')).toMatch(/\n< {5}2\.0ms main: \{\{token\}\}\n$/);
  });

  it('shows a line still without its LF once the conversation moves on, as no-eol', () => {
    const { out, verbose } = printer();
    verbose.trace({ ...base, type: 'received', bytes: bytes('220 hi\r\n> '), at: 1 });
    expect(out.join('')).toBe('<     1.0ms main: 220 hi\n');
    verbose.trace({ ...base, connection: 'other', type: 'sent', bytes: bytes('x'), at: 2 });
    verbose.trace({ ...base, type: 'sent', bytes: bytes('y\n'), at: 3 });
    expect(out.join('')).toBe(
      [
        '<     1.0ms main: 220 hi',
        '>     2.0ms other: >>>=(no-eol) x',
        '<     1.0ms main: >>>=(no-eol) > ',
        '>     3.0ms main: y',
        '',
      ].join('\n'),
    );
  });

  it('says why a step failed and a connection could not be used', () => {
    const { out, verbose } = printer();
    verbose.trace({ ...base, type: 'closed', reason: 'ECONNRESET', at: 4 });
    verbose.event({
      type: 'step-end',
      path: 't.txt',
      step: {
        ...passed,
        status: 'failed',
        failure: {
          reason: 'reset',
          message: 'the connection failed',
          line: 2,
          expected: [],
          received: bytes(''),
        },
      },
    });
    expect(out.join('')).toBe(
      '*     4.0ms main: failed (ECONNRESET)\n* t.txt:2: failed: the connection failed\n',
    );
  });
});
