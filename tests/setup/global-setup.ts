/**
 * Vitest globalSetup: before any test runs, every program the suite needs is found or installed
 * (tests/setup/requirements.json), and the packages are built (`tsc -b`, incremental), since the tests that run
 * the real binaries, and the crash test's child, run `dist/`. The suite then runs with a PATH that reaches the
 * programs.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureRequirements, RequirementsError } from './requirements.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export default function setup(): void {
  try {
    process.env.PATH = ensureRequirements();
  } catch (err) {
    if (!(err instanceof RequirementsError)) throw err;
    // One line instead of Vitest's banner and stack, and no test started: dozens of failing tests
    // would only say the same thing less clearly. (stderr is synchronous on pipes and files.)
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  }
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const out = err as { stdout?: Buffer; stderr?: Buffer };
    process.stderr.write(`error: tsc -b failed, so no test runs:\n${out.stdout ?? ''}${out.stderr ?? ''}`);
    process.exit(1);
  }
}
