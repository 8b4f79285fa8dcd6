/**
 * Random access to the lines of a received reply without copying it: one pass records where each line
 * ends, and lines are handed out as views. A reply of many megabytes costs a number per line, not an
 * object per line. Lines are cut as the matcher cuts them: at each LF, a CR right before the LF being
 * part of the ending (except for a `>>>=(lf)` item, which the matcher itself handles).
 */

/** One received line: its bytes without the line ending, and whether a line ending (LF or CRLF) followed. */
export interface ReceivedLine {
  bytes: Uint8Array;
  eol: boolean;
  /** The ending was CRLF (not just LF). */
  crlf?: boolean;
}

export class ReceivedLines {
  readonly bytes: Buffer;
  /** ends[k]: index of the LF ending line k, or bytes.length for a final line without an ending. */
  private readonly ends: number[] = [];

  constructor(bytes: Uint8Array) {
    this.bytes = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let start = 0;
    while (start < bytes.length) {
      const lf = this.bytes.indexOf(0x0a, start);
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

  /** Where line `k` starts in {@link bytes}. */
  start(k: number): number {
    return k === 0 ? 0 : this.ends[k - 1]! + 1;
  }

  /** Where the content of line `k` ends in {@link bytes}: at its CR of a CRLF, its LF, or the end. */
  contentEnd(k: number): number {
    const lf = this.ends[k]!;
    if (lf === this.bytes.length) return lf;
    return lf > this.start(k) && this.bytes[lf - 1] === 0x0d ? lf - 1 : lf;
  }

  /** Whether line `k` ended: 0 no ending (the end of the bytes), 1 LF, 2 CRLF. */
  ending(k: number): 0 | 1 | 2 {
    const lf = this.ends[k]!;
    if (lf === this.bytes.length) return 0;
    return lf > this.start(k) && this.bytes[lf - 1] === 0x0d ? 2 : 1;
  }

  /** Line `k` without its ending (LF, or CRLF: a received line matches either way). */
  line(k: number): ReceivedLine {
    const start = this.start(k);
    const ending = this.ending(k);
    const bytes = this.bytes.subarray(start, this.contentEnd(k));
    return ending === 0 ? { bytes, eol: false } : { bytes, eol: true, crlf: ending === 2 };
  }
}
