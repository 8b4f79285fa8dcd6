#!/usr/bin/env node
// premerge-bot: (1) the bot's own overhead per candidate on a repository of real size (20,000 commits, 5,000
// files), push seen -> test started and test passed -> master moved, against a fresh clone per run; (2) test runs
// needed for a queue of 16 candidates with one bad, batching (bors-style) against one at a time. The engine runs
// in this process (as under `premerge-bot watch`), from the built package. See bench/README.md.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, gitEnv } from './lib/git.mjs';
import { BenchError, main, runOk, tempDir } from './lib/process.mjs';
import { ROOT } from './lib/protodoc.mjs';
import { fmtMs, fmtRatio, median, printTable, runCount, verdict } from './lib/stats.mjs';

const COMMITS = Number(process.env.BENCH_PREMERGE_COMMITS ?? 20_000);
const FILES = Number(process.env.BENCH_PREMERGE_FILES ?? 5_000);
const QUEUE = 16;
const TARGET_RATIO = 10;

/**
 * The built package's API (the benchmark loads dist/index.js; its types come from the source it is built from).
 * @typedef {typeof import('../packages/premerge-bot/src/index.js')} Engine
 */

/** @typedef {{ start: number, land: number }} Overhead  ms: push seen -> test started, test passed -> master moved */

const now = () => performance.timeOrigin + performance.now();

/**
 * Feeds a generated history to `git fast-import`: FILES files in the first commit, then one file changed per commit.
 * @param {string} bare  the bare repository to create
 * @param {string} config  the content of its .github/premerge.yml
 */
