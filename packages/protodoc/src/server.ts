/**
 * `--server "COMMAND"`: start the server under test, wait until it accepts connections, and stop
 * its whole process group afterwards, also on Ctrl-C (SIGINT), SIGTERM and on failure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { formatMs } from './duration.js';
import { ServerStartError, UsageError } from './errors.js';
import { freePort } from './free-port.js';
import { PORT_PLACEHOLDER, parseTarget, substitutePort, type Target } from './target.js';

export interface ServerOptions {
  /** Shell command, run with `/bin/sh -c`; `{port}` is replaced by a free port. */
  command: string;
  /**
   * Where the server will listen; `{port}` is replaced by the same port. protodoc waits until it
   * accepts a connection. @default '127.0.0.1:{port}' when the command uses `{port}`
   */
  target?: string;
  /** How long the server may take to accept its first connection. @default 10000 */
  startTimeoutMs?: number;
  /** After SIGTERM, how long the process group may take to exit before SIGKILL. @default 3000 */
  graceMs?: number;
  /** Working directory of the command. @default process.cwd() */
  cwd?: string;
  /** How many of its last output lines (stdout and stderr) a ServerStartError shows. @default 10 */
  tailLines?: number;
  /** Stop the server when this process receives SIGINT or SIGTERM. @default true */
  handleSignals?: boolean;
}

export interface RunningServer {
  /** The command as run, with `{port}` replaced. */
  readonly command: string;
  /** The target it accepted a connection on, with `{port}` replaced. */
  readonly target: string;
  /** The port that replaced `{port}`, or undefined when neither command nor target used it. */
  readonly port: number | undefined;
  /** Process id of the shell, which is also the process group id. */
  readonly pid: number;
  /** The last lines the server printed (stdout and stderr interleaved). */
  output(): string;
  /** Kills the whole process group (SIGTERM, then SIGKILL after the grace) and waits for it. Idempotent. */
  stop(): Promise<void>;
}

/**
 * How long a stop waits for the output pipes to close before it reads /proc to see what is left of the
 * group (a process outside it may hold them, and a zombie inside it keep kill(0) from saying empty).
 */
const LOOK_AFTER_MS = 200;

/** The least time between two connection attempts of a start that the server's output prompted. */
const OUTPUT_ATTEMPT_GAP_MS = 2;

/** Bytes of server output kept for error messages; enough for the last lines of any sane log. */
const OUTPUT_KEEP = 64 * 1024;

/**
 * Starts `command` in its own process group and resolves once `target` accepts a TCP/Unix connection.
 * @throws UsageError when there is nothing to wait for (no target and no `{port}`) or the target is bad
 * @throws ServerStartError (`PROTODOC_ERR_SERVER`) when the server exits early or never listens; the
 *   message ends with its last output lines
 * @example
 *   const server = await startServer({ command: 'redis-server --port {port}' });
 *   try { ... connect to server.target ... } finally { await server.stop(); }
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const graceMs = options.graceMs ?? 3000;
  const tailLines = options.tailLines ?? 10;
  const usesPort = options.command.includes(PORT_PLACEHOLDER) || !!options.target?.includes(PORT_PLACEHOLDER);
  if (options.target === undefined && !options.command.includes(PORT_PLACEHOLDER)) {
    throw new UsageError(
      `--server '${options.command}': give --connect TARGET, or use ${PORT_PLACEHOLDER} in the command`,
    );
  }
  const port = usesPort ? await freePort() : undefined;
  const fill = (text: string): string => (port === undefined ? text : substitutePort(text, port));
  const command = fill(options.command);
  const targetText = fill(options.target ?? `127.0.0.1:${PORT_PLACEHOLDER}`);
  const target = parseTarget(targetText);

  const child = spawn('/bin/sh', ['-c', command], {
    cwd: options.cwd,
    // Its own process group, so stopping it also stops whatever the shell started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_KEEP * 2) output = output.slice(-OUTPUT_KEEP);
  };
  // Keep draining the pipes for the server's whole life, or it blocks once a pipe fills.
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const tail = (): string => lastLines(output, tailLines);
  const signals = serverSignals(child);

  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      keep(Buffer.from(`${err.message}\n`));
      exited ??= { code: null, signal: null };
      resolve();
    });
  });

  let stopping: Promise<void> | null = null;
  const pid = child.pid ?? -1;
  const live: LiveServer = { pid, signals: options.handleSignals !== false, stop: () => stop() };
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      forget(live);
      await stopGroup(child, pid, exitedPromise, () => exited !== null, signals, graceMs);
    })();
    return stopping;
  };
  watch(live);

  try {
    await waitUntilAccepting(target, startTimeoutMs, () => exited !== null, exitedPromise, signals);
  } catch (err) {
    await stop();
    if (err instanceof EarlyExit) {
      const how = describeExit(exited);
      throw new ServerStartError(
        `server '${command}' ${how} before accepting connections on ${targetText}${formatTail(tail())}`,
      );
    }
    throw new ServerStartError(
      `server '${command}' did not accept connections on ${targetText} within ${formatMs(startTimeoutMs)}${formatTail(tail())}`,
    );
  }
  return { command, target: targetText, port, pid, output: tail, stop };
}

class EarlyExit extends Error {}

/** A started server that has not been stopped: what the process's exit and signal handlers stop. */
interface LiveServer {
  pid: number;
  /** Stopped on SIGINT and SIGTERM (`handleSignals`). */
  signals: boolean;
  stop(): Promise<void>;
}

