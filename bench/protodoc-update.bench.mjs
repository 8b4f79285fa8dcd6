#!/usr/bin/env node
// Benchmark 5: `protodoc check --update --settle 10ms` of a transcript whose every reply changed, at 1,250, 2,500
// and 5,000 steps against redis. Each step waits for its reply to be quiet for the settle time (that is what
// --update does), so the floor is steps × 10 ms; what is measured is the time beyond it, per step, which must stay
// flat as the file grows (linear), and the whole run, which must take seconds, not minutes. See bench/README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchError, main, runOk, tempDir } from './lib/process.mjs';
import { protodoc, ROOT } from './lib/protodoc.mjs';
import { startRedis } from './lib/servers.mjs';
import { fmtMs, median, printTable, runCount } from './lib/stats.mjs';

const SIZES = [1250, 2500, 5000];
const SETTLE_MS = 10;

/**
 * `steps` steps whose replies all changed: redis answers `ECHO value-I` with `$N` and `value-I`, and the transcript
 * still expects `$5` and `stale` for each.
 * @param {number} steps
 */
function staleTranscript(steps) {
  let out = '';
  for (let i = 0; i < steps; i++) out += `>>> ECHO value-${i}\n$5\nstale\n`;
  return out;
}

/**
 * What --update must leave: every step with redis's reply.
 * @param {number} steps
 */
function updatedTranscript(steps) {
  let out = '';
  for (let i = 0; i < steps; i++) out += `>>> ECHO value-${i}\n$${`value-${i}`.length}\nvalue-${i}\n`;
  return out;
}

/**
 * @typedef {{ steps: number, runs: number[], check: number[] }} Size
 */

await main(async () => {
  const tmp = tempDir('update');
  const redis = await startRedis();
  // Each 5,000-step run takes about a minute of settle waits alone: 3 runs unless BENCH_RUNS says otherwise.
  const runs = process.env.BENCH_RUNS ? runCount() : 3;
  try {
    const target = `127.0.0.1:${redis.port}`;
    console.log(
      `--update --settle ${SETTLE_MS}ms of a transcript whose every reply changed, against redis on ${target};`,
    );
    console.log(
      `${runs} runs per size (whole-process wall time), each checked: the file is rewritten exactly and passes`,
    );
    /** @type {Size[]} */
    const sizes = SIZES.map((steps) => ({ steps, runs: [], check: [] }));
    for (let i = 0; i < runs; i++) {
      for (const size of sizes) {
        const file = join(tmp.dir, `update-${size.steps}.txt`);
        writeFileSync(file, staleTranscript(size.steps));
        const update = await runOk(
          '--update',
          ...protodoc(['check', '--update', '--settle', `${SETTLE_MS}ms`, '--connect', target, file]),
          { cwd: ROOT },
        );
        // Proof that the work was done: the closing line, the file as it must be, and a plain check that passes.
        if (!update.stdout.endsWith(`\nupdated ${size.steps} steps in 1 file\n`)) {
          throw new BenchError(`--update of ${size.steps} steps printed:\n${update.stdout.slice(-500)}`);
        }
        const got = readFileSync(file, 'utf8').split('\n');
        const want = updatedTranscript(size.steps).split('\n');
        const differs = want.findIndex((line, k) => got[k] !== line);
        if (differs >= 0 || got.length !== want.length) {
          // A reply slower than the settle time is cut there (FORMAT §16.2): a machine too busy for 10ms.
          const at = differs >= 0 ? differs : Math.min(got.length, want.length);
          throw new BenchError(
            `--update of ${size.steps} steps did not leave the file it should: line ${at + 1} is ` +
              `${JSON.stringify(got[at])}, not ${JSON.stringify(want[at])}`,
          );
        }
        const check = await runOk('check', ...protodoc(['check', '--connect', target, file]), { cwd: ROOT });
        size.runs.push(update.ms);
        size.check.push(check.ms);
      }
    }
    printTable([
      ['steps', '--update median', 'min', 'max', 'settle floor', 'beyond it, per step', 'plain check after'],
      ...sizes.map((s) => {
        const wall = median(s.runs);
        const floor = s.steps * SETTLE_MS;
        return [
          String(s.steps),
          fmtMs(wall),
          fmtMs(Math.min(...s.runs)),
          fmtMs(Math.max(...s.runs)),
          fmtMs(floor),
          `${((wall - floor) / s.steps).toFixed(3)} ms`,
          fmtMs(median(s.check)),
        ];
      }),
    ]);
    const first = sizes[0];
    const last = sizes[sizes.length - 1];
    if (first === undefined || last === undefined) throw new BenchError('no sizes');
    /** @param {Size} s */
    const perStep = (s) => median(s.runs) / s.steps;
    console.log(
      `per step at ${last.steps} against ${first.steps}: ${(perStep(last) / perStep(first)).toFixed(2)}x ` +
        '(1.00x is linear); the whole 5,000-step update: ' +
        `${(median(last.runs) / 1000).toFixed(1)} s (goal: seconds, not minutes)`,
    );
  } finally {
    await redis.stop();
    tmp.remove();
  }
});
