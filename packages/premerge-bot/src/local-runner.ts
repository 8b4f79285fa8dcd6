/**
 * The local runner: the test runs on this machine, in a tree of its own (test-tree.ts), contained as the isolation
 * plan says (isolation.ts):
 * - `sandbox`: bubblewrap (sandbox.ts); everything of the run lives in its pid namespace and ends with it;
 * - `test-user`: a process group started as the test user; afterwards every process of that user is killed;
 * - `same-user`: a process group as the bot's own user; afterwards a best-effort sweep (sweep.ts) looks for
 *   processes carrying the run's marker or working in its tree.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readlinkSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { IsolationPlan } from './isolation.js';
import type { RepoPaths } from './paths.js';
import { isDead, readStat, signalGroup, signalProcess } from './process-group.js';
import type { Runner, RunRequest } from './runner.js';
import { alwaysHidden, bwrapArgs, bwrapProgram, sandboxHomePath } from './sandbox.js';
import { RUN_MARKER, runMarker, sweep } from './sweep.js';
import { type Containment, processGroup, runTest, type TestRunResult, testEnvironment } from './test-run.js';
import { TestTree } from './test-tree.js';
import { checkReachable, chownTree, closeToOthers, type TestUser } from './test-user.js';
import type { Mirror } from './workspace.js';

/** Session variables pointing at the bot's desktop session or runtime directory: none of a test's business. */
const SESSION_VARS = ['XDG_RUNTIME_DIR', 'DBUS_SESSION_BUS_ADDRESS', 'DISPLAY', 'WAYLAND_DISPLAY'];

/** Processes whose pid namespace is `ns` (as `readlink /proc/PID/ns/pid` says: `pid:[N]`). */
function namespaceMembers(ns: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) === ns && !isDead(readStat(Number(name))))
        out.push(Number(name));
    } catch {
      // Gone, or another user's (then not in our sandbox).
    }
  }
  return out;
}

/**
 * A bubblewrap sandbox. bwrap reports on fd 3 the host pid of the sandbox's pid 1 and its pid namespace: asking
 * to end sends SIGTERM to every process in the namespace; killing SIGKILLs its pid 1, upon which the kernel kills
 * every other process in it; the run is over when the namespace is empty.
 */
