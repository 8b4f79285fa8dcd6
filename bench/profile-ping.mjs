#!/usr/bin/env node
// Where protodoc spends the 10,000-PING run. Not a benchmark (not run by `npm run bench`); a tool for whoever works
// on the hot path. It starts a real redis (pinned with --pin), then either
//   node bench/profile-ping.mjs [STEPS] [--pin] [--keep]
//     runs one `protodoc check` under `node --cpu-prof` and prints self time by function and by file (--keep
//     leaves the .cpuprofile for Chrome DevTools), or
//   node bench/profile-ping.mjs [STEPS] --instructions
//     counts the user-space instructions (every thread) of protodoc checking 1 and STEPS PINGs, of the raw Node
//     client making as many, and of the parse alone, each under valgrind's cachegrind with `node --predictable`
//     (V8 then compiles on the main thread and runs no concurrent tasks), and prints what protodoc runs beyond the
//     raw client: the way to compare two builds (PROTODOC, as in the benchmarks) when CPU times on a busy machine
//     move by 20%. A count repeats to 0.01% from run to run (2% across cache directories and load), but a change that moves a garbage collection (a
//     full one costs some 30 M) moves it by more than the change itself: compare at a few sizes (7000, 10000,
//     13000 steps). Each protodoc build gets a code cache of its own, written under --predictable by one
//     uncounted run (V8 rejects a cache written under other flags).
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printProfile, summarizeProfile } from './lib/cpuprofile.mjs';
import { countInstructions } from './lib/instructions.mjs';
import { pinned, pinning } from './lib/pin.mjs';
import { BENCH_ENV, BenchError, main, runOk, tempDir } from './lib/process.mjs';
import { protodoc, protodocDist, ROOT } from './lib/protodoc.mjs';
import { startRedis } from './lib/servers.mjs';
import { printTable } from './lib/stats.mjs';
import { pingTranscript } from './lib/transcripts.mjs';
import { parseOnly } from './lib/where.mjs';

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const instructions = args.includes('--instructions');
// Unpinned by default: pinned, the profiler's own sampling thread shares the one CPU and inflates what it samples.
const pin = args.includes('--pin') && !instructions;
const steps = Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000);

await main(async () => {
  const tmp = tempDir('profile');
  const redis = await startRedis({ pin });
  try {
    const file = join(tmp.dir, 'ping.txt');
    writeFileSync(file, pingTranscript(steps));
    const target = `127.0.0.1:${redis.port}`;
    if (!instructions) {
      const [cmd, argv] = protodoc(['check', '--connect', target, file]);
      // Profile the protodoc process itself: the flags go to node, before the script.
      const nodeArgs =
        cmd === process.execPath
          ? ['--cpu-prof', `--cpu-prof-dir=${tmp.dir}`, '--cpu-prof-interval=100']
          : [];
      const result = await runOk('protodoc check', ...pinned(cmd, [...nodeArgs, ...argv], pin), {
        cwd: ROOT,
      });
      console.log(`${steps} steps, ${result.ms.toFixed(1)} ms wall under the profiler; ${pinning(pin)}`);
      const profile = readdirSync(tmp.dir).find((f) => f.endsWith('.cpuprofile'));
      if (profile === undefined) throw new BenchError(`no profile written: is ${cmd} a Node program?`);
      printProfile(summarizeProfile(join(tmp.dir, profile), { root: `${ROOT}/` }));
      if (keep) console.log(`profile: ${join(tmp.dir, profile)}`);
      return;
    }

    const one = join(tmp.dir, 'ping-1.txt');
    writeFileSync(one, pingTranscript(1));
    // Its own code cache, written under the same flags as the counted runs.
    const env = { ...BENCH_ENV, NODE_COMPILE_CACHE: join(tmp.dir, 'cache') };
    /**
     * @param {string} label
     * @param {[string, string[]]} argv
     */
    const count = (label, argv) => countInstructions(label, argv, env);
    /** @param {number} n */
    const raw = (n) =>
      /** @type {[string, string[]]} */ ([
        process.execPath,
        [join(ROOT, 'bench', 'raw-redis-client.mjs'), String(redis.port), String(n)],
      ]);
    /** @param {number} n */
    const check = (n) => protodoc(['check', '--connect', target, n === 1 ? one : file]);
    // The code cache comes from a check of STEPS, as in the benchmark, whose first run is one.
    await count('protodoc check (writes the code cache)', check(steps));
    const dist = protodocDist();
    /** @type {[string, (n: number) => [string, string[]]][]} */
    const contenders = [
      ['protodoc check', check],
      ['raw Node client', raw],
      ...(dist === undefined
        ? []
        : [
            /** @type {[string, (n: number) => [string, string[]]]} */ ([
              'parse alone',
              (n) => parseOnly(dist, n === 1 ? one : file),
            ]),
          ]),
    ];
    console.log(`instructions (user space, every thread; node --predictable under cachegrind), ${target}:`);
    /** @type {Map<string, [number, number]>} */
    const counts = new Map();
    /** @type {string[][]} */
    const rows = [['', '1 step', `${steps} steps`, 'per step beyond the first']];
    for (const [name, argv] of contenders) {
      const first = await count(`${name}, 1 step`, argv(1));
      const all = await count(`${name}, ${steps} steps`, argv(steps));
      counts.set(name, [first, all]);
      rows.push([
        name,
        `${(first / 1e6).toFixed(1)} M`,
        `${(all / 1e6).toFixed(1)} M`,
        `${((all - first) / (steps - 1) / 1e3).toFixed(1)} K`,
      ]);
    }
    printTable(rows);
    const [pd1, pdN] = counts.get('protodoc check') ?? [0, 0];
    const [raw1, rawN] = counts.get('raw Node client') ?? [0, 0];
    const parse = counts.get('parse alone');
    const parseN = parse === undefined ? 0 : parse[1] - parse[0];
    const M = (/** @type {number} */ n) => `${n >= 0 ? '+' : ''}${(n / 1e6).toFixed(1)} M`;
    console.log(
      `protodoc beyond the raw Node client: ${M(pdN - rawN)} (${((pdN / rawN) * 100 - 100).toFixed(0)}%)`,
    );
    printTable([
      ['start-up', M(pd1 - raw1)],
      ...(parse === undefined ? [] : [['parse (in a process of its own)', M(parseN)]]),
      [`${steps - 1} more round trips`, M(pdN - pd1 - (rawN - raw1) - parseN)],
    ]);
  } finally {
    await redis.stop();
    if (!keep) tmp.remove();
  }
});
