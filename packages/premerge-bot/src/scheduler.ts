/**
 * The one in-process scheduler every long- or short-lived front end runs the engine through: `watch` (every
 * interval, and at once when poked), `once` (one look, until nothing is pending) and the GitHub App's `serve`
 * (repositories added and dropped as installations change, poked by webhooks). It runs at most one engine call per
 * repository at a time, and a poke during a call makes that call look again before it ends (engine.ts RunControl),
 * so no push waits for the next interval. Pokes from other processes (the post-receive hook) reach it only through
 * the state directory's socket (watch-ipc.ts), which `watch` serves.
 */
import type { BotStatus } from './bot-status.js';
import { type EngineEvent, type EngineOptions, type OnceReport, runOnce } from './engine.js';
import { PremergeError } from './errors.js';
import { repoIdentity } from './repo-identity.js';

/** One repository the scheduler looks after: the engine's options for it, less what the scheduler sets. */
export type ScheduledRepo = Omit<EngineOptions, 'stateDir' | 'signal' | 'onEvent' | 'heartbeatMs'>;

export interface SchedulerOptions {
  /** The state directory every repository's engine calls share. */
  stateDir: string;
  /**
   * Time between two looks at a repository, in milliseconds; a poke starts one before it elapses. `Infinity`: only
   * pokes start looks (a front end told of every push, such as the GitHub App, which reconciles on its own).
   * Undefined: each repository gets one look (the engine's, until nothing is pending), after which it is dropped:
   * `once`.
   */
  intervalMs?: number;
  /** Abort to stop, as {@link Scheduler.stop} does. */
  signal?: AbortSignal;
  /** Progress, for live output on a terminal or JSON-lines logs. */
  onEvent?: (event: SchedulerEvent) => void;
}

/** What the scheduler reports; `repo` is the repository as it was added. */
export type SchedulerEvent =
  | { type: 'poked'; repo: string }
  | { type: 'run-started'; repo: string }
  | { type: 'run-finished'; repo: string; report: OnceReport }
  | { type: 'run-failed'; repo: string; code: string | undefined; message: string; stack?: string }
  | { type: 'engine'; repo: string; event: EngineEvent };

/** What the scheduler says about one of its repositories (the socket's `info` answer). */
export interface ScheduledState {
  repo: string;
  candidatesFrom?: string;
  state: 'working' | 'idle';
  since: string;
  nextPollAt?: string;
}

interface Slot {
  target: ScheduledRepo;
  /** The identities a poke names this repository by: its own, and the candidates repository's. */
  keys: string[];
  pokedAt: number;
  /** A poke arrived since the slot's current or last look began. */
  poked: boolean;
  wake: (() => void) | undefined;
  state: 'working' | 'idle';
  since: string;
  nextPollAt?: string;
  /** The status the engine last published for it (watch-ipc.ts `queue` answers from it). */
  status?: BotStatus;
  done: Promise<OnceReport | undefined>;
}

export class Scheduler {
  private readonly options: SchedulerOptions;
  private readonly slots = new Map<string, Slot>();
  private readonly controller = new AbortController();

  constructor(options: SchedulerOptions) {
    this.options = options;
    const outer = options.signal;
    if (outer) {
      if (outer.aborted) this.controller.abort();
      else outer.addEventListener('abort', () => this.controller.abort(), { once: true });
    }
  }

  /** True once stopped: no look starts any more. */
  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  /**
   * Starts looking after `target` (again: a repository already added is poked instead). Resolves when its looks
   * end: for a scheduler without an interval, with the report of its one look (rejecting with the engine's error
   * when it could not work: a bad config, an unreachable repository); with an interval, with undefined once
   * stopped (the engine's errors are `run-failed` events, and the next look comes anyway: both can be fixed without
   * a restart).
   */
  add(target: ScheduledRepo): Promise<OnceReport | undefined> {
    const key = target.identity ?? repoIdentity(target.repo);
    const existing = this.slots.get(key);
    if (existing) {
      this.poke(key);
      return existing.done;
    }
    const slot: Slot = {
      target,
      keys: [key, ...(target.candidatesFrom === undefined ? [] : [repoIdentity(target.candidatesFrom)])],
      pokedAt: 0,
      poked: false,
      wake: undefined,
      state: 'idle',
      since: new Date().toISOString(),
      done: Promise.resolve(undefined),
    };
    this.slots.set(key, slot);
    slot.done = this.loop(slot).finally(() => {
      if (this.slots.get(key) === slot) this.slots.delete(key);
    });
    return slot.done;
  }

