/**
 * The bubblewrap sandbox a test runs in (Debian's `bubblewrap`, the tool flatpak is built on): the whole system
 * read-only, its own pid namespace (so every process of the run ends with it, however it detached, and the bot's
 * /proc is not there to read), and writable only its tree, a private HOME and `/tmp`, and the `sandbox-writable`
 * paths. The bot's state directory, the trees of other repositories, the user's runtime directory (agent sockets)
 * and the key files the bot was given are covered by empty mounts. The network is shared: tests fetch
 * dependencies.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What the sandbox of one run is made of; every path absolute. */
export interface SandboxLayout {
  /** The test's tree: writable, and its working directory. */
  tree: string;
  /** Host directory mounted as the test's HOME. */
  home: string;
  /** Where HOME is inside: the bot's own home path (so `~/...` writable paths land in it), covered by `home`. */
  homePath: string;
  /** Host directory mounted as `/tmp`. */
  tmp: string;
  /** Directories covered by an empty tmpfs. */
  hiddenDirs: readonly string[];
  /** Files covered by an empty file. */
  hiddenFiles: readonly string[];
  /** Mounted read-only at their own path (after the hiding: the mirror's objects, for git inside the tree). */
  readOnly: readonly string[];
  /** Mounted read-write at their own path (`sandbox-writable`). */
  writable: readonly string[];
}

/**
 * The bwrap program: `PREMERGE_BWRAP` when set (a bwrap installed elsewhere), else `bwrap` on `PATH`.
 * @default 'bwrap'
 */
export function bwrapProgram(env: NodeJS.ProcessEnv = process.env): string {
  return env['PREMERGE_BWRAP'] || 'bwrap';
}

/**
 * What every sandbox is made of, the probe's too (so that it tries exactly the namespaces and mounts a run needs):
 * its own pid, IPC, UTS (and, where allowed, cgroup) namespaces, a new session (no TIOCSTI into a terminal the bot
 * may have), death with the bot, the system read-only, a fresh /dev and a /proc of its own pid namespace.
 */
const BASE_ARGS: readonly string[] = [
  '--die-with-parent',
  '--unshare-pid',
  '--unshare-ipc',
  '--unshare-uts',
  '--unshare-cgroup-try',
  '--new-session',
  '--ro-bind',
  '/',
  '/',
  '--dev',
  '/dev',
  '--proc',
  '/proc',
];

/**
 * The bwrap arguments that run `inner` in the sandbox. fd 3 receives bwrap's JSON info (the host pid of the
 * sandbox's pid 1 and its pid namespace), which is how the bot finds and ends everything inside.
 */
export function bwrapArgs(l: SandboxLayout, inner: readonly string[]): string[] {
  const args = [...BASE_ARGS, '--info-fd', '3', '--bind', l.tmp, '/tmp', '--bind', l.home, l.homePath];
  for (const dir of l.hiddenDirs) args.push('--tmpfs', dir);
  for (const file of l.hiddenFiles) args.push('--ro-bind', '/dev/null', file);
  args.push('--bind', l.tree, l.tree);
  for (const dir of l.readOnly) args.push('--ro-bind', dir, dir);
  for (const dir of l.writable) args.push('--bind', dir, dir);
  args.push('--chdir', l.tree, '--', ...inner);
  return args;
}

/**
 * Where HOME is inside the sandbox: the bot's home path when it is a real directory other than `/` (mounting over
 * it hides the bot's own `~/.ssh`, `~/.gitconfig` credentials and default state directory); else `/tmp/home`.
 */
export function sandboxHomePath(home = homedir()): string {
  try {
    if (home !== '/' && statSync(home).isDirectory()) return home;
  } catch {
    // No such home: use one inside the private /tmp.
  }
  return '/tmp/home';
}

/** Directories and files that always go behind empty mounts, when they exist. */
export function alwaysHidden(env: NodeJS.ProcessEnv = process.env): { dirs: string[]; files: string[] } {
  const uid = process.getuid?.() ?? 0;
  const dirs = [env['XDG_RUNTIME_DIR'], `/run/user/${uid}`].filter(
    (d): d is string => typeof d === 'string' && d.startsWith('/') && existsSync(d),
  );
  // Keys the bot is given by path (the GitHub App's), and the container engines' sockets (root in all but name).
  const files = [
    env['PRIVATE_KEY_PATH'],
    '/run/docker.sock',
    '/var/run/docker.sock',
    '/run/podman/podman.sock',
  ]
    .filter((f): f is string => typeof f === 'string' && f.startsWith('/') && existsSync(f))
    .filter((f) => !dirs.some((d) => f.startsWith(`${d}/`)));
  return { dirs: [...new Set(dirs)], files: [...new Set(files)] };
}

export type ProbeResult = { ok: true } | { ok: false; reason: string };

const probed = new Map<string, Promise<ProbeResult>>();

/**
 * Does bubblewrap (`program`) work here, with the namespaces the sandbox needs? Asked once per process and
 * program: the answer only changes when the machine does (bwrap installed, user namespaces allowed).
 */
export function probeSandbox(program = bwrapProgram()): Promise<ProbeResult> {
  const known = probed.get(program);
  if (known) return known;
  const answer = new Promise<ProbeResult>((done) => {
    const args = [...BASE_ARGS, '--tmpfs', '/tmp', '--', '/bin/sh', '-c', 'exit 0'];
    const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.once('error', (e: NodeJS.ErrnoException) =>
      done({
        ok: false,
        reason:
          e.code === 'ENOENT'
            ? `bubblewrap is not installed (no ${program})`
            : `bubblewrap could not be started: ${e.message}`,
      }),
    );
    child.once('close', (code) => {
      if (code === 0) done({ ok: true });
      else {
        const line = stderr.trim().split('\n').at(-1) ?? '';
        done({ ok: false, reason: `bubblewrap does not work here: ${line || `exit ${code}`}` });
      }
    });
  });
  probed.set(program, answer);
  return answer;
}

/** `~/x` → the bot's home joined with `x`; an absolute path as it is. */
export function expandHome(path: string, home = homedir()): string {
  return path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
}
