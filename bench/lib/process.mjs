// Running programs and timing them from the outside: every figure the benchmarks print is the wall time of a
// whole process (spawn to exit), as a user at a shell would see it.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Keep at most this much of a child's stdout/stderr (enough to show why it failed). */
const OUTPUT_CAP = 64 * 1024;

/** GNU time, used to read a child's peak RSS and CPU time; when missing, /proc sampling stands in. */
const GNU_TIME = process.env.BENCH_GNU_TIME ?? '/usr/bin/time';

/**
 * The environment every measured program runs with: the caller's, less NODE_EXTRA_CA_CERTS, which makes each Node
 * process parse a CA bundle at start-up (about 80 ms of wall time on the machine these figures come from) although
 * nothing here uses TLS. It would add the same constant to every Node contender and so flatter their ratios.
 */
export const BENCH_ENV = { ...process.env };
delete BENCH_ENV.NODE_EXTRA_CA_CERTS;

/**
 * @typedef {object} RunOptions
 * @property {string} [cwd]
 * @property {NodeJS.ProcessEnv} [env]  default: BENCH_ENV
 * @property {boolean} [fullOutput]  keep all of stdout (for output that is parsed) rather than the last 64 KiB;
 *   stdout then goes to a file, not a pipe, because a program that calls process.exit() loses what is still queued
 *   for a pipe (default: false)
 * @property {boolean} [usage]  also measure the child's peak resident set size (KiB) and CPU time (user + system,
 *   ms) with /usr/bin/time (10 ms resolution), or by sampling /proc/PID when GNU time is missing (default: false)
 */

/**
 * @typedef {object} RunResult
 * @property {number} ms  wall time from spawn to exit
 * @property {number | null} code
 * @property {NodeJS.Signals | null} signal
 * @property {string} stdout
 * @property {string} stderr
 * @property {number} [peakRssKiB]  with `usage`
 * @property {number} [cpuMs]  with `usage`
 */

/** @typedef {{ peakRssKiB: number, cpuMs: number }} Usage */

/**
 * Run `cmd args` to completion.
 * @overload
 * @param {string} cmd
 * @param {string[]} args
 * @param {RunOptions & { usage: true }} options
 * @returns {Promise<RunResult & Usage>}
 */
/**
 * @overload
 * @param {string} cmd
 * @param {string[]} args
 * @param {RunOptions} [options]
 * @returns {Promise<RunResult>}
 */
/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {RunOptions} [options]
 * @returns {Promise<RunResult>}
 */
export async function run(cmd, args, options = {}) {
  /** @type {[string, ...string[]]} */
  let argv = [cmd, ...args];
  let timeFile;
  if (options.usage && existsSync(GNU_TIME)) {
    timeFile = join(mkdtempSync(join(tmpdir(), 'bench-time-')), 'time.out');
    // -o keeps GNU time's line out of the child's stderr; %M is the peak RSS in KiB, %U and %S CPU seconds.
    argv = [GNU_TIME, '-f', '%M %U %S', '-o', timeFile, ...argv];
  }
  let outFile;
  let outFd;
  if (options.fullOutput) {
    outFile = join(mkdtempSync(join(tmpdir(), 'bench-out-')), 'stdout');
    outFd = openSync(outFile, 'w');
  }
  const start = process.hrtime.bigint();
  const child = spawn(argv[0], argv.slice(1), {
    cwd: options.cwd,
    env: options.env ?? BENCH_ENV,
    stdio: ['ignore', outFd ?? 'pipe', 'pipe'],
  });
  if (outFd !== undefined) closeSync(outFd);
  const stdout = outFile ? () => readFileSync(outFile, 'utf8') : capture(child.stdout, OUTPUT_CAP);
  const stderr = capture(child.stderr, OUTPUT_CAP);
  let sampled = { peakRssKiB: 0, cpuMs: 0 };
  let sampler;
  if (options.usage && !timeFile) {
    // VmHWM is the kernel's own high-water mark and CPU times only grow, so sampling only has to catch the
    // process shortly before it exits.
    sampler = setInterval(() => {
      // Max, because a zombie's status no longer shows VmHWM.
      const now = readProcUsage(child.pid);
      if (now) {
        sampled = {
          peakRssKiB: Math.max(sampled.peakRssKiB, now.peakRssKiB),
          cpuMs: Math.max(sampled.cpuMs, now.cpuMs),
        };
      }
    }, 5);
  }
  /** @type {Promise<{ code: number | null, signal: NodeJS.Signals | null, end: bigint }>} */
  const exit = new Promise((resolve, reject) => {
    /** @type {{ code: number | null, signal: NodeJS.Signals | null, end: bigint } | undefined} */
    let exited;
    child.on('error', reject);
    child.on('exit', (c, s) => {
      exited = { code: c, signal: s, end: process.hrtime.bigint() };
    });
    // 'close' also waits for the pipes to drain, so the captured output is complete. Without an 'exit' before it,
    // the spawn failed and 'error' has already rejected.
    child.on('close', () => {
      if (exited) resolve(exited);
      else reject(new BenchError(`${cmd} closed without exiting`));
    });
  });
  const { code, signal, end } = await exit;
  if (sampler) clearInterval(sampler);
  /** @type {RunResult} */
  const result = {
    ms: Number(end - start) / 1e6,
    code,
    signal,
    stdout: stdout(),
    stderr: stderr(),
  };
  if (outFile) rmSync(join(outFile, '..'), { recursive: true, force: true });
  if (timeFile) {
    const text = readFileSync(timeFile, 'utf8').trim();
    rmSync(join(timeFile, '..'), { recursive: true, force: true });
    // GNU time writes "Command exited with non-zero status N" before the format line on failure.
    const last = text.split('\n').at(-1) ?? '';
    const [rss, user, sys] = last.split(' ').map(Number);
    if (rss === undefined || user === undefined || sys === undefined) {
      throw new BenchError(`${GNU_TIME} wrote no "%M %U %S" line for ${cmd}: ${last}`);
    }
    result.peakRssKiB = rss;
    result.cpuMs = (user + sys) * 1000;
  } else if (options.usage) {
    Object.assign(result, sampled);
  }
  return result;
}

