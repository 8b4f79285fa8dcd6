/**
 * Process-group bookkeeping through /proc (Linux). A test runs as the leader of its own group, so the group id is
 * the leader's pid; the leader's start time tells a recorded group from a later one that reused the pid.
 * Zombies are ignored: they hold no resources and, when the container's init does not reap, they never go away.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  startTime: string;
}

/** One process's /proc/PID/stat, or null when it is gone (or there is no /proc). */
export function readStat(pid: number | 'self'): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is parenthesised and may itself contain spaces or parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return {
    pid: Number(text.slice(0, text.indexOf(' '))),
    state: fields[0] ?? '?',
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    startTime: fields[19] ?? '',
  };
}

const hasProc = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

/** Start time of a process (clock ticks since boot, as text), or '' when unknown. Used to detect pid reuse. */
export function processStartTime(pid: number): string {
  return readStat(pid)?.startTime ?? '';
}

/** Is `pid` a live (non-zombie) process, and (when given) the same one that had `startTime`? */
export function isProcessAlive(pid: number, startTime?: string): boolean {
  if (hasProc) {
    const st = readStat(pid);
    if (!st || st.state === 'Z' || st.state === 'X') return false;
    return !startTime || st.startTime === startTime;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pids of every process /proc shows (zombies included). */
export function allPids(): number[] {
  if (!hasProc) return [];
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** Is the process a zombie or gone? Zombies hold no resources and cannot run any more code. */
export function isDead(st: ProcStat | null): boolean {
  return !st || st.state === 'Z' || st.state === 'X';
}

/** The uid a process runs as (its /proc entry's owner), or null when it is gone. */
export function processUid(pid: number): number | null {
  try {
    return statSync(`/proc/${pid}`).uid;
  } catch {
    return null;
  }
}

/** Live (non-zombie) members of process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  if (!hasProc) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') out.push(st.pid);
  }
  return out;
}

/**
 * Sends `signal` to the whole group; a group that is already gone is not an error. Returns false when the bot may
 * not signal any member (EPERM: they run as another user, e.g. a setuid program the test started): that is for the
 * caller to report, not a crash.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  return signalProcess(-pgid, signal);
}

/** `process.kill(pid, signal)` where a process that is gone is no error; false on EPERM (see {@link signalGroup}). */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPERM') return false;
    if (code !== 'ESRCH') throw e;
  }
  return true;
}

/** What killing a group achieved: `clean` when no member is left; `warning` says who is left, and why. */
export interface KillResult {
  clean: boolean;
  warning?: string;
}

/**
 * Is the recorded group (leader pid `pgid`, started at `leaderStart`) still ours to kill? The leader may have
 * exited while members live on; a pgid is not handed out again while members exist, so members with no leader are
 * ours, and a leader with a different start time means the pid was reused by someone else's group.
 */
export function isRecordedGroupAlive(pgid: number, leaderStart: string): boolean {
  const leader = readStat(pgid);
  if (leader && leader.state !== 'Z' && leaderStart && leader.startTime !== leaderStart) return false;
  return groupMembers(pgid).length > 0;
}

/**
 * SIGKILLs the group and waits (up to `maxWaitMs`) until no live member is left. Members the bot may not signal
 * (another user's) end the wait at once with a warning: they would never go.
 */
export async function killGroupAndWait(pgid: number, maxWaitMs = 5000): Promise<KillResult> {
  const deadline = Date.now() + maxWaitMs;
  const me = process.getuid?.();
  for (;;) {
    const permitted = signalGroup(pgid, 'SIGKILL');
    const left = groupMembers(pgid);
    if (left.length === 0) return { clean: true };
    const foreign = me === 0 ? [] : left.filter((pid) => processUid(pid) !== me);
    if (!permitted || (foreign.length > 0 && foreign.length === left.length)) {
      return {
        clean: false,
        warning: `process group ${pgid}: not permitted to signal ${left.join(', ')} (another user's; EPERM), left running`,
      };
    }
    if (Date.now() > deadline) {
      return { clean: false, warning: `process group ${pgid}: ${left.join(', ')} survived SIGKILL` };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
