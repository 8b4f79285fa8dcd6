/**
 * `--server` with `--jobs` and `--server-scope`: which server a file runs against. Each worker has a
 * server of its own, on its own free port and with its own `{dir}`; with scope `run` a worker keeps its
 * server for the whole run, with scope `file` every file (and every retry of it) gets a fresh one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, startServer } from './server.js';
import { DIR_PLACEHOLDER, fillServerPlaceholders } from './server-placeholders.js';
import type { ServerScope } from './server-scope.js';

export interface ServerPoolOptions {
  /** The `--server` command: `{port}` a free port, `{dir}` a fresh temporary directory per start. */
  command: string;
  /** Where each server is waited for (with the same `{port}` and `{dir}`). @default startServer's */
  target?: string;
  /** @default 'run' */
  scope?: ServerScope;
  /** How long a server may take to accept its first connection. @default startServer's 10000 */
  startTimeoutMs?: number;
  /** Working directory of the command (a config file's directory). @default process.cwd() */
  cwd?: string;
}

/** The server one file runs against, for as long as it runs. */
export interface ServerLease {
  /** The port that replaced `{port}`, if the command used it. */
  readonly port: number | undefined;
  /** The directory that replaced `{dir}`, if the command used it. */
  readonly dir: string | undefined;
  /**
   * The file is done with it: under scope `file` the server is told to stop, and its directory is
   * removed once it has; {@link ServerPool.close} waits for both.
   */
  release(): Promise<void>;
}

/** One server start: the server, and the directory made for it. */
interface Started {
  server: RunningServer;
  dir: string | undefined;
  stop(): Promise<void>;
}

/** The servers of a run's workers. */
export class ServerPool {
  private readonly options: ServerPoolOptions;
  private readonly scope: ServerScope;
  private readonly usesDir: boolean;
  /** Scope `run`: each worker's server, by worker. */
  private readonly perWorker = new Map<number, Started>();
  /** Every server running now, to stop at {@link close} whatever happened. */
  private readonly running = new Set<Started>();

  constructor(options: ServerPoolOptions) {
    this.options = options;
    this.scope = options.scope ?? 'run';
    this.usesDir = options.command.includes(DIR_PLACEHOLDER);
  }

  /** Whether `{dir}` (and `{{dir}}`) has a value: the command uses `{dir}`. */
  get providesDir(): boolean {
    return this.usesDir;
  }

  /**
   * Scope `run`: starts the servers of `workers` workers, all before any file runs, so a server that
   * cannot start stops the run before a byte is sent (and the others are stopped). Scope `file`: nothing.
   * @throws ServerStartError (`PROTODOC_ERR_SERVER`)
   */
  async open(workers: number): Promise<void> {
    if (this.scope !== 'run') return;
    const starts = Array.from({ length: workers }, (_, worker) =>
      this.start().then((started) => void this.perWorker.set(worker, started)),
    );
    const outcomes = await Promise.allSettled(starts);
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed !== undefined) {
      await this.close();
      throw failed.reason;
    }
  }

  /**
   * The server for the next file of `worker`: the worker's own (scope `run`), or a fresh one.
   * @throws ServerStartError (`PROTODOC_ERR_SERVER`) when a fresh one cannot start
   */
  async acquire(worker: number): Promise<ServerLease> {
    if (this.scope === 'run') {
      let started = this.perWorker.get(worker);
      if (started === undefined) {
        started = await this.start();
        this.perWorker.set(worker, started);
      }
      return { port: started.server.port, dir: started.dir, release: async () => {} };
    }
    const started = await this.start();
    return {
      port: started.server.port,
      dir: started.dir,
      // Stopping takes a server longer than starting one (redis acts on SIGTERM at its next tick, up to
      // 100 ms later): let it stop while the next file runs; close() waits for it.
      release: async () => void started.stop(),
    };
  }

  /**
   * Scope `run`: `worker` will run no more files (the run's queue is drained), so its server stops now,
   * while the other workers run their last files, instead of after them; {@link close} waits for it.
   * Scope `file`: nothing (each file's server stops as it is released).
   */
  retire(worker: number): void {
    const started = this.perWorker.get(worker);
    if (started === undefined) return;
    this.perWorker.delete(worker);
    // close() awaits the same promise and reports its failure; this one only must not go unhandled.
    started.stop().catch(() => {});
  }

  /** Stops every server and removes every directory. Idempotent. */
  async close(): Promise<void> {
    this.perWorker.clear();
    await Promise.all([...this.running].map((started) => started.stop()));
  }

  private async start(): Promise<Started> {
    // mkdtemp, not a name of our own: two runs (and two workers) never share one.
    const dir = this.usesDir ? await mkdtemp(join(tmpdir(), 'protodoc-server-')) : undefined;
    const fill = (text: string): string => fillServerPlaceholders(text, { dir });
    let server: RunningServer;
    try {
      server = await startServer({
        command: fill(this.options.command),
        ...(this.options.target !== undefined ? { target: fill(this.options.target) } : {}),
        ...(this.options.startTimeoutMs !== undefined ? { startTimeoutMs: this.options.startTimeoutMs } : {}),
        ...(this.options.cwd !== undefined ? { cwd: this.options.cwd } : {}),
      });
    } catch (err) {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      throw err;
    }
    let stopping: Promise<void> | undefined;
    const started: Started = {
      server,
      dir,
      stop: () => {
        stopping ??= (async () => {
          await server.stop();
          // Only once the server is gone: it may write there until it stops.
          if (dir !== undefined) await rm(dir, { recursive: true, force: true });
          this.running.delete(started);
        })();
        return stopping;
      },
    };
    this.running.add(started);
    return started;
  }
}
