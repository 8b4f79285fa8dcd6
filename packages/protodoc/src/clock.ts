/**
 * The one clock protodoc measures with: monotonic, in milliseconds with a fraction (nanoseconds from
 * `process.hrtime()`), for durations only; what it counts from is arbitrary.
 *
 * Not `performance.now()`: the `performance` global loads Node's perf_hooks on first use, 3.4 M
 * instructions (2% of a check of one PING, whose start-up is most of it). A read costs a little more
 * here (about 600 instructions against 400: `hrtime` makes an array), one read a step, so a check of
 * 10,000 steps comes out even (bench/README.md §1).
 */
export function now(): number {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}
