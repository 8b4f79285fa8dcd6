#!/usr/bin/env node
// Benchmark 1: 10,000 sequential PING/+PONG round trips on one redis connection.
// protodoc checking a generated transcript, against redis-benchmark (the C floor) and bench/raw-redis-client.mjs
// (the Node floor: 'data' events; with --onread, reading through `onread` as protodoc does). Whole-process wall times, runs interleaved, medians; measured with everything pinned to one
// CPU and unpinned (see lib/pin.mjs). See bench/README.md.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canPin, pinned, pinning } from './lib/pin.mjs';
import { BenchError, main, runOk, tempDir } from './lib/process.mjs';
import { protodoc, protodocDist, ROOT } from './lib/protodoc.mjs';
import { redisPingCalls, startRedis } from './lib/servers.mjs';
import { fmtMs, fmtRatio, median, printTable, runCount, verdict } from './lib/stats.mjs';
import { pingTranscript } from './lib/transcripts.mjs';
import { figuresOf, measureVariants, parseOnly } from './lib/where.mjs';

const STEPS = 10_000;
const TARGET_RAW = 1.15;
const STRETCH_C = 1.6;

/**
 * One program measured: how it is run, and its timed runs.
 * @typedef {{ name: string, argv: [string, string[]], runs: (import('./lib/process.mjs').RunResult &
 *   import('./lib/process.mjs').Usage)[] }} Contender
 */

/**
 * Measure the three contenders with one placement; print the table and the ratios.
 * @param {string} file  the transcript
 * @param {boolean} pin  pin redis and the clients to the benchmark CPU
 */
async function measure(file, pin) {
  const redis = await startRedis({ pin });
  try {
    const target = `127.0.0.1:${redis.port}`;
    const benchmarkArgs = [
      '-h',
      '127.0.0.1',
      '-p',
      String(redis.port),
      '-n',
      String(STEPS),
      '-c',
      '1',
      '-P',
      '1',
    ];
    /** @type {Contender} */
    const pd = { name: 'protodoc check', argv: protodoc(['check', '--connect', target, file]), runs: [] };
    /** @type {Contender} */
    const redisBenchmark = {
      name: 'redis-benchmark',
      argv: ['redis-benchmark', [...benchmarkArgs, '-t', 'ping_inline', '-q']],
      runs: [],
    };
    /**
     * The raw Node client, reading `'data'` events or through `onread`.
     * @param {string} name
     * @param {string[]} flags
     * @returns {Contender}
     */
    const rawClient = (name, flags) => ({
      name,
      argv: [
        process.execPath,
        [join(ROOT, 'bench', 'raw-redis-client.mjs'), String(redis.port), String(STEPS), ...flags],
      ],
      runs: [],
    });
    const raw = rawClient('raw Node client', []);
    const rawOnread = rawClient('raw Node client, onread', ['--onread']);
    const contenders = [pd, redisBenchmark, raw, rawOnread];
    /** @param {Contender} c */
    const once = async (c) => {
      const before = await redisPingCalls(redis.port);
      const result = await runOk(c.name, ...pinned(...c.argv, pin), { cwd: ROOT, usage: true });
      const calls = (await redisPingCalls(redis.port)) - before;
      // Proof that it really made every round trip (and no more).
      if (calls !== STEPS) throw new BenchError(`${c.name} made ${calls} PINGs, expected ${STEPS}`);
      return result;
    };

    const runs = runCount();
    console.log(`\n${pinning(pin)}; redis on ${target}`);
    for (const c of contenders) await once(c);
    for (let i = 0; i < runs; i++) {
      for (const c of contenders) c.runs.push(await once(c));
    }

    /** @param {Contender} c */
    const wall = (c) => c.runs.map((r) => r.ms);
    /** @param {Contender} c */
    const wallMedian = (c) => median(wall(c));
    /** @param {Contender} c */
    const cpu = (c) => median(c.runs.map((r) => r.cpuMs));
    printTable([
      ['', 'wall median', 'min', 'max', 'per step', 'CPU median'],
      ...contenders.map((c) => [
        c.name,
        fmtMs(wallMedian(c)),
        fmtMs(Math.min(...wall(c))),
        fmtMs(Math.max(...wall(c))),
        `${((wallMedian(c) * 1000) / STEPS).toFixed(1)} µs`,
        fmtMs(cpu(c)),
      ]),
    ]);
    /**
     * @param {Contender} a
     * @param {Contender} b
     */
    const ratio = (a, b) => wallMedian(a) / wallMedian(b);
    /**
     * @param {Contender} a
     * @param {Contender} b
     */
    const ratios = (a, b) => `${fmtRatio(ratio(a, b))} wall, ${fmtRatio(cpu(a) / cpu(b))} CPU`;
    console.log(
      `protodoc / raw Node client: ${ratios(pd, raw)} (target ≤ ${TARGET_RAW}x wall: ${verdict(ratio(pd, raw) <= TARGET_RAW)})`,
    );
    console.log(
      `protodoc / raw Node client reading through onread: ${ratios(pd, rawOnread)} (the API protodoc reads with; no target)`,
    );
    console.log(
      `protodoc / redis-benchmark: ${ratios(pd, redisBenchmark)} (stretch ≤ ${STRETCH_C}x wall: ${verdict(ratio(pd, redisBenchmark) <= STRETCH_C)})`,
    );
    console.log(
      `raw Node client / redis-benchmark: ${ratios(raw, redisBenchmark)} (the Node floor against the C floor)`,
    );
  } finally {
    await redis.stop();
  }
}

