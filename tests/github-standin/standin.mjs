/**
 * The stand-in GitHub as a library: {@link startStandin} starts one on a loopback port and returns a
 * {@link Standin}, through which a test builds the world (users, Apps, repositories, installations), acts in it
 * as GitHub's web UI would (commit, change an installation), and observes and perturbs what the code under test
 * does (requests, deliveries, faults, the clock).
 *
 * @example
 * const gh = await startStandin();
 * const dev = gh.createUser({ login: 'dev' });
 * const app = gh.createApp({ slug: 'premerge-bot', webhookUrl: 'http://127.0.0.1:3000/api/github/webhooks' });
 * const repo = await gh.createRepository({ owner: dev, name: 'project', files: { 'README.md': '# hi\n' } });
 * const inst = gh.createInstallation({ app, account: dev, repositories: [repo] });
 * // GITHUB_API_URL=gh.apiUrl, APP_ID=app.id, PRIVATE_KEY=app.privateKey, WEBHOOK_SECRET=app.webhookSecret
 * await gh.close();
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { grants, TokenStore } from './auth.mjs';
import { Deliveries } from './deliveries.mjs';
import { Faults } from './faults.mjs';
import { BareRepository, gitEnvironment, ZERO_SHA } from './git.mjs';
import { handleGit, isGitPath } from './git-http.mjs';
import { App, Installation, Model, Repository, ROLES } from './model.mjs';
import {
  checkRunRerequestedPayload,
  checkSuiteRerequestedPayload,
  installationPayload,
  installationRepositoriesPayload,
  MAX_PUSH_COMMITS,
  pushPayload,
} from './payloads.mjs';
import { RequestLog } from './request-log.mjs';
import { API_PREFIX, handleRest, requestId } from './rest.mjs';
import { loadSchemas } from './schemas.mjs';
import { Urls } from './shapes.mjs';

/** @typedef {import('./model.mjs').Account} Account */
/** @typedef {import('./model.mjs').Role} Role */
/** @typedef {import('./model.mjs').Permissions} Permissions */
/** @typedef {import('./auth.mjs').Credential} Credential */
/** @typedef {import('./git.mjs').FileContent} FileContent */

/** GitHub's cap on a request body (and on a webhook payload). */
const MAX_BODY_BYTES = 25 * 1024 * 1024;

/** What an installation gets unless a test says otherwise: what premerge-bot needs. */
export const DEFAULT_PERMISSIONS = Object.freeze({ metadata: 'read', contents: 'write', checks: 'write' });

/**
 * @typedef {object} StandinOptions
 * @property {number} [port]  default: 0 (a free port)
 * @property {string} [host]  default: '127.0.0.1'
 * @property {string} [dir]   where the bare repositories live; default: a new temporary directory, removed by
 *   {@link Standin.close}
 */

/**
 * A ref update to record: a push, an API update or a web commit.
 * @typedef {{ ref: string, before: string, after: string }} RefUpdate
 */

/**
 * A running stand-in. It emits `request` (a {@link import('./request-log.mjs').LoggedRequest}, once answered) and
 * `delivery` (a {@link import('./deliveries.mjs').Delivery}, once settled), for a log such as the CLI's.
 */
