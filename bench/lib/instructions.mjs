// Instruction counts for the profiling tools (bench/profile-http.mjs, bench/profile-ping.mjs --instructions): a Node
// program under valgrind's cachegrind with `node --predictable`, so that V8 compiles on the main thread and runs no
// concurrent tasks. User-space instructions only, of every thread; system calls are not counted.
import { BenchError, run } from './process.mjs';
import { ROOT } from './protodoc.mjs';

const VALGRIND = process.env.VALGRIND ?? 'valgrind';

/**
 * The user-space instructions of one run (every thread), under cachegrind; the run must exit 0.
 * @param {string} label
 * @param {[string, string[]]} argv  a Node program: `--predictable` goes before its script
 * @param {NodeJS.ProcessEnv} [env]  default: the benchmarks' (BENCH_ENV)
 * @returns {Promise<number>}
 */
export async function countInstructions(label, [cmd, argv], env) {
  if (cmd !== process.execPath) throw new BenchError(`${label}: ${cmd} is not this Node`);
  const r = await run(
    VALGRIND,
    ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null', cmd, '--predictable', ...argv],
    env === undefined ? { cwd: ROOT } : { cwd: ROOT, env },
  );
  const refs = /I\s+refs:\s+([\d,]+)/.exec(r.stderr)?.[1];
  if (r.code !== 0 || refs === undefined)
    throw new BenchError(`${label} under ${VALGRIND} exited with ${r.code}:\n${r.stderr.slice(-2000)}`);
  return Number(refs.replaceAll(',', ''));
}
