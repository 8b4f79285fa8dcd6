#!/usr/bin/env node
// Benchmark 7: 200 transcript files × 50 steps against redis, `protodoc check --server ...` with `--jobs 1` and
// `--jobs auto` (one per CPU, each worker with its own redis): files per second and the speed-up (target ≥ 1.7× on
// a 2-core machine), and the CPU time of protodoc and of the redis servers; and the same with `--server-scope file`
// (a fresh redis for every file), whose extra time per file is what a fresh server costs. Whole-process wall times,
// runs interleaved, medians. See bench/README.md.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { BENCH_ENV, BenchError, main, runOk, tempDir } from './lib/process.mjs';
import { protodoc, ROOT } from './lib/protodoc.mjs';
import { fmtMs, fmtRatio, median, printTable, runCount, verdict } from './lib/stats.mjs';

const FILES = 200;
const STEPS = 50;
const TARGET_SPEEDUP = 1.7;
const REDIS = `${process.env.REDIS_SERVER ?? 'redis-server'} --port {port} --bind 127.0.0.1 --save '' --appendonly no`;
/** The same redis, its CPU time written to $BENCH_SERVER_CPU once it has stopped (bench/lib/server-cpu.sh). */
const REDIS_COUNTED = `${join(ROOT, 'bench', 'lib', 'server-cpu.sh')} ${REDIS}`;

/**
 * The CPU time (user + system, ms) of the servers whose lines `server-cpu.sh` wrote to `file`; removes the file.
 * @param {string} file
 */
function serverCpuMs(file) {
  if (!existsSync(file)) throw new BenchError(`no server wrote its CPU time to ${file}`);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  rmSync(file);
  return lines.reduce((sum, line) => {
    const [user, system] = line.split(' ').map(Number);
    if (user === undefined || system === undefined || Number.isNaN(user + system))
      throw new BenchError(`${file}: not "USER SYSTEM": ${line}`);
    return sum + (user + system) * 1000;
  }, 0);
}

/**
 * File `f`: 25 SET and 25 GET of keys of its own, so files pass in any order and on any worker's redis.
 * @param {number} f
 */
function transcript(f) {
  let out = '';
  for (let s = 0; s < STEPS / 2; s++) {
    const value = `value-${f}-${s}`;
    out += `>>> SET file-${f}:key-${s} ${value}\n+OK\n>>> GET file-${f}:key-${s}\n$${value.length}\n${value}\n`;
  }
  return out;
}

/**
 * `server`: the redis servers' CPU time is counted (their command is REDIS_COUNTED).
 * @typedef {{ name: string, args: string[], server: boolean, runs: { ms: number, cpuMs: number, serverMs?: number }[] }} Contender
 */

