/**
 * How `record` writes what it saw (src/recording-writer.ts, FORMAT §17): escapes where the bytes need
 * them, named connections, captures where a later send reuses a reply's token, volatile values as
 * patterns, secrets as `{{name}}`. Every written transcript is also replayed here against the steps it
 * was made from, by the parser, the template renderer and the matcher: each send must render to the
 * bytes the client sent, each reply must match completely, and captures carry from step to step.
 */
import { describe, expect, it } from 'vitest';
import { evaluateCaptures } from '../src/capture.js';
import { parseMarkdown } from '../src/markdown.js';
import { ReplyMatcher } from '../src/matcher.js';
import { type RecordedChunk, type RecordedStep, segmentRecording } from '../src/recording.js';
import { type RecordingTextOptions, recordingText } from '../src/recording-writer.js';
import { renderStep } from '../src/template.js';
import { parseTranscript } from '../src/transcript.js';
import type { Transcript } from '../src/transcript-model.js';
import { Variables } from '../src/variables.js';

const B = (text: string): Buffer => Buffer.from(text, 'latin1');

/** A conversation as steps: `[connection, sent, replied]`, bytes as latin1 strings. */
function conversation(...steps: [number, string, string][]): RecordedStep[] {
  return steps.map(([connection, send, reply]) => ({ connection, send: B(send), reply: B(reply) }));
}

/**
 * Replays the transcript against the recorded steps: what a check against a server that answers the
 * same way would do. `values` are the variables given on the command line (secrets).
 */
function replay(
  transcript: Transcript,
  steps: readonly RecordedStep[],
  values: Record<string, string> = {},
): void {
  expect(transcript.steps.length).toBe(steps.length);
  const names = new Map<number, string>();
  const scope = Variables.of(values).scope();
  for (const [i, step] of transcript.steps.entries()) {
    const recorded = steps[i]!;
    // The same connection throughout: a name stands for one recorded connection.
    const name = names.get(recorded.connection) ?? step.connection;
    names.set(recorded.connection, name);
    expect(step.connection, `step ${i + 1}'s connection`).toBe(name);
    const rendered = renderStep(step, scope);
    expect(Buffer.from(rendered.send).toString('latin1'), `step ${i + 1}'s send`).toBe(
      Buffer.from(recorded.send).toString('latin1'),
    );
    const matcher = new ReplyMatcher(rendered.expect);
    let status = recorded.reply.length > 0 ? matcher.push(recorded.reply) : matcher.result;
    if (status === 'pending') status = matcher.end();
    expect(status, `step ${i + 1}'s reply`).toBe('complete');
    expect(matcher.leftover().length, `step ${i + 1}'s reply`).toBe(0);
    for (const [capture, value] of evaluateCaptures(rendered.expect, matcher.captured())) {
      scope.capture(capture, value, step.line);
    }
  }
}

/** Writes the steps, parses what was written, replays it, and returns the lines. */
function written(
  steps: RecordedStep[],
  options: RecordingTextOptions = {},
  values: Record<string, string> = {},
): string[] {
  const { lines } = recordingText(steps, options);
  replay(parseTranscript(`${lines.join('\n')}\n`, 'recorded.txt'), steps, values);
  return lines;
}

