/**
 * How the App talks to GitHub's REST API: @octokit/rest with @octokit/plugin-retry (server errors, with backoff) and
 * @octokit/plugin-throttling (rate limits, primary and secondary), authenticated by @octokit/auth-app as the App
 * (a JWT) or as one installation (a token it trades the JWT for, caches and renews). Every retry is bounded:
 * a call fails after {@link ClientOptions.retries} server errors, or a rate limit that lasts longer than
 * {@link ClientOptions.maxRateLimitWaitSeconds}; the engine then leaves the candidate pending, for a later pass.
 *
 * Two facts shape the settings: plugin-retry would retry a 429 itself, before plugin-throttling could read its
 * `retry-after`, so 429 is among its `doNotRetry` statuses; and plugin-retry retries POSTs too, which
 * `POST …/check-runs` must not be (check-runs.ts looks the run up by its `external_id` first), so that call turns
 * retries off for itself (`request: { retries: 0 }`).
 */
import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import Bottleneck from 'bottleneck';
import { GitHubApiError } from '../errors.js';

/** Octokit with the retry and throttling plugins (what the plugins add to its type, the bot does not use). */
const PluggedOctokit = Octokit.plugin(retry, throttling);
export type BotOctokit = Octokit;

/** GitHub's REST API. */
export const GITHUB_API_URL = 'https://api.github.com';

/** Statuses plugin-retry leaves alone: its own list plus 429, which plugin-throttling handles. */
export const DO_NOT_RETRY = [400, 401, 403, 404, 410, 422, 429, 451];

/** The App's identity: what `APP_ID` and `PRIVATE_KEY` (or `PRIVATE_KEY_PATH`) give. */
export interface AppCredentials {
  appId: number | string;
  /** The App's private key, PEM (PKCS#1 as GitHub generates it, or PKCS#8). */
  privateKey: string;
}

export interface ClientOptions {
  /** The REST API's base URL. @default {@link GITHUB_API_URL} */
  baseUrl?: string;
  /** Server errors (5xx) retried per request, with growing waits of 1, 4, 9 s. @default 3 */
  retries?: number;
  /**
   * The longest rate-limit wait the client sits out (a secondary limit's `retry-after`, or the primary limit's
   * reset); a longer one fails the call. @default 60
   */
  maxRateLimitWaitSeconds?: number;
  /** Rate-limited calls retried per request. @default 3 */
  rateLimitRetries?: number;
  /**
   * The least time between two writes (POST, PATCH) per installation: GitHub asks integrations to wait a second
   * between content-creating requests to stay clear of secondary rate limits. A GitHub Enterprise Server without
   * them, or a test, can lower it. @default 1000
   */
  writeIntervalMs?: number;
  /** Where retries and rate limits are reported, one line each. */
  onNotice?: (message: string) => void;
  /** Scales every wait (tests): 1000 makes a "1 s" wait 1 s. @default 1000 */
  retryAfterBaseValue?: number;
  /** Octokit's `request.fetch` (tests may inject one). */
  fetch?: typeof globalThis.fetch;
}

/** Octokit writes every error answer on the console; the bot reports what matters itself. */
const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

/** One write limiter per interval, shared by every client of this process (keys: installations). */
const writeGroups = new Map<number, Bottleneck.Group>();

function writeGroup(intervalMs: number): Bottleneck.Group {
  let group = writeGroups.get(intervalMs);
  if (!group) {
    group = new Bottleneck.Group({
      id: `premerge-write-${intervalMs}`,
      maxConcurrent: 1,
      minTime: intervalMs,
    });
    writeGroups.set(intervalMs, group);
  }
  return group;
}

