/**
 * One lock per repository, so two bots never test-and-land the same repository at once. The lock is a file
 * created with O_EXCL holding the holder's pid and process start time. A holder that was SIGKILLed cannot release
 * it, so a lock whose pid is dead (or was reused by another process, as the start time shows) is stale and is
 * taken over.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { isProcessAlive, processStartTime } from './process-group.js';

interface LockContent {
  pid: number;
  startTime: string;
  host: string;
}

export type LockAttempt = { acquired: true; lock: RepoLock } | { acquired: false; holderPid: number };

export class RepoLock {
  readonly path: string;
  private released = false;
  constructor(path: string) {
    this.path = path;
  }
  /** Removes the lock file if it is still ours. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const content = readLock(this.path);
    if (content && content.pid === process.pid && content.host === hostname()) {
      try {
        unlinkSync(this.path);
      } catch {
        // Already gone: nothing to release.
      }
    }
  }
}

function readLock(path: string): LockContent | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockContent;
  } catch {
    return null;
  }
}

/** A lock is stale when its holder is dead; a lock from another host is never judged stale from here. */
function isStale(content: LockContent | null): boolean {
  if (!content) return true; // Torn write by a holder killed between create and write.
  if (content.host !== hostname()) return false;
  return !isProcessAlive(content.pid, content.startTime);
}

/** Tries once to take the lock at `path`, taking over a stale one. Never waits for a live holder. */
export function tryLock(path: string): LockAttempt {
  const mine: LockContent = { pid: process.pid, startTime: processStartTime(process.pid), host: hostname() };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, JSON.stringify(mine));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return { acquired: true, lock: new RepoLock(path) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let ino: number;
    try {
      ino = statSync(path).ino;
    } catch {
      continue; // Released between our open and stat: try again.
    }
    const content = readLock(path);
    if (!content && Date.now() - statSafe(path) < 2000) {
      // A holder may be between creating the file and writing its content; give it a moment.
      return { acquired: false, holderPid: 0 };
    }
    if (!isStale(content)) return { acquired: false, holderPid: content?.pid ?? 0 };
    // Take the stale file out of the way by renaming it, then check that what we moved is the stale file we judged
    // and not a fresh lock another bot created in between; if it was fresh, put it back.
    const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      renameSync(path, aside);
    } catch {
      continue;
    }
    if (statSync(aside).ino !== ino) {
      try {
        linkSync(aside, path);
      } catch {
        // Someone created yet another lock meanwhile; theirs stands.
      }
    }
    unlinkSync(aside);
  }
  const content = readLock(path);
  return { acquired: false, holderPid: content?.pid ?? 0 };
}

function statSafe(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** The pid holding the lock at `path` when it is alive, else null. */
export function lockHolder(path: string): number | null {
  const content = readLock(path);
  return content && !isStale(content) ? content.pid : null;
}