describe('recording: sends and replies', () => {
  it('writes a plain conversation as plain lines, the target first', () => {
    expect(written(conversation([0, 'PING\r\n', '+PONG\r\n']), { target: '127.0.0.1:6379' })).toEqual([
      '>>>! connect 127.0.0.1:6379',
      '>>> PING',
      '+PONG',
    ]);
  });

  it('escapes what the bytes need: endings, CR inside a line, bytes that are not UTF-8, invisible characters', () => {
    const steps = conversation([
      0,
      'a\nb\r\n\r\nc\x01\r\nd\re\r\n\xe2\x80\x8b\r\nlast',
      'one\r\nx\ry\r\n\xff\xfe\r\nuser\xe2\x80\xaegnp.exe\r\n...\r\n>>> hi\r\nno end',
    ]);
    expect(written(steps)).toEqual([
      '>>>(lf) a',
      '>>> b',
      '>>>',
      '>>>(esc) c\\x01',
      '>>>(esc) d\\re',
      '>>>(esc) \\u{200b}',
      '>>>(no-eol) last',
      'one',
      '>>>= x\\ry',
      '>>>= \\xff\\xfe',
      '>>>= user\\u{202e}gnp.exe',
      '>>>= ...',
      '>>>= >>> hi',
      '>>>=(no-eol) no end',
    ]);
  });

  it('writes a greeting before the first send, and a step that sends nothing after a switch', () => {
    expect(
      written(conversation([0, '', '220 hi\r\n'], [0, 'SUBSCRIBE n\r\n', 'ok\r\n'], [0, '', 'message\r\n'])),
    ).toEqual(['220 hi', '>>> SUBSCRIBE n', 'ok', '>>>@main', 'message']);
  });

  it('keeps two sends of one connection apart when the first had no reply', () => {
    const lines = written(
      conversation([0, 'reserve\r\n', ''], [1, 'put\r\n', 'INSERTED\r\n'], [0, '', 'RESERVED\r\n']),
    );
    expect(lines).toEqual([
      '>>>@conn1',
      '>>> reserve',
      '>>>@conn2',
      '>>> put',
      'INSERTED',
      '>>>@conn1',
      'RESERVED',
    ]);
    expect(written(conversation([0, 'a\r\n', ''], [0, 'b\r\n', 'B\r\n']))).toEqual([
      '>>> a',
      '>>>@main',
      '>>> b',
      'B',
    ]);
  });

  it('names several connections conn1, conn2, ... in the order they first take part', () => {
    const steps = segmentRecording(
      [
        { connection: 3, from: 'client', at: 1, bytes: B('SUBSCRIBE news\r\n') },
        { connection: 3, from: 'server', at: 2, bytes: B(':1\r\n') },
        { connection: 1, from: 'client', at: 3, bytes: B('PUBLISH news hi\r\n') },
        { connection: 1, from: 'server', at: 4, bytes: B(':1\r\n') },
        { connection: 3, from: 'server', at: 5, bytes: B('message hi\r\n') },
      ] satisfies RecordedChunk[],
      200,
    );
    expect(written(steps)).toEqual([
      '>>>@conn1',
      '>>> SUBSCRIBE news',
      ':1',
      '>>>@conn2',
      '>>> PUBLISH news hi',
      ':1',
      '>>>@conn1',
      'message hi',
    ]);
  });

  it('keeps a Markdown block closed: a reply line that would end it is a >>>= line', () => {
    expect(written(conversation([0, 'CAT\r\n', '```\r\n']), { fence: '```' })).toEqual([
      '>>> CAT',
      '>>>= ```',
    ]);
    expect(recordingText(conversation([0, 'CAT\r\n', '```\r\n'])).lines).toEqual(['>>> CAT', '```']);
    // And a block of it parses back.
    const lines = recordingText(conversation([0, 'CAT\r\n', '```\r\n']), { fence: '```' }).lines;
    expect(parseMarkdown(`\`\`\`protodoc\n${lines.join('\n')}\n\`\`\`\n`, 'r.md')[0]!.steps).toHaveLength(1);
  });
});