async function generateRepo(bare, config) {
  await git(ROOT, 'init', '-q', '--bare', '-b', 'master', bare);
  const child = spawn('git', ['fast-import', '--quiet'], {
    cwd: bare,
    env: gitEnv,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  /** @type {Promise<number | null>} */
  const exited = new Promise((done) => child.on('exit', done));
  /** @type {string[]} */
  const chunks = [];
  let size = 0;
  /** @param {string} text */
  const write = async (text) => {
    chunks.push(text);
    size += text.length;
    if (size < 1 << 20) return;
    const ok = child.stdin.write(chunks.join(''));
    chunks.length = 0;
    size = 0;
    if (!ok) await new Promise((done) => child.stdin.once('drain', done));
  };
  /** @param {string} text */
  const data = (text) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  /** @param {number} i */
  const path = (i) => `src/m${String(i % 100).padStart(2, '0')}/file${i}.txt`;
  for (let c = 0; c < COMMITS; c++) {
    const when = 1_700_000_000 + c * 60;
    let body = `commit refs/heads/master\ncommitter Bench <bench@example.com> ${when} +0000\n${data(`commit ${c}`)}`;
    if (c === 0) {
      for (let f = 0; f < FILES; f++) body += `M 100644 inline ${path(f)}\n${data(`file ${f}\n`.repeat(20))}`;
      body += `M 100644 inline .github/premerge.yml\n${data(config)}`;
    } else {
      const f = (c * 7919) % FILES;
      body += `M 100644 inline ${path(f)}\n${data(`file ${f}\n`.repeat(20) + `change ${c}\n`)}`;
    }
    await write(body);
  }
  child.stdin.end(chunks.join(''));
  if ((await exited) !== 0) throw new BenchError(`git fast-import failed: ${stderr}`);
  // One pack, as a repository that has been gc'd looks.
  await git(bare, 'repack', '-adq');
}

/**
 * A new commit on top of the remote's master, pushed to `branch`; returns its sha.
 * @param {string} clone  a working clone of the repository
 * @param {string} branch
 * @param {number} n  numbers the candidate
 * @param {string} [file]  the file it adds
 */
async function pushCandidate(clone, branch, n, file = `bench/c${n}.txt`) {
  await git(clone, 'fetch', '-q', 'origin', 'master');
  await git(clone, 'reset', '-q', '--hard', 'FETCH_HEAD');
  mkdirSync(join(clone, 'bench'), { recursive: true });
  writeFileSync(join(clone, file), `candidate ${n}\n`);
  await git(clone, 'add', file);
  await git(clone, 'commit', '-q', '-m', `candidate ${n}`);
  await git(clone, 'push', '-q', '-f', 'origin', `HEAD:refs/heads/${branch}`);
  return git(clone, 'rev-parse', 'HEAD');
}

/**
 * A timestamp the test recorded (`date +%s%N`), in ms.
 * @param {string} marks  the directory
 * @param {string} name  the file
 */
const readMark = (marks, name) => Number(readFileSync(join(marks, name), 'utf8').trim()) / 1e6;

/** The test command both contenders run: it only records when it started and when it passed. */
const TEST = 'date +%s%N > "$BENCH_MARKS/start" && date +%s%N > "$BENCH_MARKS/end"';

/**
 * The bot's overhead per candidate against a fresh clone per run, on a generated repository of real size.
 * @param {Engine} engine
 * @param {string} work  a temporary directory
 */
async function overhead(engine, work) {
  const marks = join(work, 'marks');
  mkdirSync(marks);
  process.env.BENCH_MARKS = marks;
  const bare = join(work, 'public.git');
  const t0 = now();
  // The test runs in the bot's sandbox (where bubblewrap works): the marks directory is the one it may write.
  await generateRepo(bare, `test: ${TEST}\ntimeout: 5m\nsandbox-writable: ["${marks}"]\n`);
  const generatedMs = now() - t0;
  const count = Number(await git(bare, 'rev-list', '--count', 'master'));
  const listing = await runOk('git ls-tree', 'git', ['ls-tree', '-r', '--name-only', 'master'], {
    cwd: bare,
    env: gitEnv,
    fullOutput: true,
  });
  const files = listing.stdout.trimEnd().split('\n').length;
  console.log(
    `repository: ${count} commits, ${files} files, generated in ${fmtMs(generatedMs)} (git fast-import)`,
  );
  const clone = join(work, 'dev');
  await git(work, 'clone', '-q', bare, clone);
  const state = join(work, 'state');

  /**
   * The bot: pushed to pu, then runOnce (the moment a watch is poked); figures from the test's own timestamps.
   * @param {number} n
   * @returns {Promise<Overhead>}
   */
  const bot = async (n) => {
    const sha = await pushCandidate(clone, 'pu', n);
    let landedAt = 0;
    const seen = now();
    const report = await engine.runOnce({
      repo: bare,
      stateDir: state,
      onEvent: (e) => {
        if (e.type === 'verdict' && e.verdict.kind === 'landed') landedAt = now();
      },
    });
    const kinds = report.verdicts.map((v) => v.kind).join(',');
    if (kinds !== 'landed' || (await git(bare, 'rev-parse', 'master')) !== sha) {
      throw new BenchError(`the bot did not land candidate ${n}: ${kinds || 'no verdict'}`);
    }
    return { start: readMark(marks, 'start') - seen, land: landedAt - readMark(marks, 'end') };
  };

  /**
   * A fresh clone per run (over the git protocol, as CI does from a URL), test, push to master.
   * @param {number} n
   * @returns {Promise<Overhead>}
   */
  const fresh = async (n) => {
    const sha = await pushCandidate(clone, 'pu', n);
    const dir = join(work, `fresh-${n}`);
    const seen = now();
    await git(work, 'clone', '-q', '-b', 'pu', `file://${bare}`, dir);
    await runOk('test', '/bin/sh', ['-c', TEST], { cwd: dir, env: { ...gitEnv, BENCH_MARKS: marks } });
    const passed = readMark(marks, 'end');
    await git(dir, 'push', '-q', 'origin', `${sha}:refs/heads/master`);
    const moved = now();
    rmSync(dir, { recursive: true, force: true });
    return { start: readMark(marks, 'start') - seen, land: moved - passed };
  };

  const runs = runCount();
  /** @type {{ bot: Overhead[], fresh: Overhead[] }} */
  const rows = { bot: [], fresh: [] };
  let n = 0;
  // One uncounted run of each first: the bot's first run builds its mirror (once per repository, ever).
  await bot(n++);
  await fresh(n++);
  for (let i = 0; i < runs; i++) {
    rows.bot.push(await bot(n++));
    rows.fresh.push(await fresh(n++));
  }
  /**
   * @param {Overhead[]} list
   * @param {keyof Overhead} key
   */
  const m = (list, key) => median(list.map((r) => r[key]));
  /** @param {Overhead[]} list */
  const total = (list) => median(list.map((r) => r.start + r.land));
  printTable([
    ['overhead per candidate (median)', 'push seen -> test started', 'test passed -> master moved', 'total'],
    [
      'premerge-bot (mirror + kept tree)',
      fmtMs(m(rows.bot, 'start')),
      fmtMs(m(rows.bot, 'land')),
      fmtMs(total(rows.bot)),
    ],
    [
      'fresh clone per run',
      fmtMs(m(rows.fresh, 'start')),
      fmtMs(m(rows.fresh, 'land')),
      fmtMs(total(rows.fresh)),
    ],
  ]);
  const ratio = total(rows.fresh) / total(rows.bot);
  console.log(
    `fresh clone / premerge-bot: ${fmtRatio(ratio)} (target >= ${TARGET_RATIO}x: ${verdict(ratio >= TARGET_RATIO)}); ${runs} run(s) each`,
  );
  await checkoutCost(clone, work);
}

/**
 * Where a run's start-up goes on this file system: a new worktree writes every file (what a run per fresh worktree
 * pays), while moving an existing worktree to the next candidate writes only the files that differ.
 * @param {string} clone  a working clone of the generated repository
 * @param {string} work  a temporary directory
 */
async function checkoutCost(clone, work) {
  /** @type {number[]} */
  const full = [];
  /** @type {number[]} */
  const incremental = [];
  const keep = join(work, 'kept-worktree');
  await git(clone, 'worktree', 'add', '-q', '--detach', keep, 'HEAD~50');
  for (let i = 0; i < runCount(); i++) {
    const dir = join(work, `worktree-${i}`);
    let t = now();
    await git(clone, 'worktree', 'add', '-q', '--detach', dir, 'HEAD');
    full.push(now() - t);
    await git(clone, 'worktree', 'remove', '--force', dir);
    t = now();
    await git(keep, 'checkout', '-q', '--detach', '-f', i % 2 ? 'HEAD~50' : 'HEAD');
    await git(keep, 'clean', '-qffdx');
    incremental.push(now() - t);
  }
  console.log(
    `of which a new worktree of all files (git worktree add): ${fmtMs(median(full))}; ` +
      `moving a kept worktree 50 commits (checkout -f + clean -ffdx): ${fmtMs(median(incremental))}`,
  );
}

/**
 * A queue of QUEUE candidates, one bad, landed by one runOnce; checks what landed.
 * @param {Engine} engine
 * @param {string} work  a temporary directory
 * @param {number} maxBatch
 * @returns {Promise<number>}  how many test runs it took
 */
async function queue(engine, work, maxBatch) {
  const bare = join(work, `queue-${maxBatch}.git`);
  const seed = join(work, `queue-${maxBatch}-seed`);
  await git(work, 'init', '-q', '-b', 'master', seed);
  mkdirSync(join(seed, '.github'));
  // Candidate 11 adds BAD, which fails the test; every other candidate adds a file of its own.
  writeFileSync(
    join(seed, '.github', 'premerge.yml'),
    `candidates: "pu/*"\ntest: test ! -e BAD\nrebase: true\n`,
  );
  await git(seed, 'add', '-A');
  await git(seed, 'commit', '-q', '-m', 'config');
  await git(work, 'clone', '-q', '--bare', seed, bare);
  await git(seed, 'remote', 'add', 'origin', bare);
  const base = await git(bare, 'rev-parse', 'master');
  for (let i = 1; i <= QUEUE; i++) {
    await git(seed, 'reset', '-q', '--hard', base);
    const file = i === 11 ? 'BAD' : `c${i}.txt`;
    writeFileSync(join(seed, file), `${i}\n`);
    await git(seed, 'add', file);
    await git(seed, 'commit', '-q', '-m', `candidate ${i}`);
    await git(seed, 'push', '-q', 'origin', `HEAD:refs/heads/pu/c${String(i).padStart(2, '0')}`);
  }
  const report = await engine.runOnce({
    repo: bare,
    stateDir: join(work, `queue-${maxBatch}-state`),
    maxBatch,
  });
  const landed = new Set(report.verdicts.filter((v) => v.kind === 'landed').map((v) => v.branch));
  const tree = (await git(bare, 'ls-tree', '--name-only', 'master')).split('\n');
  const landedFiles = tree.filter((f) => /^c\d+\.txt$/.test(f));
  if (landed.size !== QUEUE - 1 || landedFiles.length !== QUEUE - 1 || tree.includes('BAD')) {
    throw new BenchError(
      `queue (maxBatch ${maxBatch}): ${landed.size} landed, ${landedFiles.length} files on master`,
    );
  }
  return report.testRuns;
}

await main(async () => {
  const dist = join(ROOT, 'packages/premerge-bot/dist/index.js');
  /** @type {Engine} */
  let engine;
  try {
    engine = await import(dist);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new BenchError(`cannot load ${dist} (run npm run build first): ${why}`);
  }
  const { dir, remove } = tempDir('premerge');
  try {
    await overhead(engine, dir);
    const batched = await queue(engine, dir, QUEUE);
    const single = await queue(engine, dir, 1);
    console.log();
    printTable([
      [`queue of ${QUEUE} candidates, 1 bad (rebase: true)`, 'test runs'],
      ['batching + bisect (maxBatch 16)', String(batched)],
      ['one at a time (maxBatch 1)', String(single)],
    ]);
  } finally {
    remove();
  }
});
