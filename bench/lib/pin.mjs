// CPU placement for the round-trip benchmarks.
//
// On this kind of machine (a small VM whose idle vCPUs halt), waking a process on another CPU costs tens of
// microseconds and varies from run to run by 2-3x, so 10,000 sequential round trips between a client on one CPU
// and a server on another measure the hypervisor as much as the client. With the server and the client on the same
// CPU each round trip is two context switches and the figures are steady; but then the client's own background
// threads (V8's optimizing compiler, GC helpers) also share that CPU, which on a real multi-core machine they do
// not. Neither placement is the truth alone, so benchmark 1 measures both.
// BENCH_PIN=off measures only unpinned; BENCH_CPU chooses the CPU.
import { spawnSync } from 'node:child_process';

const cpu = process.env.BENCH_CPU ?? '0';

/** Whether pinning is wanted and `taskset` works here. */
export const canPin =
  process.env.BENCH_PIN !== 'off' &&
  spawnSync('taskset', ['-c', cpu, 'true'], { stdio: 'ignore' }).status === 0;

/**
 * @param {boolean} pin  whether the measurement is pinned
 * @returns {string} the placement, for the report
 */
export function pinning(pin) {
  return pin ? `server and client pinned to CPU ${cpu} (taskset)` : 'not pinned (the scheduler places them)';
}

/**
 * The command line that runs `cmd args` pinned to the benchmark CPU (when pinning works), as [cmd, args].
 * @param {string} cmd
 * @param {string[]} args
 * @param {boolean} [pin] @default true
 * @returns {[string, string[]]}
 */
export function pinned(cmd, args, pin = true) {
  return pin && canPin ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args];
}