describe('recording: values that change between runs', () => {
  it('captures a reply token a later send reuses, and uses it from then on, in sends and replies', () => {
    const lines = written(
      conversation(
        [0, 'put 0 0 60 5\r\nhello\r\n', 'INSERTED 1234\r\n'],
        [1, 'reserve\r\n', 'RESERVED 1234 5\r\nhello\r\n'],
        [1, 'delete 1234\r\n', 'DELETED\r\n'],
      ),
    );
    expect(lines).toEqual([
      '>>>@conn1',
      '>>> put 0 0 60 5',
      '>>> hello',
      '>>>$ INSERTED {{inserted=...}}',
      '>>>@conn2',
      '>>> reserve',
      '>>>$ RESERVED {{inserted}} 5',
      'hello',
      '>>>(vars) delete {{inserted}}',
      'DELETED',
    ]);
    expect(
      recordingText(conversation([0, 'a\r\n', 'id=ab12\r\n'], [0, 'x ab12\r\n', 'ok\r\n'])).captures,
    ).toEqual(['id']);
  });

  it('names a capture for what precedes it: a header, a cookie, a key', () => {
    const lines = written(
      conversation(
        [
          0,
          'POST /notes HTTP/1.1\r\n\r\n',
          'HTTP/1.1 201 Created\r\nLocation: /notes/4f2a\r\nSet-Cookie: session=9c1d77aa; Path=/; HttpOnly\r\n\r\n',
        ],
        [0, 'GET /notes/4f2a HTTP/1.1\r\nCookie: session=9c1d77aa\r\n\r\n', 'HTTP/1.1 200 OK\r\n\r\n'],
      ),
    );
    expect(lines).toContain('>>>$ Location: /{{location=...}}');
    expect(lines).toContain('>>>$ Set-Cookie: session={{session=...}};...');
    expect(lines).toContain('>>>(vars) GET /{{location}} HTTP/1.1');
    expect(lines).toContain('>>>(vars) Cookie: session={{session}}');
  });

  it('takes hex of 8 digits or more for a value, digits or not', () => {
    const lines = written(
      conversation([0, 'NEW\r\n', 'id notes/beefcafe\r\n'], [0, 'GET notes/beefcafe\r\n', 'ok\r\n']),
    );
    expect(lines).toContain('>>>(vars) GET {{id}}');
  });

  it('captures nothing the client sent before, nothing shorter than 4 characters, and no words', () => {
    const lines = written(
      conversation(
        [0, 'SET k 7777\r\n', 'OK 123\r\n'],
        [0, 'GET k\r\n', '7777 session\r\n'],
        [0, 'SET m 7777 123 session\r\n', 'OK\r\n'],
      ),
    );
    expect(lines.filter((line) => line.includes('{{'))).toEqual([]);
  });

  it('writes the volatile HTTP headers of a response head as patterns, not the same text in a body', () => {
    const lines = written(
      conversation([
        0,
        'GET / HTTP/1.1\r\n\r\n',
        'HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nETag: "abc"\r\nContent-Length: 42\r\n\r\nDate: in the body\r\n',
      ]),
    );
    expect(lines).toEqual([
      '>>> GET / HTTP/1.1',
      '>>>',
      'HTTP/1.1 200 OK',
      'Date: ...',
      'ETag: ...',
      'Content-Length: 42',
      '',
      'Date: in the body',
    ]);
  });

  it('writes what --volatile names as ..., each group of it if it has groups', () => {
    const volatile = [/id=(\d+)/u, /\d\d:\d\d:\d\d/u];
    expect(written(conversation([0, 'TIME\r\n', 'at 12:34:56 id=42 v1.2.3\r\n']), { volatile })).toEqual([
      '>>> TIME',
      'at ... id=... v1.2.3',
    ]);
    // A dot next to a gap is written so that it stays a dot.
    expect(written(conversation([0, 'V\r\n', 'v1.2.3\r\n']), { volatile: [/\d/u] })).toEqual([
      '>>> V',
      '>>>$ v...\\x2e...\\x2e...',
    ]);
  });

  it('writes a secret as {{name}}, in sends and replies', () => {
    const secrets = Variables.of({ token: 's3cr3t-value' }, ['token']);
    const lines = written(
      conversation([0, 'AUTH s3cr3t-value\r\n', 'welcome s3cr3t-value\r\n']),
      { secrets: (bytes) => secrets.secretSpans(bytes), reserved: ['token'] },
      { token: 's3cr3t-value' },
    );
    expect(lines).toEqual(['>>>(vars) AUTH {{token}}', '>>>$ welcome {{token}}']);
  });
});
