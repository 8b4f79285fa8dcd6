/**
 * Test-user mode: the bot runs as root and starts each test as another, dedicated user. The kernel then keeps the
 * test away from the bot: it cannot read the bot's /proc/PID/environ, write its state directory (which the bot
 * keeps closed to others: `0711` directories, `0600` files), push or `update-ref` in repositories it does not own,
 * nor signal the bot. The test's tree, HOME and TMPDIR belong to that user; every process of that user is killed
 * after each run, so the user must be the bot's alone.
 */
import { execFile } from 'node:child_process';
import { chmodSync, lchownSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { IsolationError } from './errors.js';

const run = promisify(execFile);

/** The user tests run as. */
export interface TestUser {
  /** As configured: a name, or `UID[:GID]`. */
  name: string;
  uid: number;
  gid: number;
}

function fromPasswdLine(name: string, line: string): TestUser | null {
  const fields = line.trim().split(':');
  if (fields.length < 4 || fields[0] !== name) return null;
  return { name, uid: Number(fields[2]), gid: Number(fields[3]) };
}

/**
 * The uid and gid of `spec` (a user name, looked up through NSS with `getent`, else in /etc/passwd; or a numeric
 * `UID[:GID]`, GID defaulting to UID). Refuses root and the bot's own uid: neither would keep the test away.
 */
export async function resolveTestUser(spec: string): Promise<TestUser> {
  let user: TestUser | null = null;
  const numeric = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (numeric) {
    user = { name: spec, uid: Number(numeric[1]), gid: Number(numeric[2] ?? numeric[1]) };
  } else {
    try {
      user = fromPasswdLine(spec, (await run('getent', ['passwd', spec])).stdout);
    } catch {
      try {
        const lines = readFileSync('/etc/passwd', 'utf8').split('\n');
        user = lines.map((l) => fromPasswdLine(spec, l)).find((u) => u !== null) ?? null;
      } catch {
        user = null;
      }
    }
    if (!user) throw new IsolationError(`test-user '${spec}' does not exist on this machine`);
  }
  if (user.uid === 0)
    throw new IsolationError(`test-user '${spec}' is root: tests would not be kept away from anything`);
  if (user.uid === process.getuid?.()) {
    throw new IsolationError(
      `test-user '${spec}' is the bot's own user: use a user of its own for the tests`,
    );
  }
  return user;
}

/** The bot must be root to start processes as another user (and to clean up what they leave). */
export function checkCanSwitchUser(user: TestUser): void {
  if (process.getuid?.() !== 0) {
    throw new IsolationError(
      `test-user '${user.name}' needs premerge-bot to run as root (it starts each test as that user); run it as root, or use the sandbox (sandbox: auto with bubblewrap)`,
    );
  }
}

/** Can `user` pass through (search) directory `dir`? */
function canSearch(dir: string, user: TestUser): boolean {
  const st = statSync(dir);
  if (st.uid === user.uid) return (st.mode & 0o100) !== 0;
  if (st.gid === user.gid) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

/**
 * Throws when `user` cannot reach `path` because a directory on the way is closed to it (`/root` is `0700` on
 * Debian): the test would fail with a puzzling "permission denied" instead.
 */
export function checkReachable(path: string, user: TestUser, what: string): void {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if (!canSearch(dir, user)) {
      const mode = (statSync(dir).mode & 0o777).toString(8).padStart(4, '0');
      throw new IsolationError(
        `test-user '${user.name}' cannot reach ${what} ${path}: ${dir} is mode ${mode}; choose a --state-dir (and PREMERGE_TREES_DIR) under a directory others may pass through, such as /var/lib`,
      );
    }
    if (dir === '/') return;
  }
}

/**
 * Makes `user` the owner of `root` and everything below it that it does not own yet (what the bot's checkout just
 * wrote): files it already owns keep their ctime, so git's index still trusts them.
 */
export function chownTree(root: string, user: TestUser): void {
  const visit = (path: string) => {
    const st = lstatSync(path);
    if (st.uid !== user.uid || st.gid !== user.gid) lchownSync(path, user.uid, user.gid);
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(root);
}

/** Directories of the bot's state that a test user passes through but may not list or write. */
export function closeToOthers(dirs: readonly string[]): void {
  for (const dir of dirs) chmodSync(dir, 0o711);
}
