/**
 * How a transcript is named in reports and matched by `--filter`: its path, and for a Markdown block
 * (one transcript per ```` ```protodoc ```` block) `PATH:LINE`, LINE being the block's first step, so
 * the blocks of one page can be told apart. One rule for both, so a label copied from a report selects
 * that transcript.
 */

/** `path`, or `path:firstLine` for a Markdown file. */
export function transcriptLabel(path: string, firstLine: number | undefined): string {
  return firstLine !== undefined && /\.md$/i.test(path) ? `${path}:${firstLine}` : path;
}
