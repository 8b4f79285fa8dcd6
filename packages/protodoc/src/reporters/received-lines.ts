/**
 * Random access to the lines of a received reply without copying it: one pass records where each line
 * ends, and lines are handed out as views. A reply of many megabytes costs a number per line, not an
 * object per line.
 */
import type { ReceivedLine } from './render.js';

export class ReceivedLines {
  readonly bytes: Uint8Array;
  /** ends[k]: index of the LF ending line k, or bytes.length for a final line without an ending. */
  private readonly ends: number[] = [];

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    let start = 0;
    while (start < bytes.length) {
      const lf = bytes.indexOf(0x0a, start);
      if (lf === -1) {
        this.ends.push(bytes.length);
        break;
      }
      this.ends.push(lf);
      start = lf + 1;
    }
  }

  get length(): number {
    return this.ends.length;
  }

  /** Line `k` without its ending (LF, or CRLF: a received line matches either way). */
  line(k: number): ReceivedLine {
    const start = k === 0 ? 0 : this.ends[k - 1]! + 1;
    const lf = this.ends[k]!;
    if (lf === this.bytes.length) return { bytes: this.bytes.subarray(start), eol: false };
    const crlf = lf > start && this.bytes[lf - 1] === 0x0d;
    return { bytes: this.bytes.subarray(start, crlf ? lf - 1 : lf), eol: true, crlf };
  }
}
