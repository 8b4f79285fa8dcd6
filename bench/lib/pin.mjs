// CPU pinning for the round-trip benchmarks.
//
// On this kind of machine (a small VM whose idle vCPUs halt), a wake-up across CPUs costs tens of microseconds and
// varies from run to run by 2-3x, so 10,000 sequential round trips between a client on one CPU and a server on
// another measure the hypervisor more than the client. With the server and every contender on the same CPU each
// round trip is two context switches, and the figures are stable and say how much work each client does.
// BENCH_PIN=off measures unpinned; BENCH_CPU chooses the CPU.
import { spawnSync } from 'node:child_process';

const cpu = process.env.BENCH_CPU ?? '0';
const enabled =
  process.env.BENCH_PIN !== 'off' &&
  spawnSync('taskset', ['-c', cpu, 'true'], { stdio: 'ignore' }).status === 0;

/** @returns {string} how the processes are placed, for the report */
export function pinning() {
  return enabled ? `server and client pinned to CPU ${cpu} (taskset; BENCH_PIN=off to unpin)` : 'not pinned';
}

/**
 * The command line that runs `cmd args` pinned (when pinning is on and taskset works), as [cmd, args].
 * @param {string} cmd
 * @param {string[]} args
 * @returns {[string, string[]]}
 */
export function pinned(cmd, args) {
  return enabled ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args];
}
