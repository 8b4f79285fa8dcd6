/**
 * One identity per repository, whatever way it was reached: the state directory, the lock, the watch's pokes and
 * the journal's records are all keyed by it, so one repository never gets two of them.
 * - a local repository (a path, or a `file://` URL): its real path, symlinks resolved;
 * - a remote: its URL without userinfo (a user name, a token) and without a trailing `.git` or `/`, so a rotated
 *   token or `repo` against `repo.git/` is the same repository;
 * - a GitHub repository: `github:HOST:REPOSITORY_ID`, since ids survive renames and transfers.
 * An identity never holds a credential; neither does a repository's {@link repoName}, which messages use.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { isRemote, localPath } from './repo-location.js';

/**
 * The identity of a repository git reaches at `repo` (a path, relative to `cwd`, or a URL).
 * @example repoIdentity('https://x-access-token:T@example.com/team/app.git/') // 'https://example.com/team/app'
 * @example repoIdentity('git@example.com:team/app.git') // 'example.com:team/app'
 */
export function repoIdentity(repo: string, cwd = process.cwd()): string {
  const dir = localPath(repo, cwd);
  if (dir !== null) return realPath(dir);
  return stripGitSuffix(withoutUserinfo(repo));
}

/** The identity of GitHub repository `id` on `host` (`github.com`, or a GitHub Enterprise Server's host). */
export function githubIdentity(host: string, id: number | string): string {
  return `github:${host.toLowerCase()}:${id}`;
}

/**
 * A repository as messages and statuses name it: a local path made absolute (as given, symlinks kept: the name
 * people typed), a remote without its userinfo.
 */
export function repoName(repo: string, cwd = process.cwd()): string {
  return isRemote(repo) ? withoutUserinfo(repo) : resolve(cwd, repo);
}

/**
 * `text` with the userinfo of every URL in it removed (`https://user:token@host/` becomes `https://host/`): for
 * messages that quote git, whose errors may repeat the URL they were given.
 */
export function redactCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]*@/gi, '$1');
}

/** The real path of `dir`, or of its nearest existing ancestor with the rest appended (it may not exist yet). */
function realPath(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    const parent = resolve(dir, '..');
    if (parent === dir) return dir;
    return resolve(realPath(parent), dir.slice(parent.length + (parent.endsWith('/') ? 0 : 1)));
  }
}

/** A URL (`scheme://user:pass@host/...`) or scp-like remote (`user@host:path`) without the user part. */
function withoutUserinfo(repo: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*:\/\/)([^/]*)(.*)$/i.exec(repo);
  if (scheme) {
    const authority = scheme[2]!;
    const at = authority.lastIndexOf('@');
    return `${scheme[1]!.toLowerCase()}${(at < 0 ? authority : authority.slice(at + 1)).toLowerCase()}${scheme[3]}`;
  }
  // scp-like: `[user@]host:path`; the user ends at the last `@` before the colon.
  const colon = repo.indexOf(':');
  const at = repo.lastIndexOf('@', colon);
  return at < 0 ? repo : repo.slice(at + 1);
}

function stripGitSuffix(url: string): string {
  let out = url;
  for (;;) {
    const next = out.replace(/\/+$/, '').replace(/\.git$/, '');
    if (next === out) return out;
    out = next;
  }
}
