// "Where the time goes": the wall and CPU time of whole Node processes that differ in one thing (one step or
// many, a whole check or the parse alone), so that the difference of two is one part of the work. CPU is what the
// process reports of itself at exit (cpu-at-exit.mjs: every thread, µs), steadier than wall time on a busy machine.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pinned } from './pin.mjs';
import { BENCH_ENV, BenchError, runOk, tempDir } from './process.mjs';
import { ROOT } from './protodoc.mjs';
import { median } from './stats.mjs';

const PRELOAD = join(ROOT, 'bench', 'lib', 'cpu-at-exit.cjs');

/**
 * One variant measured: a Node program and its arguments.
 * @typedef {{ name: string, argv: [string, string[]] }} Variant
 */

/** @typedef {{ ms: number, cpuMs: number }} Figures  medians */

/**
 * Run each variant once uncounted, then `runs` times interleaved; the medians of wall and CPU time.
 * @param {Variant[]} variants  each a Node program: `[process.execPath, [script, ...args]]`
 * @param {number} runs
 * @param {boolean} pin  pin each process to the benchmark CPU (see pin.mjs)
 * @returns {Promise<Map<string, Figures>>}  by variant name
 */
export async function measureVariants(variants, runs, pin) {
  const tmp = tempDir('where');
  try {
    const cpuFile = join(tmp.dir, 'cpu');
    /** @param {Variant} variant */
    const once = async ({ name, argv: [cmd, args] }) => {
      if (cmd !== process.execPath) throw new BenchError(`${name}: ${cmd} is not this Node`);
      const env = { ...BENCH_ENV, BENCH_CPU_FILE: cpuFile };
      const result = await runOk(name, ...pinned(cmd, ['--require', PRELOAD, ...args], pin), {
        cwd: ROOT,
        env,
      });
      return { ms: result.ms, cpuMs: Number(readFileSync(cpuFile, 'utf8')) / 1000 };
    };
    /** @type {Map<string, { ms: number[], cpuMs: number[] }>} */
    const all = new Map(variants.map((v) => [v.name, { ms: [], cpuMs: [] }]));
    for (const v of variants) await once(v);
    for (let i = 0; i < runs; i++) {
      for (const v of variants) {
        const { ms, cpuMs } = await once(v);
        all.get(v.name)?.ms.push(ms);
        all.get(v.name)?.cpuMs.push(cpuMs);
      }
    }
    return new Map([...all].map(([name, { ms, cpuMs }]) => [name, { ms: median(ms), cpuMs: median(cpuMs) }]));
  } finally {
    tmp.remove();
  }
}

/**
 * The figures of a variant that was measured.
 * @param {Map<string, Figures>} figures
 * @param {string} name
 * @returns {Figures}
 */
export function figuresOf(figures, name) {
  const f = figures.get(name);
  if (f === undefined) throw new Error(`no figures for ${name}`);
  return f;
}

/**
 * The variant that only parses `file` with the built package's loadTranscripts, in a process of its own.
 * @param {string} dist  the built package's dist directory
 * @param {string} file
 * @returns {[string, string[]]}
 */
export function parseOnly(dist, file) {
  const code = 'const [, url, file] = process.argv; await (await import(url)).loadTranscripts(file);';
  return [
    process.execPath,
    ['--input-type=module', '-e', code, pathToFileURL(join(dist, 'load.js')).href, file],
  ];
}
