/**
 * What the post-receive hook tells the pusher (`remote: premerge-bot: queued pu 3212c50 (2 ahead of it)`): for each
 * pushed branch, whether it is a candidate and where it stands, from the same model the status ref publishes
 * (bot-status.ts describeQueue). Runs at push time, so it reads what is at hand (the journal, the repository the
 * hook is in, the mirror as last fetched), never waits for the bot and never creates state.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type CandidateState, describeQueue } from './bot-status.js';
import { selectCandidates, settlingVerdict } from './candidates.js';
import { CONFIG_PATH, missingConfig, type PremergeConfig, parseConfig } from './config.js';
import { PremergeError } from './errors.js';
import { git, isAncestor } from './git.js';
import { type EngineOptions, resolveOptions } from './options.js';
import { localPath } from './repo-location.js';
import { readJournal, settlingVerdicts, summarize } from './store.js';
import { readTrustedConfig } from './trusted-config.js';
import type { CandidateRef } from './types.js';
import { Mirror } from './workspace.js';

/** One line a post-receive hook reads on its standard input. */
export interface PushedRef {
  old: string;
  new: string;
  ref: string;
}

/** The `OLD NEW REF` lines git gives a post-receive hook. */
export function parseRefLines(text: string): PushedRef[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((parts) => parts.length === 3)
    .map(([old, sha, ref]) => ({ old: old!, new: sha!, ref: ref! }));
}

const ZERO = /^0+$/;
const short = (sha: string) => sha.slice(0, 7);

/** The trusted config and the target's commit as the hook can see them, or what stops the bot. */
async function trustedView(
  repo: string,
  mirror: Mirror,
): Promise<
  { config: PremergeConfig; targetSha: string | null; gitDir: string | null } | { problem: string }
> {
  const dir = localPath(repo);
  try {
    if (dir !== null) {
      // The repository itself is here: what it holds now, not what the bot last fetched.
      const gitDir = existsSync(join(dir, '.git')) ? join(dir, '.git') : dir;
      const head = await git(['--git-dir', gitDir, 'symbolic-ref', '--quiet', '--short', 'HEAD'], {
        okCodes: [1, 128],
      });
      const branch = head.code === 0 ? head.stdout.trim() : 'master';
      const blob = await git(
        ['--git-dir', gitDir, 'cat-file', 'blob', `refs/heads/${branch}:${CONFIG_PATH}`],
        {
          okCodes: [128],
        },
      );
      if (blob.code !== 0) throw missingConfig(`branch ${branch} of ${repo}`);
      const config = parseConfig(blob.stdout, `branch ${branch} of ${repo}`, branch);
      const target = await git(
        ['--git-dir', gitDir, 'rev-parse', '--verify', '--quiet', `refs/heads/${config.target}`],
        {
          okCodes: [1, 128],
        },
      );
      return { config, targetSha: target.code === 0 ? target.stdout.trim() : null, gitDir };
    }
    if (!existsSync(join(mirror.gitDir, 'HEAD'))) return { problem: '' };
    const config = await readTrustedConfig(mirror, repo);
    return {
      config,
      targetSha: await mirror.resolve(`refs/origin/heads/${config.target}`),
      gitDir: mirror.gitDir,
    };
  } catch (e) {
    if (e instanceof PremergeError) return { problem: e.message };
    throw e;
  }
}

/**
 * The lines the hook prints for `pushed` (each prefixed `premerge-bot: `): one per pushed branch that is not the
 * target. `options` are the hook's engine options (the repository holding the target, the candidates repository
 * the hook is installed in, the state directory).
 */
export async function answerPush(options: EngineOptions, pushed: readonly PushedRef[]): Promise<string[]> {
  const r = resolveOptions(options);
  const branches = pushed.filter((p) => p.ref.startsWith('refs/heads/') && !ZERO.test(p.new));
  if (branches.length === 0) return [];
  const { records, tornLines } = readJournal(r.paths.journal);
  const state = summarize(records, tornLines);
  const mirror = new Mirror(r.paths.mirror);
  const view = await trustedView(r.repo, mirror);
  const lines: string[] = [];
  if ('problem' in view) {
    if (view.problem) {
      for (const p of branches) {
        lines.push(`cannot test ${p.ref.slice(11)} ${short(p.new)}: ${view.problem}`);
      }
    }
    return lines;
  }
  const { config, targetSha } = view;
  const tips = await candidateTips(r.candidatesFrom ?? r.repo);
  const verdicts = settlingVerdicts(state);
  const states = await describeQueue({
    candidates: selectCandidates(tips, config),
    state,
    settled: (c) => (targetSha ? settlingVerdict(c, targetSha, config, verdicts) : undefined),
    inTarget: async (c) =>
      targetSha !== null &&
      (c.sha === targetSha ||
        (view.gitDir !== null && (await isAncestor(view.gitDir, c.sha, targetSha).catch(() => false)))),
  });
  for (const p of branches) {
    const branch = p.ref.slice('refs/heads/'.length);
    if (branch === config.target) continue;
    const found = states.find((c) => c.branch === branch && c.sha === p.new);
    if (!found) {
      lines.push(
        `${branch} is not a candidate branch (candidates: ${config.candidates.join(', ')}): it is not tested; push to one of those to have it tested and landed on ${config.target}`,
      );
      continue;
    }
    lines.push(describe(found, config, verdicts));
  }
  return lines;
}

function describe(
  c: CandidateState,
  config: PremergeConfig,
  verdicts: ReturnType<typeof settlingVerdicts>,
): string {
  const what = `${c.branch} ${short(c.sha)}`;
  switch (c.state) {
    case 'queued':
      return `queued ${what} (${c.ahead === 0 ? 'nothing' : c.ahead} ahead of it); git pu-status shows where it stands`;
    case 'testing':
      return `testing ${what} since ${c.since}`;
    case 'in-target':
      return `${what} is already in ${config.target}: nothing to test`;
    case 'settled': {
      const v = [...verdicts].reverse().find((x) => x.sha === c.sha);
      const reason = v?.reason ? `: ${v.reason}` : '';
      if (c.kind === 'landed') return `${what} already landed on ${config.target}`;
      if (c.kind === 'failed' || c.kind === 'timed-out') {
        return `${what} already ${c.kind === 'failed' ? 'failed' : 'timed out'} (${c.at}) under this config, which is final: it is not tested again; push a new commit, or ask whoever runs the bot for premerge-bot retry ${short(c.sha)}`;
      }
      return `${what} already got ${c.kind} against ${config.target} as it is now${reason}`;
    }
  }
}

/** The branches of the local repository `repo` with their tips (the hook runs where they were pushed). */
async function candidateTips(repo: string): Promise<CandidateRef[]> {
  const dir = localPath(repo);
  if (dir === null) return [];
  const gitDir = existsSync(join(dir, '.git')) ? join(dir, '.git') : dir;
  const r = await git([
    '--git-dir',
    gitDir,
    'for-each-ref',
    '--format=%(objectname) %(refname:lstrip=2)',
    'refs/heads/',
  ]);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const space = line.indexOf(' ');
      return { sha: line.slice(0, space), branch: line.slice(space + 1) };
    });
}