export class Standin extends EventEmitter {
  /** @param {StandinOptions} options */
  constructor(options = {}) {
    super();
    this.#options = options;
    this.#ownDir = options.dir === undefined;
    /** The directory the stand-in keeps its files in. */
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), 'github-standin-'));
    this.repositoriesDir = join(this.dir, 'repositories');
    this.homeDir = join(this.dir, 'home');
    this.tempDir = join(this.dir, 'tmp');
    for (const d of [this.repositoriesDir, this.homeDir, this.tempDir]) mkdirSync(d, { recursive: true });
    this.model = new Model();
    this.tokens = new TokenStore(this.model);
    this.schemas = loadSchemas();
    /** Stand-in bugs seen so far (an answer or payload that did not match GitHub's description). */
    /** @type {string[]} */
    this.bugs = [];
    /** Every webhook delivery attempt, and the knobs to lose, duplicate, reorder and redeliver them. */
    this.deliveries = new Deliveries({
      schemas: this.schemas,
      clock: this.model.clock,
      onBug: (m) => this.reportBug(m),
      onSettled: (d) => this.emit('delivery', d),
    });
    /** Faults to switch on: server errors and rate limits for chosen operations. */
    this.faults = new Faults();
    /** Every request received. */
    this.requests = new RequestLog();
    /** The stand-in's clock: `gh.clock.advance(3_600_000)` expires every installation token. */
    this.clock = this.model.clock;
    this.urls = new Urls('http://127.0.0.1');
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error) => {
        const message = `stand-in bug: ${error instanceof Error ? error.stack : error}`;
        this.reportBug(message);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(
          JSON.stringify({ message, documentation_url: 'https://docs.github.com/rest', status: '500' }),
        );
      });
    });
  }

  #options;
  #ownDir;
  #server;
  /** @type {Map<string, { limit: number, used: number, reset: number }>} */
  #rates = new Map();

  /** Starts listening; resolves once the port is known. */
  async listen() {
    const { port = 0, host = '127.0.0.1' } = this.#options;
    await new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve(undefined));
    });
    const address = /** @type {import('node:net').AddressInfo} */ (this.#server.address());
    this.urls = new Urls(`http://${host.includes(':') ? `[${host}]` : host}:${address.port}`);
    return this;
  }

  /** The origin: `http://127.0.0.1:PORT` (web pages and git). */
  get url() {
    return this.urls.origin;
  }

  /** The REST API's base URL, what `GITHUB_API_URL` and Octokit's `baseUrl` get: `ORIGIN/api/v3`. */
  get apiUrl() {
    return this.urls.api;
  }

  // ---- building the world -------------------------------------------------------------------------------

  /**
   * A user, with a personal access token (`user.token`) for git and REST.
   * @param {{ login: string, name?: string, email?: string }} init
   * @returns {Account}
   */
  createUser(init) {
    return this.model.addAccount({ ...init, type: 'User' });
  }

  /**
   * An organization (it owns repositories; members are collaborators of those).
   * @param {{ login: string, name?: string }} init
   * @returns {Account}
   */
  createOrganization(init) {
    return this.model.addAccount({ ...init, type: 'Organization' });
  }

  /**
   * A GitHub App with a fresh RSA key pair (`app.privateKey` is the PEM the App is given).
   * @param {{ slug: string, name?: string, owner?: Account, webhookUrl?: string | null, webhookSecret?: string,
   *   events?: string[], permissions?: Permissions }} init
   *   `events` the App subscribes to (default ['push']); `permissions` the most it may be granted
   *   (default {@link DEFAULT_PERMISSIONS} plus `workflows: write`)
   * @returns {App}
   */
  createApp(init) {
    const model = this.model;
    const owner =
      init.owner ??
      model.accountByLogin(`${init.slug}-owner`) ??
      this.createUser({ login: `${init.slug}-owner` });
    const id = model.ids.next('app');
    const bot = model.addAccount({
      login: `${init.slug}[bot]`,
      type: 'Bot',
      email: `${id}+${init.slug}[bot]@users.noreply.github.test`,
    });
    const app = new App({
      id,
      slug: init.slug,
      name: init.name ?? init.slug,
      owner,
      bot,
      hookId: model.ids.next('hook'),
      createdAt: model.clock.now(),
      webhookUrl: init.webhookUrl ?? null,
      webhookSecret: init.webhookSecret ?? randomBytes(20).toString('hex'),
      events: init.events ?? ['push'],
      permissions: init.permissions ?? { ...DEFAULT_PERMISSIONS, workflows: 'write' },
    });
    model.apps.set(app.id, app);
    return app;
  }

  /**
   * A repository backed by a new bare git repository; with `files`, its default branch starts with one commit
   * holding them (made by the owner, sending no webhook: the repository was created that way).
   * @param {{ owner: Account, name: string, private?: boolean, defaultBranch?: string, description?: string,
   *   files?: Record<string, FileContent>, message?: string }} init  `private` default: true;
   *   `defaultBranch` default: 'master'
   * @returns {Promise<Repository>}
   */
  async createRepository(init) {
    if (init.owner.type === 'Bot') throw new Error('a bot owns no repositories');
    if (this.model.repository(init.owner.login, init.name))
      throw new Error(`${init.owner.login}/${init.name} exists`);
    if (!/^[A-Za-z0-9._-]+$/.test(init.name) || init.name.endsWith('.git'))
      throw new Error(`bad repository name ${init.name}`);
    const defaultBranch = init.defaultBranch ?? 'master';
    const git = new BareRepository(
      join(this.repositoriesDir, init.owner.login, `${init.name}.git`),
      gitEnvironment(this.homeDir),
    ).init(defaultBranch);
    const repo = new Repository({
      id: this.model.ids.next('repository'),
      owner: init.owner,
      name: init.name,
      private: init.private ?? true,
      defaultBranch,
      git,
      createdAt: this.model.clock.now(),
      description: init.description ?? null,
    });
    this.model.repositories.set(repo.id, repo);
    if (init.files) {
      const sha = await git.commitFiles({
        parent: null,
        files: init.files,
        message: init.message ?? 'Initial commit',
        author: { name: init.owner.name, email: init.owner.email },
        tempDir: this.tempDir,
      });
      await git.run(['update-ref', `refs/heads/${defaultBranch}`, sha, ZERO_SHA]);
    }
    return repo;
  }

  /**
   * Gives `user` a role on `repo` (what GET …/collaborators/{username}/permission answers, and what git allows).
   * @param {Repository} repo
   * @param {Account} user
   * @param {Role} role
   */
  addCollaborator(repo, user, role) {
    if (!ROLES.includes(role)) throw new Error(`no role ${role}`);
    if (user.type !== 'User') throw new Error(`${user.login} is not a user`);
    repo.collaborators.set(user.id, role);
  }

  /**
   * Installs `app` on `account`, for all its repositories or the given ones, and sends `installation.created`.
   * @param {{ app: App, account: Account, repositories?: 'all' | Repository[], permissions?: Permissions,
   *   sender?: Account }} init  `repositories` default: 'all'; `permissions` default: {@link DEFAULT_PERMISSIONS};
   *   `sender`: who installed it (default the account, or its App's owner for an organization)
   * @returns {Installation}
   */
  createInstallation(init) {
    const permissions = init.permissions ?? { ...DEFAULT_PERMISSIONS };
    for (const [name, level] of Object.entries(permissions)) {
      if (!grants(init.app.permissions, name, level === 'admin' ? 'write' : level)) {
        throw new Error(`${init.app.slug} may not be granted ${name}: ${level}`);
      }
    }
    const selected = init.repositories ?? 'all';
    if (selected !== 'all' && selected.some((r) => r.owner.id !== init.account.id)) {
      throw new Error(`an installation on ${init.account.login} reaches only its repositories`);
    }
    const inst = new Installation({
      id: this.model.ids.next('installation'),
      app: init.app,
      account: init.account,
      repositorySelection: selected === 'all' ? 'all' : 'selected',
      repositoryIds: selected === 'all' ? [] : selected.map((r) => r.id),
      permissions,
      createdAt: this.model.clock.now(),
    });
    this.model.installations.set(inst.id, inst);
    init.app.installations.set(inst.id, inst);
    const repos = [...this.model.repositories.values()].filter((r) => inst.includes(r));
    const sender = init.sender ?? this.#installer(inst);
    this.#send(
      inst,
      'installation-created',
      'installation',
      installationPayload(this.urls, inst, 'created', repos, sender),
      null,
    );
    return inst;
  }

  /**
   * Adds repositories to a `selected` installation and sends `installation_repositories.added`.
   * @param {Installation} inst
   * @param {Repository[]} repos
   */
  addToInstallation(inst, repos) {
    if (inst.repositorySelection !== 'selected')
      throw new Error('the installation already has all repositories');
    const added = repos.filter((r) => !inst.includes(r));
    for (const r of added) {
      if (r.owner.id !== inst.account.id) throw new Error(`${r.fullName} is not ${inst.account.login}'s`);
      inst.repositoryIds.add(r.id);
    }
    inst.updatedAt = this.model.clock.now();
    const payload = installationRepositoriesPayload(this.urls, inst, 'added', added, this.#installer(inst));
    this.#send(inst, 'installation-repositories-added', 'installation_repositories', payload, null);
  }

  /**
   * Removes repositories from an installation (an `all` one becomes `selected`) and sends
   * `installation_repositories.removed`; tokens issued before lose them at once, as on GitHub.
   * @param {Installation} inst
   * @param {Repository[]} repos
   */
  removeFromInstallation(inst, repos) {
    const removed = repos.filter((r) => inst.includes(r));
    if (inst.repositorySelection === 'all') {
      inst.repositorySelection = 'selected';
      for (const r of this.model.repositories.values()) if (inst.includes(r)) inst.repositoryIds.add(r.id);
    }
    for (const r of removed) inst.repositoryIds.delete(r.id);
    inst.updatedAt = this.model.clock.now();
    const payload = installationRepositoriesPayload(
      this.urls,
      inst,
      'removed',
      removed,
      this.#installer(inst),
    );
    this.#send(inst, 'installation-repositories-removed', 'installation_repositories', payload, null);
  }

  /**
   * Uninstalls: tokens stop working and `installation.deleted` is sent.
   * @param {Installation} inst
   */
  uninstall(inst) {
    const repos = [...this.model.repositories.values()].filter((r) => inst.includes(r));
    const payload = installationPayload(this.urls, inst, 'deleted', repos, this.#installer(inst));
    inst.deleted = true;
    inst.app.installations.delete(inst.id);
    this.#send(inst, 'installation-deleted', 'installation', payload, null);
  }

  /** @param {Installation} inst */
  #installer(inst) {
    return inst.account.type === 'Organization' ? inst.app.owner : inst.account;
  }

  /**
   * An installation token issued directly (what POST …/access_tokens would answer), for a test that acts as the
   * App itself, e.g. pushes with a read-only token.
   * @param {Installation} inst
   * @param {{ permissions?: Permissions, repositories?: Repository[] }} [narrow]
   * @returns {string}
   */
  installationToken(inst, narrow = {}) {
    return this.tokens.issue(inst, {
      ...(narrow.permissions ? { permissions: narrow.permissions } : {}),
      repositoryIds: narrow.repositories ? narrow.repositories.map((r) => r.id) : null,
    }).token;
  }

  /**
   * A user's personal access token.
   * @param {Account} user
   */
  userToken(user) {
    if (!user.token) throw new Error(`${user.login} has no token`);
    return user.token;
  }

  /**
   * A URL a user clones and pushes with (their token as the password), as a developer's remote would be.
   * @param {Repository} repo
   * @param {Account} user
   */
  cloneUrlFor(repo, user) {
    const url = new URL(this.urls.cloneUrl(repo));
    url.username = user.login;
    url.password = this.userToken(user);
    return url.toString();
  }

  /**
   * A commit made on GitHub itself (the web editor): `files` changed on `branch` by `author`, sending `push`
   * as GitHub does. Creates the branch from the default branch when it does not exist.
   * @param {Repository} repo
   * @param {{ branch?: string, files: Record<string, FileContent>, message?: string, author: Account }} change
   * @returns {Promise<string>} the new commit's sha
   */
  async commit(repo, change) {
    const branch = change.branch ?? repo.defaultBranch;
    const ref = `refs/heads/${branch}`;
    for (let attempt = 0; ; attempt++) {
      const current = await repo.git.ref(ref);
      const parent = current ?? (await repo.git.ref(`refs/heads/${repo.defaultBranch}`));
      const sha = await repo.git.commitFiles({
        parent,
        files: change.files,
        message: change.message ?? `Update ${Object.keys(change.files).join(', ')}`,
        author: { name: change.author.name, email: change.author.email },
        tempDir: this.tempDir,
      });
      if (await repo.git.compareAndSwap(ref, sha, current ?? ZERO_SHA)) {
        await this.recordRefUpdates(repo, [{ ref, before: current ?? ZERO_SHA, after: sha }], change.author);
        return sha;
      }
      // Another writer moved the branch: commit again on its new tip. A ref that stays put refuses for good
      // (e.g. `pu/x` beside an existing `pu`, which git cannot have both of).
      if ((await repo.git.ref(ref)) === current || attempt > 10)
        throw new Error(`cannot update ${ref} in ${repo.fullName}`);
    }
  }

  /**
   * "Re-run" on a check run in GitHub's web UI, clicked by `user`: sends `check_run` `rerequested` to the App that
   * made the run, when it subscribes to `check_run` and is still installed on the repository. The run itself is
   * left as it is (GitHub resets only its check suite): the App decides what to do.
   * @param {Repository} repo
   * @param {number} checkRunId
   * @param {Account} user  needs write access to the repository, as the button does
   */
  rerequestCheckRun(repo, checkRunId, user) {
    const run = repo.checkRuns.get(checkRunId);
    if (!run) throw new Error(`no check run ${checkRunId} in ${repo.fullName}`);
    const role = repo.roleOf(user);
    if (role === null || !['write', 'maintain', 'admin'].includes(role))
      throw new Error(`${user.login} may not re-run checks in ${repo.fullName} (${role ?? 'no access'})`);
    const inst = this.model.installationsOf(repo).find((i) => i.app.id === run.app.id);
    if (!inst?.app.events.includes('check_run')) return;
    const payload = checkRunRerequestedPayload(this.urls, repo, inst, run, user, this.model.clock.now());
    this.#send(inst, 'check-run-rerequested', 'check_run', payload, repo.id);
  }

  /**
   * "Re-run all checks" on a commit's check suite in GitHub's web UI (or `POST …/check-suites/{id}/rerequest`),
   * clicked by `user`: sends `check_suite` `rerequested` to the App that owns the suite, when it subscribes to
   * `check_suite` and is still installed on the repository (GitHub sends check suite events to no other App). The
   * runs in it are left as they are: the App decides what to run again.
   * @param {Repository} repo
   * @param {number} checkSuiteId  a check run's `checkSuiteId`
   * @param {Account} user  needs write access to the repository, as the button does
   */
  async rerequestCheckSuite(repo, checkSuiteId, user) {
    const key = [...repo.checkSuites].find(([, id]) => id === checkSuiteId)?.[0];
    if (key === undefined) throw new Error(`no check suite ${checkSuiteId} in ${repo.fullName}`);
    const role = repo.roleOf(user);
    if (role === null || !['write', 'maintain', 'admin'].includes(role))
      throw new Error(`${user.login} may not re-run checks in ${repo.fullName} (${role ?? 'no access'})`);
    const [appId = '', headSha = ''] = key.split(':');
    const app = this.model.apps.get(Number(appId));
    if (!app) throw new Error(`check suite ${checkSuiteId} names no App`);
    const inst = this.model.installationsOf(repo).find((i) => i.app.id === app.id);
    if (!inst?.app.events.includes('check_suite')) return;
    const runs = [...repo.checkRuns.values()].filter((r) => r.checkSuiteId === checkSuiteId);
    const head = await repo.git.commit(headSha);
    const suite = { id: checkSuiteId, app, headSha, runs };
    const payload = checkSuiteRerequestedPayload(
      this.urls,
      repo,
      inst,
      suite,
      head,
      user,
      this.model.clock.now(),
    );
    this.#send(inst, 'check-suite-rerequested', 'check_suite', payload, repo.id);
  }

  // ---- what happens when refs move ----------------------------------------------------------------------

  /**
   * Records ref updates that already happened (a push through smart HTTP, PATCH …/git/refs, a web commit):
   * repository activity for branches, and a `push` webhook per ref to every App installed on the repository
   * that subscribes to `push` and may read its contents.
   * @param {Repository} repo
   * @param {RefUpdate[]} updates
   * @param {Account | null} actor
   */
  async recordRefUpdates(repo, updates, actor) {
    const pusher = actor ?? repo.owner;
    const now = this.model.clock.now();
    const tips = await repo.git.refs();
    const before = new Map(tips);
    for (const u of updates) {
      if (u.before === ZERO_SHA) before.delete(u.ref);
      else before.set(u.ref, u.before);
    }
    const oldTips = [...new Set(before.values())];
    for (const u of updates) {
      if (u.before === u.after) continue;
      const created = u.before === ZERO_SHA;
      const deleted = u.after === ZERO_SHA;
      const forced = !created && !deleted && !(await repo.git.isAncestor(u.before, u.after));
      if (u.ref.startsWith('refs/heads/')) {
        repo.activities.push({
          id: this.model.ids.next('activity'),
          ref: u.ref,
          before: u.before,
          after: u.after,
          type: created ? 'branch_creation' : deleted ? 'branch_deletion' : forced ? 'force_push' : 'push',
          actor: pusher,
          timestamp: now,
        });
      }
      repo.pushedAt = now;
      const installs = this.model
        .installationsOf(repo)
        .filter((i) => i.app.events.includes('push') && grants(i.permissions, 'contents', 'read'));
      if (installs.length === 0) continue;
      const listed = deleted ? [] : await repo.git.commitsBetween(u.after, created ? oldTips : [u.before]);
      const distinct = new Set(deleted ? [] : await repo.git.commitsBetween(u.after, oldTips));
      const commits = await Promise.all(listed.slice(-MAX_PUSH_COMMITS).map((sha) => repo.git.commit(sha)));
      const head = deleted
        ? null
        : (commits.find((c) => c.id === u.after) ?? (await repo.git.commit(u.after)));
      for (const inst of installs) {
        const payload = pushPayload(this.urls, {
          repo,
          installation: inst,
          ...u,
          forced,
          commits,
          distinct,
          head,
          actor: pusher,
          userByEmail: (email) =>
            [...this.model.accounts.values()].find((a) => a.type === 'User' && a.email === email),
        });
        this.#send(inst, 'push', 'push', payload, repo.id);
      }
    }
  }

  /**
   * @param {Installation} inst
   * @param {import('./schemas.mjs').WebhookName} schema
   * @param {string} event
   * @param {any} payload
   * @param {number | null} repositoryId
   */
  #send(inst, schema, event, payload, repositoryId) {
    this.deliveries.enqueue(inst.app, { schema, event, payload, installationId: inst.id, repositoryId });
  }

  // ---- plumbing -----------------------------------------------------------------------------------------

  /**
   * The `x-ratelimit-*` headers for a request (counted against its credential's hourly budget, as GitHub counts).
   * @param {Credential} credential
   * @returns {Record<string, string>}
   */
  rateLimit(credential) {
    const key =
      credential.kind === 'installation'
        ? `installation:${credential.token.installation.id}`
        : credential.kind === 'app'
          ? `app:${credential.app.id}`
          : credential.kind === 'user'
            ? `user:${credential.user.id}`
            : 'anonymous';
    const now = this.model.clock.now();
    let rate = this.#rates.get(key);
    if (!rate || rate.reset <= now) {
      rate = { limit: key === 'anonymous' ? 60 : 5000, used: 0, reset: now + 3_600_000 };
      this.#rates.set(key, rate);
    }
    rate.used++;
    return {
      'x-ratelimit-limit': String(rate.limit),
      'x-ratelimit-remaining': String(Math.max(rate.limit - rate.used, 0)),
      'x-ratelimit-used': String(rate.used),
      'x-ratelimit-reset': String(Math.ceil(rate.reset / 1000)),
      'x-ratelimit-resource': 'core',
    };
  }

  /**
   * Records a stand-in bug and fails every test waiting on a delivery.
   * @param {string} message
   */
  reportBug(message) {
    this.bugs.push(message);
    this.deliveries.reportBug(message);
  }

  /**
   * @param {import('node:http').IncomingMessage} req
   * @param {import('node:http').ServerResponse} res
   */
  async #handle(req, res) {
    const url = new URL(req.url ?? '/', this.urls.origin);
    const entry = this.requests.start({
      requestId: requestId(),
      time: this.model.clock.now(),
      method: req.method ?? 'GET',
      path: url.pathname,
      url: req.url ?? '/',
      headers: { ...req.headers },
    });
    res.on('finish', () => this.emit('request', entry));
    if (url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`)) {
      const body = await readBody(req);
      if (body === null) {
        entry.status = 413;
        res.writeHead(413, { 'content-type': 'application/json; charset=utf-8' });
        res.end(
          JSON.stringify({
            message: 'Payload Too Large',
            documentation_url: 'https://docs.github.com/rest',
            status: '413',
          }),
        );
        return;
      }
      await handleRest(this, req, res, url, body, entry);
      return;
    }
    if (isGitPath(url.pathname)) {
      await handleGit(this, req, res, url, entry);
      return;
    }
    entry.status = 404;
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Not Found\n');
  }

  /**
   * Stops the server (after the deliveries under way), removes its temporary directory, and throws if the
   * stand-in found bugs in itself during the test, so they cannot pass unnoticed.
   */
  async close() {
    await new Promise((resolve) => {
      this.#server.close(() => resolve(undefined));
      this.#server.closeAllConnections();
    });
    await this.deliveries.idle();
    if (this.#ownDir) rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 });
    if (this.bugs.length > 0) throw new Error(`the GitHub stand-in has bugs:\n${this.bugs.join('\n')}`);
  }
}

/**
 * Reads a request body up to {@link MAX_BODY_BYTES}; null when it is larger.
 * @param {import('node:http').IncomingMessage} req
 * @returns {Promise<Buffer | null>}
 */
async function readBody(req) {
  /** @type {Buffer[]} */
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Starts a stand-in GitHub.
 * @param {StandinOptions} [options]
 * @returns {Promise<Standin>}
 */
export function startStandin(options = {}) {
  return new Standin(options).listen();
}
