/**
 * How the `protodoc` program starts (bin/protodoc.js requires this module and nothing else): the CLI
 * from its one-file bundle, dist/cli.bundle.cjs (written by scripts/bundle-cli.mjs after `tsc -b`),
 * compiled with the V8 code cache an earlier run left; or from dist/cli.js, the modules tsc wrote,
 * when there is no bundle or `tsc -b` has written dist/ since it was made.
 *
 * Why: a check of one PING spent about 65 ms of CPU more than a raw Node client making one, most of it
 * loading the CLI: resolving, reading and compiling some 45 files (protodoc's own, commander's) one
 * by one. As one file that is about 25 ms less; compiled with the code V8 compiled for it in the last run
 * (bytecode for every function that ran, not only the top level), and started as CommonJS, such a check
 * took 53 ms of CPU against 103 before, the raw client 40 (pinned; bench/README.md, benchmark 1). Node >= 22.1 has a compile cache of its own (`module.enableCompileCache`), which this
 * turns on too, for what the bundle leaves out (undici, ws, yaml, diff) and for dist/cli.js; Node 20
 * has none, and V8's code cache for a `vm.Script` is the documented way there.
 *
 * The cache: one file per bundle build, Node version and subcommand (a check's functions are not a
 * `--help`'s) in `$NODE_COMPILE_CACHE/protodoc-compile-cache-UID/`, by default under the OS temp
 * directory; `NODE_DISABLE_COMPILE_CACHE=1` turns it off. It is used only from a directory this user
 * owns that nobody else can write (compiled code from a file someone else wrote would run as ours).
 * It is written once, at exit, by a run that found none (or one V8 rejected), and never when writing
 * fails: a run never depends on it. A write keeps the 8 files written last and removes older ones.
 */
// CommonJS, as bin/protodoc.js is (bin/package.json): an ES module as the program's entry costs Node about
// 5 ms of CPU to start its module loader, which nothing on the bundle's path needs.
import type { LaunchHooks } from './cli.js' with { 'resolution-mode': 'import' };

const { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } =
  require('node:fs') as typeof import('node:fs');
const nodeModule = require('node:module') as typeof import('node:module');
const { tmpdir } = require('node:os') as typeof import('node:os');
const { join } = require('node:path') as typeof import('node:path');
const { Script } = require('node:vm') as typeof import('node:vm');

type CliModule = typeof import('./cli.js', { with: { 'resolution-mode': 'import' }});

const DIST = __dirname;
/** The bundle scripts/bundle-cli.mjs writes; its first line names its build (a hash of the rest). */
const BUNDLE = join(DIST, 'cli.bundle.cjs');
/** Rewritten by every `tsc -b` that changes dist/; not packed, so an installed package has none. */
const BUILD_INFO = join(DIST, '.tsbuildinfo');
const HEADER = /^\/\/ protodoc CLI bundle ([0-9a-f]{16})\n/;

/** The bundle's text and what names its build, or undefined when dist/cli.js is to run instead. */
function freshBundle(): { source: string; key: string } | undefined {
  const bundle = statSync(BUNDLE, { throwIfNoEntry: false });
  if (bundle === undefined) return undefined;
  // `npx tsc -b` after a change to src/ rewrote dist/ but not the bundle: it is stale.
  const built = statSync(BUILD_INFO, { throwIfNoEntry: false });
  if (built !== undefined && built.mtimeMs > bundle.mtimeMs) return undefined;
  const source = readFileSync(BUNDLE, 'utf8');
  const id = HEADER.exec(source)?.[1];
  if (id === undefined) return undefined;
  // The size and time too: a bundle edited by hand must not run with the code compiled from the old one.
  return { source, key: `${id}-${bundle.size}-${Math.trunc(bundle.mtimeMs)}` };
}

/**
 * The directory of the code cache, made if missing; undefined when caching is off or the directory
 * is not safe to take code from.
 */
function cacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE === '1') return undefined;
  const uid = process.getuid?.();
  const dir = join(
    env.NODE_COMPILE_CACHE || tmpdir(),
    uid === undefined ? 'protodoc-compile-cache' : `protodoc-compile-cache-${uid}`,
  );
  try {
    let info = lstatSync(dir, { throwIfNoEntry: false });
    if (info === undefined) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      info = lstatSync(dir);
    }
    if (!info.isDirectory()) return undefined;
    if (uid !== undefined && (info.uid !== uid || (info.mode & 0o022) !== 0)) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/** The subcommand, for the cache's name: `check`, `record`, or anything else (help, version). */
function commandOf(argv: readonly string[]): string {
  const command = argv[2];
  return command === 'check' || command === 'record' ? command : 'other';
}

/** How many cache files a directory keeps: each build of the bundle, for each subcommand, has its own. */
const KEEP = 8;

/** Removes all but the {@link KEEP} cache files written last (and what a write that died left). */
function prune(dir: string): void {
  const files = readdirSync(dir)
    .filter((name) => /^cli-.+\.cache(\.\d+)?$/.test(name))
    .map((name) => ({ path: join(dir, name), mtime: statSync(join(dir, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { path } of files.slice(KEEP)) rmSync(path, { force: true });
}

/** Compiles and runs the bundle (with the cached code when there is some); undefined without a bundle. */
function loadBundle(): { cli: CliModule; hooks: LaunchHooks } | undefined {
  const bundle = freshBundle();
  if (bundle === undefined) return undefined;
  const dir = cacheDir();
  const file =
    dir === undefined
      ? undefined
      : join(
          dir,
          `cli-${bundle.key}-${commandOf(process.argv)}-${process.versions.v8}-${process.arch}.cache`,
        );
  let cachedData: Buffer | undefined;
  if (file !== undefined) {
    try {
      cachedData = readFileSync(file);
    } catch {}
  }
  // CommonJS's own wrapper, on the bundle's first line: line numbers in stack traces stay the file's.
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${bundle.source}\n})`,
    cachedData === undefined ? { filename: BUNDLE } : { filename: BUNDLE, cachedData },
  );
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  const mod = { exports: {} };
  wrapper.call(mod.exports, mod.exports, nodeModule.createRequire(BUNDLE), mod, BUNDLE, DIST);

  let save = file !== undefined && (cachedData === undefined || script.cachedDataRejected === true);
  // At exit V8 has compiled every function the run called; the cache then holds them all.
  const write = (): void => {
    if (!save) return;
    save = false;
    try {
      const temporary = `${file}.${process.pid}`;
      writeFileSync(temporary, script.createCachedData());
      renameSync(temporary, file!);
      prune(dir!);
    } catch {}
  };
  process.once('exit', write);
  return {
    cli: mod.exports as CliModule,
    // What is compiled after a flag change would be rejected by the next run: keep what is there now.
    hooks: { beforeFlagChange: write },
  };
}

(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const bundled = loadBundle();
if (bundled !== undefined) void bundled.cli.main(bundled.hooks);
else void import('./cli.js').then((cli) => cli.main());
