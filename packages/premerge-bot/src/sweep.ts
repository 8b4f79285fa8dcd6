/**
 * What a run leaves running outside its process group, found through /proc and killed: the best a bot can do
 * without a sandbox. A test's process can leave the group on purpose (`setsid`, a daemon that double-forks), so the
 * run's processes are recognised by what they carry instead:
 * - `marker`: the run's marker in their environment (`PREMERGE_RUN=<id>`; children inherit it);
 * - `under`: a working directory inside the run's tree, HOME or TMPDIR;
 * - `uid`: the user they run as (test-user mode: that user is the bot's alone, so all of its processes are the run's).
 * The first two are evadable (a process can clear its environment and `cd /`): the README says so. Pids are reused,
 * so each process's start time is read again right before it is signalled, and a process that changed is spared.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { allPids, isDead, processUid, readStat, signalProcess } from './process-group.js';

/**
 * The environment variable that marks every process of a run (`PREMERGE_RUN=<run id>`), from the first one the
 * runner spawns (bwrap, or the test's shell) on: children inherit it. The run id is journaled before that spawn, so
 * a bot that dies at any moment of a run leaves the marker to look for in the journal.
 */
export const RUN_MARKER = 'PREMERGE_RUN';

/** The `NAME=VALUE` the processes of run `runId` carry in their environment. */
export function runMarker(runId: string): string {
  return `${RUN_MARKER}=${runId}`;
}

export interface SweepCriteria {
  /** `NAME=VALUE` that the run's processes carry in their environment. */
  marker?: string;
  /** Directories a run's process may have as working directory. */
  under?: readonly string[];
  /** Every process of this user is the run's. */
  uid?: number;
}

interface Found {
  pid: number;
  startTime: string;
}

function environHas(pid: number, marker: string): boolean {
  try {
    // NUL-separated; a process of another user is unreadable (EACCES) and so not ours to judge.
    return `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}\0`.includes(`\0${marker}\0`);
  } catch {
    return false;
  }
}

function cwdUnder(pid: number, dirs: readonly string[]): boolean {
  let cwd: string;
  try {
    cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return false;
  }
  return dirs.some((d) => cwd === d || cwd.startsWith(`${d}/`));
}

/** Live processes (never this one or its ancestors) that match any of the criteria. */
export function findRunProcesses(c: SweepCriteria): Found[] {
  const spared = new Set<number>([process.pid]);
  for (let pid = process.ppid; pid > 1 && !spared.has(pid); ) {
    spared.add(pid);
    pid = readStat(pid)?.ppid ?? 0;
  }
  const out: Found[] = [];
  for (const pid of allPids()) {
    if (spared.has(pid)) continue;
    const st = readStat(pid);
    if (isDead(st)) continue;
    const match =
      (c.uid !== undefined && processUid(pid) === c.uid) ||
      (c.marker !== undefined && environHas(pid, c.marker)) ||
      (c.under !== undefined && c.under.length > 0 && cwdUnder(pid, c.under));
    if (match) out.push({ pid, startTime: st!.startTime });
  }
  return out;
}

/** What a sweep did: how many processes it killed, and what it could not do. */
export interface SweepResult {
  killed: number;
  warnings: string[];
}

/**
 * SIGKILLs every process matching `c`, again and again until a scan finds none (a daemon may fork while it is
 * swept), for at most `rounds` scans.
 */
export async function sweep(c: SweepCriteria, rounds = 50): Promise<SweepResult> {
  const result: SweepResult = { killed: 0, warnings: [] };
  const refused = new Set<number>();
  for (let round = 0; round < rounds; round++) {
    const found = findRunProcesses(c).filter((p) => !refused.has(p.pid));
    if (found.length === 0) return result;
    for (const p of found) {
      // The pid may have been reused since the scan: signal only the very process that matched.
      const now = readStat(p.pid);
      if (isDead(now) || now!.startTime !== p.startTime) continue;
      if (signalProcess(p.pid, 'SIGKILL')) result.killed++;
      else {
        refused.add(p.pid);
        result.warnings.push(
          `not permitted to signal process ${p.pid} (another user's; EPERM), left running`,
        );
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const left = findRunProcesses(c).filter((p) => !refused.has(p.pid));
  if (left.length > 0) {
    result.warnings.push(`processes ${left.map((p) => p.pid).join(', ')} kept coming back; left running`);
  }
  return result;
}