  /** Stops looking after the repository `repo` names (a path, URL or identity) once its current look ends. */
  async remove(repo: string): Promise<void> {
    const slot = this.find(repo);
    if (!slot) return;
    this.slots.delete(slot.keys[0]!);
    slot.wake?.();
    await slot.done.catch(() => undefined);
  }

  /**
   * A push arrived for `repo` (a path, URL or identity; the candidates repository's names it too): look now, or
   * again before the current look ends. Returns false when the scheduler does not look after it.
   */
  poke(repo: string): boolean {
    const slot = this.find(repo);
    if (!slot || this.stopped) return false;
    this.emit({ type: 'poked', repo: slot.target.repo });
    slot.pokedAt = Date.now();
    slot.poked = true;
    slot.wake?.();
    return true;
  }

  /** What each repository's looks are doing. */
  info(): ScheduledState[] {
    return [...this.slots.values()].map((s) => ({
      repo: s.target.repo,
      ...(s.target.candidatesFrom ? { candidatesFrom: s.target.candidatesFrom } : {}),
      state: s.state,
      since: s.since,
      ...(s.state === 'idle' && s.nextPollAt ? { nextPollAt: s.nextPollAt } : {}),
    }));
  }

  /** The status the engine last published for `repo`, if the scheduler looks after it and one was published. */
  status(repo: string): BotStatus | undefined {
    return this.find(repo)?.status;
  }

  /** Stops: looks in progress are cancelled (the engine's clean stop); resolves when every one has ended. */
  async stop(): Promise<void> {
    this.controller.abort();
    for (const slot of this.slots.values()) slot.wake?.();
    await Promise.all([...this.slots.values()].map((s) => s.done.catch(() => undefined)));
  }

  private find(repo: string): Slot | undefined {
    const key = repoIdentity(repo);
    for (const slot of this.slots.values())
      if (slot.keys.includes(key) || slot.keys.includes(repo)) return slot;
    return undefined;
  }

  private emit(event: SchedulerEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A listener's failure must not stop the scheduler.
    }
  }

  private async loop(slot: Slot): Promise<OnceReport | undefined> {
    const { intervalMs } = this.options;
    const signal = this.controller.signal;
    const repo = slot.target.repo;
    const key = slot.keys[0]!;
    while (!signal.aborted && this.slots.get(key) === slot) {
      slot.poked = false;
      slot.state = 'working';
      slot.since = new Date().toISOString();
      this.emit({ type: 'run-started', repo });
      try {
        const report = await runOnce(
          {
            ...slot.target,
            stateDir: this.options.stateDir,
            signal,
            // The status it publishes says when to expect the next sign of life.
            ...(intervalMs === undefined || !Number.isFinite(intervalMs) ? {} : { heartbeatMs: intervalMs }),
            onEvent: (event) => this.emit({ type: 'engine', repo, event }),
            onStatus: (status) => {
              slot.status = status;
            },
          },
          { pokedAt: () => slot.pokedAt },
        );
        this.emit({ type: 'run-finished', repo, report });
        if (intervalMs === undefined) return report;
      } catch (err) {
        if (intervalMs === undefined) throw err;
        if (signal.aborted) break;
        const e = err as Error;
        const code = err instanceof PremergeError ? err.code : undefined;
        this.emit({
          type: 'run-failed',
          repo,
          code,
          message: e.message ?? String(err),
          ...(code === undefined && e.stack ? { stack: e.stack } : {}),
        });
      } finally {
        slot.state = 'idle';
        slot.since = new Date().toISOString();
      }
      if (Number.isFinite(intervalMs)) slot.nextPollAt = new Date(Date.now() + intervalMs).toISOString();
      if (!slot.poked) await this.pause(slot, intervalMs);
    }
    return undefined;
  }

  /** Waits for the interval, a poke, removal or the stop, whichever comes first. */
  private pause(slot: Slot, ms: number): Promise<void> {
    const signal = this.controller.signal;
    return new Promise((done) => {
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        slot.wake = undefined;
        done();
      };
      // setTimeout takes at most 2^31-1 ms (longer fires at once); Infinity never fires.
      const timer = Number.isFinite(ms) ? setTimeout(finish, Math.min(ms, 2 ** 31 - 1)) : undefined;
      signal.addEventListener('abort', finish, { once: true });
      slot.wake = finish;
      if (signal.aborted || slot.poked) finish();
    });
  }
}
