/**
 * Runs the engine in a child process that a test can SIGKILL. The engine's sources are bundled to one ESM file
 * (with rolldown, already installed as part of vitest's toolchain) because a plain `node` child cannot import .ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ENGINE_SRC = resolve(import.meta.dirname, '../../src/engine.ts');

/** Bundles the engine once per test file; returns the path of a runner script taking a JSON options argument. */
export async function bundleEngineRunner(): Promise<string> {
  const { build } = await import('rolldown');
  const dir = mkdtempSync(join(tmpdir(), 'premerge-bundle-'));
  const engine = join(dir, 'engine.mjs');
  await build({
    input: ENGINE_SRC,
    platform: 'node',
    external: [/^node:/],
    output: { file: engine, format: 'esm' },
    logLevel: 'silent',
  });
  const runner = join(dir, 'run-once.mjs');
  writeFileSync(
    runner,
    `import { runOnce } from ${JSON.stringify(engine)};
const options = JSON.parse(process.argv[2]);
const report = await runOnce(options);
process.stdout.write(JSON.stringify(report));
`,
  );
  return runner;
}

export interface ChildRun {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed) and stdout. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts `runner` with the given engine options. */
export function startEngine(runner: string, options: object, env?: NodeJS.ProcessEnv): ChildRun {
  const child = spawn(process.execPath, [runner, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ?? process.env,
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
