// How the benchmarks invoke protodoc: the built package through its bin, exactly as `npx protodoc` would.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchError } from './process.mjs';

/** The repository root (bench/..). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const BIN = join(ROOT, 'packages', 'protodoc', 'bin', 'protodoc.js');
const DIST = join(ROOT, 'packages', 'protodoc', 'dist', 'cli.js');

/**
 * The command that runs protodoc, as [cmd, args]. PROTODOC overrides it with a space-separated command line
 * (e.g. to compare another build): PROTODOC="node /tmp/old/bin/protodoc.js".
 * @param {string[]} args  arguments after the program, e.g. ['check', '--connect', target, file]
 * @returns {[string, string[]]}
 */
export function protodoc(args) {
  if (process.env.PROTODOC) {
    const [cmd, ...pre] = process.env.PROTODOC.split(' ').filter(Boolean);
    if (cmd === undefined) throw new BenchError('PROTODOC is set but holds no command');
    // The same Node as the benchmarks, so that `node` means one thing (and profile-ping can pass it flags).
    return [cmd === 'node' ? process.execPath : cmd, [...pre, ...args]];
  }
  if (!existsSync(DIST))
    throw new BenchError(`protodoc is not built (${DIST} is missing): run npm run build`);
  return [process.execPath, [BIN, ...args]];
}

/**
 * The built package's dist directory: the default build's, or that of the build PROTODOC runs (its
 * `…/bin/protodoc.js`); undefined when PROTODOC runs something else.
 * @returns {string | undefined}
 */
export function protodocDist() {
  if (!process.env.PROTODOC) return dirname(DIST);
  const bin = process.env.PROTODOC.split(' ').find((part) => part.endsWith(join('bin', 'protodoc.js')));
  return bin === undefined ? undefined : join(dirname(dirname(bin)), 'dist');
}
