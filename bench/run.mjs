#!/usr/bin/env node
// `npm run bench [-- FILTER...]`: run every bench/*.bench.mjs in name order, each in its own Node process, and
// print their figures. A FILTER keeps the files whose name contains it (e.g. `npm run bench -- protodoc`).
// Benchmarks never fail on a target; the exit code is non-zero only when a benchmark could not run.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const all = readdirSync(here)
  .filter((name) => name.endsWith('.bench.mjs'))
  .sort();
const chosen = all.filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)));
if (chosen.length === 0) {
  console.error(`error: no benchmark matches ${filters.join(', ')}; there are: ${all.join(', ') || 'none'}`);
  process.exit(2);
}

const failed = [];
for (const name of chosen) {
  console.log(`\n== ${name.replace(/\.bench\.mjs$/, '')} ==`);
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, name)], { stdio: 'inherit' });
    child.on('error', () => resolve(1));
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  if (code !== 0) failed.push(name);
}
if (failed.length > 0) {
  console.error(`\n${failed.length} of ${chosen.length} benchmarks could not run: ${failed.join(', ')}`);
  process.exit(1);
}