/**
 * Where protodoc's time goes beyond the raw Node client's: start-up (a check of one PING against the raw client
 * making one), the parse of the transcript (in a process that only parses, 10,000 steps against one), and the
 * round trips (the rest of the 10,000-PING run, per step, against the raw client's). Wall and CPU time of whole
 * processes (CPU as each reports it at exit, every thread), pinned when pinning works.
 * @param {string} one  a transcript of one PING
 * @param {string} file  the 10,000-PING transcript
 */
async function whereTimeGoes(one, file) {
  const pin = canPin;
  const redis = await startRedis({ pin });
  try {
    const target = `127.0.0.1:${redis.port}`;
    const raw = (/** @type {number} */ count) => ({
      name: `raw Node client, ${count} PING${count === 1 ? '' : 's'}`,
      argv: /** @type {[string, string[]]} */ ([
        process.execPath,
        [join(ROOT, 'bench', 'raw-redis-client.mjs'), String(redis.port), String(count)],
      ]),
    });
    const check = (/** @type {string} */ path, /** @type {number} */ count) => ({
      name: `protodoc check, ${count} PING${count === 1 ? '' : 's'}`,
      argv: protodoc(['check', '--connect', target, path]),
    });
    const dist = protodocDist();
    const parse = (/** @type {string} */ path, /** @type {number} */ count) => ({
      name: `parse alone, ${count} step${count === 1 ? '' : 's'}`,
      argv: parseOnly(dist ?? '', path),
    });
    const variants = [
      { name: 'node -e 0', argv: /** @type {[string, string[]]} */ ([process.execPath, ['-e', '0']]) },
      raw(1),
      check(one, 1),
      ...(dist === undefined ? [] : [parse(one, 1), parse(file, STEPS)]),
      raw(STEPS),
      check(file, STEPS),
    ];
    const figures = await measureVariants(variants, runCount(), pin);
    console.log(`
where the time goes (${pinning(pin)}; medians of ${runCount()} interleaved runs;`);
    console.log('CPU: user + system of the whole process, every thread, as it reports at exit)');
    printTable([
      ['', 'wall', 'CPU'],
      ...variants.map(({ name }) => {
        const f = figuresOf(figures, name);
        return [name, fmtMs(f.ms), fmtMs(f.cpuMs)];
      }),
    ]);
    const f = (/** @type {string} */ name) => figuresOf(figures, name);
    const [raw1, rawN, pd1, pdN] = [
      f(raw(1).name),
      f(raw(STEPS).name),
      f(check(one, 1).name),
      f(check(file, STEPS).name),
    ];
    const parseCpu = dist === undefined ? 0 : f(parse(file, STEPS).name).cpuMs - f(parse(one, 1).name).cpuMs;
    /** @param {number} ms */
    const perStep = (ms) => `${((ms * 1000) / (STEPS - 1)).toFixed(1)} µs a step`;
    const plus = (/** @type {number} */ ms) => `${ms >= 0 ? '+' : ''}${fmtMs(ms)}`;
    const startWall = pd1.ms - raw1.ms;
    const startCpu = pd1.cpuMs - raw1.cpuMs;
    const tripsWall = pdN.ms - pd1.ms - (rawN.ms - raw1.ms) - parseCpu;
    const tripsCpu = pdN.cpuMs - pd1.cpuMs - (rawN.cpuMs - raw1.cpuMs) - parseCpu;
    console.log(
      `protodoc beyond the raw Node client (${fmtMs(pdN.ms - rawN.ms)} wall, ${fmtMs(pdN.cpuMs - rawN.cpuMs)} CPU in all):`,
    );
    printTable([
      ['', 'wall', 'CPU', ''],
      ['start-up', plus(startWall), plus(startCpu), 'modules, the CLI, one step, the report'],
      ...(dist === undefined
        ? []
        : [['parse', '', plus(parseCpu), `${perStep(parseCpu)} (taken as wall time too)`]]),
      [
        `${STEPS - 1} more round trips`,
        plus(tripsWall),
        plus(tripsCpu),
        `${perStep(tripsCpu)} CPU over the raw client's ${perStep(rawN.cpuMs - raw1.cpuMs)}`,
      ],
    ]);
  } finally {
    await redis.stop();
  }
}

await main(async () => {
  const tmp = tempDir('ping');
  try {
    const file = join(tmp.dir, 'ping-10000.txt');
    writeFileSync(file, pingTranscript(STEPS));
    const one = join(tmp.dir, 'ping-1.txt');
    writeFileSync(one, pingTranscript(1));
    console.log(`${STEPS} PING/+PONG round trips on one connection, nothing pipelined`);
    console.log(
      `1 warm-up run each (not counted), then ${runCount()} interleaved runs; whole-process wall time,`,
    );
    console.log('and CPU time (user + system) of the client process, which a busy machine disturbs less');
    if (canPin) await measure(file, true);
    await measure(file, false);
    await whereTimeGoes(one, file);
  } finally {
    tmp.remove();
  }
});
