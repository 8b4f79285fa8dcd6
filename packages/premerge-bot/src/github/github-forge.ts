/**
 * The forge on GitHub (forge.ts), one per engine session of a repository the App is installed on. It fetches the
 * repository's `clone_url` over smart HTTP into the engine's mirror and lands from there with
 * `git push --force-with-lease=refs/heads/TARGET:BASE`, a true compare-and-swap that also carries rebased commits
 * GitHub does not have yet (`PATCH …/git/refs` with `force: false` checks fast-forward only, not the old value). The
 * installation token goes to git in that call's environment only (git-auth.ts). Who pushed a candidate comes from
 * the push webhook (the delivery journal), else from the repository's activity; who may land is decided by their
 * role (permission.ts), what a token may push by its permissions (workflows-permission.ts). Verdicts become check
 * runs (check-run-publisher.ts).
 */
import type { PremergeConfig } from '../config.js';
import { pushReason, unreachable } from '../errors.js';
import type {
  Authorization,
  AuthorizeRequest,
  CandidateTip,
  Forge,
  ForgeSnapshot,
  LandRequest,
  LandResult,
  TrustedConfig,
} from '../forge.js';
import type { Publisher } from '../publisher.js';
import { githubIdentity } from '../repo-identity.js';
import { trustedConfigOf } from '../trusted-config.js';
import { DEFAULT_BRANCH_REF, type Mirror } from '../workspace.js';
import { type BotOctokit, type InstallationToken, installationToken } from './app-client.js';
import type { RepoName } from './check-runs.js';
import type { DeliveryJournal, Pusher } from './deliveries.js';
import { checkedCloneUrl, gitAuthEnv, tokenForms } from './git-auth.js';
import { atLeast, mayLand, pusherFromActivity } from './permission.js';
import { WORKFLOWS_DIR, workflowsRefusal } from './workflows-permission.js';

/** git's words for a refused token. */
const AUTH_FAILED = /Authentication failed|could not read Username|returned error: 401/;
/** git's words for a server error or a rate limit from GitHub: worth another try. */
const TRANSIENT = /returned error: (5\d\d|429)|RPC failed; HTTP (5\d\d|429)|remote end hung up unexpectedly/;
/** How many times a transient git failure is tried again. */
export const TRANSIENT_RETRIES = 3;

const wait = (ms: number) => new Promise((done) => setTimeout(done, ms));

const HEADS = 'refs/origin/heads/';
const TAGS = 'refs/origin/tags/';

/** A repository the App is installed on, as a webhook payload or the REST API names it. */
export interface GitHubRepository {
  /** GitHub's repository id: stable across renames and transfers. */
  id: number;
  owner: string;
  name: string;
  /** `https://github.com/OWNER/NAME.git` (checked against the API's host before a token goes with it). */
  cloneUrl: string;
  installationId: number;
}

/** The host part of a repository's identity, from the REST API's URL. */
export function githubHost(apiUrl: string): string {
  const url = new URL(apiUrl);
  return url.hostname === 'api.github.com' ? 'github.com' : url.host;
}

/**
 * The committer of the App's rebased commits: its bot account, `SLUG[bot]` with GitHub's no-reply address for it
 * (`APP_ID+SLUG[bot]@users.noreply.github.com`, or the Enterprise Server's host).
 */
export function botCommitter(apiUrl: string, appId: number, slug: string): { name: string; email: string } {
  const host = new URL(apiUrl).hostname;
  const domain = host === 'api.github.com' ? 'github.com' : host;
  return { name: `${slug}[bot]`, email: `${appId}+${slug}[bot]@users.noreply.${domain}` };
}

export interface GitHubForgeOptions {
  repository: GitHubRepository;
  /** The REST API's base URL (`GITHUB_API_URL`). */
  apiUrl: string;
  /** A client authenticated as the repository's installation. */
  client: BotOctokit;
  /** Who pushed which tip, as webhooks said (and reconcile found). */
  deliveries: DeliveryJournal;
  /** The engine's mirror of this repository. */
  mirror: Mirror;
  /** Where verdicts go (check runs). */
  publisher: Publisher;
  /** Tokens this forge used, for redaction (the App's whole set). */
  onToken?: (token: string) => void;
  /** Who rebased commits are committed by: the App's bot account. */
  committer: { name: string; email: string };
  /** Told the trusted config at every read (the App uses it to recognise candidate branches in push events). */
  onConfig?: (config: PremergeConfig) => void;
  /** The first wait before a transient git failure is tried again (then twice as long each time). @default 1000 */
  retryBaseMs?: number;
}

