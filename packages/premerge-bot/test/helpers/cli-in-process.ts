/** Runs the CLI program in this process, as `premerge-bot ARGV` would, and captures what it prints. */
import { type CliContext, run } from '../../src/cli.js';

export async function runCli(
  argv: string[],
  where: {
    env: NodeJS.ProcessEnv;
    cwd: string;
    /** As on a terminal (live progress). @default false */
    isTTY?: boolean;
    /** Called with all of stdout so far whenever it grows, for tests that act on what the CLI shows. */
    onStdout?: (stdout: string) => void;
  },
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = {
    stdout: (t) => {
      stdout += t;
      where.onStdout?.(stdout);
    },
    stderr: (t) => {
      stderr += t;
    },
    isTTY: where.isTTY ?? false,
    env: where.env,
    cwd: where.cwd,
    signal: new AbortController().signal,
  };
  const code = await run(argv, ctx);
  return { code, stdout, stderr };
}
