#!/usr/bin/env node
// Benchmark 1: 10,000 sequential PING/+PONG round trips on one redis connection.
// protodoc checking a generated transcript, against redis-benchmark (the C floor) and bench/raw-redis-client.mjs
// (the Node floor). Whole-process wall times, runs interleaved, medians. See bench/README.md.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pinned, pinning } from './lib/pin.mjs';
import { BenchError, main, runOk, tempDir } from './lib/process.mjs';
import { protodoc, ROOT } from './lib/protodoc.mjs';
import { redisPingCalls, startRedis } from './lib/servers.mjs';
import { fmtMs, fmtRatio, median, printTable, runCount, verdict } from './lib/stats.mjs';

const STEPS = 10_000;
const TARGET_RAW = 1.15;
const STRETCH_C = 1.6;

/** The transcript: nothing but the base rules, one step per round trip. */
export function pingTranscript(steps) {
  return '>>> PING\n+PONG\n'.repeat(steps);
}

await main(async () => {
  const tmp = tempDir('ping');
  const redis = await startRedis({ pin: true });
  try {
    const file = join(tmp.dir, 'ping-10000.txt');
    writeFileSync(file, pingTranscript(STEPS));
    const target = `127.0.0.1:${redis.port}`;
    const contenders = [
      { name: 'protodoc check', argv: protodoc(['check', '--connect', target, file]) },
      {
        name: 'redis-benchmark',
        argv: [
          'redis-benchmark',
          [
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
            '-t',
            'ping_inline',
            '-q',
          ],
        ],
      },
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
      const result = await runOk(c.name, ...pinned(...c.argv), { cwd: ROOT });
      const calls = (await redisPingCalls(redis.port)) - before;
      // Proof that it really made every round trip (and no more).
      if (calls !== STEPS) throw new BenchError(`${c.name} made ${calls} PINGs, expected ${STEPS}`);
      return result.ms;
    };

    const runs = runCount();
    console.log(`${STEPS} PING/+PONG round trips, redis on 127.0.0.1:${redis.port}; ${pinning()}`);
    console.log(`1 warm-up run each (not counted), then ${runs} interleaved runs; whole-process wall time`);
    for (const c of contenders) await once(c);
    const times = contenders.map(() => []);
    for (let i = 0; i < runs; i++) {
      for (const [j, c] of contenders.entries()) times[j].push(await once(c));
    }

    const medians = times.map(median);
    printTable([
      ['', 'median', 'min', 'max', 'per step'],
      ...contenders.map((c, j) => [
        c.name,
        fmtMs(medians[j]),
        fmtMs(Math.min(...times[j])),
        fmtMs(Math.max(...times[j])),
        `${((medians[j] * 1000) / STEPS).toFixed(1)} µs`,
      ]),
    ]);
    const [pd, c, raw] = medians;
    console.log(
      `protodoc / raw Node client: ${fmtRatio(pd / raw)} (target ≤ ${TARGET_RAW}x: ${verdict(pd / raw <= TARGET_RAW)})`,
    );
    console.log(
      `protodoc / redis-benchmark: ${fmtRatio(pd / c)} (stretch ≤ ${STRETCH_C}x: ${verdict(pd / c <= STRETCH_C)})`,
    );
    console.log(
      `raw Node client / redis-benchmark: ${fmtRatio(raw / c)} (context: the Node floor against the C floor)`,
    );
  } finally {
    await redis.stop();
    tmp.remove();
  }
});