/**
 * Run and insist on exit code 0; otherwise throw with the command and the end of its output.
 * @overload
 * @param {string} label  what this run is, for the error message
 * @param {string} cmd
 * @param {string[]} args
 * @param {RunOptions & { usage: true }} options
 * @returns {Promise<RunResult & Usage>}
 */
/**
 * @overload
 * @param {string} label
 * @param {string} cmd
 * @param {string[]} args
 * @param {RunOptions} [options]
 * @returns {Promise<RunResult>}
 */
/**
 * @param {string} label
 * @param {string} cmd
 * @param {string[]} args
 * @param {RunOptions} [options]
 * @returns {Promise<RunResult>}
 */
export async function runOk(label, cmd, args, options) {
  const result = await run(cmd, args, options);
  if (result.code !== 0) {
    throw new BenchError(
      `${label} exited with ${result.code ?? result.signal}: ${[cmd, ...args].join(' ')}\n` +
        tail(result.stdout + result.stderr, 30),
    );
  }
  return result;
}

/** A benchmark could not run (as opposed to a slow result, which is only ever printed). */
export class BenchError extends Error {
  /** @override */
  name = 'BenchError';
}

/**
 * @param {string} text
 * @param {number} n
 * @returns {string} the last `n` lines of `text`
 */
export function tail(text, n) {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

/**
 * A temporary directory and a function that removes it.
 * @param {string} prefix  names the directory: `bench-PREFIX-XXXXXX`
 * @returns {{ dir: string, remove: () => void }}
 */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `bench-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Collect what `stream` emits, at most about `cap` bytes of its end.
 * @param {import('node:stream').Readable | null} stream  a child's stdio stream; null unless spawned as 'pipe'
 * @param {number} cap
 * @returns {() => string}  what was collected so far
 */
function capture(stream, cap) {
  if (!stream) throw new Error('capture() needs a piped stream');
  /** @type {Buffer[]} */
  const chunks = [];
  let size = 0;
  stream.on('data', (/** @type {Buffer} */ chunk) => {
    chunks.push(chunk);
    size += chunk.length;
    // Keep the tail: that is where errors are.
    while (size > cap && chunks.length > 1) {
      const dropped = chunks.shift();
      if (dropped) size -= dropped.length;
    }
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

/**
 * @param {number | undefined} pid  undefined when the spawn failed
 * @returns {Usage | undefined}  undefined once the process is gone
 */
function readProcUsage(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in ticks.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1];
    if (fields === undefined) return undefined;
    const stat = fields.split(' ');
    const peakRssKiB = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    return { peakRssKiB, cpuMs: (Number(stat[11]) + Number(stat[12])) * 10 };
  } catch {
    return undefined; // already gone
  }
}

/**
 * Run a benchmark body: a BenchError (something could not run) prints one `error:` line and exits 1; anything else
 * is a bug in the benchmark and keeps its stack.
 * @param {() => Promise<void>} body
 */
export async function main(body) {
  try {
    await body();
  } catch (err) {
    if (!(err instanceof BenchError)) throw err;
    console.error(`error: ${err.message}`);
    process.exitCode = 1;
  }
}
