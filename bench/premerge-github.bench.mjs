#!/usr/bin/env node
// premerge-bot as a GitHub App, against the stand-in GitHub (tests/github-standin), from the built package:
// (1) valid signed push webhooks its front end accepts per second on one CPU; (2) p50/p99 from a push webhook's
// arrival at `premerge-bot serve` to its check run created on the stand-in; (3) push-to-land through the App
// against the plain-git path (`watch` poked by the post-receive hook), and the ratio. See bench/README.md.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { startStandin } from '../tests/github-standin/index.mjs';
import { git, gitEnv } from './lib/git.mjs';
import { pinned } from './lib/pin.mjs';
import { BenchError, main, runOk, tempDir } from './lib/process.mjs';
import { ROOT } from './lib/protodoc.mjs';
import { fmtMs, fmtRatio, median, printTable, runCount } from './lib/stats.mjs';

const BIN = join(ROOT, 'packages/premerge-bot/bin/premerge-bot.js');
const FRONT_END = join(ROOT, 'bench/lib/webhook-front-end.mjs');
/** Deliveries sent to the front end (after 1,000 uncounted ones). */
const DELIVERIES = Number(process.env.BENCH_GITHUB_DELIVERIES ?? 20_000);
/** Concurrent connections the deliveries arrive on. */
const CONNECTIONS = 16;
/** Pushes whose webhook-to-check-run latency is measured, per setting. */
const PUSHES = Number(process.env.BENCH_GITHUB_PUSHES ?? 30);

const now = () => performance.timeOrigin + performance.now();

/** @param {number[]} values @param {number} p  0..100 */
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/**
 * A long-running child whose stdout lines the benchmark reads.
 * @param {string} cmd
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} env
 * @param {string} cwd
 */
