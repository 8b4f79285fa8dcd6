/**
 * A stand-in GitHub with the App installed on one repository, a developer's clone of it, and `premerge-bot serve`
 * as the real binary against it, for the App's end-to-end tests. The test waits on what serve logs (one JSON object
 * per line) and on the stand-in's state, never on time.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Standin, startStandin } from '../../../../tests/github-standin/index.mjs';
import { BIN, type Sandbox, sandbox } from './git-fixture.js';

export type App = ReturnType<Standin['createApp']>;
export type Installation = ReturnType<Standin['createInstallation']>;
export type Account = ReturnType<Standin['createUser']>;
export type Repository = Awaited<ReturnType<Standin['createRepository']>>;

// biome-ignore lint/suspicious/noExplicitAny: serve's log lines are JSON of many shapes; tests read them freely
export type LogEvent = Record<string, any>;

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  events: LogEvent[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the first logged event (already or later) `predicate` accepts; rejects if serve exits first. */
  waitFor(predicate: (e: LogEvent) => boolean, what: string): Promise<LogEvent>;
  /** SIGTERM (a clean stop) or SIGKILL; resolves with the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface AppWorld {
  gh: Standin;
  dev: Account;
  app: App;
  repo: Repository;
  installation: Installation;
  box: Sandbox;
  /** The developer's clone (on master). */
  clone: string;
  stateDir: string;
  keyPath: string;
  /** A file the blocking test script waits for (see {@link BLOCKING_CHECK}). */
  goFile: string;
  /** The environment serve runs with (the App's credentials, the stand-in's URL). */
  serveEnv: NodeJS.ProcessEnv;
  /** Starts `premerge-bot serve`, points the App's webhooks at it, and resolves once its first reconcile is over. */
  serve(args?: string[], env?: NodeJS.ProcessEnv): Promise<ServeProcess>;
  /** git in the clone, as the developer (asynchronous: the stand-in serves from this process). */
  git(...args: string[]): Promise<string>;
  /** Writes files in the clone, commits them on a detached HEAD from `from`, pushes to `branch`; returns the sha. */
  push(
    files: Record<string, string>,
    options?: { branch?: string; from?: string; message?: string },
  ): Promise<string>;
  /** The commit a branch of the repository points at on the stand-in. */
  ref(branch: string): Promise<string | null>;
  close(): Promise<void>;
}

/** The default test script: passes unless the commit's `VERSION` says `broken`. */
export const CHECK = '#!/bin/sh\necho "checking $(cat VERSION)"\n! grep -q broken VERSION\n';

/** A test script that waits for `go` to exist (the test creates it), then passes. */
export function blockingCheck(go: string): string {
  return `#!/bin/sh\necho "waiting for the go"\nwhile [ ! -e '${go}' ]; do sleep 0.05; done\n! grep -q broken VERSION\n`;
}

export interface AppWorldOptions {
  /** `.github/premerge.yml` on master. @default 'test: ./check.sh\n' */
  config?: string;
  /** The installation's permissions. @default metadata read, contents and checks write */
  permissions?: Parameters<Standin['createInstallation']>[0]['permissions'];
}

