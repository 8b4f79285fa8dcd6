#!/usr/bin/env node
// Benchmark 6: what `protodoc record` costs the traffic that goes through it. 10,000 sequential PING round trips on
// one connection, straight to redis and through a running `protodoc record` proxy, with the same clients
// (bench/raw-redis-client.mjs, the Node floor, and redis-benchmark, the C floor); runs interleaved, medians; pinned
// and unpinned (see lib/pin.mjs). Then the time `record` takes to write a 10,000-step recording when it is stopped,
// and a check that what it wrote passes against the same redis. See bench/README.md.
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { canPin, pinned, pinning } from './lib/pin.mjs';
import { BENCH_ENV, BenchError, main, runOk, tempDir } from './lib/process.mjs';
import { protodoc, ROOT } from './lib/protodoc.mjs';
import { redisPingCalls, startRedis } from './lib/servers.mjs';
import { fmtMs, fmtRatio, median, printTable, runCount, verdict } from './lib/stats.mjs';

const STEPS = 10_000;
const GOAL = 1.3;

/**
 * A running `protodoc record`: its port, its pid (for its CPU time) and a way to stop it.
 * @typedef {{ port: number, pid: number, stop: () => Promise<{ ms: number, stdout: string }> }} Recorder
 */

/**
 * Start `protodoc record --listen 0 --connect 127.0.0.1:PORT --output FILE` and wait for its listening line.
 * @param {number} redisPort
 * @param {string} file
 * @param {boolean} pin
 * @returns {Promise<Recorder>}
 */
async function startRecorder(redisPort, file, pin) {
  return startProxy(
    'protodoc record',
    protodoc(['record', '--listen', '0', '--connect', `127.0.0.1:${redisPort}`, '--output', file]),
    pin,
  );
}

/**
 * Start a proxy (`protodoc record`, or the bare Node pipe proxy that is its floor) and wait for its listening line.
 * @param {string} name
 * @param {[string, string[]]} argv
 * @param {boolean} pin
 * @returns {Promise<Recorder>}
 */
async function startProxy(name, argv, pin) {
  const [cmd, args] = pinned(...argv, pin);
  const child = spawn(cmd, args, { cwd: ROOT, env: BENCH_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const m = /^listening on 127\.0\.0\.1:(\d+), /m.exec(stdout);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new BenchError(`${name} exited (${code}): ${stdout}${stderr}`)));
  });
  return {
    port,
    pid: child.pid ?? -1,
    stop: async () => {
      const start = process.hrtime.bigint();
      child.kill('SIGINT');
      const code = await exited;
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) throw new BenchError(`${name} exited with ${code} when stopped: ${stdout}${stderr}`);
      if (stderr !== '') throw new BenchError(`${name} warned: ${stderr}`);
      return { ms, stdout };
    },
  };
}

/**
 * CPU time (user + system) a process has used so far, from /proc (10 ms ticks).
 * @param {number} pid
 * @returns {number} milliseconds
 */
function cpuMsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * One client measured, straight to redis or through a proxy (`record`, or the bare pipe proxy).
 * @typedef {{ name: string, argv: (port: number) => [string, string[]], via: Recorder | null,
 *   runs: { ms: number, cpuMs: number, proxyCpuMs: number }[] }} Contender
 */

/**
 * Both clients, each straight and through `record`, with one placement; print the table and the ratios.
 * @param {boolean} pin
 * @param {string} dir  where the recording goes
 */
