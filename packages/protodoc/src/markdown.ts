/**
 * Transcripts embedded in Markdown: every fenced code block whose info string is `protodoc`
 * (```` ```protodoc ```` or `~~~protodoc`) is one transcript, reported with the line numbers of the .md file.
 * Only fences matter here, so this follows CommonMark's fence rules directly rather than pulling in a
 * Markdown parser: up to 3 spaces of indentation, 3+ backticks or tildes, closed by a fence of the same
 * character at least as long; an unclosed fence runs to the end of the document.
 */

import { parseBlockLines, SyntaxErrors, splitLines } from './transcript.js';
import type { Transcript } from './transcript-model.js';

const OPENING = /^( {0,3})(`{3,}|~{3,})(.*)$/;

/**
 * Parses each ```` ```protodoc ```` block of a Markdown document.
 * @returns one transcript per block, in document order (none when the document has no such block).
 * @throws {TranscriptParseError} with the syntax errors of every block (at most 20 for the file), at
 *   the .md file's line numbers; an empty block is one at its opening fence.
 */
export function parseMarkdown(text: string, path: string): Transcript[] {
  return parseMarkdownText(text, new SyntaxErrors(path));
}

/** {@link parseMarkdown} with the file's error list (which knows the lines that are not UTF-8). */
export function parseMarkdownText(text: string, errors: SyntaxErrors): Transcript[] {
  const lines = splitLines(text);
  const transcripts: Transcript[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = OPENING.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const fence = open[2]!;
    const info = open[3]!.trim();
    // CommonMark: a backtick fence's info string may not contain a backtick (that is inline code).
    if (fence[0] === '`' && info.includes('`')) continue;
    const closing = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`);
    let end = i + 1;
    while (end < lines.length && !closing.test(lines[end]!)) end++;
    if (info.split(/\s+/)[0] === 'protodoc') {
      const body = lines.slice(i + 1, end).map((l) => stripIndent(l, indent));
      const transcript = parseBlockLines(body, i + 2, errors);
      transcript.block = { indent, fence };
      transcripts.push(transcript);
    }
    // Skip the whole block, protodoc or not, so fences shown inside other code blocks are not picked up.
    i = end;
  }
  errors.throwIfAny();
  return transcripts;
}

/** Content lines of an indented fence lose up to as many leading spaces as the fence had. */
function stripIndent(line: string, indent: number): string {
  let k = 0;
  while (k < indent && line[k] === ' ') k++;
  return k === 0 ? line : line.slice(k);
}