function octokitOptions(id: string, options: ClientOptions) {
  const maxWait = options.maxRateLimitWaitSeconds ?? 60;
  const rateLimitRetries = options.rateLimitRetries ?? 3;
  const notice = options.onNotice ?? (() => undefined);
  const base = options.retryAfterBaseValue ?? 1000;
  const onLimit =
    (kind: string) =>
    (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
      const what = `${request.method} ${request.url}`;
      if (retryCount < rateLimitRetries && retryAfter <= maxWait) {
        notice(
          `${kind} on ${what}: retrying in ${retryAfter}s (retry ${retryCount + 1} of ${rateLimitRetries})`,
        );
        return true;
      }
      notice(`${kind} on ${what}: giving up (wait ${retryAfter}s, after ${retryCount} retries)`);
      return false;
    };
  return {
    baseUrl: (options.baseUrl ?? GITHUB_API_URL).replace(/\/+$/, ''),
    log: SILENT,
    userAgent: 'premerge-bot',
    retry: { doNotRetry: DO_NOT_RETRY, retries: options.retries ?? 3, retryAfterBaseValue: base },
    throttle: {
      id,
      retryAfterBaseValue: base,
      write: writeGroup(options.writeIntervalMs ?? 1000),
      onRateLimit: onLimit('rate limit'),
      onSecondaryRateLimit: onLimit('secondary rate limit'),
    },
    ...(options.fetch ? { request: { fetch: options.fetch } } : {}),
  };
}

/** A client authenticated as the App itself (`GET /app`, `GET /app/installations`, installation tokens). */
export function appClient(credentials: AppCredentials, options: ClientOptions = {}): BotOctokit {
  return new PluggedOctokit({
    ...octokitOptions('app', options),
    authStrategy: createAppAuth,
    auth: { appId: credentials.appId, privateKey: credentials.privateKey },
  });
}

/** A client authenticated as installation `installationId`; its token is fetched, cached and renewed for it. */
export function installationClient(
  credentials: AppCredentials,
  installationId: number,
  options: ClientOptions = {},
): BotOctokit {
  const client = new PluggedOctokit({
    ...octokitOptions(`installation-${installationId}`, options),
    authStrategy: createAppAuth,
    auth: { appId: credentials.appId, privateKey: credentials.privateKey, installationId },
  });
  // auth-app keeps a token for 59 minutes and retries a 401 only while it is young (replication lag): one that
  // GitHub stopped taking sooner (revoked, or a clock ahead of ours) is traded for a new one, once per call.
  client.hook.wrap('request', async (request, endpoint) => {
    try {
      return await request(endpoint);
    } catch (e) {
      // App calls (JWTs: `/app/...`, the token exchange itself) are not the installation token's to renew.
      if ((e as { status?: number }).status !== 401 || /^\/app(\/|$)/.test(String(endpoint.url))) throw e;
      await client.auth({ type: 'installation', refresh: true });
      return request(endpoint);
    }
  });
  return client;
}

/** An installation token as git needs it, with what it may do. Lives in memory only. */
export interface InstallationToken {
  token: string;
  /** The token's permissions (`contents: 'write'`, `workflows: 'write'`, ...). */
  permissions: Record<string, string>;
  expiresAt: string;
}

/**
 * The installation token `client` (an {@link installationClient}) authenticates with, from auth-app's cache, or a
 * new one with `refresh` (after git was refused with the cached one).
 */
export async function installationToken(client: BotOctokit, refresh = false): Promise<InstallationToken> {
  const auth = (await client.auth({ type: 'installation', ...(refresh ? { refresh: true } : {}) })) as {
    token: string;
    permissions?: Record<string, string>;
    expiresAt?: string;
  };
  return { token: auth.token, permissions: auth.permissions ?? {}, expiresAt: auth.expiresAt ?? '' };
}

/**
 * A failed REST call as the bot's error: GitHub's status and words (octokit's `RequestError` never carries the
 * token: it redacts the `authorization` header), and the call it was.
 */
export function apiError(error: unknown, operation: string): GitHubApiError {
  if (error instanceof GitHubApiError) return error;
  const status =
    typeof (error as { status?: unknown })?.status === 'number' ? (error as { status: number }).status : 0;
  const message = error instanceof Error ? error.message : String(error);
  return new GitHubApiError(
    `${operation} failed${status ? ` (${status})` : ''}: ${message}`,
    status,
    operation,
    { cause: error },
  );
}

/** Whether a failed call may have had its effect, or may succeed if made again: a 5xx, or no answer at all. */
export function isTransient(error: unknown): boolean {
  const status = (error as { status?: unknown })?.status;
  return typeof status !== 'number' || status === 0 || status >= 500;
}
