/**
 * A runaway test, or years of pushes, must not fill the disk of the machine that guards the target: each run's log
 * is capped (run-log.ts), and here the logs as a whole are kept for a time and within a space. Run logs
 * (`repos/*\/logs/*.log`) and `hook.log` (rotated once a day or past 16 MiB into `hook.log.TIME`) older than the
 * retention go, and then the oldest while all of them take more than the space. A log written to in the last hour
 * is never removed for space (it may belong to a run in progress). Runs at most once an hour per state directory.
 */
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from './config.js';
import { UsageError } from './errors.js';
import { HOOK_LOG } from './paths.js';
import { DEFAULT_LOG_LIMIT, parseSize } from './run-log.js';

/** How much log the bot keeps, from its options or its environment. */
export interface LogSettings {
  /** The most of a test's output one run's log keeps (head and tail). @default 10 MiB, `PREMERGE_LOG_LIMIT` */
  limit: number;
  /** Logs older than this go. @default 30 days, `PREMERGE_LOG_RETENTION` */
  retentionMs: number;
  /** All logs together (run logs and hook.log) are kept within this. @default 1 GiB, `PREMERGE_LOG_SPACE` */
  space: number;
}

export const DEFAULT_LOG_SETTINGS: LogSettings = {
  limit: DEFAULT_LOG_LIMIT,
  retentionMs: 30 * 24 * 3_600_000,
  space: 1024 ** 3,
};

/** The settings: options win over the environment, which wins over the defaults. A bad value is a usage error. */
export function logSettings(
  options: { logLimit?: number; logRetentionMs?: number; logSpace?: number },
  env: NodeJS.ProcessEnv = process.env,
): LogSettings {
  const size = (name: string, fallback: number) => {
    const text = env[name];
    if (!text) return fallback;
    const bytes = parseSize(text);
    if (bytes === null)
      throw new UsageError(`${name} is '${text}': expected a size such as 10MiB, 512KiB or 1GiB`);
    return bytes;
  };
  const text = env['PREMERGE_LOG_RETENTION'];
  let retentionMs = DEFAULT_LOG_SETTINGS.retentionMs;
  if (text) {
    const ms = parseDuration(text);
    if (ms === null)
      throw new UsageError(`PREMERGE_LOG_RETENTION is '${text}': expected a duration such as 30d or 12h`);
    retentionMs = ms;
  }
  return {
    limit: options.logLimit ?? size('PREMERGE_LOG_LIMIT', DEFAULT_LOG_SETTINGS.limit),
    retentionMs: options.logRetentionMs ?? retentionMs,
    space: options.logSpace ?? size('PREMERGE_LOG_SPACE', DEFAULT_LOG_SETTINGS.space),
  };
}

/** Where the last pass left its mark (its mtime), in the state directory. */
const MARKER = 'retention-at';

/** hook.log is rotated when its first line is older than this, or it is larger than {@link HOOK_LOG_ROTATE_BYTES}. */
const HOOK_LOG_ROTATE_MS = 24 * 3_600_000;
const HOOK_LOG_ROTATE_BYTES = 16 * 1024 * 1024;
/** A log written to this recently may belong to a run in progress: never removed for space. */
const RECENT_MS = 3_600_000;

/** The time of the first line of a hook.log (every line starts with an ISO time), or null. */
function firstLineTime(path: string): number | null {
  const buf = Buffer.alloc(40);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const n = readSync(fd, buf, 0, buf.length, 0);
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)/.exec(buf.subarray(0, n).toString('utf8'));
    return m ? Date.parse(m[1]!) : null;
  } finally {
    closeSync(fd);
  }
}

function rotateHookLog(stateDir: string, now: number): void {
  const path = join(stateDir, HOOK_LOG);
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return;
  }
  const first = firstLineTime(path);
  if (size < HOOK_LOG_ROTATE_BYTES && (first === null || now - first < HOOK_LOG_ROTATE_MS)) return;
  const stamp = new Date(first ?? now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  let target = `${path}.${stamp}`;
  for (let i = 1; existsSync(target); i++) target = `${path}.${stamp}-${i}`;
  // Writers that have it open go on writing to the rotated file; the next ones make a new hook.log.
  renameSync(path, target);
}

function logFiles(stateDir: string): Array<{ path: string; mtimeMs: number; size: number }> {
  const paths: string[] = [];
  for (const name of safeList(stateDir))
    if (name.startsWith(`${HOOK_LOG}.`)) paths.push(join(stateDir, name));
  const repos = join(stateDir, 'repos');
  for (const repo of safeList(repos)) {
    const logs = join(repos, repo, 'logs');
    for (const name of safeList(logs)) if (name.endsWith('.log')) paths.push(join(logs, name));
  }
  const files: Array<{ path: string; mtimeMs: number; size: number }> = [];
  for (const path of paths) {
    try {
      const st = statSync(path);
      if (st.isFile()) files.push({ path, mtimeMs: st.mtimeMs, size: st.size });
    } catch {
      // Gone meanwhile.
    }
  }
  return files;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Applies the retention to the state directory: rotates hook.log, then removes what is too old and the oldest
 * while over the space. Returns the removed files. `force` runs it even within an hour of the last pass.
 */
export function applyRetention(
  stateDir: string,
  settings: LogSettings,
  options: { now?: number; force?: boolean } = {},
): string[] {
  const now = options.now ?? Date.now();
  const marker = join(stateDir, MARKER);
  if (!options.force) {
    try {
      if (now - statSync(marker).mtimeMs < RECENT_MS) return [];
    } catch {
      // Never ran here.
    }
  }
  try {
    writeFileSync(marker, '');
    utimesSync(marker, now / 1000, now / 1000);
  } catch {
    return []; // The state directory is not writable: the run itself will say so.
  }
  rotateHookLog(stateDir, now);
  const removed: string[] = [];
  const remove = (path: string) => {
    rmSync(path, { force: true });
    removed.push(path);
  };
  const files = logFiles(stateDir).sort((a, b) => a.mtimeMs - b.mtimeMs);
  const kept = files.filter((f) => {
    if (now - f.mtimeMs <= settings.retentionMs) return true;
    remove(f.path);
    return false;
  });
  let total = kept.reduce((sum, f) => sum + f.size, 0);
  try {
    total += statSync(join(stateDir, HOOK_LOG)).size;
  } catch {
    // No hook.log.
  }
  for (const f of kept) {
    if (total <= settings.space) break;
    if (now - f.mtimeMs < RECENT_MS) continue;
    remove(f.path);
    total -= f.size;
  }
  return removed;
}
