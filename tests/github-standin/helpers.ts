/**
 * What the stand-in's own tests share: Octokit clients authenticated the way the App will authenticate (through
 * @octokit/auth-app with the generated key), a webhook receiver that verifies signatures with @octokit/webhooks,
 * and a world to start from.
 */
import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { Webhooks } from '@octokit/webhooks';
import { type Sandbox, sandbox } from '../../packages/premerge-bot/test/helpers/git-fixture.js';
import { type Standin, startStandin } from './index.mjs';

export type App = ReturnType<Standin['createApp']>;
export type Installation = ReturnType<Standin['createInstallation']>;
export type Account = ReturnType<Standin['createUser']>;
export type Repository = Awaited<ReturnType<Standin['createRepository']>>;

type OctokitOptions = NonNullable<ConstructorParameters<typeof Octokit>[0]>;

/** Octokit logs every error answer on the console; the tests expect errors, so it stays quiet. */
const quiet: OctokitOptions = { log: { debug() {}, info() {}, warn() {}, error() {} } };

/** Octokit authenticated as the App (JWTs), as `premerge-bot serve` will be. */
export function appClient(gh: Standin, app: App, options: OctokitOptions = {}): Octokit {
  return new Octokit({
    ...quiet,
    ...options,
    baseUrl: gh.apiUrl,
    authStrategy: createAppAuth,
    auth: { appId: app.id, privateKey: app.privateKey },
  });
}

/** Octokit authenticated as an installation (auth-app trades the JWT for an installation token). */
export function installationClient(
  gh: Standin,
  app: App,
  installation: Installation,
  options: OctokitOptions = {},
): Octokit {
  return new Octokit({
    ...quiet,
    ...options,
    baseUrl: gh.apiUrl,
    authStrategy: createAppAuth,
    auth: { appId: app.id, privateKey: app.privateKey, installationId: installation.id },
  });
}

/** Octokit with a plain token (an installation token issued by the test, or a user's). */
export function tokenClient(gh: Standin, token: string, options: OctokitOptions = {}) {
  return new Octokit({ ...quiet, ...options, baseUrl: gh.apiUrl, auth: token });
}

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  /** What @octokit/webhooks' `verify()` said of the signature with the App's secret. */
  verified: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: the stand-in checked the payload against its schema; tests read it freely
  payload: any;
}

export interface Receiver {
  url: string;
  received: ReceivedWebhook[];
  /** The status the next deliveries get (202 unless a test says otherwise). */
  status: number;
  /** The secret signatures are verified with (settable: the CLI prints its App's secret after it starts). */
  secret: string;
  /** Resolves with the first webhook (already received or later) `predicate` accepts. */
  next(predicate?: (w: ReceivedWebhook) => boolean): Promise<ReceivedWebhook>;
  close(): Promise<void>;
}

/** A small node:http webhook endpoint that verifies every delivery with the App's secret. */
export async function webhookReceiver(secret: string): Promise<Receiver> {
  const waiters: { predicate: (w: ReceivedWebhook) => boolean; resolve: (w: ReceivedWebhook) => void }[] = [];
  const received: ReceivedWebhook[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const signature = String(req.headers['x-hub-signature-256'] ?? '');
      const verified = signature
        ? await new Webhooks({ secret: receiver.secret }).verify(body, signature)
        : false;
      const webhook: ReceivedWebhook = { headers: req.headers, body, verified, payload: JSON.parse(body) };
      received.push(webhook);
      res.writeHead(receiver.status);
      res.end();
      for (const w of [...waiters]) {
        if (w.predicate(webhook)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(webhook);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver: Receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`,
    received,
    status: 202,
    secret,
    next(predicate = () => true) {
      const found = received.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return receiver;
}

export interface World {
  gh: Standin;
  dev: Account;
  app: App;
  repo: Repository;
  installation: Installation;
  receiver: Receiver;
  box: Sandbox;
  /** Closes everything; rejects when the stand-in found a bug in itself. */
  close(): Promise<void>;
}

/**
 * A stand-in with a developer `dev`, the App `premerge-bot` delivering to a receiver, a repository `dev/project`
 * with one commit on master, and the App installed on it; plus a git sandbox for clones.
 */
export async function world(): Promise<World> {
  const gh = await startStandin();
  const box = sandbox('github-standin-test-');
  const dev = gh.createUser({ login: 'dev', name: 'Dev', email: 'dev@example.com' });
  const app = gh.createApp({ slug: 'premerge-bot' });
  const receiver = await webhookReceiver(app.webhookSecret);
  app.webhookUrl = receiver.url;
  const repo = await gh.createRepository({
    owner: dev,
    name: 'project',
    files: {
      '.github/premerge.yml': 'test: ./check.sh\n',
      'check.sh': { content: '#!/bin/sh\nexit 0\n', executable: true },
    },
  });
  const installation = gh.createInstallation({ app, account: dev, repositories: [repo] });
  return {
    gh,
    dev,
    app,
    repo,
    installation,
    receiver,
    box,
    async close() {
      await receiver.close();
      box.cleanup();
      await gh.close();
    },
  };
}

/**
 * Runs git in the sandbox's environment without throwing: the stand-in serves from this same process, so a
 * synchronous git call would wait forever for an answer that cannot come.
 */
export function gitResult(
  box: Sandbox,
  cwd: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, env: box.env, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A clone URL with `user:password` in it. */
export function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}