async function measure(pin, dir) {
  const redis = await startRedis({ pin });
  const recorder = await startRecorder(redis.port, join(dir, `all-${pin ? 'pinned' : 'unpinned'}.txt`), pin);
  const pipe = await startProxy(
    'bare Node pipe proxy',
    [process.execPath, [join(ROOT, 'bench', 'pipe-proxy.mjs'), String(redis.port)]],
    pin,
  );
  try {
    /** @param {number} port @returns {[string, string[]]} */
    const raw = (port) => [
      process.execPath,
      [join(ROOT, 'bench', 'raw-redis-client.mjs'), String(port), String(STEPS)],
    ];
    /** @param {number} port @returns {[string, string[]]} */
    const benchmark = (port) => [
      'redis-benchmark',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
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
    ];
    /** @type {Contender[]} */
    const contenders = [
      { name: 'raw Node client, direct', argv: raw, via: null, runs: [] },
      { name: 'raw Node client, through record', argv: raw, via: recorder, runs: [] },
      { name: 'raw Node client, through a bare Node pipe proxy', argv: raw, via: pipe, runs: [] },
      { name: 'redis-benchmark, direct', argv: benchmark, via: null, runs: [] },
      { name: 'redis-benchmark, through record', argv: benchmark, via: recorder, runs: [] },
    ];
    /** @param {Contender} c */
    const once = async (c) => {
      const before = await redisPingCalls(redis.port);
      const proxyBefore = c.via ? cpuMsOf(c.via.pid) : 0;
      const [cmd, args] = c.argv(c.via ? c.via.port : redis.port);
      const result = await runOk(c.name, ...pinned(cmd, args, pin), { cwd: ROOT, usage: true });
      const proxyCpuMs = c.via ? cpuMsOf(c.via.pid) - proxyBefore : 0;
      const calls = (await redisPingCalls(redis.port)) - before;
      if (calls !== STEPS) throw new BenchError(`${c.name} made ${calls} PINGs, expected ${STEPS}`);
      return { ms: result.ms, cpuMs: result.cpuMs, proxyCpuMs };
    };
    console.log(
      `\n${pinning(pin)}${pin ? ', and the proxy with them' : ''}; redis on 127.0.0.1:${redis.port}`,
    );
    for (const c of contenders) await once(c);
    for (let i = 0; i < runCount(); i++) for (const c of contenders) c.runs.push(await once(c));

    /** @param {Contender} c */
    const wall = (c) => median(c.runs.map((r) => r.ms));
    printTable([
      ['', 'wall median', 'min', 'max', 'per step', 'client CPU', 'proxy CPU'],
      ...contenders.map((c) => [
        c.name,
        fmtMs(wall(c)),
        fmtMs(Math.min(...c.runs.map((r) => r.ms))),
        fmtMs(Math.max(...c.runs.map((r) => r.ms))),
        `${((wall(c) * 1000) / STEPS).toFixed(1)} µs`,
        fmtMs(median(c.runs.map((r) => r.cpuMs))),
        c.via ? fmtMs(median(c.runs.map((r) => r.proxyCpuMs))) : '',
      ]),
    ]);
    const [rawDirect, rawProxied, rawPiped, cDirect, cProxied] =
      /** @type {[Contender, Contender, Contender, Contender, Contender]} */ (contenders);
    const ratio = wall(rawProxied) / wall(rawDirect);
    console.log(
      `through record / direct, raw Node client: ${fmtRatio(ratio)} wall (goal ≤ ${GOAL}x: ${verdict(ratio <= GOAL)})`,
    );
    console.log(
      `through a bare Node pipe proxy / direct, raw Node client: ${fmtRatio(wall(rawPiped) / wall(rawDirect))} wall ` +
        `(the floor for any proxy in Node); record / bare pipe proxy: ${fmtRatio(wall(rawProxied) / wall(rawPiped))}`,
    );
    console.log(
      `through record / direct, redis-benchmark: ${fmtRatio(wall(cProxied) / wall(cDirect))} wall ` +
        `(+${(((wall(cProxied) - wall(cDirect)) * 1000) / STEPS).toFixed(1)} µs a round trip)`,
    );
  } finally {
    await recorder.stop().catch(() => {});
    await pipe.stop().catch(() => {});
    await redis.stop();
  }
}

/**
 * A recording of exactly one 10,000-PING run: how long writing it takes, and that it passes a check.
 * @param {string} dir
 */
async function writing(dir) {
  const redis = await startRedis();
  const file = join(dir, 'ping-10000.txt');
  try {
    const recorder = await startRecorder(redis.port, file, false);
    await runOk('raw Node client', process.execPath, [
      join(ROOT, 'bench', 'raw-redis-client.mjs'),
      String(recorder.port),
      String(STEPS),
    ]);
    const { ms, stdout } = await recorder.stop();
    if (!stdout.includes(`: ${STEPS} steps on 1 connection\n`)) {
      throw new BenchError(`protodoc record wrote something else than ${STEPS} steps: ${stdout}`);
    }
    const check = await runOk('protodoc check', ...protodoc(['check', file]), { cwd: ROOT });
    if (!check.stdout.startsWith(`PASS ${file} (${STEPS} steps, `)) {
      throw new BenchError(`the recording does not pass: ${check.stdout}`);
    }
    console.log(
      `\nstopping record after one ${STEPS}-PING run: ${fmtMs(ms)} from SIGINT to exit, file written ` +
        `(${(statSync(file).size / 1024).toFixed(0)} KiB); it passes protodoc check against the same redis ` +
        `(${fmtMs(check.ms)})`,
    );
  } finally {
    await redis.stop();
  }
}

await main(async () => {
  const tmp = tempDir('record');
  try {
    console.log(
      `${STEPS} PING/+PONG round trips on one connection, nothing pipelined, straight to redis and`,
    );
    console.log(
      'through a running protodoc record proxy (which records every byte); 1 warm-up run each (not',
    );
    console.log(
      `counted), then ${runCount()} interleaved runs; whole-process wall time of the client, its CPU time,`,
    );
    console.log("and the proxy's CPU time during the run");
    if (canPin) await measure(true, tmp.dir);
    await measure(false, tmp.dir);
    await writing(tmp.dir);
  } finally {
    tmp.remove();
  }
});