function daemon(cmd, args, env, cwd) {
  const child = spawn(cmd, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  /** @type {string[]} */
  const lines = [];
  /** @type {Array<{ test: (line: string) => boolean, resolve: (line: string) => void }>} */
  const waiters = [];
  let pending = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (/** @type {string} */ c) => {
    stderr += c;
  });
  child.stdout.setEncoding('utf8').on('data', (/** @type {string} */ c) => {
    pending += c;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  /** @type {Promise<number | null>} */
  const exited = new Promise((done) => child.on('exit', (code) => done(code)));
  return {
    child,
    lines,
    /**
     * The first line (already printed or later) that `test` accepts.
     * @param {(line: string) => boolean} test
     * @param {string} what
     * @returns {Promise<string>}
     */
    next(test, what) {
      const found = lines.find(test);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiters.push({ test, resolve });
        void exited.then((code) =>
          reject(new BenchError(`${cmd} exited (${code}) before ${what}: ${stderr.slice(-2000)}`)),
        );
      });
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A JSON log line of serve or watch that `pred` accepts.
 * @param {(e: Record<string, any>) => boolean} pred
 */
const json = (pred) => (/** @type {string} */ line) => {
  try {
    return pred(JSON.parse(line));
  } catch {
    return false;
  }
};

/**
 * A stand-in with the App installed on `dev/project` (config `config`), a developer clone, and a key file.
 * @param {string} dir
 * @param {string} config
 * @param {'off' | 'auto'} sandbox  PREMERGE_SANDBOX for serve
 */
async function world(dir, config, sandbox = 'off') {
  const gh = await startStandin();
  const dev = gh.createUser({ login: 'dev', name: 'Dev', email: 'dev@example.com' });
  const app = gh.createApp({ slug: 'premerge-bot' });
  const repo = await gh.createRepository({
    owner: dev,
    name: 'project',
    files: { '.github/premerge.yml': config, 'README.md': 'bench\n' },
  });
  gh.createInstallation({ app, account: dev, repositories: [repo] });
  await gh.deliveries.idle();
  const keyPath = join(dir, 'app.pem');
  writeFileSync(keyPath, app.privateKey, { mode: 0o600 });
  const clone = join(dir, 'clone');
  await git(dir, 'clone', '-q', gh.cloneUrlFor(repo, dev), clone);
  const env = {
    ...gitEnv,
    APP_ID: String(app.id),
    PRIVATE_KEY_PATH: keyPath,
    WEBHOOK_SECRET: app.webhookSecret,
    GITHUB_API_URL: gh.apiUrl,
    PREMERGE_SANDBOX: sandbox,
  };
  return { gh, dev, app, repo, clone, env };
}

/**
 * A new commit on the remote's master pushed to `branch`; returns its sha and when the push started.
 * @param {string} clone
 * @param {string} branch
 * @param {number} n
 */
async function pushCandidate(clone, branch, n) {
  await git(clone, 'fetch', '-q', 'origin', 'master');
  await git(clone, 'reset', '-q', '--hard', 'FETCH_HEAD');
  writeFileSync(join(clone, `c${n}.txt`), `candidate ${n}\n`);
  await git(clone, 'add', '-A');
  await git(clone, 'commit', '-q', '-m', `candidate ${n}`);
  const sha = await git(clone, 'rev-parse', 'HEAD');
  const pushedAt = now();
  await git(clone, 'push', '-q', '-f', 'origin', `HEAD:refs/heads/${branch}`);
  return { sha, pushedAt };
}

/**
 * Resolves once the App's check run on `sha` is completed (looked at after every request the stand-in answers).
 * @param {import('../tests/github-standin/index.mjs').Standin} gh
 * @param {{ checkRuns: Map<number, { headSha: string, status: string }> }} repo
 * @param {string} sha
 * @returns {Promise<void>}
 */
function completed(gh, repo, sha) {
  return new Promise((resolve) => {
    const look = () => {
      if (![...repo.checkRuns.values()].some((r) => r.headSha === sha && r.status === 'completed')) return;
      gh.off('request', look);
      resolve();
    };
    gh.on('request', look);
    look();
  });
}

/** (1) The front end alone, pinned to one CPU, fed real signed push deliveries on keep-alive connections. */
async function frontEnd() {
  const tmp = tempDir('github-front');
  try {
    const w = await world(tmp.dir, 'test: "true"\n');
    // One real push delivery: its body as the stand-in signed it (GitHub signs the body; the GUID is a header).
    w.gh.deliveries.hold();
    await pushCandidate(w.clone, 'pu', 0);
    const held = w.gh.deliveries.list((d) => d.event === 'push');
    const sample = held[0];
    if (!sample) throw new BenchError('the stand-in sent no push delivery');
    const body = sample.body;
    // Signed as GitHub (and the stand-in, at send time) signs: HMAC-SHA256 of the body with the App's secret.
    const signature = await sign(w.app.webhookSecret, body);
    await w.gh.close().catch(() => undefined);
    const [cmd, args] = pinned(process.execPath, [FRONT_END, w.app.webhookSecret, tmp.dir]);
    const server = daemon(cmd, args, gitEnv, ROOT);
    const port = Number((await server.next((l) => l.startsWith('listening '), 'listening')).split(' ')[1]);
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    let id = 0;
    /** @returns {Promise<[number, number]>} status, latency in ms */
    const send = () =>
      new Promise((resolve, reject) => {
        const started = now();
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/api/github/webhooks',
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              'x-github-event': 'push',
              'x-github-delivery': `bench-${id++}`,
              'x-hub-signature-256': signature,
              'user-agent': 'GitHub-Hookshot/bench',
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve([res.statusCode ?? 0, now() - started]));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    /** @param {number} count */
    const blast = async (count) => {
      /** @type {number[]} */
      const latencies = [];
      let accepted = 0;
      let left = count;
      const t0 = now();
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (left-- > 0) {
            const [status, ms] = await send();
            if (status === 202) accepted++;
            latencies.push(ms);
          }
        }),
      );
      return { accepted, seconds: (now() - t0) / 1000, latencies };
    };
    await blast(1000);
    const r = await blast(DELIVERIES);
    server.child.stdin.write('stats\n');
    const handled = Number((await server.next((l) => l.startsWith('handled '), 'its count')).split(' ')[1]);
    await server.stop();
    agent.destroy();
    if (r.accepted !== DELIVERIES || handled !== DELIVERIES + 1000) {
      throw new BenchError(
        `expected ${DELIVERIES} accepted and handled, got ${r.accepted} and ${handled - 1000}`,
      );
    }
    console.log(
      `\n(1) front end: ${DELIVERIES} signed push deliveries (${Buffer.byteLength(body)} bytes each, distinct GUIDs) on ${CONNECTIONS} keep-alive connections; the server ${cmd === 'taskset' ? 'pinned to one CPU' : 'NOT pinned (no taskset)'}; each delivery verified, journaled (fsync) and dispatched`,
    );
    printTable([
      ['', 'accepted/s', 'answer p50', 'answer p99'],
      [
        'premerge-bot serve front end',
        Math.round(r.accepted / r.seconds),
        fmtMs(percentile(r.latencies, 50)),
        fmtMs(percentile(r.latencies, 99)),
      ],
    ]);
  } finally {
    tmp.remove();
  }
}

/**
 * (2) Webhook arrival at serve -> check run created on the stand-in, one push at a time (each to a branch of its
 * own, pu/N, and settled before the next).
 * @param {string} writeInterval  serve's --write-interval
 */
async function arrivalToCheckRun(writeInterval) {
  const tmp = tempDir('github-latency');
  try {
    const w = await world(tmp.dir, 'test: "true"\ncandidates: "pu/*"\n');
    const serve = daemon(
      process.execPath,
      [
        BIN,
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--state-dir',
        join(tmp.dir, 'state'),
        '--allow-same-user',
        '--write-interval',
        writeInterval,
      ],
      w.env,
      tmp.dir,
    );
    const listening = JSON.parse(
      await serve.next(
        json((e) => e.type === 'listening'),
        'listening',
      ),
    );
    w.app.webhookUrl = listening.url;
    await serve.next(
      json((e) => e.type === 'reconciled'),
      'the first reconcile',
    );
    /** @type {Map<string, number>} */
    const created = new Map();
    w.gh.on('request', (/** @type {any} */ r) => {
      if (r.operation === 'checks/create' && r.status === 201)
        created.set(JSON.parse(r.body).head_sha, now());
    });
    /** @type {number[]} */
    const latencies = [];
    for (let i = 0; i < PUSHES + 1; i++) {
      const { sha } = await pushCandidate(w.clone, `pu/${i}`, i);
      const delivery = await w.gh.deliveries.waitFor((d) => d.event === 'push' && d.payload.after === sha);
      const arrived = JSON.parse(
        await serve.next(
          json((e) => e.type === 'webhook' && e.delivery === delivery.guid),
          'the webhook',
        ),
      );
      await completed(w.gh, w.repo, sha);
      const at = created.get(sha);
      if (at === undefined) throw new BenchError(`no check run was created for candidate ${i}`);
      if (i > 0) latencies.push(at - Date.parse(arrived.time));
    }
    await serve.stop();
    await w.gh.close().catch(() => undefined);
    return latencies;
  } finally {
    tmp.remove();
  }
}

/**
 * (3) Push to target moved, the same trivial test: through the App (serve, stand-in, smart HTTP) and on plain git
 * (a bare repository whose post-receive hook pokes a running `watch`), runs interleaved.
 */
async function pushToLand() {
  const tmp = tempDir('github-land');
  try {
    // Tests isolated as users get them by default: in the sandbox where bubblewrap works, on both sides.
    const w = await world(tmp.dir, 'test: "true"\n', 'auto');
    const serve = daemon(
      process.execPath,
      [
        BIN,
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--state-dir',
        join(tmp.dir, 'app-state'),
        '--allow-same-user',
      ],
      w.env,
      tmp.dir,
    );
    w.app.webhookUrl = JSON.parse(
      await serve.next(
        json((e) => e.type === 'listening'),
        'listening',
      ),
    ).url;
    await serve.next(
      json((e) => e.type === 'reconciled'),
      'the first reconcile',
    );

    const bare = join(tmp.dir, 'plain.git');
    const plainState = join(tmp.dir, 'plain-state');
    await git(tmp.dir, 'init', '-q', '--bare', '-b', 'master', bare);
    const plainClone = join(tmp.dir, 'plain-clone');
    await git(tmp.dir, 'clone', '-q', bare, plainClone);
    writeFileSync(join(plainClone, 'README.md'), 'bench\n');
    await runOk('mkdir', 'mkdir', ['-p', join(plainClone, '.github')]);
    writeFileSync(join(plainClone, '.github/premerge.yml'), 'test: "true"\n');
    await git(plainClone, 'add', '-A');
    await git(plainClone, 'commit', '-q', '-m', 'config');
    await git(plainClone, 'push', '-q', 'origin', 'HEAD:master');
    const plainEnv = { ...gitEnv, PREMERGE_SANDBOX: 'auto' };
    await runOk(
      'hook install',
      process.execPath,
      [BIN, 'hook', 'install', '--repo', bare, '--state-dir', plainState],
      {
        cwd: tmp.dir,
        env: plainEnv,
      },
    );
    const watch = daemon(
      process.execPath,
      [BIN, 'watch', '--repo', bare, '--state-dir', plainState, '--interval', '1h'],
      plainEnv,
      tmp.dir,
    );
    await watch.next(
      json((e) => e.type === 'listening'),
      'the watch',
    );

    /** @type {{ app: number[], git: number[] }} */
    const rows = { app: [], git: [] };
    /**
     * @param {ReturnType<typeof daemon>} d
     * @param {string} clone
     * @param {number} n
     */
    const once = async (d, clone, n) => {
      const { sha, pushedAt } = await pushCandidate(clone, 'pu', n);
      const line = await d.next(
        json((e) => e.type === 'verdict' && e.verdict?.sha === sha),
        `candidate ${n}'s verdict`,
      );
      const v = JSON.parse(line);
      if (v.verdict.kind !== 'landed')
        throw new BenchError(`candidate ${n}: ${v.verdict.kind} ${v.verdict.reason ?? ''}`);
      return Date.parse(v.time) - pushedAt;
    };
    const runs = runCount();
    let n = 0;
    await once(serve, w.clone, n++);
    await once(watch, plainClone, n++);
    for (let i = 0; i < runs; i++) {
      rows.app.push(await once(serve, w.clone, n++));
      rows.git.push(await once(watch, plainClone, n++));
    }
    if ((await w.repo.git.ref('refs/heads/master')) !== (await git(w.clone, 'rev-parse', 'HEAD'))) {
      throw new BenchError('the App did not land the last candidate');
    }
    await serve.stop();
    await watch.stop();
    await w.gh.close().catch(() => undefined);
    const isolation = JSON.parse(
      await serve.next(
        json((e) => e.type === 'isolation'),
        'how tests ran',
      ),
    ).mode;
    return { ...rows, isolation };
  } finally {
    tmp.remove();
  }
}

await main(async () => {
  await frontEnd();

  console.log(
    `\n(2) webhook arrival at serve -> check run created on the stand-in: ${PUSHES} pushes, one at a time (each settled before the next)`,
  );
  /** @type {(string | number)[][]} */
  const table = [['setting', 'p50', 'p99', 'max']];
  for (const [label, interval] of [
    ['--write-interval 1s (default: GitHub asks for a second between writes)', '1s'],
    ['--write-interval 0 (the App alone)', '0'],
  ]) {
    const l = await arrivalToCheckRun(/** @type {string} */ (interval));
    table.push([
      /** @type {string} */ (label),
      fmtMs(percentile(l, 50)),
      fmtMs(percentile(l, 99)),
      fmtMs(Math.max(...l)),
    ]);
  }
  printTable(table);

  const rows = await pushToLand();
  const app = median(rows.app);
  const plain = median(rows.git);
  console.log(
    `\n(3) git push -> target moved, the test \`true\` (run: ${rows.isolation}), medians of ${rows.app.length} interleaved runs`,
  );
  printTable([
    ['path', 'median', 'min', 'max'],
    [
      'GitHub App (serve, stand-in, smart HTTP, check runs)',
      fmtMs(app),
      fmtMs(Math.min(...rows.app)),
      fmtMs(Math.max(...rows.app)),
    ],
    [
      'plain git (watch poked by the post-receive hook)',
      fmtMs(plain),
      fmtMs(Math.min(...rows.git)),
      fmtMs(Math.max(...rows.git)),
    ],
    ['ratio App / plain git', fmtRatio(app / plain), '', ''],
  ]);
});
