/**
 * Tests that run the real `protodoc` binary need dist/ to match src/ (and run it with {@link runBin}). `tsc -b` is incremental (a
 * fraction of a second when nothing changed); a lock directory keeps test files that run in
 * parallel workers from writing dist/ at the same time.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The binary, as users run it after `npm ci`. */
export const BIN = join(ROOT, 'packages/protodoc/bin/protodoc.js');

const LOCK = join(tmpdir(), 'protodoc-test-build.lock');
const STALE_LOCK_MS = 120_000;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function acquire(): void {
  for (;;) {
    try {
      mkdirSync(LOCK);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock left by a killed run must not block every later run.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS)
          rmSync(LOCK, { recursive: true, force: true });
      } catch {}
      sleep(50);
    }
  }
}

/** Runs a build step; throws with its output if it fails. */
function step(what: string, args: string[]): void {
  try {
    execFileSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const out = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`${what} failed:\n${out.stdout?.toString() ?? ''}${out.stderr?.toString() ?? ''}`);
  }
}

/**
 * Builds packages/protodoc (and what it references) as `npm run build` does: tsc, then the CLI's bundle
 * (only when tsc changed dist/), so the binary runs what a user's does. Throws with the output of a step
 * that fails.
 */
export function buildCli(): void {
  acquire();
  try {
    step('tsc -b packages/protodoc', [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-b',
      'packages/protodoc',
    ]);
    step('bundling the CLI', [join(ROOT, 'packages/protodoc/scripts/bundle-cli.mjs'), '--if-stale']);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** What the binary did. */
export interface Outcome {
  out: string;
  err: string;
  /** The exit code; -1 when the process ended by a signal. */
  exit: number;
}

/**
 * The environment a test runs the binary in: its own, without NO_COLOR and FORCE_COLOR (which would
 * change colour) and GITHUB_ACTIONS (which would add the github reporter's annotations to output a test
 * checks exactly, when the suite itself runs on GitHub Actions); `env` is laid over it.
 */
export function binEnv(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // CI and NODE_DISABLE_COLORS turn colour off in Node's own `hasColors()` (a CI machine sets CI=true):
  // tests decide the colour environment themselves.
  return {
    ...process.env,
    NO_COLOR: undefined,
    FORCE_COLOR: undefined,
    NODE_DISABLE_COLORS: undefined,
    CI: undefined,
    GITHUB_ACTIONS: undefined,
    ...env,
  };
}

/** Runs the binary with `args` in `cwd`, in {@link binEnv}`(env)`. */
export function runBin(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: binEnv(env), encoding: 'utf8' },
      (error, out, err) => {
        const exit = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ out, err, exit });
      },
    );
  });
}

/** The pretty reporter's timings as TIME: `(3 steps, 12ms)`, `(..., 1.20s)` and the summary's `(0.21s)`. */
export function timeless(text: string): string {
  return text.replace(/, \d+(?:\.\d+)?m?s\)$/gm, ', TIME)').replace(/ \(\d+\.\d\ds\)$/gm, ' (TIME)');
}
