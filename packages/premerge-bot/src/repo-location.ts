/**
 * Is a repository argument a local path or a remote, the way git itself decides (`url_is_local_not_ssh` in git's
 * `connect.c`): anything with a `:` before its first `/` is not a local path. That covers URLs (`https://...`,
 * `ssh://...`, `git://...`, and `file://...`, which git reads through its URL transport) and the scp-like ssh form
 * `[user@]host:path`, with or without `user@`. A path with a `/` before its first `:` (`./a:b`, `/srv/x:y.git`), or
 * with no `:` at all, is local. Every front end and the engine use this one rule, so a name the bot hands to git
 * means the same repository to both.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * True when git would not read `repo` as a local path: a URL (`file://` included) or scp-like `host:path`.
 * @example isRemote('host:repo.git') // true: git connects to `host` over ssh
 * @example isRemote('./host:repo.git') // false: a directory named `host:repo.git`
 */
export function isRemote(repo: string): boolean {
  const colon = repo.indexOf(':');
  if (colon < 0) return false;
  const slash = repo.indexOf('/');
  return slash < 0 || slash > colon;
}

/**
 * A local path made absolute against `cwd` (so the same repository gets the same state from any directory); a
 * remote is returned as it is.
 */
export function normalizeRepo(repo: string, cwd = process.cwd()): string {
  return isRemote(repo) ? repo : resolve(cwd, repo);
}

/**
 * The local directory `repo` names: a local path made absolute, or the path of a `file://` URL; null for anything
 * git reaches over the network (ssh, scp-like, https, git://).
 */
export function localPath(repo: string, cwd = process.cwd()): string | null {
  if (!isRemote(repo)) return resolve(cwd, repo);
  if (/^file:\/\//i.test(repo)) {
    try {
      return fileURLToPath(repo);
    } catch {
      return null; // file://otherhost/... names another machine
    }
  }
  return null;
}
