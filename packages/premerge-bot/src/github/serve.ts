/**
 * `premerge-bot serve`: the GitHub App. A webhook front end (webhook-server.ts) hands verified deliveries to a
 * function of events; a push (a hint, never the truth) or an installation change schedules an engine pass over the
 * repository, which re-reads the repository itself and decides as on plain git, through the GitHub forge
 * (github-forge.ts: smart HTTP with the installation token, check runs). Reconcile (reconcile.ts) catches what
 * webhooks missed, on start and every `reconcileIntervalMs`. One pass per repository at a time; repositories are
 * worked on side by side.
 */
import { join } from 'node:path';
import { Webhooks } from '@octokit/webhooks';
import { knownSecrets } from '../bot-status.js';
import { matchesCandidate, type PremergeConfig, parseConfig } from '../config.js';
import type { EngineOptions } from '../engine.js';
import { IsolationError, ListenError, PremergeError } from '../errors.js';
import type { Forge, ForgeContext } from '../forge.js';
import { isolationSettings, planIsolation } from '../isolation.js';
import { resolveOptions } from '../options.js';
import { defaultTreesDir } from '../paths.js';
import { githubIdentity } from '../repo-identity.js';
import { Scheduler, type SchedulerEvent } from '../scheduler.js';
import { readJournal, summarize } from '../store.js';
import { serveWatch, type WatchInfo } from '../watch-ipc.js';
import {
  type AppCredentials,
  apiError,
  appClient,
  type BotOctokit,
  type ClientOptions,
  GITHUB_API_URL,
  installationClient,
} from './app-client.js';
import { CheckRunPublisher } from './check-run-publisher.js';
import { listCheckRuns } from './check-runs.js';
import { DeliveryJournal, pushHint, rerunHint } from './deliveries.js';
import { tokenForms } from './git-auth.js';
import { botCommitter, GitHubForge, type GitHubRepository, githubHost } from './github-forge.js';
import { isOwnPush } from './permission.js';
import { fromRest, installedRepositories, needsPass, type PassReason } from './reconcile.js';
import { startWebhookServer, type WebhookServer } from './webhook-server.js';

/** Reconcile runs this often by default (and once at start). */
export const DEFAULT_RECONCILE_INTERVAL_MS = 10 * 60_000;

export interface ServeOptions extends AppCredentials {
  /** The webhook secret set in the App's settings (required: no secret, no start). */
  webhookSecret: string;
  /** The REST API's base URL. @default https://api.github.com */
  apiUrl?: string;
  /** Port to listen on; 0 for any free one. @default 3000 */
  port?: number;
  /** Address to listen on. @default all interfaces */
  host?: string;
  /** The state directory (mirrors, journals, logs). */
  stateDir: string;
  /** Run tests as the bot's own user when no sandbox or test user can keep them away from it. @default false */
  allowSameUser?: boolean;
  /** Time between two reconciles. @default {@link DEFAULT_RECONCILE_INTERVAL_MS} */
  reconcileIntervalMs?: number;
  /** The REST client's settings (retries, write spacing). */
  client?: ClientOptions;
  /** Engine settings passed to every pass (tests: a shorter poll interval). */
  engine?: Pick<EngineOptions, 'pollIntervalMs' | 'maxBatch' | 'sandbox' | 'testUser' | 'treesDir'>;
  /** Stops the App: the server closes, running tests are cancelled (they run again after a restart). */
  signal: AbortSignal;
  /** Everything the App does, one event at a time, for its log. */
  onEvent?: (event: ServeEvent) => void;
}

export type ServeEvent =
  | { type: 'listening'; url: string; app: string; appId: number; apiUrl: string }
  | { type: 'webhook'; status: number; reason: string; event?: string; delivery?: string }
  | { type: 'ignored'; event: string; delivery: string; reason: string }
  | { type: 'repository'; action: 'added' | 'removed'; repo: string }
  | { type: 'reconciled'; repositories: number; queued: string[] }
  | { type: 'reconcile-failed'; message: string }
  | { type: 'scheduled'; repo: string; why: string }
  | Exclude<SchedulerEvent, { type: 'poked' }>
  | { type: 'notice'; message: string }
  | { type: 'stopped' };