/**
 * Every live server, and one listener per event for all of them (not one each: `--jobs 16` with a
 * server per worker would pass Node's limit of 10 listeners and warn).
 */
const liveServers = new Set<LiveServer>();

// Last resort when the process exits without stop(): exit handlers cannot wait, so SIGKILL.
function onExit(): void {
  for (const server of liveServers) killGroup(server.pid, 'SIGKILL');
}

function onSignal(signal: NodeJS.Signals): void {
  const stopping = [...liveServers].filter((server) => server.signals);
  let left = stopping.length;
  for (const server of stopping) {
    // Not Promise.all: its extra tick would let the process's other listeners go first.
    void server.stop().then(() => {
      // We were the only one listening: die of the signal as the process would have without us.
      if (--left === 0 && process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function watch(server: LiveServer): void {
  if (liveServers.size === 0) process.on('exit', onExit);
  if (server.signals && ![...liveServers].some((s) => s.signals)) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  liveServers.add(server);
}

function forget(server: LiveServer): void {
  if (!liveServers.delete(server)) return;
  if (liveServers.size === 0) process.off('exit', onExit);
  if (server.signals && ![...liveServers].some((s) => s.signals)) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * What the server's output pipes tell without polling: that it printed something (a server that says
 * it is ready has usually just started listening), and that every process holding them has exited
 * (the server and whatever it started keep the shell's stdout and stderr unless they close them).
 */
interface ServerSignals {
  /** Resolves at the next chunk of output (or once the pipes are closed). */
  nextOutput(): Promise<void>;
  /** Resolves once both pipes are closed. */
  readonly closed: Promise<void>;
  readonly isClosed: () => boolean;
}

function serverSignals(child: ChildProcess): ServerSignals {
  const pipes = [child.stdout, child.stderr].filter((pipe) => pipe !== null);
  let waiting: (() => void) | undefined;
  let next: Promise<void> | undefined;
  const wake = (): void => {
    next = undefined;
    const resolve = waiting;
    waiting = undefined;
    resolve?.();
  };
  let open = pipes.length;
  let isClosed = open === 0;
  const closed = new Promise<void>((resolve) => {
    if (isClosed) resolve();
    for (const pipe of pipes) {
      pipe.on('data', wake);
      pipe.once('close', () => {
        if (--open > 0) return;
        isClosed = true;
        wake();
        resolve();
      });
    }
  });
  return {
    nextOutput: () => {
      if (isClosed) return Promise.resolve();
      next ??= new Promise<void>((resolve) => {
        waiting = resolve;
      });
      return next;
    },
    closed,
    isClosed: () => isClosed,
  };
}

/** Resolves after `ms`, or once `event` does, whichever comes first. */
async function sleepUnless(ms: number, event?: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const slept = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await (event === undefined ? slept : Promise.race([slept, event]));
  clearTimeout(timer);
}

/**
 * Tries to connect until one attempt succeeds. There is no event for "the other process is now
 * listening", so this polls, at short intervals first so fast servers cost little, and tries again at
 * once whenever the server prints something (redis, nginx and most others log that they are ready).
 */
async function waitUntilAccepting(
  target: Target,
  timeoutMs: number,
  hasExited: () => boolean,
  exitedPromise: Promise<void>,
  signals: ServerSignals,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    if (hasExited()) throw new EarlyExit();
    const attempted = Date.now();
    if (await canConnect(target, Math.max(1, deadline - attempted))) return;
    if (hasExited()) throw new EarlyExit();
    const left = deadline - Date.now();
    if (left <= 0) throw new Error('timeout');
    // Closed pipes are no news: only a chunk of output or the shell's exit cut the wait short.
    const woken = signals.isClosed() ? exitedPromise : Promise.race([exitedPromise, signals.nextOutput()]);
    await sleepUnless(Math.min(delay, left), woken);
    // A server that logs a lot while it starts gets an attempt every few milliseconds, not one a chunk.
    const gap = OUTPUT_ATTEMPT_GAP_MS - (Date.now() - attempted);
    if (gap > 0 && !hasExited()) await sleepUnless(gap, exitedPromise);
    delay = Math.min(delay * 2, 100);
  }
}

/** One connection attempt (plain TCP even for `tls://`: accepting is what we wait for). */
function canConnect(target: Target, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket =
      target.kind === 'unix'
        ? netConnect({ path: target.path })
        : netConnect({ host: target.host, port: target.port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * SIGTERM to the group, wait for it to go, SIGKILL what is left after the grace. The shell's exit is an
 * event, and so is the closing of the output pipes once the last process holding them has exited (the
 * server itself, usually, at its own pace: redis acts on SIGTERM at its next tick); a member that closed
 * its pipes is polled for, as no event exists for a process that is not our child.
 */
async function stopGroup(
  child: ChildProcess,
  pid: number,
  exitedPromise: Promise<void>,
  hasExited: () => boolean,
  signals: ServerSignals,
  graceMs: number,
): Promise<void> {
  if (pid < 0) return;
  killGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  if (!hasExited()) await sleepUnless(graceMs, exitedPromise);
  const stopped = Date.now();
  let delay = 2;
  let members = survivors(pid, [], false);
  const alive = (): boolean => members === null || members.length > 0;
  while (alive() && Date.now() < deadline) {
    const closedBefore = signals.isClosed();
    await sleepUnless(
      Math.min(delay, Math.max(1, deadline - Date.now())),
      closedBefore ? undefined : signals.closed,
    );
    // The pipes just closed: their last holder is exiting now, so look again soon.
    delay = !closedBefore && signals.isClosed() ? 1 : Math.min(delay * 2, 50);
    // /proc is read only once the pipes are closed (or after a while: a process that left the group may
    // hold them): while a member holds them, kill(0) alone tells the group is not empty yet.
    members = survivors(pid, members ?? [], signals.isClosed() || Date.now() - stopped > LOOK_AFTER_MS);
  }
  if (alive() || !hasExited()) {
    killGroup(pid, 'SIGKILL');
    if (!hasExited()) await exitedPromise;
  }
  child.stdout?.destroy();
  child.stderr?.destroy();
}

/**
 * The group's members that still run, or null when that cannot be known (or is not looked at: `look`
 * false). kill(0) first: when it says the group is empty, as it is once a server stopped, nothing is
 * read. Otherwise the members found before are looked at, and only when all of them have gone is all of
 * /proc read again (a few milliseconds of this thread for a hundred processes; reading it at every poll
 * cost more CPU than the file a fresh server per file serves). A zombie does not count: an orphan that
 * exited waits for init to reap it, which some inits do only every second or two (this machine's too).
 */
function survivors(pgid: number, known: readonly number[], look: boolean): number[] | null {
  if (!groupExists(pgid)) return [];
  if (!look) return null;
  const still = known.filter(running);
  return still.length > 0 ? still : groupMembers(pgid);
}

/** Whether any process, a zombie too, is in the group. */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Whether a process of the group still runs. Zombies do not count: an orphan that exited waits for
 * init to reap it, which some container inits do only every second or so.
 */
export function groupAlive(pgid: number): boolean {
  const members = groupMembers(pgid);
  return members === null || members.length > 0;
}

/**
 * The running (not zombie) processes of the group, or null when that cannot be known (no /proc: then
 * kill(0) said some process is in it).
 */
function groupMembers(pgid: number): number[] | null {
  if (!groupExists(pgid)) return [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null; // no /proc (not Linux): kill(0) is all we know
  }
  const members: number[] = [];
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const stat = procStat(Number(entry));
    if (stat !== undefined && stat.pgrp === pgid && stat.running) members.push(Number(entry));
  }
  return members;
}

/** Whether process `pid` still runs (exited or a zombie: no). */
function running(pid: number): boolean {
  return procStat(pid)?.running ?? false;
}

function procStat(pid: number): { pgrp: number; running: boolean } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined; // exited meanwhile
  }
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so parse after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pgrp: Number(fields[2]), running: fields[0] !== 'Z' && fields[0] !== 'X' };
}

function describeExit(exited: { code: number | null; signal: NodeJS.Signals | null } | null): string {
  if (exited?.signal) return `was killed by ${exited.signal}`;
  // Exit code 0 before listening is almost always a server that daemonized itself.
  if (exited?.code === 0)
    return 'exited with code 0 (it must stay in the foreground: do not let it daemonize)';
  if (exited?.code !== null && exited?.code !== undefined) return `exited with code ${exited.code}`;
  return 'could not be started';
}

function lastLines(text: string, count: number): string {
  const lines = text.replace(/\n+$/, '').split('\n');
  return lines.slice(-count).join('\n');
}

function formatTail(tail: string): string {
  if (tail === '') return ' (it printed nothing)';
  return `; its last output:\n${tail
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n')}`;
}
