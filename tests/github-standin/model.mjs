/**
 * The stand-in's state: accounts (users, organizations, App bots), Apps with their key pairs, installations,
 * repositories (each backed by a bare git repository), collaborators, check runs and repository activity. A plain
 * in-memory model, as rust-lang/bors keeps one in `src/tests/mock/`: the REST handlers read and change it, and
 * webhooks are generated from it, so a test sees GitHub's behaviour instead of replies it wrote itself.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';

/** A repository role, from least to most. @typedef {'read' | 'triage' | 'write' | 'maintain' | 'admin'} Role */
export const ROLES = /** @type {const} */ (['read', 'triage', 'write', 'maintain', 'admin']);

/**
 * A permission level an installation or token holds for one permission.
 * @typedef {'read' | 'write' | 'admin'} Level
 */

/** @typedef {Record<string, Level>} Permissions */

/**
 * A GitHub account.
 * @typedef {object} Account
 * @property {number} id
 * @property {string} login
 * @property {'User' | 'Organization' | 'Bot'} type
 * @property {string} name
 * @property {string} email
 * @property {string | null} token  a personal access token for git and REST (users only)
 */

/**
 * @typedef {object} CheckRun
 * @property {number} id
 * @property {string} headSha
 * @property {string} name
 * @property {'queued' | 'in_progress' | 'completed'} status
 * @property {string | null} conclusion
 * @property {string} externalId
 * @property {string | null} detailsUrl
 * @property {number | null} startedAt
 * @property {number | null} completedAt
 * @property {{ title: string | null, summary: string | null, text: string | null, annotationsCount: number }} output
 * @property {App} app
 * @property {number} checkSuiteId
 * @property {number} createdAt
 */

/**
 * One entry of GET /repos/{owner}/{repo}/activity.
 * @typedef {object} Activity
 * @property {number} id
 * @property {string} ref
 * @property {string} before
 * @property {string} after
 * @property {'push' | 'force_push' | 'branch_creation' | 'branch_deletion'} type
 * @property {Account | null} actor
 * @property {number} timestamp
 */

/**
 * The clock the stand-in runs on: real time plus an offset a test can advance (expire tokens without sleeping).
 * Responses carry it in their `Date` header, so a client that corrects for skew (as @octokit/auth-app does for
 * JWTs) sees a consistent server.
 */
export class Clock {
  #offset = 0;
  /** Milliseconds since the epoch, on the stand-in's clock. */
  now() {
    return Date.now() + this.#offset;
  }
  /** Moves the stand-in's clock forward. @param {number} ms */
  advance(ms) {
    this.#offset += ms;
  }
}

/**
 * Ids from separate ranges per kind, so a test that confuses an installation id with a repository id fails.
 */
class Ids {
  /** @type {Record<string, number>} */
  #next = {
    account: 1001,
    app: 2001,
    installation: 3001,
    repository: 4001,
    checkRun: 5001,
    checkSuite: 6001,
    activity: 7001,
    hook: 8001,
  };
  /** @param {'account' | 'app' | 'installation' | 'repository' | 'checkRun' | 'checkSuite' | 'activity' | 'hook'} kind */
  next(kind) {
    const id = this.#next[kind] ?? 1;
    this.#next[kind] = id + 1;
    return id;
  }
}

/** A token in GitHub's format: a prefix that says its kind, then 36 base62 characters. */
export function newToken(/** @type {string} */ prefix) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(36);
  let text = prefix;
  for (const b of bytes) text += alphabet[b % alphabet.length];
  return text;
}

/**
 * A GitHub App: its identity, its RSA key pair (the private key, PKCS#1 PEM as GitHub hands it out, is what the
 * App is given; the stand-in verifies JWTs with the public one), its webhook and its bot account.
 */
export class App {
  /**
   * @param {{ id: number, slug: string, name: string, owner: Account, bot: Account, hookId: number, createdAt: number,
   *   webhookUrl: string | null, webhookSecret: string, events: string[], permissions: Permissions }} init
   */
  constructor(init) {
    this.id = init.id;
    this.slug = init.slug;
    this.name = init.name;
    this.clientId = `Iv23${newToken('').slice(0, 16)}`;
    this.description = `${init.name}, on the GitHub stand-in`;
    this.externalUrl = 'https://example.com/';
    this.owner = init.owner;
    /** The `<slug>[bot]` account that acts for the App (pushes, check runs). */
    this.bot = init.bot;
    this.hookId = init.hookId;
    this.createdAt = init.createdAt;
    /** Where webhooks go; null: nowhere (deliveries are recorded as failed). */
    this.webhookUrl = init.webhookUrl;
    this.webhookSecret = init.webhookSecret;
    /** Events the App subscribes to (installation events always arrive). */
    this.events = init.events;
    /** The most an installation may grant. */
    this.permissions = init.permissions;
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    /** PEM, `-----BEGIN RSA PRIVATE KEY-----`, as GitHub's "Generate a private key" downloads it. */
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    /** @type {Map<number, Installation>} */
    this.installations = new Map();
  }
}