await main(async () => {
  const tmp = tempDir('parallel');
  try {
    const dir = join(tmp.dir, 'specs');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    for (let f = 0; f < FILES; f++)
      writeFileSync(join(dir, `file-${String(f).padStart(3, '0')}.txt`), transcript(f));
    const cpus = availableParallelism();
    /** @param {string} name @param {string[]} flags @param {boolean} server @returns {Contender} */
    const contender = (name, flags, server) => ({
      name,
      args: ['check', '--server', server ? REDIS_COUNTED : REDIS, ...flags, dir],
      server,
      runs: [],
    });
    // A fresh server per file is timed without the counting shell: it would add its own start to every file.
    const contenders = [
      contender('--jobs 1', ['--jobs', '1'], true),
      contender(`--jobs auto (${cpus})`, ['--jobs', 'auto'], true),
      contender('--jobs 1 --server-scope file', ['--jobs', '1', '--server-scope', 'file'], false),
      contender(`--jobs auto --server-scope file`, ['--jobs', 'auto', '--server-scope', 'file'], false),
    ];
    const serverCpuFile = join(tmp.dir, 'server-cpu');
    const expected = `${FILES} files, ${FILES * STEPS} steps: ${FILES * STEPS} passed, 0 failed, 0 skipped`;
    /**
     * @param {Contender} c
     * @returns {Promise<{ ms: number, cpuMs: number, serverMs?: number }>}
     */
    const once = async (c) => {
      const env = { ...BENCH_ENV, BENCH_SERVER_CPU: serverCpuFile };
      const result = await runOk(c.name, ...protodoc(c.args), { cwd: ROOT, usage: true, env });
      // Proof that every file ran and passed.
      if (!result.stdout.includes(expected)) {
        throw new BenchError(
          `${c.name}: expected "${expected}" in its summary:\n${result.stdout.slice(-500)}`,
        );
      }
      const { ms, cpuMs } = result;
      return c.server ? { ms, cpuMs, serverMs: serverCpuMs(serverCpuFile) } : { ms, cpuMs };
    };
    const runs = runCount();
    console.log(`${FILES} files × ${STEPS} steps (SET/GET) against redis started by --server; ${cpus} CPUs`);
    console.log(`1 warm-up run each (not counted), then ${runs} interleaved runs; whole-process wall time`);
    for (const c of contenders) await once(c);
    for (let i = 0; i < runs; i++) {
      for (const c of contenders) {
        const { ms, cpuMs, serverMs } = await once(c);
        c.runs.push(serverMs === undefined ? { ms, cpuMs } : { ms, cpuMs, serverMs });
      }
    }
    /** @param {Contender} c */
    const wall = (c) => median(c.runs.map((r) => r.ms));
    /** @param {Contender} c */
    const serverCpu = (c) => (c.server ? median(c.runs.map((r) => r.serverMs ?? NaN)) : undefined);
    /** @param {Contender} c  how many CPUs protodoc and redis kept busy on average */
    const busy = (c) => {
      const servers = serverCpu(c);
      return servers === undefined
        ? '-'
        : (median(c.runs.map((r) => r.cpuMs + (r.serverMs ?? NaN))) / wall(c)).toFixed(2);
    };
    printTable([
      ['', 'wall median', 'min', 'max', 'files/s', 'CPU protodoc', 'CPU redis', 'busy CPUs'],
      ...contenders.map((c) => {
        const servers = serverCpu(c);
        return [
          c.name,
          fmtMs(wall(c)),
          fmtMs(Math.min(...c.runs.map((r) => r.ms))),
          fmtMs(Math.max(...c.runs.map((r) => r.ms))),
          ((FILES * 1000) / wall(c)).toFixed(1),
          fmtMs(median(c.runs.map((r) => r.cpuMs))),
          servers === undefined ? '-' : fmtMs(servers),
          busy(c),
        ];
      }),
    ]);
    console.log(
      'CPU: medians of user + system time; protodoc: the whole process, every thread (GNU time); redis: every',
    );
    console.log('server the run started, as it stopped; busy CPUs: (protodoc + redis) / wall');
    const [serial, parallel, serialFresh, parallelFresh] =
      /** @type {[Contender, Contender, Contender, Contender]} */ (contenders);
    const speedup = wall(serial) / wall(parallel);
    /** @param {Contender} c */
    const fastest = (c) => Math.min(...c.runs.map((r) => r.ms));
    console.log(
      `speed-up of --jobs auto over --jobs 1: ${fmtRatio(speedup)} (target ≥ ${TARGET_SPEEDUP}x on 2 CPUs: ${verdict(speedup >= TARGET_SPEEDUP)})`,
    );
    // A one-job run leaves a CPU idle, and where idle CPUs halt (a VM) it waits for one to wake at every step: its
    // wall time then swings far more than that of a run that keeps both busy. The fastest runs' ratio shows it.
    console.log(
      `the same between the fastest runs of each: ${fmtRatio(fastest(serial) / fastest(parallel))}`,
    );
    console.log(`speed-up with --server-scope file: ${fmtRatio(wall(serialFresh) / wall(parallelFresh))}`);
    const perFile = (/** @type {Contender} */ fresh, /** @type {Contender} */ kept) =>
      `${((wall(fresh) - wall(kept)) / FILES).toFixed(1)} ms`;
    console.log(
      `a fresh server per file (--server-scope file) costs ${perFile(serialFresh, serial)} per file with --jobs 1, ` +
        `${perFile(parallelFresh, parallel)} of wall time per file with --jobs auto`,
    );
  } finally {
    tmp.remove();
  }
});