export class GitHubForge implements Forge {
  readonly identity: string;
  readonly name: string;
  readonly publisher: Publisher;
  private readonly repository: GitHubRepository;
  private readonly repoName: RepoName;
  private readonly cloneUrl: string;
  private readonly client: BotOctokit;
  private readonly deliveries: DeliveryJournal;
  private readonly mirror: Mirror;
  private readonly onToken: ((token: string) => void) | undefined;
  private readonly retryBaseMs: number;
  private readonly onConfig: ((config: PremergeConfig) => void) | undefined;
  private token: InstallationToken | undefined;
  /** The default branch as last written to {@link DEFAULT_BRANCH_REF}. */
  private defaultBranch: string | undefined;
  /** The trusted config as last read: `land-permission` decides {@link authorize}. */
  private config: PremergeConfig | undefined;

  constructor(options: GitHubForgeOptions) {
    this.repository = options.repository;
    this.repoName = { owner: options.repository.owner, repo: options.repository.name };
    this.cloneUrl = checkedCloneUrl(options.repository.cloneUrl, options.apiUrl);
    this.identity = githubIdentity(githubHost(options.apiUrl), options.repository.id);
    this.name = `${options.repository.owner}/${options.repository.name}`;
    this.client = options.client;
    this.deliveries = options.deliveries;
    this.mirror = options.mirror;
    this.publisher = options.publisher;
    this.onToken = options.onToken;
    this.mirror.commitAs(options.committer.name, options.committer.email);
    this.retryBaseMs = options.retryBaseMs ?? 1000;
    this.onConfig = options.onConfig;
  }

  secrets(): readonly string[] {
    return this.token ? tokenForms(this.token.token) : [];
  }

  /** The installation token, from auth-app's cache (renewed before it expires), or a new one. */
  private async currentToken(refresh = false): Promise<InstallationToken> {
    this.token = await installationToken(this.client, refresh);
    this.onToken?.(this.token.token);
    return this.token;
  }

  /**
   * git against the clone URL with the token; once more with a new token when GitHub refused the one in the cache
   * (revoked, or expired early); again, after a wait, when GitHub answered a server error or a rate limit (at most
   * {@link TRANSIENT_RETRIES} times, waiting 1, 2, 4 s). A push is not retried here: {@link land} decides from the
   * target's state whether a failed push took effect.
   */
  private async git(args: string[], okCodes?: number[], retryTransient = true) {
    const run = async (refresh: boolean) => {
      const token = await this.currentToken(refresh);
      return this.mirror.run(args, [...(okCodes ?? []), 1, 128], gitAuthEnv(token.token, this.cloneUrl));
    };
    let r = await run(false);
    if (r.code !== 0 && AUTH_FAILED.test(r.stderr)) r = await run(true);
    for (let attempt = 1; retryTransient && r.code !== 0 && TRANSIENT.test(r.stderr); attempt++) {
      if (attempt > TRANSIENT_RETRIES) break;
      await wait(this.retryBaseMs * 2 ** (attempt - 1));
      r = await run(false);
    }
    if (r.code !== 0 && !okCodes?.includes(r.code)) {
      throw unreachable(
        args[0] === 'push' ? 'push to' : 'fetch',
        this.name,
        new Error(pushReason('', r.stderr)),
      );
    }
    return r;
  }

  async fetch(): Promise<ForgeSnapshot> {
    const [, head] = await Promise.all([
      this.git([
        'fetch',
        '--prune',
        '--no-tags',
        '--quiet',
        '--no-write-fetch-head',
        this.cloneUrl,
        `+refs/heads/*:${HEADS}*`,
        `+refs/tags/*:${TAGS}*`,
      ]),
      this.git(['ls-remote', '--symref', this.cloneUrl, 'HEAD']),
    ]);
    const m = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(head.stdout);
    const defaultBranch = m?.[1] ?? 'master';
    // Kept in the mirror as `git clone` keeps `origin/HEAD`, for readers that have no token (`premerge-bot
    // status` reads the bot's view from the mirror alone).
    if (defaultBranch !== this.defaultBranch) {
      await this.mirror.run(['symbolic-ref', DEFAULT_BRANCH_REF, `${HEADS}${defaultBranch}`]);
      this.defaultBranch = defaultBranch;
    }
    const refs = await this.mirror.refs();
    const branches = new Map<string, string>();
    const tags = new Map<string, string>();
    const candidates: CandidateTip[] = [];
    for (const [ref, sha] of refs) {
      if (ref.startsWith(HEADS)) {
        const branch = ref.slice(HEADS.length);
        branches.set(branch, sha);
        const pusher = this.deliveries.pusherOf(this.repository.id, `refs/heads/${branch}`, sha);
        candidates.push({ branch, sha, ...(pusher ? { pusher } : {}) });
      } else if (ref.startsWith(TAGS)) tags.set(ref.slice(TAGS.length), sha);
    }
    const retries = this.deliveries.rerunsOf(this.repository.id);
    return { defaultBranch, branches, tags, candidates, ...(retries.size > 0 ? { retries } : {}) };
  }

