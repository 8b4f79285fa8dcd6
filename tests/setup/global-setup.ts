/**
 * Vitest globalSetup: before any test runs, every program the suite needs is found or installed
 * (tests/setup/requirements.json); the suite then runs with a PATH that reaches them.
 */
import { ensureRequirements, RequirementsError } from './requirements.mjs';

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
}
