/**
 * Cleans up what a crash leaves behind. Called only while holding the repository lock, so every git lock file in
 * the mirror and every worktree in the state directory belongs to a dead bot.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KEPT_WORKTREE } from './paths.js';
import { isRecordedGroupAlive, killGroupAndWait } from './process-group.js';
import type { JournalState } from './store.js';
import { runMarker, sweep } from './sweep.js';
import type { TestTree } from './test-tree.js';
import type { EngineEvent } from './types.js';
import type { Mirror } from './workspace.js';

type Emit = (e: EngineEvent) => void;

/**
 * Ends whatever runs the journal shows started and never finished (cut off by a crash) left running, with SIGKILL:
 * - the run's recorded process group;
 * - every process carrying the run's marker ({@link runMarker}; the run is journaled before its first process is
 *   spawned, and each of them inherits it) or working in `dirs` (the repository's tree, HOME and TMPDIR), as the
 *   sweep at the end of a run would have (sweep.ts).
 * The marker is what finds a sandbox whose bot died while bwrap was setting it up: bwrap's pid 1 then waits forever
 * for a go-ahead from its dead parent, reparented to init, in a session of its own, and, as the init of its pid
 * namespace, deaf to SIGTERM; its process group was never recorded (that happens once bwrap reports the sandbox
 * up), and `--die-with-parent` is not in force yet in that process.
 */
export async function killOrphanedRuns(
  state: JournalState,
  dirs: readonly string[],
  emit: Emit,
): Promise<void> {
  for (const [runId, run] of state.runs) {
    if (run.ended || run.passed) continue;
    if (run.process && isRecordedGroupAlive(run.process.pgid, run.process.startTime)) {
      const { pgid } = run.process;
      const killed = await killGroupAndWait(pgid);
      if (killed.warning) emit({ type: 'warning', message: `run ${runId}: ${killed.warning}` });
      if (killed.clean) {
        emit({
          type: 'recovered',
          what: 'orphan-process-group',
          detail: `run ${runId}, process group ${pgid}`,
        });
      }
    }
    const swept = await sweep({ marker: runMarker(runId), under: dirs });
    for (const message of swept.warnings) emit({ type: 'warning', message: `run ${runId}: ${message}` });
    if (swept.killed > 0) {
      emit({
        type: 'recovered',
        what: 'orphan-process',
        detail: `run ${runId}: ${swept.killed} process${swept.killed === 1 ? '' : 'es'} carrying its marker or working in its tree`,
      });
    }
  }
}

/**
 * Removes every worktree directory left in the state dir but the kept one (which is reset before its next use),
 * and git's records of them.
 */
export async function removeStaleWorktrees(mirror: Mirror, worktreesDir: string, emit: Emit): Promise<void> {
  if (existsSync(worktreesDir)) {
    for (const name of readdirSync(worktreesDir)) {
      if (name === KEPT_WORKTREE) continue;
      rmSync(join(worktreesDir, name), { recursive: true, force: true });
      emit({ type: 'recovered', what: 'stale-worktree', detail: join(worktreesDir, name) });
    }
  }
  if (existsSync(join(mirror.gitDir, 'HEAD')) && needsPrune(mirror.gitDir))
    await mirror.run(['worktree', 'prune']);
}

/** Does git record a worktree of the mirror whose directory is gone? (Asking git costs a process per run.) */
function needsPrune(gitDir: string): boolean {
  const admin = join(gitDir, 'worktrees');
  if (!existsSync(admin)) return false;
  return readdirSync(admin).some((name) => {
    try {
      return !existsSync(readFileSync(join(admin, name, 'gitdir'), 'utf8').trim());
    } catch {
      return true;
    }
  });
}

/**
 * Removes git `*.lock` files in the mirror. A git child of the dead bot (a push, a fetch) may still be finishing, so
 * a lock younger than `graceMs` is given that long to go away by itself first.
 */
export async function removeGitLocks(mirror: Mirror, emit: Emit, graceMs = 3000): Promise<void> {
  const locks: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 8 || !existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'objects') walk(p, depth + 1);
      } else if (entry.name.endsWith('.lock')) locks.push(p);
    }
  };
  walk(mirror.gitDir, 0);
  for (const lock of locks) {
    const deadline = Date.now() + graceMs;
    while (existsSync(lock) && Date.now() < deadline && Date.now() - mtime(lock) < graceMs) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!existsSync(lock)) continue;
    rmSync(lock, { force: true });
    emit({ type: 'recovered', what: 'git-lock-file', detail: lock });
  }
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * A crash between a run and the cleaning after it leaves the test's files, its `.git`, HOME and TMPDIR in the tree
 * until the next run: cleaned now (once {@link killOrphanedRuns} ended whatever of the run still ran), so that
 * nothing of a test outlives the bot's next start, even when nothing is left to test.
 */
export async function cleanTreeCutOff(tree: TestTree, emit: Emit): Promise<void> {
  if (!tree.mayHoldARun()) return;
  tree.cleanAfterRun();
  await tree.settle();
  emit({ type: 'recovered', what: 'test-tree', detail: tree.paths.tree });
}
