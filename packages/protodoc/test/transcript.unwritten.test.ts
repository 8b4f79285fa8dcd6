/** `>>>?`: a reply not written yet (FORMAT §16.1). */
import { describe, expect, it } from 'vitest';
import { TranscriptParseError } from '../src/errors.js';
import { parseTranscript } from '../src/transcript.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

function errors(source: string): string[] {
  try {
    parseTranscript(source, 'q.txt');
  } catch (err) {
    if (err instanceof TranscriptParseError) return err.errors.map((e) => e.message);
    throw err;
  }
  throw new Error('parsed without errors');
}

describe('>>>?', () => {
  it('ends the block before it, so each send is a step of its own', () => {
    const t = parseTranscript('>>> EHLO x\n>>>?\n>>> MAIL FROM:<a@b>\n>>> RCPT TO:<c@d>\n>>>?\n', 'q.txt');
    expect(t.steps.map((s) => [text(s.send), s.unwritten, s.expect.length])).toEqual([
      ['EHLO x\r\n', 2, 0],
      ['MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n', 5, 0],
    ]);
    expect(t.steps.map((s) => s.sendEnd)).toEqual([1, 4]);
  });

  it('is a reply the server sends on its own at the start and after a switch', () => {
    const t = parseTranscript('>>>?\n>>> QUIT\n>>>@sub\n>>>?  \n', 'q.txt');
    expect(t.steps.map((s) => [s.connection, s.send.length, s.unwritten])).toEqual([
      ['main', 0, 1],
      ['main', 6, undefined],
      ['sub', 0, 4],
    ]);
  });

  it('lets expected lines after it start a step of their own', () => {
    const t = parseTranscript('>>> SUBSCRIBE x\n>>>?\nmessage\n', 'q.txt');
    expect(t.steps.map((s) => [s.line, s.unwritten, s.expect.length])).toEqual([
      [1, 2, 0],
      [3, undefined, 1],
    ]);
  });

  it('stands alone, and not in a reply that has expected lines', () => {
    expect(errors('>>> A\n>>>? x\n')).toEqual([
      "q.txt:2:5: '>>>?' stands alone on its line: it marks a reply that is not written yet",
    ]);
    expect(errors('>>> A\nok\n>>>?\n')).toEqual([
      "q.txt:3:1: this reply is written already (line 2): '>>>?' marks one that is not",
    ]);
  });
});
