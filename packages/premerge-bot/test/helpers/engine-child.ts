/**
 * Runs the engine in a child process that a test can SIGKILL. The child runs the built package (`dist/`), as the
 * binary tests do, because a plain `node` child cannot import the .ts sources: build with `npx tsc -b` first.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const PACKAGE = resolve(import.meta.dirname, '../..');
const RUNNER = join(import.meta.dirname, 'run-once-child.mjs');

/**
 * The runner script (engine options as a JSON argument). Throws when `dist/` is missing or older than `src/`: the
 * child would test other code than the sources the rest of the test imports.
 */
export function builtEngineRunner(): string {
  const buildInfo = join(PACKAGE, 'dist', '.tsbuildinfo');
  if (!existsSync(join(PACKAGE, 'dist', 'index.js')) || !existsSync(buildInfo)) {
    throw new Error('premerge-bot is not built: run npx tsc -b first');
  }
  const built = statSync(buildInfo).mtimeMs;
  const src = join(PACKAGE, 'src');
  const newer = readdirSync(src).filter((name) => statSync(join(src, name)).mtimeMs > built);
  if (newer.length > 0) {
    throw new Error(`premerge-bot's dist/ is older than src/ (${newer.join(', ')}): run npx tsc -b first`);
  }
  return RUNNER;
}

export interface ChildRun {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed) and stdout. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts `runner` with the given engine options (as user `as.uid`, when given: the test must run as root). */
export function startEngine(
  runner: string,
  options: object,
  env?: NodeJS.ProcessEnv,
  as?: { uid: number; gid: number },
): ChildRun {
  const child = spawn(process.execPath, [runner, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ?? process.env,
    ...(as ?? {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((res) => child.once('close', (code, signal) => res({ code, signal, stdout, stderr })));
  return { child, done };
}
