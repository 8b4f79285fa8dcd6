/**
 * Chooses, in one place, how tests are kept away from the bot:
 * 1. a `test-user` (config, or `PREMERGE_TEST_USER`, which wins): tests run as that user; the bot must be root;
 * 2. else, with `sandbox: auto` (the default; `PREMERGE_SANDBOX` wins over the config) and a bubblewrap that works
 *    here: each test runs in a sandbox;
 * 3. else the tests run as the bot's own user: trusted code only, which the bot says in one line at start.
 * Options given to the engine (`EngineOptions.sandbox`, `.testUser`) win over both.
 */
import { mkdirSync } from 'node:fs';
import type { PremergeConfig } from './config.js';
import { isTestUser } from './config.js';
import { IsolationError } from './errors.js';
import type { IsolationMode } from './runner.js';
import { expandHome, probeSandbox } from './sandbox.js';
import { checkCanSwitchUser, resolveTestUser, type TestUser } from './test-user.js';

/** What the settings ask for, before anything is probed. */
export interface IsolationSettings {
  sandbox: 'auto' | 'off';
  /** Where `sandbox` came from, for the start-up line. */
  sandboxFrom: string;
  testUser: string | undefined;
}

/** The decision: how tests run, and the line that says so. */
export interface IsolationPlan {
  mode: IsolationMode;
  user?: TestUser;
  /** `sandbox-writable`, expanded to absolute paths. */
  writable: string[];
  /** One line for the log: how tests run, and for `same-user` why and what it means. */
  detail: string;
}

/** The settings from the engine's options, the bot's environment and the trusted config, in that order. */
export function isolationSettings(
  config: PremergeConfig,
  options: { sandbox?: 'auto' | 'off'; testUser?: string },
  env: NodeJS.ProcessEnv = process.env,
): IsolationSettings {
  const fromEnv = env['PREMERGE_SANDBOX'];
  if (fromEnv !== undefined && fromEnv !== 'auto' && fromEnv !== 'off') {
    throw new IsolationError(`PREMERGE_SANDBOX is '${fromEnv}': expected auto or off`);
  }
  const userFromEnv = env['PREMERGE_TEST_USER'] || undefined;
  if (userFromEnv !== undefined && !isTestUser(userFromEnv)) {
    throw new IsolationError(
      `PREMERGE_TEST_USER is '${userFromEnv}': expected a user name, or UID or UID:GID`,
    );
  }
  const sandbox = options.sandbox ?? (fromEnv as 'auto' | 'off' | undefined) ?? config.sandbox;
  const sandboxFrom =
    options.sandbox !== undefined
      ? 'the sandbox option'
      : fromEnv !== undefined
        ? 'PREMERGE_SANDBOX'
        : '.github/premerge.yml';
  return { sandbox, sandboxFrom, testUser: options.testUser ?? userFromEnv ?? config.testUser };
}

/** Do two absolute paths overlap (one is the other or lies inside it)? */
export function overlaps(a: string, b: string): boolean {
  const inside = (x: string, y: string) => x === y || x.startsWith(y.endsWith('/') ? y : `${y}/`);
  return inside(a, b) || inside(b, a);
}

/**
 * Decides how this repository's tests run. `guarded` are the directories a test must never reach (the state and
 * trees directories): a `sandbox-writable` path overlapping one is refused, since it would open them up again.
 */
export async function planIsolation(
  settings: IsolationSettings,
  config: PremergeConfig,
  guarded: readonly string[],
): Promise<IsolationPlan> {
  const me = process.getuid?.() ?? 0;
  if (settings.testUser !== undefined) {
    const user = await resolveTestUser(settings.testUser);
    checkCanSwitchUser(user);
    return {
      mode: 'test-user',
      user,
      writable: [],
      detail: `tests run as user ${user.name} (uid ${user.uid}, gid ${user.gid}), kept out of the bot's state directory and processes`,
    };
  }
  const probe: { ok: true } | { ok: false; reason: string } =
    settings.sandbox === 'off'
      ? { ok: false, reason: `sandbox: off, set by ${settings.sandboxFrom}` }
      : await probeSandbox();
  if (probe.ok) {
    const writable = config.sandboxWritable.map((p) => expandHome(p));
    for (const path of writable) {
      const hit = guarded.find((g) => overlaps(path, g));
      if (hit) {
        throw new IsolationError(
          `sandbox-writable '${path}' would open ${hit} (the bot's own) to the test; name a directory outside it`,
        );
      }
      mkdirSync(path, { recursive: true });
    }
    return {
      mode: 'sandbox',
      writable,
      detail: `tests run in a bubblewrap sandbox: own pid namespace, the system read-only, writable only their tree, a private HOME and /tmp${writable.length > 0 ? ` and ${writable.join(', ')}` : ''}`,
    };
  }
  return {
    mode: 'same-user',
    writable: [],
    detail: `warning: tests run as the bot's own user (uid ${me}) without a sandbox (${probe.reason}): they can read the bot's environment and change its state, so they must be trusted code (README, "Trust")`,
  };
}

const announced = new Set<string>();

/** True the first time this process meets `plan` for `repo`: the bot says how tests run once, at start. */
export function firstAnnouncement(repo: string, plan: IsolationPlan): boolean {
  const key = `${repo}\n${plan.mode}\n${plan.detail}`;
  if (announced.has(key)) return false;
  announced.add(key);
  return true;
}