/**
 * An App installed on an account, for all its repositories or selected ones, with the permissions granted.
 */
export class Installation {
  /**
   * @param {{ id: number, app: App, account: Account, repositorySelection: 'all' | 'selected',
   *   repositoryIds: Iterable<number>, permissions: Permissions, createdAt: number }} init
   */
  constructor(init) {
    this.id = init.id;
    this.app = init.app;
    this.account = init.account;
    this.repositorySelection = init.repositorySelection;
    /** For `selected`: which repositories. */
    this.repositoryIds = new Set(init.repositoryIds);
    this.permissions = init.permissions;
    this.createdAt = init.createdAt;
    this.updatedAt = init.createdAt;
    /** Deleted installations stay in the model (their tokens stop working), flagged. */
    this.deleted = false;
  }

  /** Whether the installation reaches `repo`. @param {Repository} repo */
  includes(repo) {
    if (this.deleted || repo.owner.id !== this.account.id) return false;
    return this.repositorySelection === 'all' || this.repositoryIds.has(repo.id);
  }
}

/**
 * A repository: its metadata, its bare git repository, who may do what, its check runs and its activity.
 */
export class Repository {
  /**
   * @param {{ id: number, owner: Account, name: string, private: boolean, defaultBranch: string,
   *   git: import('./git.mjs').BareRepository, createdAt: number, description: string | null }} init
   */
  constructor(init) {
    this.id = init.id;
    this.owner = init.owner;
    this.name = init.name;
    this.fullName = `${init.owner.login}/${init.name}`;
    this.private = init.private;
    this.defaultBranch = init.defaultBranch;
    this.description = init.description;
    this.git = init.git;
    this.createdAt = init.createdAt;
    this.pushedAt = init.createdAt;
    /** @type {Map<number, Role>} by account id */
    this.collaborators = new Map();
    /** @type {Map<number, CheckRun>} */
    this.checkRuns = new Map();
    /** @type {Activity[]} oldest first */
    this.activities = [];
    /** @type {Map<string, number>} check suite id by `appId:headSha` */
    this.checkSuites = new Map();
  }

  /**
   * The account's role: the owner (a user) is admin; otherwise its collaborator role; on a public repository
   * anyone may read. Null: no access.
   * @param {Account} account
   * @returns {Role | null}
   */
  roleOf(account) {
    if (account.id === this.owner.id) return 'admin';
    return this.collaborators.get(account.id) ?? (this.private ? null : 'read');
  }
}

/**
 * Every object of the model, by id and by name, and the id allocator.
 */
export class Model {
  constructor() {
    this.clock = new Clock();
    this.ids = new Ids();
    /** @type {Map<number, Account>} */
    this.accounts = new Map();
    /** @type {Map<number, App>} */
    this.apps = new Map();
    /** @type {Map<number, Installation>} */
    this.installations = new Map();
    /** @type {Map<number, Repository>} */
    this.repositories = new Map();
  }

  /**
   * @param {{ login: string, type?: 'User' | 'Organization' | 'Bot', name?: string, email?: string }} init
   * @returns {Account}
   */
  addAccount(init) {
    if (this.accountByLogin(init.login)) throw new Error(`an account named ${init.login} already exists`);
    const id = this.ids.next('account');
    const type = init.type ?? 'User';
    /** @type {Account} */
    const account = {
      id,
      login: init.login,
      type,
      name: init.name ?? init.login,
      email: init.email ?? `${id}+${init.login}@users.noreply.github.test`,
      token: type === 'User' ? newToken('ghp_') : null,
    };
    this.accounts.set(id, account);
    return account;
  }

  /** @param {string} login */
  accountByLogin(login) {
    const lower = login.toLowerCase();
    for (const account of this.accounts.values()) if (account.login.toLowerCase() === lower) return account;
    return undefined;
  }

  /** @param {string} token */
  accountByToken(token) {
    for (const account of this.accounts.values())
      if (account.token !== null && account.token === token) return account;
    return undefined;
  }

  /**
   * A repository by owner and name, as GitHub matches them (case-insensitively).
   * @param {string} owner
   * @param {string} name
   */
  repository(owner, name) {
    const full = `${owner}/${name}`.toLowerCase();
    for (const repo of this.repositories.values()) if (repo.fullName.toLowerCase() === full) return repo;
    return undefined;
  }

  /**
   * The App a JWT's `iss` names: its id (number or text) or its client id.
   * @param {unknown} issuer
   */
  appByIssuer(issuer) {
    for (const app of this.apps.values()) {
      if (issuer === app.id || issuer === String(app.id) || issuer === app.clientId) return app;
    }
    return undefined;
  }

  /**
   * The live installations that reach `repo`.
   * @param {Repository} repo
   */
  installationsOf(repo) {
    return [...this.installations.values()].filter((inst) => inst.includes(repo));
  }
}
