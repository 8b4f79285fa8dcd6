/**
 * How other processes reach a running `watch`: its Unix socket in the state directory (`watch.sock`), one JSON line
 * per connection. `{"repo": KEY}` pokes it (a push arrived: look now), answered `ok` when it watches that repository;
 * `{"query": "info"}` asks what it is doing ({@link WatchInfo}). The hook's run and `premerge-bot status` use this,
 * and nothing else talks to a watch.
 */
import { realpathSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { isRemote } from './repo-location.js';

/** The socket a running watch listens on; one per state dir. */
export function socketPath(stateDir: string): string {
  return join(stateDir, 'watch.sock');
}

/** How a hook names a repository and a watch recognises it: the real path when local, the text otherwise. */
export function repoKey(repo: string): string {
  if (isRemote(repo)) return repo;
  try {
    return realpathSync(resolve(repo));
  } catch {
    return resolve(repo);
  }
}

/**
 * Asks a running watch to process `repo` now.
 * @returns true when a watch over that repository took the poke; false when none is running or it watches
 * other repositories (the caller then runs the engine itself).
 */
export function pokeWatch(stateDir: string, repo: string): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(socketPath(stateDir));
    let reply = '';
    // A watch that neither answers nor refuses is treated as absent: the caller's own run is locked anyway.
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('connect', () => socket.end(`${JSON.stringify({ repo: repoKey(repo) })}\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(reply.trim() === 'ok'));
  });
}

/** What a running watch says about itself (`premerge-bot status` asks it through the socket). */
export interface WatchInfo {
  pid: number;
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
export function askWatch(stateDir: string): Promise<WatchInfo | null> {
  return new Promise((done) => {
    const socket = connect(socketPath(stateDir));
    let reply = '';
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('connect', () => socket.end(`${JSON.stringify({ query: 'info' })}\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
    });
    socket.on('error', () => done(null));
    socket.on('close', () => {
      try {
        const info = JSON.parse(reply) as WatchInfo;
        done(typeof info.pid === 'number' ? info : null);
      } catch {
        done(null);
      }
    });
  });
}
