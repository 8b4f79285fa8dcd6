/** Where the bot keeps the state of each repository. */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { normalizeRepo } from './repo-location.js';

/** The state directory when none is given: `$XDG_STATE_HOME/premerge-bot` or `~/.local/state/premerge-bot`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_STATE_HOME'];
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'state'), 'premerge-bot');
}

/** Name of the worktree the bot keeps between runs, inside `worktrees/`. */
export const KEPT_WORKTREE = 'kept';

export interface RepoPaths {
  root: string;
  journal: string;
  lock: string;
  poke: string;
  mirror: string;
  worktrees: string;
  logs: string;
}

/** The files of one (repository, candidates repository) pair inside the state directory. */
export function repoPaths(stateDir: string, repo: string, candidatesFrom?: string): RepoPaths {
  const key = normalizeRepo(repo) + (candidatesFrom ? `\n${normalizeRepo(candidatesFrom)}` : '');
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
  const slug =
    basename(repo.replace(/\/+$/, ''))
      .replace(/\.git$/, '')
      .replace(/[^A-Za-z0-9._-]/g, '_') || 'repo';
  const root = join(resolve(stateDir), 'repos', `${slug}-${hash}`);
  return {
    root,
    journal: join(root, 'journal.jsonl'),
    lock: join(root, 'lock'),
    poke: join(root, 'poke'),
    mirror: join(root, 'mirror.git'),
    worktrees: join(root, 'worktrees'),
    logs: join(root, 'logs'),
  };
}
