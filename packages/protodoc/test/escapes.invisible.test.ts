/**
 * Characters a terminal does not show (C1 controls, bidi overrides and isolates, zero-width ones) are
 * written as `\u{HEX}` wherever protodoc shows or writes bytes, and `\u{HEX}` reads back as them.
 */
import { describe, expect, it } from 'vitest';
import { decodeEscapes, formatEscaped } from '../src/escapes.js';
import { formatJson } from '../src/reporters/json.js';
import { formatJunit } from '../src/reporters/junit.js';
import { renderExpectLine, renderReceivedLine } from '../src/reporters/render.js';
import { diffReply } from '../src/reporters/reply-diff.js';
import { summarize } from '../src/summary.js';
import { parseTranscript } from '../src/transcript.js';
import type { ExpectLine } from '../src/transcript-model.js';

const INVISIBLE = [
  0x80, 0x85, 0x9b, 0x9f, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e,
  0x2066, 0x2067, 0x2068, 0x2069, 0xfeff,
];

describe('the \\u{HEX} escape', () => {
  it('reads as the UTF-8 bytes of the code point, in sends and >>>= lines', () => {
    expect(Buffer.from(decodeEscapes('a\\u{202E}b\\u{1f600}\\u{0}', false)).toString()).toBe('a\u202eb😀\0');
    const t = parseTranscript('>>>(esc) x\\u{200b}y\n>>>= \\u{9b}z\n', 't.txt');
    expect(Buffer.from(t.steps[0]!.send).toString()).toBe('x\u200by\r\n');
    expect(t.steps[0]!.expect[0]).toMatchObject({ kind: 'literal', bytes: Buffer.from('\u009bz') });
  });

  it('says what is wrong with a malformed one (transcript.escapes.test.ts has where)', () => {
    expect(() => decodeEscapes('\\u202e', true)).toThrow("'\\u' must be followed by {HEX}");
    expect(() => decodeEscapes('\\u{d800}', true)).toThrow("'\\u{d800}' is not a Unicode scalar value");
  });

  it('is how formatEscaped shows each invisible character, and reads back', () => {
    for (const cp of INVISIBLE) {
      const bytes = Buffer.from(`a${String.fromCodePoint(cp)}b`);
      const shown = formatEscaped(bytes);
      expect(shown).toBe(`a\\u{${cp.toString(16)}}b`);
      expect(Buffer.from(decodeEscapes(shown, false)).equals(bytes)).toBe(true);
    }
    // Visible neighbours stay as they are.
    expect(formatEscaped(Buffer.from('\u00a0é\u2010\u2070'))).toBe('\u00a0é\u2010\u2070');
  });
});

describe('invisible characters in reports', () => {
  it('makes a received line a >>>= line that shows them', () => {
    expect(renderReceivedLine({ bytes: Buffer.from('user\u202egnp.exe'), eol: true })).toBe(
      '>>>= user\\u{202e}gnp.exe',
    );
    expect(renderReceivedLine({ bytes: Buffer.from('\u009b31m'), eol: false })).toBe(
      '>>>=(no-eol) \\u{9b}31m',
    );
  });

  it('shows expected lines that hold them in a form that reads back as the same line', () => {
    const [text, glob, literal, regex] = parseTranscript(
      '>>> X\nzero\u200bwidth\nServer: ...\u2066x\n>>>= \u202e\n>>>~ [\u200b]+\n',
      't.txt',
    ).steps[0]!.expect as ExpectLine[];
    expect(renderExpectLine(text!)).toBe('>>>= zero\\u{200b}width');
    expect(renderExpectLine(glob!)).toBe('>>>~ Server: [^]*\\u{2066}x');
    expect(renderExpectLine(literal!)).toBe('>>>= \\u{202e}');
    expect(renderExpectLine(regex!)).toBe('>>>~ [\\u{200b}]+');
    // Each rendering parses back to an item that matches the same bytes.
    const back = parseTranscript(
      `>>> X\n${[text, glob, literal, regex].map((e) => renderExpectLine(e!)).join('\n')}\n`,
      'b.txt',
    );
    expect(back.steps[0]!.expect.map((e) => e.kind)).toEqual(['literal', 'regex', 'literal', 'regex']);
  });

  it('never prints them raw in a diff, the JSON report or the JUnit report', async () => {
    const expected: ExpectLine[] = [{ kind: 'text', text: 'ok', line: 2 }];
    const received = Buffer.from('o\u200bk\u202e\r\n');
    const raw = /[\u0080-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;
    const diff = await diffReply(expected, received);
    expect(diff).toContain('+>>>= o\\u{200b}k\\u{202e}\n');
    const summary = summarize(
      [
        {
          path: 't.txt',
          status: 'failed',
          durationMs: 1,
          steps: [
            {
              index: 0,
              line: 1,
              connection: 'main',
              status: 'failed',
              durationMs: 1,
              failure: { reason: 'mismatch', message: 'the reply differs', line: 2, expected, received },
            },
          ],
        },
      ],
      1,
    );
    const json = await formatJson(summary);
    expect(json).not.toMatch(raw);
    expect(JSON.parse(json).transcripts[0].steps[0].failure.received.text).toBe('o\u200bk\u202e\r\n');
    const xml = await formatJunit(summary);
    expect(xml).not.toMatch(raw);
    expect(xml).toContain('o\\u{200b}k\\u{202e}');
  });
});
