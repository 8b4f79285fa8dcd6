// Preloaded into a measured Node process (`node --require …/cpu-at-exit.cjs SCRIPT`): when it exits, it writes its
// own CPU time (user + system of every thread, in µs: process.cpuUsage()) to the file BENCH_CPU_FILE names. GNU
// time's 10 ms resolution is too coarse for the start-up figures of "where the time goes"; this is µs.
// CommonJS, preloaded with --require: an ES module preloaded with --import would start Node's ES module loader in
// every measured process, about 5 ms of CPU that a CommonJS program (protodoc's bin) does not otherwise pay.
const { writeFileSync } = require('node:fs');

const file = process.env.BENCH_CPU_FILE;
if (file) {
  process.on('exit', () => {
    const { user, system } = process.cpuUsage();
    writeFileSync(file, String(user + system));
  });
}
