/**
 * Where reporters write (the contract's {@link ReportOutput}): a terminal stream, or text collected in
 * memory for a report file (written once the run ends) or for a caller that wants the report as a
 * string (the vitest helper). Both keep track of whether the last write ended a line, so that a
 * reporter sharing stdout with another (`github` beside `dot`) starts its lines on a line of their own.
 */
import type { ReportOutput } from './reporter.js';

/** Text collected in memory. */
export class TextOutput implements ReportOutput {
  readonly live = false;
  text = '';
  get atLineStart(): boolean {
    return this.text === '' || this.text.endsWith('\n');
  }
  write(text: string): void {
    this.text += text;
  }
}

/** A stream such as `process.stdout`; `live` when the reporters may redraw lines on it. */
export function streamOutput(
  stream: { write(chunk: string): unknown },
  options: { live: boolean; columns?: number },
): ReportOutput {
  let atLineStart = true;
  return {
    live: options.live,
    ...(options.columns !== undefined ? { columns: options.columns } : {}),
    get atLineStart() {
      return atLineStart;
    },
    write(text: string): void {
      if (text === '') return;
      stream.write(text);
      atLineStart = text.endsWith('\n');
    },
  };
}
