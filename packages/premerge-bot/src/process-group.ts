/**
 * Process-group bookkeeping through /proc (Linux). A test runs as the leader of its own group, so the group id is
 * the leader's pid; the leader's start time tells a recorded group from a later one that reused the pid.
 * Zombies are ignored: they hold no resources and, when the container's init does not reap, they never go away.
 */
import { readdirSync, readFileSync } from 'node:fs';

interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
  startTime: string;
}

function readStat(pid: number | 'self'): ProcStat | null {
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

/** Sends `signal` to the whole group; a group that is already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
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

/** SIGKILLs the group and waits (up to `maxWaitMs`) until no live member is left. Returns true when none is. */
export async function killGroupAndWait(pgid: number, maxWaitMs = 5000): Promise<boolean> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    signalGroup(pgid, 'SIGKILL');
    if (groupMembers(pgid).length === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
