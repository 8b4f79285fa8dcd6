#!/usr/bin/env node
// Benchmark 1: 10,000 sequential PING/+PONG round trips on one redis connection.
// protodoc checking a generated transcript, against redis-benchmark (the C floor) and bench/raw-redis-client.mjs
// (the Node floor). Whole-process wall times, runs interleaved, medians; measured with everything pinned to one
// CPU and unpinned (see lib/pin.mjs). See bench/README.md.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canPin, pinned, pinning } from './lib/pin.mjs';
import { BenchError, main, runOk, tempDir } from './lib/process.mjs';
import { protodoc, ROOT } from './lib/protodoc.mjs';
import { redisPingCalls, startRedis } from './lib/servers.mjs';
import { fmtMs, fmtRatio, median, printTable, runCount, verdict } from './lib/stats.mjs';
import { pingTranscript } from './lib/transcripts.mjs';

const STEPS = 10_000;
const TARGET_RAW = 1.15;
const STRETCH_C = 1.6;

/** Measure the three contenders with one placement; print the table and the ratios. */
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
    const contenders = [
      { name: 'protodoc check', argv: protodoc(['check', '--connect', target, file]) },
      { name: 'redis-benchmark', argv: ['redis-benchmark', [...benchmarkArgs, '-t', 'ping_inline', '-q']] },
      {
        name: 'raw Node client',
        argv: [
          process.execPath,
          [join(ROOT, 'bench', 'raw-redis-client.mjs'), String(redis.port), String(STEPS)],
        ],
      },
    ];
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
    const results = contenders.map(() => []);
    for (let i = 0; i < runs; i++) {
      for (const [j, c] of contenders.entries()) results[j].push(await once(c));
    }

    const wall = results.map((rs) => rs.map((r) => r.ms));
    const medians = wall.map(median);
    const cpu = results.map((rs) => median(rs.map((r) => r.cpuMs)));
    printTable([
      ['', 'wall median', 'min', 'max', 'per step', 'CPU median'],
      ...contenders.map((c, j) => [
        c.name,
        fmtMs(medians[j]),
        fmtMs(Math.min(...wall[j])),
        fmtMs(Math.max(...wall[j])),
        `${((medians[j] * 1000) / STEPS).toFixed(1)} µs`,
        fmtMs(cpu[j]),
      ]),
    ]);
    const ratio = (a, b) => medians[a] / medians[b];
    const ratios = (a, b) => `${fmtRatio(ratio(a, b))} wall, ${fmtRatio(cpu[a] / cpu[b])} CPU`;
    console.log(
      `protodoc / raw Node client: ${ratios(0, 2)} (target ≤ ${TARGET_RAW}x wall: ${verdict(ratio(0, 2) <= TARGET_RAW)})`,
    );
    console.log(
      `protodoc / redis-benchmark: ${ratios(0, 1)} (stretch ≤ ${STRETCH_C}x wall: ${verdict(ratio(0, 1) <= STRETCH_C)})`,
    );
    console.log(`raw Node client / redis-benchmark: ${ratios(2, 1)} (the Node floor against the C floor)`);
  } finally {
    await redis.stop();
  }
}

await main(async () => {
  const tmp = tempDir('ping');
  try {
    const file = join(tmp.dir, 'ping-10000.txt');
    writeFileSync(file, pingTranscript(STEPS));
    console.log(`${STEPS} PING/+PONG round trips on one connection, nothing pipelined`);
    console.log(
      `1 warm-up run each (not counted), then ${runCount()} interleaved runs; whole-process wall time,`,
    );
    console.log('and CPU time (user + system) of the client process, which a busy machine disturbs less');
    if (canPin) await measure(file, true);
    await measure(file, false);
  } finally {
    tmp.remove();
  }
});
