// git for the benchmarks: one environment (no user or system config, no prompts, fixed identities, none of the
// caller's GIT_* variables) and an asynchronous runner, so a benchmark that serves git from its own process
// (the stand-in GitHub) keeps answering while git runs.
import { runOk } from './process.mjs';

/** @type {NodeJS.ProcessEnv} */
export const gitEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_'))),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
  GIT_TERMINAL_PROMPT: '0',
};

/**
 * Runs git in `cwd` with {@link gitEnv}; resolves its trimmed stdout, rejects when it fails.
 * @param {string} cwd
 * @param {...string} args
 */
export const git = async (cwd, ...args) =>
  (await runOk(`git ${args[0]}`, 'git', args, { cwd, env: gitEnv })).stdout.trim();
