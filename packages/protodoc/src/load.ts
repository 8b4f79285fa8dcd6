/** Reading transcript files from disk: plain transcripts, or the ```protodoc blocks of a Markdown file. */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { ProtodocError } from './errors.js';
import { parseMarkdown } from './markdown.js';
import { parseTranscript } from './transcript.js';
import type { Transcript } from './transcript-model.js';

/**
 * Reads and parses one file: `.md` (any case) → its ```` ```protodoc ```` blocks, anything else → one transcript.
 * @param path used verbatim in errors and results, so reports show what the user typed.
 * @returns the transcripts of the file (an empty list for a Markdown file without protodoc blocks).
 * @throws {ProtodocError} `PROTODOC_ERR_FILE` when the file cannot be read (missing, a directory, no permission).
 * @throws {TranscriptSyntaxError} `PROTODOC_ERR_SYNTAX` when it cannot be parsed.
 */
export async function loadTranscripts(path: string): Promise<Transcript[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (err as Error).message;
    throw new ProtodocError(`cannot read ${path}: ${why}`, 'PROTODOC_ERR_FILE', { cause: err });
  }
  return extname(path).toLowerCase() === '.md' ? parseMarkdown(text, path) : [parseTranscript(text, path)];
}
