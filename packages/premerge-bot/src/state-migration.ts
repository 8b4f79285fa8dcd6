/**
 * State directories of earlier keyings are moved to the repository's identity (repo-identity.ts) when a session
 * starts, so users keep their journal, logs and mirror across the upgrade. premerge-bot 0.1 keyed a repository by
 * its path or URL as given: a symlink, a token in the URL (at every rotation) or a trailing `.git` made another
 * state directory. Found by the old key, or by the `repo.json` of any state root naming the same identities (which
 * finds one made under a token since rotated), the newest of them is renamed to the new place, unless a live bot
 * holds its lock. What holds absolute paths into the old place (the test tree's git directory, the rebase worktree)
 * is dropped: the bot makes both anew.
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { lockHolder } from './lock.js';
import { type Resolved, readRepoRecord, recordIdentities, writeRepoRecord } from './options.js';
import { legacyRepoPaths } from './paths.js';
import { repoIdentity } from './repo-identity.js';

/**
 * Moves an older state root of `r`'s repositories to `r.paths.root` when that does not exist yet. Returns the root
 * moved, or null when there was none to move.
 */
export function migrateLegacyState(r: Resolved): string | null {
  if (existsSync(r.paths.root)) return null;
  const old = legacyRoot(r);
  if (old === null) return null;
  try {
    renameSync(old, r.paths.root);
  } catch {
    return null; // Another bot moved it first, or it cannot be moved: start afresh rather than fail.
  }
  // The record of 0.1 may hold the URL with its token: rewritten with names and identities only.
  writeRepoRecord(r);
  rmSync(r.paths.treeGit, { recursive: true, force: true });
  rmSync(r.paths.worktrees, { recursive: true, force: true });
  const oldTrees = join(r.paths.treesDir, old.slice(old.lastIndexOf('/') + 1));
  if (existsSync(oldTrees)) rmSync(oldTrees, { recursive: true, force: true });
  return old;
}

/** The newest state root made for the same repositories under another key, unless a live bot works in it. */
function legacyRoot(r: Resolved): string | null {
  const candidatesIdentity = r.candidatesFrom === undefined ? undefined : repoIdentity(r.candidatesFrom);
  const found = new Set<string>();
  if (r.identity === repoIdentity(r.repo)) {
    found.add(legacyRepoPaths(r.paths.stateDir, r.repo, r.candidatesFrom, r.paths.treesDir).root);
  }
  const repos = join(r.paths.stateDir, 'repos');
  for (const name of existsSync(repos) ? readdirSync(repos) : []) {
    const record = readRepoRecord(join(repos, name));
    if (record === null) continue;
    const ids = recordIdentities(record);
    if (ids.repo === r.identity && ids.candidates === candidatesIdentity) found.add(join(repos, name));
  }
  found.delete(r.paths.root);
  const roots = [...found]
    .filter((root) => existsSync(join(root, 'journal.jsonl')) || existsSync(join(root, 'mirror.git')))
    .filter((root) => lockHolder(join(root, 'lock')) === null)
    .sort((a, b) => modified(b) - modified(a));
  return roots[0] ?? null;
}

function modified(root: string): number {
  try {
    return statSync(join(root, 'journal.jsonl')).mtimeMs;
  } catch {
    return 0;
  }
}
