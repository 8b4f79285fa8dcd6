/**
 * The stand-in's own git operations on its bare repositories: create one (with the hooks that report pushes and
 * refuse workflow changes), commit files without a work tree, read refs, files and commits, and move a ref by
 * compare-and-swap. Every git call gets a clean environment: no user or system config, no GIT_* from whoever
 * started the stand-in (a test run inside a git hook has GIT_DIR set).
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ZERO_SHA = '0000000000000000000000000000000000000000';

/**
 * A file's new content in a commit made by the stand-in: text or bytes, optionally executable; null removes it.
 * @typedef {string | Buffer | { content: string | Buffer, executable?: boolean } | null} FileContent
 */

/**
 * The environment every git process of the stand-in gets (git http-backend too).
 * @param {string} home a directory of the stand-in's own, as HOME
 * @returns {NodeJS.ProcessEnv}
 */
export function gitEnvironment(home) {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    // File names as they are (`é.txt`, not `"\303\251.txt"`), in payloads and in the hooks' messages alike.
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'core.quotePath',
    GIT_CONFIG_VALUE_0: 'false',
    LANG: 'C',
    LC_ALL: 'C',
  };
}

/** The path of `git http-backend` (not on PATH; it lives in git's exec path). */
export function httpBackendPath() {
  const r = spawnSync('git', ['--exec-path'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git --exec-path failed: ${r.stderr}`);
  return join(r.stdout.trim(), 'git-http-backend');
}

/**
 * post-receive: appends git's "old new ref" lines to the file the stand-in named for this request. Only pushes
 * through the stand-in's smart HTTP set the variable, so its own writes (seeding, the web-commit helper) report
 * through the library instead.
 */
const POST_RECEIVE = `#!/bin/sh
[ -n "$STANDIN_PUSH_REPORT" ] || exit 0
cat >> "$STANDIN_PUSH_REPORT"
`;

/**
 * pre-receive: GitHub refuses a push by an App without the \`workflows\` permission that creates or changes a file
 * under .github/workflows/ (on a new branch: in a commit the repository did not have; on an existing one: between
 * the old and the new tip). The message is GitHub's.
 */
const PRE_RECEIVE = `#!/bin/sh
[ "$STANDIN_DENY_WORKFLOWS" = 1 ] || exit 0
zero=${ZERO_SHA}
while read old new ref; do
  [ "$new" = "$zero" ] && continue
  if [ "$old" = "$zero" ]; then
    files=$(git log --format= --name-only "$new" --not --all -- .github/workflows)
  else
    files=$(git diff --name-only "$old" "$new" -- .github/workflows)
  fi
  file=$(printf '%s\\n' "$files" | sed -n '/./{p;q;}')
  if [ -n "$file" ]; then
    echo "refusing to allow a GitHub App to create or update workflow \\\`$file\\\` without \\\`workflows\\\` permission" >&2
    exit 1
  fi
done
`;

/**
 * One entry of `git ls-tree -z -l`: `MODE TYPE SHA SIZE<TAB>NAME` (size `-` for trees and submodules; the name
 * unquoted).
 * @param {string} line
 * @returns {{ type: 'blob' | 'tree' | 'commit', mode: string, sha: string, size: number, name: string }}
 */
function treeLine(line) {
  const tab = line.indexOf('\t');
  const [mode = '', type = '', sha = '', size = '-'] = line.slice(0, tab).split(/\s+/);
  return {
    type: /** @type {'blob' | 'tree' | 'commit'} */ (type),
    mode,
    sha,
    size: size === '-' ? 0 : Number(size),
    name: line.slice(tab + 1),
  };
}

/**
 * A bare repository on disk and the git commands the stand-in runs in it.
 */
export class BareRepository {
  /**
   * @param {string} dir  the bare repository
   * @param {NodeJS.ProcessEnv} env  from {@link gitEnvironment}
   */
  constructor(dir, env) {
    this.dir = dir;
    this.env = env;
  }

  /**
   * Creates the bare repository with its hooks.
   * @param {string} defaultBranch
   */
  init(defaultBranch) {
    mkdirSync(this.dir, { recursive: true });
    this.#sync(['init', '--quiet', '--bare', `--initial-branch=${defaultBranch}`, this.dir]);
    for (const [name, text] of [
      ['post-receive', POST_RECEIVE],
      ['pre-receive', PRE_RECEIVE],
    ]) {
      const file = join(this.dir, 'hooks', /** @type {string} */ (name));
      writeFileSync(file, /** @type {string} */ (text));
      chmodSync(file, 0o755);
    }
    return this;
  }

  /**
   * Runs git in the repository; resolves with stdout (a Buffer when `raw`), rejects with stderr on failure.
   * @param {string[]} args
   * @param {{ input?: string, env?: NodeJS.ProcessEnv, raw?: boolean }} [options]
   * @returns {Promise<string>}
   */
  run(args, options = {}) {
    return new Promise((resolve, reject) => {
      const child = execFile(
        'git',
        args,
        {
          cwd: this.dir,
          env: { ...this.env, ...options.env },
          encoding: 'utf8',
          maxBuffer: 256 * 1024 * 1024,
        },
        (error, stdout, stderr) => {
          if (error) reject(Object.assign(new Error(`git ${args[0]} failed: ${stderr.trim()}`), { stderr }));
          else resolve(stdout);
        },
      );
      if (options.input !== undefined) {
        // git that fails before reading all of it closes the pipe (EPIPE): its exit says why.
        child.stdin?.on('error', () => {});
        child.stdin?.end(options.input);
      }
    });
  }

  /**
   * Like {@link run} but for binary output (file contents).
   * @param {string[]} args
   * @returns {Promise<Buffer>}
   */
  runRaw(args) {
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        args,
        { cwd: this.dir, env: this.env, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`git ${args[0]} failed: ${stderr.toString().trim()}`));
          else resolve(stdout);
        },
      );
    });
  }

  /** @param {string[]} args */
  #sync(args) {
    const r = spawnSync('git', args, { env: this.env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args[0]} failed: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /**
   * Every ref and its sha.
   * @returns {Promise<Map<string, string>>}
   */
  async refs() {
    const out = await this.run(['for-each-ref', '--format=%(objectname) %(refname)']);
    const refs = new Map();
    for (const line of out.split('\n')) {
      const space = line.indexOf(' ');
      if (space > 0) refs.set(line.slice(space + 1), line.slice(0, space));
    }
    return refs;
  }

  /**
   * The sha a full ref name points at, or null.
   * @param {string} ref e.g. refs/heads/master
   * @returns {Promise<string | null>}
   */
  async ref(ref) {
    return (await this.refs()).get(ref) ?? null;
  }

  /**
   * The commit a name means, as GitHub resolves a `ref` parameter: a branch, a tag, a full ref name, or a commit
   * sha (full or abbreviated); null when none.
   * @param {string} name
   * @returns {Promise<string | null>}
   */
  async resolveCommit(name) {
    if (name === '' || name.startsWith('-') || /[\s\0~^:?*[\\]|\.\.|@\{/.test(name)) return null;
    const refs = await this.refs();
    for (const candidate of [name, `refs/${name}`, `refs/heads/${name}`, `refs/tags/${name}`]) {
      const sha = refs.get(candidate);
      if (sha) return this.peel(sha);
    }
    if (!/^[0-9a-f]{4,40}$/.test(name)) return null;
    return this.peel(name);
  }

  /**
   * The commit an object name peels to, or null when there is none (or it is no commit).
   * @param {string} sha
   * @returns {Promise<string | null>}
   */
  async peel(sha) {
    try {
      return (await this.run(['rev-parse', '--verify', '--quiet', `${sha}^{commit}`])).trim() || null;
    } catch {
      return null;
    }
  }

  /**
   * Whether `ancestor` is an ancestor of (or equal to) `descendant`.
   * @param {string} ancestor
   * @param {string} descendant
   */
  async isAncestor(ancestor, descendant) {
    try {
      await this.run(['merge-base', '--is-ancestor', ancestor, descendant]);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Moves `ref` from `expected` (ZERO_SHA: must not exist) to `sha` atomically; false when it was not at
   * `expected` any more.
   * @param {string} ref
   * @param {string} sha
   * @param {string} expected
   */
  async compareAndSwap(ref, sha, expected) {
    try {
      await this.run(['update-ref', ref, sha, expected]);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * What `path` is at `commit`: a blob (with mode and size), a tree, a submodule, or null.
   * @param {string} commit
   * @param {string} path  '' for the root
   * @returns {Promise<{ type: 'blob' | 'tree' | 'commit', mode: string, sha: string, size: number } | null>}
   */
  async entry(commit, path) {
    if (path === '') {
      const tree = (await this.run(['rev-parse', `${commit}^{tree}`])).trim();
      return { type: 'tree', mode: '040000', sha: tree, size: 0 };
    }
    const out = await this.run(['ls-tree', '-z', '-l', '--full-tree', commit, '--', path]);
    const entry = out
      .split('\0')
      .filter(Boolean)
      .map(treeLine)
      .find((e) => e.name === path);
    return entry ?? null;
  }

  /**
   * The entries of the tree at `path` in `commit`.
   * @param {string} commit
   * @param {string} path
   * @returns {Promise<{ type: 'blob' | 'tree' | 'commit', mode: string, sha: string, size: number, name: string }[]>}
   */
  async list(commit, path) {
    const out = await this.run(['ls-tree', '-z', '-l', path === '' ? commit : `${commit}:${path}`]);
    return out.split('\0').filter(Boolean).map(treeLine);
  }

  /**
   * A blob's bytes.
   * @param {string} sha
   */
  blob(sha) {
    return this.runRaw(['cat-file', 'blob', sha]);
  }

  /**
   * The commits reachable from `tip` and from none of `exclude`, oldest first (as a push payload lists them).
   * @param {string} tip
   * @param {string[]} exclude
   * @returns {Promise<string[]>}
   */
  async commitsBetween(tip, exclude) {
    const out = await this.run(['rev-list', '--reverse', '--topo-order', tip, '--not', ...exclude, '--']);
    return out.split('\n').filter(Boolean);
  }

  /**
   * One commit as a push payload describes it (without `distinct` and `url`).
   * @param {string} sha
   */
  async commit(sha) {
    const format = ['%H', '%T', '%an', '%ae', '%aI', '%cn', '%ce', '%cI', '%B'].join('%x00');
    const out = await this.run(['show', '-s', `--format=${format}`, sha]);
    const [id = '', treeId = '', an = '', ae = '', ad = '', cn = '', ce = '', cd = '', ...message] =
      out.split('\0');
    const changes = await this.run([
      'diff-tree',
      '--root',
      '--no-commit-id',
      '--no-renames',
      '-r',
      '--name-status',
      '-m',
      '--first-parent',
      sha,
    ]);
    /** @type {{ added: string[], removed: string[], modified: string[] }} */
    const files = { added: [], removed: [], modified: [] };
    for (const line of changes.split('\n')) {
      const [status, path] = line.split('\t');
      if (!path) continue;
      if (status === 'A') files.added.push(path);
      else if (status === 'D') files.removed.push(path);
      else files.modified.push(path);
    }
    return {
      id,
      tree_id: treeId,
      message: message.join('\0').replace(/\n+$/, ''),
      timestamp: cd,
      author: { name: an, email: ae, date: ad },
      committer: { name: cn, email: ce, date: cd },
      ...files,
    };
  }

  /**
   * Files that differ between two commits (either may be ZERO_SHA: everything in the other).
   * @param {string} from
   * @param {string} to
   * @returns {Promise<string[]>}
   */
  async changedFiles(from, to) {
    if (to === ZERO_SHA) return [];
    const args = from === ZERO_SHA ? ['ls-tree', '-r', '--name-only', to] : ['diff', '--name-only', from, to];
    return (await this.run(args)).split('\n').filter(Boolean);
  }

  /**
   * Makes a commit on `parent` (or a root commit) with `files` changed (null removes a file), without a work tree.
   * @param {{ parent: string | null, files: Record<string, FileContent>, message: string,
   *   author: { name: string, email: string }, date?: string, tempDir: string }} options
   * @returns {Promise<string>} the new commit's sha
   */
  async commitFiles({ parent, files, message, author, date, tempDir }) {
    mkdirSync(tempDir, { recursive: true });
    const index = join(tempDir, `index-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const env = { GIT_INDEX_FILE: index };
    try {
      if (parent) await this.run(['read-tree', parent], { env });
      for (const [path, content] of Object.entries(files)) {
        if (content === null) {
          await this.run(['update-index', '--force-remove', '--', path], { env });
          continue;
        }
        const executable = typeof content === 'object' && 'executable' in content && content.executable;
        const bytes = typeof content === 'object' && 'content' in content ? content.content : content;
        const blob = (await this.#hashObject(bytes)).trim();
        const mode = executable ? '100755' : '100644';
        await this.run(['update-index', '--add', '--cacheinfo', `${mode},${blob},${path}`], { env });
      }
      const tree = (await this.run(['write-tree'], { env })).trim();
      const identity = {
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: author.name,
        GIT_COMMITTER_EMAIL: author.email,
        ...(date ? { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : {}),
      };
      const args = ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-F', '-'];
      return (await this.run(args, { env: identity, input: message })).trim();
    } finally {
      rmSync(index, { force: true });
    }
  }

  /** @param {string | Buffer} content */
  #hashObject(content) {
    return new Promise((resolve, reject) => {
      const child = execFile(
        'git',
        ['hash-object', '-w', '--stdin'],
        { cwd: this.dir, env: this.env, encoding: 'utf8' },
        (error, stdout, stderr) =>
          error ? reject(new Error(`git hash-object failed: ${stderr}`)) : resolve(stdout),
      );
      child.stdin?.on('error', () => {});
      child.stdin?.end(content);
    });
  }
}