export async function appWorld(options: AppWorldOptions = {}): Promise<AppWorld> {
  const gh = await startStandin();
  const box = sandbox('premerge-app-');
  const dev = gh.createUser({ login: 'dev', name: 'Dev', email: 'dev@example.com' });
  // Subscribed as the README sets the App up: pushes, and "Re-run" on its check runs and check suites.
  const app = gh.createApp({ slug: 'premerge-bot', events: ['push', 'check_run', 'check_suite'] });
  const goFile = join(box.dir, 'go');
  const repo = await gh.createRepository({
    owner: dev,
    name: 'project',
    files: {
      '.github/premerge.yml': options.config ?? 'test: ./check.sh\n',
      'check.sh': { content: CHECK, executable: true },
      VERSION: '1.0\n',
    },
  });
  const installation = gh.createInstallation({
    app,
    account: dev,
    repositories: [repo],
    ...(options.permissions ? { permissions: options.permissions } : {}),
  });
  await gh.deliveries.idle();
  const keyPath = join(box.dir, 'app.pem');
  writeFileSync(keyPath, app.privateKey, { mode: 0o600 });
  const stateDir = join(box.dir, 'state');
  const clone = join(box.dir, 'clone');
  const run = (cwd: string, ...args: string[]) =>
    new Promise<string>((resolve, reject) => {
      execFile('git', args, { cwd, env: box.env, encoding: 'utf8' }, (error, stdout, stderr) => {
        if (error) reject(new Error(`git ${args.join(' ')}: ${stderr || error.message}`));
        else resolve(stdout.trim());
      });
    });
  await run(box.dir, 'clone', '-q', gh.cloneUrlFor(repo, dev), clone);
  const serveEnv: NodeJS.ProcessEnv = {
    ...box.env,
    APP_ID: String(app.id),
    PRIVATE_KEY_PATH: keyPath,
    WEBHOOK_SECRET: app.webhookSecret,
    GITHUB_API_URL: gh.apiUrl,
    PREMERGE_SANDBOX: 'off',
  };
  const running: ServeProcess[] = [];
  const world: AppWorld = {
    gh,
    dev,
    app,
    repo,
    installation,
    box,
    clone,
    stateDir,
    keyPath,
    goFile,
    serveEnv,
    async serve(args = [], env = {}) {
      const p = await startServe(
        [
          'serve',
          '--host',
          '127.0.0.1',
          '--port',
          '0',
          '--state-dir',
          stateDir,
          '--write-interval',
          '0',
          '--allow-same-user',
          ...args,
        ],
        { ...serveEnv, ...env },
        box.dir,
      );
      running.push(p);
      app.webhookUrl = p.url;
      // Its look at start (reconcile) is over before the test acts: what follows happens because of the test.
      await p.waitFor(
        (e) => e['type'] === 'reconciled' || e['type'] === 'reconcile-failed',
        'the first reconcile',
      );
      return p;
    },
    git: (...args) => run(clone, ...args),
    async push(files, o = {}) {
      await run(clone, 'fetch', '-q', 'origin');
      await run(clone, 'checkout', '-q', '--detach', o.from ?? 'origin/master');
      for (const [path, text] of Object.entries(files)) writeFileSync(join(clone, path), text);
      await run(clone, 'add', '-A');
      await run(clone, 'commit', '-q', '-m', o.message ?? `change ${Object.keys(files).join(', ')}`);
      const sha = await run(clone, 'rev-parse', 'HEAD');
      await run(clone, 'push', '-q', '--force', 'origin', `HEAD:refs/heads/${o.branch ?? 'pu'}`);
      return sha;
    },
    async ref(branch) {
      return repo.git.ref(`refs/heads/${branch}`);
    },
    async close() {
      // A clean stop: serve's git calls need the stand-in, which answers from this process, so it must not be
      // blocked (box.cleanup() waits synchronously) before they are over.
      for (const p of running) await p.stop('SIGTERM');
      try {
        await gh.close();
      } finally {
        box.cleanup();
      }
    },
  };
  return world;
}

/** Starts the binary with `args`, resolving once it logs that it listens (or rejecting with what it said). */
export async function startServe(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const events: LogEvent[] = [];
  const waiters: Array<{ predicate: (e: LogEvent) => boolean; resolve: (e: LogEvent) => void }> = [];
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      let e: LogEvent;
      try {
        e = JSON.parse(line) as LogEvent;
      } catch {
        continue;
      }
      events.push(e);
      for (const w of [...waiters]) {
        if (w.predicate(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitFor = (predicate: (e: LogEvent) => boolean, what: string) => {
    const found = events.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise<LogEvent>((resolve, reject) => {
      waiters.push({ predicate, resolve });
      void exited.then(({ code, signal }) =>
        reject(new Error(`serve exited (${code ?? signal}) before ${what}:\n${out}\n${err}`)),
      );
    });
  };
  const p: ServeProcess = {
    child,
    url: '',
    events,
    stdout: () => out,
    stderr: () => err,
    waitFor,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  const listening = await waitFor((e) => e['type'] === 'listening', 'listening');
  p.url = listening['url'] as string;
  return p;
}

/** The check runs of the App on `sha`, oldest first, as the stand-in holds them. */
export function checkRunsOn(repo: Repository, sha: string) {
  return [...repo.checkRuns.values()].filter((r) => r.headSha === sha).sort((a, b) => a.id - b.id);
}

type CheckRun = ReturnType<typeof checkRunsOn>[number];

/**
 * Resolves with the App's check runs on `sha` once `done` accepts them: looked at now and after every request the
 * stand-in answers (a check run only changes through one).
 */
export function checkRunsSettle(
  w: Pick<AppWorld, 'gh' | 'repo'>,
  sha: string,
  done: (runs: CheckRun[]) => boolean = (runs) =>
    runs.length > 0 && runs.every((r) => r.status === 'completed'),
): Promise<CheckRun[]> {
  return new Promise((resolve) => {
    const look = () => {
      const runs = checkRunsOn(w.repo, sha);
      if (!done(runs)) return false;
      w.gh.off('request', look);
      resolve(runs);
      return true;
    };
    if (!look()) w.gh.on('request', look);
  });
}
