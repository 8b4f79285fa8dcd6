// Reading a V8 .cpuprofile (node --cpu-prof): self time per function and per file, to say where time goes.
import { readFileSync } from 'node:fs';

/**
 * @param {string} path  a .cpuprofile file
 * @param {{ root?: string }} [options]  root: a path prefix to strip from script URLs
 * @returns {{ totalMs: number, byFunction: [string, number][], byFile: [string, number][] }}  sorted, ms
 */
export function summarizeProfile(path, { root = '' } = {}) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const byFunction = new Map();
  const byFile = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    const file = url ? url.replace(`file://${root}`, '') : `(${functionName})`;
    const fn = url ? `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}` : file;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    total += us;
  }
  const sorted = (m) => [...m].map(([k, us]) => [k, us / 1000]).sort((a, b) => b[1] - a[1]);
  return { totalMs: total / 1000, byFunction: sorted(byFunction), byFile: sorted(byFile) };
}

/** Print the top `n` rows of a summary. */
export function printProfile({ totalMs, byFunction, byFile }, n = 25) {
  const row = ([name, ms]) =>
    `${ms.toFixed(1).padStart(8)} ms ${((100 * ms) / totalMs).toFixed(1).padStart(5)}%  ${name}`;
  console.log(`sampled ${totalMs.toFixed(1)} ms`);
  console.log('-- self time by function');
  for (const r of byFunction.slice(0, n)) console.log(row(r));
  console.log('-- self time by file');
  for (const r of byFile.slice(0, 15)) console.log(row(r));
}
