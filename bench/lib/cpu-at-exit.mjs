// Preloaded into a measured Node process (`node --import …/cpu-at-exit.mjs SCRIPT`): when it exits, it writes its
// own CPU time (user + system of every thread, in µs: process.cpuUsage()) to the file BENCH_CPU_FILE names. GNU
// time's 10 ms resolution is too coarse for the start-up figures of "where the time goes"; this is µs.
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_CPU_FILE;
if (file) {
  process.on('exit', () => {
    const { user, system } = process.cpuUsage();
    writeFileSync(file, String(user + system));
  });
}