function sandboxContainment(
  args: (inner: readonly string[]) => string[],
  env: NodeJS.ProcessEnv,
): Containment {
  let init = 0;
  let ns = '';
  return {
    command: (inner) => ({ file: bwrapProgram(), args: args(inner) }),
    env,
    extraPipes: 1,
    started(child: ChildProcess) {
      return new Promise((done) => {
        const info = child.stdio[3] as Readable | null;
        if (!info) return done('no info pipe');
        let text = '';
        const onData = (chunk: Buffer) => {
          text += chunk.toString('utf8');
          try {
            const parsed = JSON.parse(text) as { 'child-pid'?: number; 'pid-namespace'?: number };
            init = parsed['child-pid'] ?? 0;
            ns = `pid:[${parsed['pid-namespace']}]`;
            info.off('data', onData);
            info.destroy();
            done(init > 0 ? null : 'bwrap reported no pid');
          } catch {
            // Not all of it yet.
          }
        };
        info.on('data', onData);
        info.once('close', () => done(init > 0 ? null : 'bwrap ended before the sandbox was up'));
      });
    },
    stop(child, phase) {
      if (phase === 'term' && ns) {
        for (const pid of namespaceMembers(ns)) if (pid !== init) signalProcess(pid, 'SIGTERM');
        return [];
      }
      if (init > 0) signalProcess(init, 'SIGKILL');
      else if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
      return [];
    },
    async reap() {
      if (!ns) return { clean: true, warnings: [] };
      const deadline = Date.now() + 5000;
      for (;;) {
        const left = namespaceMembers(ns);
        if (left.length === 0) return { clean: true, warnings: [] };
        if (Date.now() > deadline) {
          return { clean: false, warnings: [`sandbox processes ${left.join(', ')} survived SIGKILL`] };
        }
        if (init > 0) signalProcess(init, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** Test-user runs are one at a time per user in this process: after each, every process of that user is killed. */
const userQueues = new Map<number, Promise<unknown>>();

function oneAtATime<T>(uid: number, work: () => Promise<T>): Promise<T> {
  const previous = userQueues.get(uid) ?? Promise.resolve();
  const next = previous.then(work, work);
  userQueues.set(
    uid,
    next.catch(() => undefined),
  );
  return next;
}

export class LocalRunner implements Runner {
  readonly isolation: { mode: IsolationPlan['mode']; detail: string };
  private readonly plan: IsolationPlan;
  private readonly paths: RepoPaths;
  private readonly mirror: Mirror;
  private readonly tree: TestTree;
  /** A run ended and its tree was not released since. */
  private ran = false;

  constructor(plan: IsolationPlan, paths: RepoPaths, mirror: Mirror) {
    this.plan = plan;
    this.isolation = { mode: plan.mode, detail: plan.detail };
    this.paths = paths;
    this.mirror = mirror;
    this.tree = new TestTree(paths.trees, paths.treeGit, mirror);
    if (plan.user) this.openToTestUser(plan.user);
  }

  /**
   * The test user must pass through to its tree and read the mirror's objects its tree borrows, and nothing else of
   * the state directory: its directories become `0711` (no listing, no writing), the object store readable.
   */
  private openToTestUser(user: TestUser): void {
    const { stateDir, root, treesDir, trees } = this.paths;
    for (const dir of [trees.tree, trees.home, trees.tmp]) mkdirSync(dir, { recursive: true });
    closeToOthers([stateDir, `${stateDir}/repos`, root, this.mirror.gitDir, treesDir, trees.root]);
    // Made before the bot ran tests as another user (or by the hook's shell): closed now.
    for (const [path, mode] of [
      [this.paths.journal, 0o600],
      [this.paths.logs, 0o700],
      [`${stateDir}/hook.log`, 0o600],
      [`${stateDir}/push-token`, 0o600],
    ] as const) {
      if (existsSync(path)) chmodSync(path, mode);
    }
    for (const dir of ['', '/pack', '/info']) {
      const path = `${this.mirror.objectsDir}${dir}`;
      if (existsSync(path)) chmodSync(path, 0o755);
    }
    checkReachable(trees.tree, user, 'its tree');
    checkReachable(this.mirror.objectsDir, user, "the objects its tree's .git borrows,");
  }

  async run(request: RunRequest): Promise<TestRunResult> {
    const user = this.plan.user;
    return user ? oneAtATime(user.uid, () => this.runOnce(request, user)) : this.runOnce(request);
  }

  private async runOnce(request: RunRequest, user?: TestUser): Promise<TestRunResult> {
    const warnings: string[] = [];
    // A bot that died mid-run (and its leftovers) must not share this run.
    if (user) warnings.push(...(await sweep({ uid: user.uid })).warnings);
    // As the bot's own user a process of the last run may have evaded the sweep: clean the tree again before use.
    await this.tree.prepare(
      request.sha,
      request.refs ?? new Map([[`refs/remotes/origin/${request.target}`, request.base]]),
      { trustCleaned: this.plan.mode !== 'same-user' },
    );
    // From here the tree holds a .git and files of this run: whatever happens next, release() cleans them.
    this.ran = true;
    if (user)
      for (const dir of [this.paths.trees.tree, this.paths.trees.home, this.paths.trees.tmp])
        chownTree(dir, user);
    if (request.signal?.aborted) {
      return {
        outcome: 'cancelled',
        exitCode: null,
        signal: null,
        durationMs: 0,
        leftBehind: false,
        warnings,
      };
    }
    const result = await runTest({
      command: request.command,
      cwd: this.paths.trees.tree,
      timeoutMs: request.timeoutMs,
      logPath: request.logPath,
      ...(request.logLimit === undefined ? {} : { logLimit: request.logLimit }),
      ...(request.signal ? { signal: request.signal } : {}),
      ...(request.onSpawn ? { onSpawn: request.onSpawn } : {}),
      containment: this.containment(request, user),
    });
    return { ...result, warnings: [...warnings, ...result.warnings] };
  }

  private containment(request: RunRequest, user?: TestUser): Containment {
    const { trees } = this.paths;
    const env = testEnvironment();
    env[RUN_MARKER] = request.runId;
    // A test's git must not wander out of its tree into a repository around it.
    env['GIT_CEILING_DIRECTORIES'] = trees.root;
    if (this.plan.mode === 'same-user') {
      return processGroup({
        env,
        sweep: { marker: runMarker(request.runId), under: [trees.tree, trees.home, trees.tmp] },
      });
    }
    for (const name of SESSION_VARS) delete env[name];
    if (user) {
      for (const name of Object.keys(env)) if (/^XDG_[A-Z]+_HOME$/.test(name)) delete env[name];
      Object.assign(env, { HOME: trees.home, TMPDIR: trees.tmp, USER: user.name, LOGNAME: user.name });
      return processGroup({ env, uid: user.uid, gid: user.gid, sweep: { uid: user.uid } });
    }
    const homePath = sandboxHomePath();
    Object.assign(env, { HOME: homePath, TMPDIR: '/tmp' });
    const hidden = alwaysHidden();
    const layout = {
      tree: trees.tree,
      home: trees.home,
      homePath,
      tmp: trees.tmp,
      hiddenDirs: [this.paths.stateDir, this.paths.treesDir, ...hidden.dirs],
      hiddenFiles: hidden.files,
      readOnly: [this.mirror.objectsDir],
      writable: this.plan.writable,
    };
    return sandboxContainment((inner) => bwrapArgs(layout, inner), env);
  }

  release(): void {
    if (!this.ran) return;
    this.ran = false;
    this.tree.cleanAfterRun();
  }

  async idle(): Promise<void> {
    this.release();
    await this.tree.settle();
  }
}
