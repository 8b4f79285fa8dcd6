/** Runs the CLI program in this process, as `premerge-bot ARGV` would, and captures what it prints. */
import { type CliContext, run } from '../../src/cli.js';

export async function runCli(
  argv: string[],
  where: { env: NodeJS.ProcessEnv; cwd: string },
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    isTTY: false,
    env: where.env,
    cwd: where.cwd,
    signal: new AbortController().signal,
  };
  const code = await run(argv, ctx);
  return { code, stdout, stderr };
}
