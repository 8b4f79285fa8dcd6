/**
 * How other processes reach a running `watch` (or, later, `serve`): its Unix socket in the state directory
 * (`watch.sock`), one JSON line per connection, one answer. The one way in; the post-receive hook, `premerge-bot
 * status` and an engine call that finds the repository locked use it, and nothing else talks to a running bot.
 * - `{"repo": KEY}` pokes it (a push arrived: look now), answered `ok` when it looks after that repository, else
 *   `unknown`;
 * - `{"query": "info"}` asks what it is doing ({@link WatchInfo});
 * - `{"query": "queue", "repo": KEY}` asks where that repository's candidates stand as of its last look
 *   ({@link QueueAnswer}: "queued, N ahead").
 * KEY is the repository's identity (repo-identity.ts), so a repository reached through a symlink or with another
 * spelling of its URL is the same one to both sides, as it is to the lock.
 */
import { unlink } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { CandidateState } from './bot-status.js';
import { StateError, WatchRunningError } from './errors.js';
import { repoIdentity } from './repo-identity.js';

/** The socket a running watch listens on; one per state dir. */
export function socketPath(stateDir: string): string {
  return join(stateDir, 'watch.sock');
}

/** How a hook names a repository and a watch recognises it: its identity (repo-identity.ts). */
export function repoKey(repo: string): string {
  return repoIdentity(repo);
}

/**
 * Asks a running watch to process `repo` now.
 * @returns true when a watch over that repository took the poke; false when none is running or it watches
 * other repositories (the caller then runs the engine itself).
 */
export async function pokeWatch(stateDir: string, repo: string): Promise<boolean> {
  // A watch that neither answers nor refuses is treated as absent: the caller's own run is locked anyway.
  return (await ask(stateDir, { repo: repoKey(repo) }))?.trim() === 'ok';
}

/** One question, one answer (null: nothing listens, or it did not answer within 5 s). */
function ask(stateDir: string, message: object): Promise<string | null> {
  return new Promise((done) => {
    const socket = connect(socketPath(stateDir));
    let reply = '';
    let failed = false;
    socket.setTimeout(5000, () => {
      failed = true;
      socket.destroy();
    });
    socket.on('connect', () => socket.end(`${JSON.stringify(message)}\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
    });
    socket.on('error', () => {
      failed = true;
    });
    socket.on('close', () => done(failed && reply === '' ? null : reply));
  });
}

/** What a running watch says about itself (`premerge-bot status` asks it through the socket). */
export interface WatchInfo {
  pid: number;
  /** Which bot answers: a `watch`, or the GitHub App's `serve`. Absent from a watch before serve answered too. */
  kind?: 'watch' | 'serve';
  intervalMs: number;
  repos: Array<{
    repo: string;
    candidatesFrom?: string;
    state: 'working' | 'idle';
    since: string;
    nextPollAt?: string;
  }>;
}

/**
 * Asks the watch running on `stateDir` what it is doing; null when none answers (not running, or an older watch
 * that does not know the question).
 */
export async function askWatch(stateDir: string): Promise<WatchInfo | null> {
  const reply = await ask(stateDir, { query: 'info' });
  try {
    const info = JSON.parse(reply ?? '') as WatchInfo;
    return typeof info.pid === 'number' ? info : null;
  } catch {
    return null;
  }
}

/** Where a repository's candidates stand, as a running watch saw them at its last look. */
export interface QueueAnswer {
  /** The repository as the watch names it. */
  repo: string;
  /** When the watch computed this (its last look, or its last status while testing). */
  at: string;
  /** Every candidate tip and where it stands: `queued` with how many are `ahead`, `testing` since when, ... */
  candidates: CandidateState[];
}

/**
 * Asks the watch running on `stateDir` where `repo`'s candidates stand; null when none answers, it does not look
 * after `repo`, or it has not looked yet.
 */
export async function askQueue(stateDir: string, repo: string): Promise<QueueAnswer | null> {
  const reply = await ask(stateDir, { query: 'queue', repo: repoKey(repo) });
  try {
    const answer = JSON.parse(reply ?? '') as QueueAnswer;
    return Array.isArray(answer.candidates) ? answer : null;
  } catch {
    return null;
  }
}

/** The sockets this process serves. */
const servedHere = new Set<string>();

/**
 * Whether this process serves `stateDir`'s socket: its own watch is then reached in process, and an engine call of
 * that watch that finds its repository locked must not poke itself (it would be asked to look again at once,
 * again and again, while the other bot works).
 */
export function servesHere(stateDir: string): boolean {
  return servedHere.has(socketPath(stateDir));
}

/** What a running bot answers on its socket with. */
export interface WatchHandler {
  /** A push arrived for the repository `key` names: true when the bot looks after it. */
  poke(key: string): boolean;
  info(): WatchInfo;
  queue(key: string): QueueAnswer | null;
}

/**
 * Listens on `stateDir`'s socket for the questions above, answering from `handler`; resolves once listening, with
 * the function that closes it (and removes the socket). Rejects with `PREMERGE_WATCH_RUNNING` when a live bot
 * answers there already, `PREMERGE_STATE` when the path is too long for a Unix socket.
 */
export async function serveWatch(stateDir: string, handler: WatchHandler): Promise<() => Promise<void>> {
  const path = socketPath(stateDir);
  // Unix socket paths are limited to about 104-108 bytes depending on the system; fail with a clear line.
  if (Buffer.byteLength(path) > 100) {
    throw new StateError(
      `the state dir path is too long for the watch's Unix socket ${path}; use a shorter --state-dir`,
    );
  }
  await claimSocket(path);
  const server = createServer((socket) => {
    let text = '';
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      // One question per connection: whatever follows the first line is ignored.
      if (text.includes('\n')) return;
      text += chunk.toString('utf8');
      if (!text.includes('\n')) return;
      let message: { repo?: unknown; query?: unknown } = {};
      try {
        message = JSON.parse(text.slice(0, text.indexOf('\n'))) as typeof message;
      } catch {
        // A malformed poke is answered like one for a repository we do not watch.
      }
      const repo = typeof message.repo === 'string' ? message.repo : '';
      if (message.query === 'info') socket.end(`${JSON.stringify(handler.info())}\n`);
      else if (message.query === 'queue') socket.end(`${JSON.stringify(handler.queue(repo))}\n`);
      else socket.end(repo !== '' && handler.poke(repo) ? 'ok\n' : 'unknown\n');
    });
  });
  await listen(server, path);
  servedHere.add(path);
  return async () => {
    servedHere.delete(path);
    await new Promise<void>((done) => server.close(() => done()));
    await unlink(path).catch(() => {});
  };
}

/** Removes a socket left by a watch that died; refuses while a live watch answers on it. */
async function claimSocket(path: string): Promise<void> {
  const alive = await new Promise<boolean>((done) => {
    const socket = connect(path);
    socket.on('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.on('error', () => done(false));
  });
  if (alive) throw new WatchRunningError(path);
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(path, () => {
      server.off('error', fail);
      done();
    });
  });
}