  async readTrustedConfig(snapshot: ForgeSnapshot): Promise<TrustedConfig> {
    const trusted = await trustedConfigOf(this.mirror, this.name, snapshot);
    this.config = trusted.config;
    this.onConfig?.(trusted.config);
    return trusted;
  }

  async checkTarget(): Promise<void> {
    // Every branch of a GitHub repository can be pushed to; branch protection shows as a refusal at landing.
  }

  async currentTips(branches: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const r = await this.git(['ls-remote', this.cloneUrl, ...branches.map((b) => `refs/heads/${b}`)]);
    const tips = new Map<string, string>();
    for (const line of r.stdout.split('\n')) {
      const [sha, ref] = line.split('\t');
      if (sha && ref?.startsWith('refs/heads/') && branches.includes(ref.slice(11)))
        tips.set(ref.slice(11), sha);
    }
    return tips;
  }

  /** Who pushed the candidate: the webhook's sender, else the activity that put the tip there (then remembered). */
  private async pusherOf(candidate: CandidateTip): Promise<Pusher | null> {
    const known =
      candidate.pusher ??
      this.deliveries.pusherOf(this.repository.id, `refs/heads/${candidate.branch}`, candidate.sha);
    if (known?.id !== undefined) return { id: known.id, login: known.login };
    const found = await pusherFromActivity(this.client, this.repoName, candidate.branch, candidate.sha);
    if (found) {
      this.deliveries.rememberPusher({
        repositoryId: this.repository.id,
        ref: `refs/heads/${candidate.branch}`,
        after: candidate.sha,
        sender: found,
      });
    }
    return found;
  }

  async authorize(request: AuthorizeRequest): Promise<Authorization> {
    const required = this.config?.landPermission ?? 'write';
    const changesConfig = request.configChange !== undefined;
    const pusher = await this.pusherOf(request.candidate);
    const decision = await mayLand(this.client, this.repoName, pusher, required, changesConfig);
    // About the pusher: another account's push of the same commit is asked about afresh.
    if (!decision.ok) return { ok: false, reason: decision.reason, pusher };
    const paths = await request.changedPaths();
    const workflows = paths.filter((p) => p.startsWith(WORKFLOWS_DIR));
    const token = this.token ?? (await this.currentToken());
    const refusal = workflowsRefusal(workflows, token.permissions);
    if (refusal) return { ok: false, reason: refusal };
    return { ok: true, approvesConfigChange: changesConfig && atLeast(decision.level, 'maintain') };
  }

  async land(request: LandRequest): Promise<LandResult> {
    const ref = `refs/heads/${request.target}`;
    const args = [
      'push',
      '--porcelain',
      '--quiet',
      `--force-with-lease=${ref}:${request.expected}`,
      this.cloneUrl,
      `${request.sha}:${ref}`,
    ];
    for (let attempt = 0; ; attempt++) {
      let push: Awaited<ReturnType<GitHubForge['git']>>;
      try {
        push = await this.git(args, [1, 128], false);
      } catch (e) {
        return { status: 'unknown', message: (e as Error).message };
      }
      if (push.code === 0) return this.landed(request);
      const message = `refused by GitHub: ${pushReason(push.stdout, push.stderr)}`;
      // Decided from the target as it is now: a push that failed may still have taken effect (a 502 after the
      // update), or someone else may have moved the target.
      let current: string | null;
      try {
        current = await this.readBranch(request.target);
      } catch (e) {
        return {
          status: 'unknown',
          message: `${message}; and ${request.target} could not be read again: ${(e as Error).message}`,
        };
      }
      if (current === request.sha) return this.landed(request);
      if (current !== request.expected || attempt >= TRANSIENT_RETRIES || !TRANSIENT.test(push.stderr)) {
        return { status: 'refused', message, current };
      }
      await wait(this.retryBaseMs * 2 ** attempt);
    }
  }

  private async landed(request: LandRequest): Promise<LandResult> {
    await this.mirror.run(['update-ref', `${HEADS}${request.target}`, request.sha]);
    return { status: 'landed' };
  }

  /** The branch's commit as GitHub has it now (`GET …/git/ref/heads/BRANCH`); null when it does not exist. */
  private async readBranch(branch: string): Promise<string | null> {
    try {
      const { data } = await this.client.rest.git.getRef({ ...this.repoName, ref: `heads/${branch}` });
      return data.object.sha;
    } catch (e) {
      if ((e as { status?: number }).status === 404) return null;
      throw e;
    }
  }
}
