/**
 * The bot is SIGKILLed at random moments, many times, and restarted. Whatever the moment, master must only ever
 * take values whose test passed, and a final clean run must settle everything exactly once.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatus, runOnce } from '../src/engine.js';
import { repoPaths } from '../src/paths.js';
import { builtEngineRunner, type ChildRun, startEngine } from './helpers/engine-child.js';
import {
  createFixture,
  type Fixture,
  processesMentioning,
  pushCandidate,
  readLines,
  recordBranchValues,
  writableShared,
} from './helpers/git-fixture.js';

let runner: string;
let f: Fixture;
beforeAll(() => {
  // The bot runs in a child process (built dist/) so that it can be SIGKILLed.
  runner = builtEngineRunner();
});
afterAll(() => f?.cleanup());

/** Small seeded PRNG so a failing sequence of kill delays can be replayed from the seed in the message. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The journal file's identity (inode and birth time), which only a compaction's rename changes; null when absent. */
function journalIdentity(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.ino}/${st.birthtimeNs}`;
  } catch {
    return null;
  }
}

/** When a run is SIGKILLed: `delay` ms after its `event`-th engine event (one JSON line each on stderr), 0: its start. */
interface KillPoint {
  event: number;
  delay: number;
}

/** Arms the kill of `run` at `at`; returns what disarms it. */
function killAt(run: ChildRun, at: KillPoint): () => void {
  let timer: NodeJS.Timeout | undefined;
  let seen = 0;
  const arm = () => {
    timer = setTimeout(() => run.child.kill('SIGKILL'), at.delay);
  };
  const onData = (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 0x0a) seen++;
    if (seen < at.event) return;
    run.child.stderr?.off('data', onData);
    arm();
  };
  if (at.event === 0) arm();
  else run.child.stderr?.on('data', onData);
  return () => {
    clearTimeout(timer);
    run.child.stderr?.off('data', onData);
  };
}

function findLocks(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...findLocks(p));
    else if (e.name.endsWith('.lock')) out.push(p);
  }
  return out;
}

describe.each([
  // Kill delays from the start span about one busy run of the bot in that mode (stacking and rebasing take longer),
  // and kills after an event reach about as far into one.
  { rebase: true, iterations: 20, maxDelay: 3000, maxEvent: 24 },
  { rebase: false, iterations: 15, maxDelay: 1200, maxEvent: 16 },
])('crash safety (rebase: $rebase)', ({ rebase, iterations, maxDelay, maxEvent }) => {
  it('SIGKILLed at random moments and restarted, master only ever holds commits that passed', async ({
    onTestFailed,
  }) => {
    const seed = Number(process.env['PREMERGE_CRASH_SEED'] ?? Date.now() % 1_000_000);
    // Whatever fails (an assertion, a timeout, a throw), the seed that replays it is printed.
    onTestFailed(() => {
      console.error(
        `crash test (rebase: ${rebase}) failed with seed ${seed}: replay with PREMERGE_CRASH_SEED=${seed}`,
      );
    });
    const random = prng(seed);
    f?.cleanup();
    f = await createFixture();
    // Written by the tests the bot runs (in its sandbox), so in the one directory they may write.
    const passes = join(f.shared, 'passes');
    const masterLog = join(f.dir, 'master-values');
    // The marker names every shell of a test run in its command line, whatever pid namespace it runs in.
    const marker = 'premerge-crash-run';
    const config = `test: true ${marker}; sh test.sh && git rev-parse HEAD >> ${passes}\ncandidates: "pu/*"\nrebase: ${rebase}\ntimeout: 60s\n${writableShared(f.shared)}`;
    // Tests take a moment so that kills land inside runs as well as between them. A push is bad when it adds a
    // file named broken-*; test.sh itself is master's and no candidate changes it, so no two candidates touch the
    // same file and a rebase never conflicts (a bad push made from an older master used to conflict with the
    // test.sh a good one had landed, and rightly got needs-rebase).
    const testScript =
      'for f in broken-*; do\n  if [ -e "$f" ]; then sleep 0.2; echo "tests broken: $f" >&2; exit 1; fi\ndone\nsleep 0.3\n';
    await f.commit({ '.github/premerge.yml': config, 'test.sh': testScript }, 'configure premerge');
    await f.git(f.work, 'push', '--quiet', 'origin', 'HEAD:master');
    recordBranchValues(f.origin, 'master', masterLog);
    const initialMaster = await f.rev(f.origin, 'master');

    const latest = new Map<string, { file: string; bad: boolean; sha: string }>(); // branch -> its latest push
    let pushes = 0;
    const push = async (branch: string, bad: boolean) => {
      const file = `${bad ? 'broken-' : ''}${branch.replace('/', '-')}-${pushes++}.txt`;
      const sha = await pushCandidate(f, { branch, files: { [file]: `${branch}\n` } });
      latest.set(branch, { file, bad, sha });
    };
    for (let i = 0; i < 4; i++) await push(`pu/c${i}`, false);
    await push('pu/bad', true);

    // A small journal threshold: the journal is compacted (rewritten) at most session starts, so kills land in
    // compactions too.
    const options = { repo: f.origin, stateDir: f.stateDir, pollIntervalMs: 100, journalCompactBytes: 2048 };
    // A compaction writes a new journal and renames it over the old one (store.ts rewriteJournal), and nothing else
    // replaces the file (sessions append to it). So a journal whose identity (inode, birth time) changed between
    // two runs was compacted: seen in the journal itself, also when the SIGKILL came after the rename and before the
    // run's 'compacted' line was written.
    const journal = repoPaths(f.stateDir, f.origin).journal;
    let journalId: string | null = null;
    let compactions = 0;
    const settle = (result: Awaited<ChildRun['done']>) => {
      if (result.code !== null && result.code !== 0) {
        throw new Error(
          `seed ${seed}: engine child failed on its own (exit ${result.code}): ${result.stderr}`,
        );
      }
      const said = result.stderr.split('\n').filter((line) => line.startsWith('{"type":"compacted"')).length;
      const id = journalIdentity(journal);
      const replaced = journalId !== null && id !== null && id !== journalId;
      if (id !== null) journalId = id;
      compactions += Math.max(said, replaced ? 1 : 0);
    };
    const kills: string[] = [];
    let killed = 0;
    // A run that ends before its kill lands is no test of a crash: keep going (up to three times as many runs)
    // until at least a quarter of the planned runs were killed mid-work.
    const minKills = Math.ceil(iterations / 4);
    for (let i = 0; i < iterations || (killed < minKills && i < iterations * 3); i++) {
      const run = startEngine(runner, options);
      // Where the kill lands is drawn relative to the bot's progress: a delay after its k-th event, or after its
      // start (k = 0: start-up, the journal's compaction, recovery). Timed from the start alone, on a loaded
      // machine every kill came before the bot had journaled anything.
      const [anchor, wait] = [random(), random()];
      const at: KillPoint =
        anchor < 0.3
          ? { event: 0, delay: Math.floor(100 + wait * (maxDelay - 100)) }
          : { event: 1 + Math.floor(((anchor - 0.3) / 0.7) * maxEvent), delay: Math.floor(wait * 600) };
      const disarm = killAt(run, at);
      // Keep the bot busy: new pushes while it runs (some land mid-test and supersede it), now and then a bad one.
      const pushDelay = Math.floor(random() * 800);
      const branch = `pu/c${Math.floor(random() * 5)}`;
      const bad = random() < 0.25;
      await new Promise((r) => setTimeout(r, pushDelay));
      await push(branch, bad);
      const result = await run.done;
      disarm();
      const events = result.stderr.split('\n').length - 1;
      kills.push(`${at.event}+${at.delay}ms:${result.signal === 'SIGKILL' ? 'killed' : 'ended'}@${events}`);
      if (result.signal === 'SIGKILL') killed++;
      settle(result);
    }

    // The storm must really have hit the bot while it worked, not only between runs.
    expect(killed, `seed ${seed}`).toBeGreaterThanOrEqual(minKills);
    // And it covers a compaction, however the kills fell: while none happened (the journal stayed under the
    // threshold between kills, as on a loaded machine), runs go on, each after a push, until one starts on a
    // journal past the threshold; that one compacts it and is SIGKILLed as soon as it says so. A run that is not
    // cut short tests the push it was started after, and journals that run and its verdict (more than 1 KiB), so
    // two such runs take the journal past 2 KiB, and that many run records make it worth compacting.
    let extra = 0;
    for (; compactions === 0 && extra < 10; extra++) {
      await push(`pu/c${Math.floor(random() * 5)}`, random() < 0.25);
      const run = startEngine(runner, options);
      let said = '';
      run.child.stderr!.on('data', (chunk: Buffer) => {
        said += chunk.toString();
        if (said.includes('{"type":"compacted"')) run.child.kill('SIGKILL');
      });
      settle(await run.done);
    }
    expect(
      compactions,
      `seed ${seed}: the journal was compacted (${extra} runs after the storm)`,
    ).toBeGreaterThan(0);
    if (process.env['PREMERGE_CRASH_DEBUG'])
      console.log({
        seed,
        killed,
        kills,
        compactions,
        extra,
        masterValues: readLines(masterLog).length,
        passes: readLines(passes).length,
      });

    // A final clean run (in a child, as a restarted bot would) settles everything.
    const final = await startEngine(runner, options).done;
    expect(final.code, `seed ${seed}: ${final.stderr}`).toBe(0);
    settle(final);

    // 1. Every value master ever took passed its test as it stands.
    const passed = new Set(readLines(passes));
    const values = readLines(masterLog);
    expect(values.length, `seed ${seed}`).toBeGreaterThan(0);
    expect(
      values.filter((v) => v !== initialMaster && !passed.has(v)),
      `seed ${seed}, kills ${kills.join(',')}`,
    ).toEqual([]);
    // Only fast-forwards: each value descends from the one before.
    let previous = initialMaster;
    for (const v of values) {
      const ok = await f
        .git(f.origin, 'merge-base', '--is-ancestor', previous, v)
        .then(() => true)
        .catch(() => false);
      expect(ok, `seed ${seed}: ${previous} -> ${v} is not a fast-forward`).toBe(true);
      previous = v;
    }

    // 2. Everything settled: the latest push of every branch has its verdict; a bad one never landed; with rebase
    //    every good one landed, without rebase a good one landed unless master had moved past its base.
    const tree = (await f.git(f.origin, 'ls-tree', '--name-only', 'master')).split('\n');
    const { recent } = await readStatus(options);
    for (const [branch, { file, bad, sha }] of latest) {
      const verdict = recent.find((v) => v.sha === sha);
      const kind = verdict?.kind;
      const why = `seed ${seed}: ${branch}'s latest push (${bad ? 'bad' : 'good'}) got ${kind}${verdict?.reason ? ` (${verdict.reason})` : ''}`;
      expect(tree.includes(file), why).toBe(kind === 'landed');
      const allowed = [bad ? 'failed' : 'landed', ...(rebase ? [] : ['needs-rebase'])];
      expect(allowed, why).toContain(kind);
    }
    // 3. Idempotent after the storm: nothing left to do, nothing re-tested.
    const again = await runOnce(options);
    expect([again.testRuns, again.verdicts.length, again.pendingAtStart]).toEqual([0, 0, 0]);

    // 4. Nothing left behind: no test process, no worktree, no git lock file in the mirror. No waiting: a run is
    //    over once all of its processes are, and each start SIGKILLs what the runs a crash cut off left running.
    expect(processesMentioning(marker), `seed ${seed}`).toEqual([]);
    const paths = repoPaths(f.stateDir, f.origin);
    // The test's tree: pristine, its .git, HOME and TMPDIR gone with the last run.
    expect(
      await f.git(
        f.dir,
        '--git-dir',
        paths.treeGit,
        '--work-tree',
        paths.trees.tree,
        'status',
        '--porcelain',
        '--ignored',
      ),
    ).toBe('');
    expect([
      existsSync(join(paths.trees.tree, '.git')),
      readdirSync(paths.trees.home),
      readdirSync(paths.trees.tmp),
    ]).toEqual([false, [], []]);
    // Only the kept worktree, clean (no test output, no change to tracked files).
    expect(
      existsSync(paths.worktrees) ? readdirSync(paths.worktrees).filter((n) => n !== 'kept') : [],
    ).toEqual([]);
    if (existsSync(join(paths.worktrees, 'kept'))) {
      expect(await f.git(join(paths.worktrees, 'kept'), 'status', '--porcelain', '--ignored')).toBe('');
    }
    expect(findLocks(paths.mirror)).toEqual([]);
    expect(existsSync(paths.lock)).toBe(false);
  }, 240_000);
});
