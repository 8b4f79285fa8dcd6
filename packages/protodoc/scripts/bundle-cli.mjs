#!/usr/bin/env node
// Bundles the protodoc CLI (dist/cli.js, every module it imports, and commander) into one CommonJS file,
// dist/cli.bundle.cjs, which bin/protodoc.js runs with V8's code cache (src/launch.cts says why and how); and the
// `--jobs` worker thread's module (dist/file-worker.js and what it imports) into dist/file-worker.bundle.cjs,
// which src/thread-executor.ts starts instead of the ES modules (a thread then starts in some 20 ms less CPU). It
// bundles what `tsc -b` wrote, so it runs after it: `npm run build` does both.
//   node packages/protodoc/scripts/bundle-cli.mjs [--if-stale]
// --if-stale: only when `tsc -b` has written dist/ since the bundle was made (or there is none).
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(PACKAGE, 'dist');
/** Each bundle: the module it starts from, the file it writes, and what its first line calls it. */
const BUNDLES = [
  { entry: join(DIST, 'cli.js'), out: join(DIST, 'cli.bundle.cjs'), name: 'protodoc CLI bundle' },
  {
    entry: join(DIST, 'file-worker.js'),
    out: join(DIST, 'file-worker.bundle.cjs'),
    name: 'protodoc worker bundle',
  },
];
/** `tsc -b` rewrites it whenever it writes dist/ (the package's tsconfig puts it there). */
const BUILD_INFO = join(DIST, '.tsbuildinfo');

/** @type {{ dependencies?: Record<string, string>, peerDependencies?: Record<string, string> }} */
const manifest = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8'));
// Bundled: what every run loads, the CLI's modules and commander. Left for Node to load when a run needs
// them: the other dependencies (undici for HTTP, ws, yaml, diff) and the optional peer vitest.
const BUNDLED = new Set(['commander']);
const external = [
  ...Object.keys(manifest.dependencies ?? {}),
  ...Object.keys(manifest.peerDependencies ?? {}),
].filter((name) => !BUNDLED.has(name));

/** @param {string} path */
const mtime = (path) => statSync(path, { throwIfNoEntry: false })?.mtimeMs;

/** Whether `out` is at least as new as what `tsc -b` last wrote. */
const fresh = (/** @type {string} */ out) => {
  const bundle = mtime(out);
  const built = mtime(BUILD_INFO);
  return bundle !== undefined && (built === undefined || built <= bundle);
};

const ifStale = process.argv.includes('--if-stale');
for (const { entry, out, name } of BUNDLES) {
  if (ifStale && fresh(out)) continue;
  if (mtime(entry) === undefined) {
    console.error(`bundle-cli: ${relative(process.cwd(), entry)} is missing: run tsc -b first`);
    process.exit(1);
  }
  await bundle(entry, out, name);
}

/**
 * Writes the bundle of `entry` to `out`, its first line `// NAME ID`.
 * @param {string} entry @param {string} out @param {string} name
 */
async function bundle(entry, out, name) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20.19',
    external,
    write: false,
    metafile: true,
    logLevel: 'warning',
    // Non-ASCII characters in code come out escaped (the default, relied on below: the bundle is ASCII).
    charset: 'ascii',
    // import() becomes require(): code compiled by a vm.Script (src/launch.cts) cannot import() on Node 20
    // without --experimental-vm-modules. Every dependency left out here can be required.
    supported: { 'dynamic-import': false },
    // The modules find their files from import.meta.url (../package.json, the worker thread's
    // ./file-worker.js): the bundle sits in dist/ beside them, so its own URL serves.
    define: { 'import.meta.url': '__bundleUrl' },
    // "use strict" first: code after the banner would otherwise run in sloppy mode (ES modules are strict).
    banner: { js: '"use strict";\nconst __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  });

  // The licences of the packages copied into the bundle go with them.
  /** @type {Map<string, string>} name -> directory */
  const packages = new Map();
  for (const input of Object.keys(result.metafile.inputs)) {
    const path = resolve(input);
    if (path.startsWith(`${PACKAGE}${sep}`)) continue;
    const match = /^(.*[\\/]node_modules[\\/])((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(path);
    if (match !== null) packages.set(match[2] ?? '', `${match[1]}${match[2]}`);
  }
  let notices = '';
  for (const [name, base] of [...packages].sort()) {
    const { version, license } = JSON.parse(readFileSync(join(base, 'package.json'), 'utf8'));
    const text = readFileSync(join(base, 'LICENSE'), 'utf8').replaceAll('*/', '* /').trim();
    notices += `\n/*! ${name} ${version} (${license}), bundled:\n${text}\n*/\n`;
  }

  // ASCII only: V8 keeps a source with one character beyond it as two bytes a character, and the launcher
  // holds the bundle twice while compiling it (read, then inside CommonJS's wrapper): some 1.9 MB against
  // 0.95, in the space only a full collection frees, where they brought that collection into a 10,000-step
  // check. esbuild escapes such characters in code (its default charset, ascii); what it leaves is in
  // comments, and the licence texts, where `\u{HEX}` reads as well.
  const body = `${result.outputFiles[0]?.text ?? ''}${notices}`.replace(
    /[^\x00-\x7f]/gu,
    (c) => `\\u{${c.codePointAt(0)?.toString(16)}}`,
  );
  // The first line names the build: src/launch.cts keys the code cache by it.
  const id = createHash('sha256').update(body).digest('hex').slice(0, 16);
  const temporary = `${out}.${process.pid}`;
  writeFileSync(temporary, `// ${name} ${id}\n${body}`);
  renameSync(temporary, out);
}