/** A running App. */
export interface ServeHandle {
  url: string;
  port: number;
  /** Runs a reconcile now; resolves when it has scheduled what it found. */
  reconcile(): Promise<void>;
  /** Resolves when the App has stopped (after `signal` aborted). */
  done: Promise<void>;
}

/**
 * Starts the App: authenticates (`GET /app`), checks that tests can be kept away from the bot, listens for
 * webhooks and reconciles. Rejects when it cannot start (bad credentials, port in use, no isolation).
 */
export async function serve(options: ServeOptions): Promise<ServeHandle> {
  const apiUrl = (options.apiUrl ?? GITHUB_API_URL).replace(/\/+$/, '');
  const emit = (e: ServeEvent) => {
    try {
      options.onEvent?.(e);
    } catch {
      // The log's problem, not the App's.
    }
  };
  const clientOptions: ClientOptions = {
    ...options.client,
    baseUrl: apiUrl,
    onNotice: (message) => emit({ type: 'notice', message }),
  };
  const credentials: AppCredentials = { appId: options.appId, privateKey: options.privateKey };
  const app = appClient(credentials, clientOptions);
  let slug: string;
  let appId: number;
  try {
    const { data } = await app.rest.apps.getAuthenticated();
    if (!data) throw new Error('no App in the answer');
    slug = data.slug ?? String(data.id);
    appId = data.id;
  } catch (e) {
    throw apiError(e, `GET ${apiUrl}/app (authenticating as App ${options.appId})`);
  }
  await refuseSameUser(options);

  const deliveries = DeliveryJournal.open(join(options.stateDir, 'github', 'deliveries.jsonl'));
  /** Every token used, for redaction: they live in memory only. */
  const tokens = new Set<string>();
  const secrets = () => knownSecrets(process.env, [...tokens, options.privateKey, options.webhookSecret]);
  const clients = new Map<number, BotOctokit>();
  const clientFor = (installationId: number) => {
    let c = clients.get(installationId);
    if (!c) {
      c = installationClient(credentials, installationId, clientOptions);
      clients.set(installationId, c);
    }
    return c;
  };
  const repositories = new Map<number, GitHubRepository>();
  /** Each repository's trusted config as the last pass read it: which branches are candidates. */
  const configs = new Map<number, PremergeConfig>();
  const publishers = new Map<number, CheckRunPublisher>();
  const stopping = options.signal;

  const publisherFor = (r: GitHubRepository) => {
    let p = publishers.get(r.id);
    if (!p) {
      p = new CheckRunPublisher({
        client: clientFor(r.installationId),
        repo: { owner: r.owner, repo: r.name },
        appId,
        journalPath: join(options.stateDir, 'github', 'checks', `${r.id}.jsonl`),
        secrets,
      });
      publishers.set(r.id, p);
    }
    return p;
  };

  const scheduler = new Scheduler({
    stateDir: options.stateDir,
    // Pushes poke; reconcile catches what webhooks missed. No polling of its own.
    intervalMs: Number.POSITIVE_INFINITY,
    signal: stopping,
    onEvent: (e) => {
      // Its pokes are serve's own `scheduled` events; the rest name the repository as serve's log does.
      if (e.type !== 'poked') emit({ ...e, repo: nameOf.get(e.repo) ?? e.repo });
    },
  });
  // `premerge-bot status` asks the state directory's socket which bot runs there and what it does, as it asks a
  // watch. Pushes come as webhooks: a poke through it is not taken. Where the socket cannot be had (a watch serves
  // this state directory, or its path is too long for a socket), serve runs without it; status then cannot tell.
  const closeSocket = await serveWatch(options.stateDir, {
    poke: () => false,
    info: (): WatchInfo => ({
      pid: process.pid,
      kind: 'serve',
      intervalMs: options.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS,
      repos: scheduler.info(),
    }),
    queue: (key) => {
      const status = scheduler.status(key);
      return status ? { repo: status.repo, at: status.seenAt, candidates: status.candidates } : null;
    },
  }).catch((e: unknown) => {
    emit({ type: 'notice', message: `premerge-bot status will not see this serve: ${(e as Error).message}` });
    return async () => {};
  });
  /** `owner/name` by the URL the scheduler knows a repository by, for the log. */
  const nameOf = new Map<string, string>();

  /** The engine's options for repository `id`, read afresh at each look (a rename changes its clone URL). */
  const target = (r: GitHubRepository) => ({
    ...options.engine,
    repo: r.cloneUrl,
    identity: githubIdentity(githubHost(apiUrl), r.id),
    allowSameUser: options.allowSameUser === true,
    forge: (context: ForgeContext): Forge => {
      const now = repositories.get(r.id) ?? r;
      return new GitHubForge({
        repository: now,
        apiUrl,
        client: clientFor(now.installationId),
        deliveries,
        mirror: context.mirror,
        publisher: publisherFor(now),
        committer: botCommitter(apiUrl, appId, slug),
        onConfig: (config) => configs.set(now.id, config),
        onToken: (t) => {
          for (const form of tokenForms(t)) tokens.add(form);
        },
      });
    },
  });

  const schedule = (r: GitHubRepository, why: string) => {
    const known = repositories.get(r.id);
    repositories.set(r.id, r);
    if (!known) emit({ type: 'repository', action: 'added', repo: `${r.owner}/${r.name}` });
    if (stopping.aborted) return;
    nameOf.set(r.cloneUrl, `${r.owner}/${r.name}`);
    emit({ type: 'scheduled', repo: `${r.owner}/${r.name}`, why });
    const identity = githubIdentity(githubHost(apiUrl), r.id);
    if (!scheduler.poke(identity)) void scheduler.add(target(r)).catch(() => undefined);
  };

  const drop = (id: number) => {
    const r = repositories.get(id);
    if (!r) return;
    repositories.delete(id);
    void scheduler.remove(githubIdentity(githubHost(apiUrl), id));
    emit({ type: 'repository', action: 'removed', repo: `${r.owner}/${r.name}` });
  };

  /** A repository an installation event names (id and full name only): its clone URL from `GET /repos`. */
  const lookUp = async (installationId: number, fullName: string): Promise<GitHubRepository> => {
    const [owner = '', repo = ''] = fullName.split('/');
    try {
      const { data } = await clientFor(installationId).rest.repos.get({ owner, repo });
      return fromRest(data, installationId);
    } catch (e) {
      throw apiError(e, `GET /repos/${fullName}`);
    }
  };

  /**
   * A push to a candidate branch (by the config the last pass or reconcile read) gets its `queued` check run at
   * once, if its `after` is still the branch's tip: a push event is a hint, and one that is not the tip starts
   * nothing.
   */
  const announce = async (r: GitHubRepository, ref: string, after: string) => {
    const config = configs.get(r.id);
    const branch = ref.replace(/^refs\/heads\//, '');
    if (
      !config ||
      branch === ref ||
      branch === config.target ||
      !matchesCandidate(branch, config.candidates)
    ) {
      return;
    }
    const tip = await clientFor(r.installationId)
      .rest.git.getRef({ owner: r.owner, repo: r.name, ref: `heads/${branch}` })
      .then((res) => res.data.object.sha)
      .catch(() => null);
    if (tip === after) await publisherFor(r).queued(after, branch);
  };

  const webhooks = new Webhooks({ secret: options.webhookSecret });
  webhooks.on('push', async ({ payload }) => {
    if (isOwnPush(payload.sender, slug)) return;
    const installationId = payload.installation?.id;
    if (installationId === undefined) return;
    const r = fromRest(payload.repository, installationId);
    try {
      // Before the pass starts: the queued check run is there before the engine's first look.
      if (!payload.deleted) await announce(r, payload.ref, payload.after);
    } finally {
      schedule(r, `push to ${payload.ref} (${payload.after.slice(0, 12)})`);
    }
  });
  // "Re-run" on one of the App's check runs: the commit is decided afresh at the next look, as `premerge-bot retry`
  // does (the re-run itself is journaled with the delivery, and the forge hands it to the engine).
  webhooks.on('check_run.rerequested', ({ payload }) => {
    const installationId = payload.installation?.id;
    if (installationId === undefined || payload.check_run.app?.id !== appId) return;
    schedule(
      fromRest(payload.repository, installationId),
      `re-run of ${payload.check_run.head_sha.slice(0, 12)} asked by ${payload.sender.login}`,
    );
  });
  // "Re-run all checks" (or "Re-run failed checks") on the App's check suite of a commit: the same as a "Re-run" of
  // its check run there (journaled with the delivery when it was accepted). Only a suite the App has a check run in
  // is acted on; GitHub says which, and the App's own runs on the commit say it again.
  webhooks.on('check_suite.rerequested', async ({ id, payload }) => {
    const installationId = payload.installation?.id;
    if (installationId === undefined || payload.check_suite.app?.id !== appId) return;
    const r = fromRest(payload.repository, installationId);
    const sha = payload.check_suite.head_sha;
    // A failed look leaves the decision to the engine: the re-run is journaled, and a commit the App never
    // decided has no verdict for it to set aside.
    const runs = await listCheckRuns(
      clientFor(installationId),
      { owner: r.owner, repo: r.name },
      sha,
      appId,
    ).catch(() => null);
    if (runs?.length === 0) {
      emit({
        type: 'ignored',
        event: 'check_suite',
        delivery: id,
        reason: `the App has no check run on ${sha.slice(0, 12)}`,
      });
      return;
    }
    const run = runs?.[0];
    schedule(
      r,
      `re-run of ${sha.slice(0, 12)} (all checks${run ? `; its check run ${run.id} ${run.conclusion ?? run.status}` : ''}) asked by ${payload.sender.login}`,
    );
  });
  webhooks.on(
    ['installation.created', 'installation.new_permissions_accepted', 'installation.unsuspend'],
    async ({ payload }) => {
      clients.delete(payload.installation.id);
      for (const r of payload.repositories ?? []) {
        schedule(await lookUp(payload.installation.id, r.full_name), `installation ${payload.action}`);
      }
    },
  );
  webhooks.on(['installation.deleted', 'installation.suspend'], ({ payload }) => {
    clients.delete(payload.installation.id);
    for (const [id, r] of repositories) if (r.installationId === payload.installation.id) drop(id);
  });
  webhooks.on('installation_repositories', async ({ payload }) => {
    for (const r of payload.repositories_removed) if (r.id !== undefined) drop(r.id);
    for (const r of payload.repositories_added) {
      schedule(await lookUp(payload.installation.id, r.full_name), 'repository added to the installation');
    }
  });

  const HANDLED = new Set(['push', 'check_run', 'check_suite', 'installation', 'installation_repositories']);
  /** Events whose only handled action is a re-run of the App's own check run or suite. */
  const RERUNS = new Set(['check_run', 'check_suite']);
  let server: WebhookServer;
  try {
    server = await startWebhookServer({
      port: options.port ?? 3000,
      ...(options.host === undefined ? {} : { host: options.host }),
      webhooks,
      accept: (d) => {
        const rerun = rerunHint(d.name, d.payload, appId);
        if (!HANDLED.has(d.name) || (RERUNS.has(d.name) && !rerun)) {
          emit({
            type: 'ignored',
            event: d.name,
            delivery: d.id,
            reason: !HANDLED.has(d.name)
              ? 'an event the App does not handle'
              : d.name === 'check_run'
                ? "not a re-run of one of the App's check runs"
                : 'not a re-run of a check suite the App has a check run in',
          });
          return true;
        }
        return deliveries.claim(d.id, d.name, pushHint(d.name, d.payload), rerun);
      },
      onAnswer: (a) => emit({ type: 'webhook', ...a }),
      onError: (error, d) =>
        emit({
          type: 'run-failed',
          repo: d.name ? `${d.name} ${d.id}` : 'webhook',
          code: error instanceof PremergeError ? error.code : undefined,
          message: (error as Error).message,
        }),
    });
  } catch (e) {
    deliveries.close();
    await closeSocket();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      const port = options.port ?? 3000;
      throw new ListenError(
        `cannot listen on ${options.host ?? 'all interfaces'} port ${port}: ${code === 'EADDRINUSE' ? 'it is in use' : (e as Error).message} (--port, or PORT)`,
        port,
        { cause: e },
      );
    }
    throw e;
  }
  emit({ type: 'listening', url: server.url, app: slug, appId, apiUrl });

  /**
   * A re-run journaled with its delivery that no engine pass has taken up yet (serve stopped between the answer and
   * the pass): its commit, else null. The pass journals it as a `retry` with the delivery's time, so once taken up
   * it is never found here again; a commit's completed check run alone would not get its repository a look.
   */
  const rerunNotTakenUp = (r: GitHubRepository): string | null => {
    const reruns = deliveries.rerunsOf(r.id);
    if (reruns.size === 0) return null;
    const { paths } = resolveOptions({ ...target(r), stateDir: options.stateDir });
    const { retries } = summarize(readJournal(paths.journal).records);
    for (const [sha, at] of reruns) if ((retries.get(sha) ?? '') < at) return sha;
    return null;
  };

  let reconciling: Promise<void> | null = null;
  const reconcile = () => {
    reconciling ??= (async () => {
      try {
        const { repositories: found } = await installedRepositories(app, clientFor);
        const seen = new Set(found.map((r) => r.id));
        for (const id of [...repositories.keys()]) if (!seen.has(id)) drop(id);
        const queued: string[] = [];
        for (const r of found) {
          repositories.set(r.id, r);
          const verdict = await needsPass(clientFor(r.installationId), r, appId).catch(
            (e: Error): PassReason => ({ needed: true, why: e.message }),
          );
          if (verdict.config) configs.set(r.id, verdict.config);
          const open = publisherFor(r).openAttempts().size > 0;
          const rerun = verdict.needed || open ? null : rerunNotTakenUp(r);
          if (verdict.needed || open || rerun) {
            queued.push(`${r.owner}/${r.name}`);
            schedule(
              r,
              verdict.needed
                ? `reconcile: ${verdict.why}`
                : open
                  ? 'reconcile: a check run is still open'
                  : `reconcile: the re-run of ${rerun!.slice(0, 12)} asked for was not taken up yet`,
            );
          }
        }
        emit({ type: 'reconciled', repositories: found.length, queued });
      } catch (e) {
        emit({ type: 'reconcile-failed', message: (e as Error).message });
      } finally {
        reconciling = null;
      }
    })();
    return reconciling;
  };
  void reconcile();
  const timer = setInterval(
    () => void reconcile(),
    options.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS,
  );
  timer.unref();

  const done = new Promise<void>((resolve) => {
    const stop = async () => {
      clearInterval(timer);
      await server.close();
      await reconciling?.catch(() => undefined);
      await scheduler.stop();
      await closeSocket();
      for (const p of publishers.values()) p.close();
      deliveries.close();
      emit({ type: 'stopped' });
      resolve();
    };
    if (stopping.aborted) void stop();
    else stopping.addEventListener('abort', () => void stop(), { once: true });
  });

  return { url: server.url, port: server.port, reconcile, done };
}

/**
 * `serve` refuses to run tests as its own user (they could read its key and tokens) unless told it may: where no
 * sandbox works and no test user is set, it does not start.
 */
async function refuseSameUser(options: ServeOptions): Promise<void> {
  if (options.allowSameUser) return;
  // A repository's config may still name a test user or turn the sandbox off; the engine checks each one.
  const defaults = parseConfig('test: "true"\n');
  const plan = await planIsolation(isolationSettings(defaults, options.engine ?? {}), defaults, [
    options.stateDir,
    options.engine?.treesDir ?? defaultTreesDir(options.stateDir),
  ]);
  if (plan.mode === 'same-user') {
    throw new IsolationError(
      `refusing to serve: tests would run as the bot's own user, which holds the App's private key and tokens (${plan.detail.replace(/^warning: /, '')}); install bubblewrap, set PREMERGE_TEST_USER, or pass --allow-same-user for trusted tests only`,
    );
  }
}
