// Reading a V8 .cpuprofile (node --cpu-prof): self time per function and per file, and total (inclusive) time of
// the project's own functions, to say where time goes.
import { readFileSync } from 'node:fs';

/**
 * What `node --cpu-prof` writes: the inspector's Profiler.Profile, whose samples and time deltas are always there.
 * @typedef {import('node:inspector').Profiler.Profile & { samples: number[], timeDeltas: number[] }} CpuProfile
 */

/**
 * @typedef {object} ProfileSummary  ms; each table sorted, largest first
 * @property {number} totalMs
 * @property {number} idleMs
 * @property {[string, number][]} byFunction  self time
 * @property {[string, number][]} byFile  self time
 * @property {[string, number][]} ownInclusive  self + callees, of the project's own functions
 */

/**
 * @param {string} path  a .cpuprofile file
 * @param {{ root?: string }} [options]  root: the repository path; its scripts count as "own" and are shown
 *   relative to it
 * @returns {ProfileSummary}
 */
export function summarizeProfile(path, { root = '' } = {}) {
  /** @type {CpuProfile} */
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  /** @param {number} id */
  const node = (id) => {
    const n = nodes.get(id);
    if (n === undefined) throw new Error(`${path}: no node ${id}`);
    return n;
  };
  /** @type {Map<number, number>} */
  const parent = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const own = `file://${root}`;
  /** @param {import('node:inspector').Profiler.ProfileNode} n */
  const name = (n) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const file = url ? url.replace(own, '') : `(${functionName})`;
    // A bundle's functions are shown in the module they come from (its line numbers stay the bundle's).
    const from = url ? bundledModule(url, lineNumber) : undefined;
    const where = from === undefined ? file : `${from} (in ${file})`;
    return { file: where, fn: url ? `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}` : file };
  };
  /** @type {Map<string, number>} */
  const byFunction = new Map();
  /** @type {Map<string, number>} */
  const byFile = new Map();
  /** @type {Map<string, number>} */
  const ownInclusive = new Map();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i + 1] ?? 0; // a delta is the time until the next sample
    const { file, fn } = name(node(id));
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    total += us;
    if (fn === '((idle))') idle += us;
    // Inclusive time: once per distinct own function on the stack.
    const seen = new Set();
    for (let /** @type {number | undefined} */ at = id; at !== undefined; at = parent.get(at)) {
      const n = node(at);
      if (!root || !n.callFrame.url.startsWith(own) || n.callFrame.url.includes('/node_modules/')) continue;
      const key = name(n).fn;
      if (seen.has(key)) continue;
      seen.add(key);
      ownInclusive.set(key, (ownInclusive.get(key) ?? 0) + us);
    }
  });
  /**
   * @param {Map<string, number>} m  µs
   * @returns {[string, number][]}  ms, largest first
   */
  const sorted = (m) =>
    [...m].map(/** @returns {[string, number]} */ ([k, us]) => [k, us / 1000]).sort((a, b) => b[1] - a[1]);
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    byFunction: sorted(byFunction),
    byFile: sorted(byFile),
    ownInclusive: sorted(ownInclusive),
  };
}

/** @type {Map<string, { line: number, module: string }[]>} by bundle URL: where each module starts */
const bundles = new Map();

/**
 * The module a line of an esbuild bundle comes from (esbuild starts each with a `// path/of/module.js`
 * line), or undefined for a file that is not such a bundle: protodoc's CLI runs from dist/cli.bundle.cjs.
 * @param {string} url
 * @param {number} lineNumber  0-based
 * @returns {string | undefined}
 */
function bundledModule(url, lineNumber) {
  if (!url.endsWith('.bundle.cjs')) return undefined;
  let starts = bundles.get(url);
  if (starts === undefined) {
    starts = [];
    try {
      const lines = readFileSync(new URL(url), 'utf8').split('\n');
      for (const [i, line] of lines.entries()) {
        const match = /^\/\/ (\S+\.[cm]?js)$/.exec(line);
        if (match?.[1] !== undefined) starts.push({ line: i, module: match[1] });
      }
    } catch {}
    bundles.set(url, starts);
  }
  let module;
  for (const start of starts) {
    if (start.line > lineNumber) break;
    module = start.module;
  }
  return module;
}

/**
 * Print the top `n` rows of each table of a summary; percentages are of the busy (non-idle) time.
 * @param {ProfileSummary} summary
 * @param {number} [n]  rows per table of functions (the file table shows 15)
 */
export function printProfile({ totalMs, idleMs, byFunction, byFile, ownInclusive }, n = 25) {
  const busy = totalMs - idleMs;
  /** @param {[string, number]} entry */
  const row = ([label, ms]) =>
    `${ms.toFixed(1).padStart(8)} ms ${((100 * ms) / busy).toFixed(1).padStart(5)}%  ${label}`;
  console.log(`sampled ${totalMs.toFixed(1)} ms, of which idle (waiting for I/O) ${idleMs.toFixed(1)} ms`);
  console.log('(writeBuffer is the write() system call; pinned, it includes redis running on the same CPU)');
  console.log('-- self time by function (% of busy time)');
  for (const r of byFunction.filter(([label]) => label !== '((idle))').slice(0, n)) console.log(row(r));
  console.log('-- self time by file');
  for (const r of byFile.filter(([label]) => label !== '((idle))').slice(0, 15)) console.log(row(r));
  console.log(
    "-- total time (self + callees) of the project's own functions; garbage collection is counted apart",
  );
  for (const r of ownInclusive.slice(0, n)) console.log(row(r));
}
