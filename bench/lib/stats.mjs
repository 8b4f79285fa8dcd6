// Figures and how they are printed.

/** @param {number[]} values @returns {number} the median (mean of the middle two for an even count) */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const upper = sorted[mid];
  const lower = sorted[mid - 1];
  if (upper === undefined) return NaN; // no values
  return sorted.length % 2 || lower === undefined ? upper : (lower + upper) / 2;
}

/** How many timed runs each measurement takes; BENCH_RUNS overrides (e.g. 1 for a smoke run). @default 5 */
export function runCount() {
  const n = Number(process.env.BENCH_RUNS ?? 5);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`BENCH_RUNS must be a positive integer, got ${process.env.BENCH_RUNS}`);
  return n;
}

/** @param {number} ms */
export const fmtMs = (ms) => `${ms.toFixed(1)} ms`;

/** @param {number} bytes */
export const fmtMiB = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** @param {number} ratio */
export const fmtRatio = (ratio) => `${ratio.toFixed(2)}x`;

/**
 * A verdict against a target, for reading, never for the exit code: benchmarks only print.
 * @param {boolean} met
 */
export const verdict = (met) => (met ? 'met' : 'MISSED');

/**
 * Print rows of cells as aligned columns (first column left-aligned, the rest right-aligned).
 * @param {(string | number)[][]} rows  the first row sets the number of columns
 */
export function printTable(rows) {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  for (const row of rows) {
    console.log(
      row
        .map((cell, i) => {
          const width = widths[i] ?? 0; // a cell beyond the first row's columns is not padded
          return i === 0 ? String(cell).padEnd(width) : String(cell).padStart(width);
        })
        .join('  ')
        .trimEnd(),
    );
  }
}
