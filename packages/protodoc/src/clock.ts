/**
 * The one clock protodoc measures with: monotonic, in milliseconds with a fraction (nanoseconds from
 * `process.hrtime()`), for durations only; what it counts from is arbitrary.
 *
 * Not `performance.now()`: the `performance` global loads Node's perf_hooks on first use, 3.4 M
 * instructions (2% of a check of one PING, whose start-up is most of it), and a check of 10,000 steps
 * reads the clock once a step, where `performance.now()` also checks its receiver's brand and V8
 * compiles that check along with the caller.
 */
export function now(): number {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}
