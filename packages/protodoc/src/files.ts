/**
 * Turns the paths given on the command line into the list of transcript files to read.
 * Files are taken as given (whatever their extension); directories are searched recursively.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from './errors.js';

/** File name endings that mark a transcript when a directory is searched. */
export const TRANSCRIPT_EXTENSIONS: readonly string[] = ['.txt', '.md', '.protodoc'];

/** One file to read, and whether the user named it (a directory search found it otherwise). */
export interface TranscriptFile {
  /** The path as the user gave it, or joined onto the directory the user gave. */
  path: string;
  /**
   * True when the path was named on the command line. A Markdown file found by a directory search
   * without a protodoc block is ordinary documentation and is skipped; one named explicitly is a mistake.
   */
  explicit: boolean;
}

/**
 * What a run is given to check: a path as the user typed it (a file, or a directory to search), or a
 * {@link TranscriptFile} found already (by a config's glob pattern).
 */
export type TranscriptPath = string | TranscriptFile;

/**
 * Expands files and directories into transcript files, in the order given; each directory's files are
 * sorted (by code unit, so the order does not depend on the locale). A file named twice is read once.
 * A {@link TranscriptFile} is taken as it is (a file a config's glob pattern found).
 *
 * @throws UsageError when a path does not exist, or when no path was given.
 */
export async function expandPaths(paths: readonly TranscriptPath[]): Promise<TranscriptFile[]> {
  if (paths.length === 0) throw new UsageError('no transcript files given');
  const found: TranscriptFile[] = [];
  const seen = new Set<string>();
  const add = (path: string, explicit: boolean): void => {
    if (seen.has(path)) return;
    seen.add(path);
    found.push({ path, explicit });
  };
  for (const entry of paths) {
    if (typeof entry !== 'string') {
      add(entry.path, entry.explicit);
      continue;
    }
    const path = entry;
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR')
        throw new UsageError(`${path}: no such file or directory`);
      if (err.code === 'EACCES') throw new UsageError(`${path}: permission denied`);
      throw err;
    });
    if (info.isDirectory()) {
      for (const file of await searchDirectory(path)) add(file, false);
    } else {
      add(path, true);
    }
  }
  return found;
}

async function searchDirectory(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    // Hidden directories and dependencies hold other people's text files, never our transcripts.
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await searchDirectory(path)));
    else if (entry.isFile() && TRANSCRIPT_EXTENSIONS.some((ext) => entry.name.endsWith(ext)))
      files.push(path);
  }
  return files;
}
