#!/usr/bin/env node
/**
 * The programs the tests need, found or installed from one manifest (requirements.json).
 *
 * `npm test` calls {@link ensureRequirements} from Vitest's globalSetup: every program of the `test`
 * group is looked up; when some are missing and this user may install Debian packages (root with
 * apt-get, or passwordless sudo), exactly the missing packages are installed once, under a lock so two
 * suites started together install once; otherwise it stops with one line naming what is missing and
 * the command that installs it. `PROTODOC_TEST_NO_INSTALL=1` turns installing off.
 *
 * The same file is a small CLI for `.ci/run`, the CI workflow and the README (no dependencies, so it
 * runs before `npm ci`):
 *
 *   node tests/setup/requirements.mjs packages [--for test,bench] [--os debian|ubuntu]
 *   node tests/setup/requirements.mjs ensure [--for test]
 *   node tests/setup/requirements.mjs table
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * @typedef {'test' | 'bench' | 'load'} Group
 * @typedef {object} Requirement
 * @property {string} [program] a command looked up on PATH (and in the sbin directories)
 * @property {string} [python-module] a Python module, looked up in `/usr/bin/python3` first, then `python3` on PATH
 * @property {string} debian the Debian package that provides it
 * @property {string} [ubuntu] Ubuntu's package name, where it differs
 * @property {Group} for `test`: `npm test` needs it; `bench`: `npm run bench`; `load`: hunting flaky tests
 * @property {string} why what it is for, shown in the README's table
 */

export const MANIFEST = fileURLToPath(new URL('./requirements.json', import.meta.url));
const LOCK = join(tmpdir(), 'protodoc-test-requirements.lock');
/** Where Debian keeps daemons; not on a non-root user's PATH, but the tests may run them from there. */
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** A requirement that cannot be met here; its message is the one line the user sees. */
export class RequirementsError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'RequirementsError';
  }
}

/** @returns {Requirement[]} */
export function loadRequirements(file = MANIFEST) {
  return JSON.parse(readFileSync(file, 'utf8')).requirements;
}

/** @param {Requirement} req */
export function nameOf(req) {
  return req.program ?? `${req['python-module']} (Python)`;
}

/** @param {string} file */
function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of `program` on `path` or in the sbin directories, like `command -v`.
 * @param {string} program
 * @param {string} [path]
 * @returns {string | undefined}
 */
export function findProgram(program, path = process.env.PATH ?? '') {
  for (const dir of [...path.split(delimiter).filter(Boolean), ...SBIN]) {
    const file = join(dir, program);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

/**
 * The first Python that can import `module`: Debian's `/usr/bin/python3` first (Debian's python3-*
 * packages install for it), then each `python3` on PATH (a pyenv shim or virtualenv may come first
 * there and lack the module).
 * @param {string} module
 * @param {string} [path]
 * @returns {string | undefined}
 */
export function findPython(module, path = process.env.PATH ?? '') {
  const candidates = ['/usr/bin/python3', ...path.split(delimiter).map((dir) => join(dir, 'python3'))];
  for (const python of new Set(candidates)) {
    if (!isExecutable(python)) continue;
    const probe = spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 30_000 });
    if (probe.status === 0) return python;
  }
  return undefined;
}

/**
 * Where `req` is found, or undefined.
 * @param {Requirement} req
 * @param {string} [path]
 */
export function locate(req, path) {
  if (req.program) return findProgram(req.program, path);
  if (req['python-module']) return findPython(req['python-module'], path);
  return undefined;
}

/** `ubuntu` on Ubuntu and its derivatives, else `debian`. */
export function osFlavour(osRelease = '/etc/os-release') {
  let text = '';
  try {
    text = readFileSync(osRelease, 'utf8');
  } catch {}
  const field = (/** @type {string} */ name) =>
    text.match(new RegExp(`^${name}=("?)([^"\\n]*)\\1$`, 'm'))?.[2] ?? '';
  return `${field('ID')} ${field('ID_LIKE')}`.split(' ').includes('ubuntu') ? 'ubuntu' : 'debian';
}

/**
 * @param {Requirement} req
 * @param {'debian' | 'ubuntu'} flavour
 */
export function packageOf(req, flavour) {
  return (flavour === 'ubuntu' && req.ubuntu) || req.debian;
}

/**
 * @param {Requirement[]} reqs
 * @param {'debian' | 'ubuntu'} flavour
 */
export function packagesOf(reqs, flavour) {
  return [...new Set(reqs.map((req) => packageOf(req, flavour)))];
}

/**
 * How this user may install packages: as root, through passwordless sudo, or not at all (with why).
 * @returns {{ sudo: boolean } | { refused: string }}
 */
export function installPermission(env = process.env) {
  if (env.PROTODOC_TEST_NO_INSTALL === '1') return { refused: 'PROTODOC_TEST_NO_INSTALL=1' };
  if (!findProgram('apt-get', env.PATH)) return { refused: 'no apt-get here' };
  if (process.getuid?.() === 0) return { sudo: false };
  if (findProgram('sudo', env.PATH)) {
    const probe = spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore', timeout: 10_000 });
    if (probe.status === 0) return { sudo: true };
  }
  return { refused: 'not root and no passwordless sudo' };
}

/**
 * The shell script that installs `packages` with apt-get: `apt-get update` first when the package
 * lists are empty (a fresh image), and a policy-rc.d for the duration so the packages' services do
 * not start (the tests start their own servers on free ports; nothing of ours runs as a service).
 * @param {string[]} packages
 */
export function installScript(packages, listsDir = '/var/lib/apt/lists') {
  const listsEmpty =
    !existsSync(listsDir) || !readdirSync(listsDir).some((name) => name.includes('_Packages'));
  return [
    'set -e',
    'export DEBIAN_FRONTEND=noninteractive',
    // Only a policy-rc.d we wrote is removed afterwards; an image's own one stays.
    'if [ ! -e /usr/sbin/policy-rc.d ]; then',
    "  printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d",
    "  trap 'rm -f /usr/sbin/policy-rc.d' EXIT",
    'fi',
    ...(listsEmpty ? ['apt-get update -qq'] : []),
    `apt-get install -y -qq --no-install-recommends ${packages.join(' ')}`,
  ].join('\n');
}

/** @param {string[]} packages */
export function installCommand(packages) {
  return `sudo apt-get install -y ${packages.join(' ')}`;
}

/**
 * @param {readonly Group[]} groups
 * @param {string} [path]
 */
export function missingRequirements(groups, path) {
  return loadRequirements().filter((req) => groups.includes(req.for) && !locate(req, path));
}

/**
 * Makes sure every requirement of `groups` is here, installing the missing ones when allowed.
 * Returns the PATH the tests should run with (the sbin directories added when a program is only
 * found there). Throws {@link RequirementsError} with one line when it cannot.
 * @param {{ groups?: readonly Group[], log?: (line: string) => void, env?: NodeJS.ProcessEnv }} [options]
 */
export function ensureRequirements(options = {}) {
  const groups = options.groups ?? ['test'];
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  const env = options.env ?? process.env;
  const flavour = osFlavour();
  let missing = missingRequirements(groups, env.PATH);
  if (missing.length > 0) {
    const packages = packagesOf(missing, flavour);
    const permission = installPermission(env);
    if ('refused' in permission) {
      throw new RequirementsError(
        `missing ${missing.map(nameOf).join(', ')}; install with: ${installCommand(packages)}` +
          ` (not installing: ${permission.refused})`,
      );
    }
    log(
      `npm test: installing ${packages.join(' ')} with apt-get (missing: ${missing.map(nameOf).join(', ')})`,
    );
    // Under the lock the list is read again: a suite that waited finds it installed and does nothing.
    const self = fileURLToPath(import.meta.url);
    const inner = [process.execPath, self, 'install-missing', '--for', groups.join(',')];
    const [file, ...args] = findProgram('flock', env.PATH) ? ['flock', LOCK, ...inner] : inner;
    const result = spawnSync(file ?? process.execPath, args, {
      env: { ...env, PROTODOC_TEST_SUDO: permission.sudo ? '1' : '' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (result.status !== 0) {
      const tail = `${result.stdout}${result.stderr}`.trim().split('\n').slice(-5).join(' | ');
      throw new RequirementsError(
        `installing ${packages.join(' ')} failed: ${tail || `exit ${result.status}`}`,
      );
    }
    missing = missingRequirements(groups, env.PATH);
    if (missing.length > 0) {
      throw new RequirementsError(`still missing after installing: ${missing.map(nameOf).join(', ')}`);
    }
  }
  return pathWithSbin(groups, env.PATH ?? '');
}

/**
 * `path` with the sbin directories appended when a required program is only found there.
 * @param {readonly Group[]} groups
 * @param {string} path
 */
function pathWithSbin(groups, path) {
  const dirs = path.split(delimiter);
  const needsSbin = loadRequirements().some(
    (req) =>
      groups.includes(req.for) &&
      req.program &&
      !dirs.some((dir) => isExecutable(join(dir, req.program ?? ''))),
  );
  return needsSbin ? [...dirs, ...SBIN.filter((dir) => !dirs.includes(dir))].join(delimiter) : path;
}

/** The README's table of requirements, in Markdown. */
export function requirementsTable() {
  const rows = loadRequirements().map((req) => {
    const pkg = req.ubuntu ? `\`${req.debian}\` (Ubuntu: \`${req.ubuntu}\`)` : `\`${req.debian}\``;
    return `| \`${nameOf(req)}\` | ${pkg} | ${req.for} | ${req.why} |`;
  });
  return ['| program | Debian package | needed by | for |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/**
 * @param {string[]} argv
 * @param {string} name
 */
function option(argv, name) {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
}

/** @param {string[]} argv */
function main(argv) {
  const [command] = argv;
  const groups = /** @type {Group[]} */ ((option(argv, '--for') ?? 'test').split(','));
  switch (command) {
    case 'packages': {
      const flavour = /** @type {'debian' | 'ubuntu'} */ (option(argv, '--os') ?? osFlavour());
      const reqs = loadRequirements().filter((req) => groups.includes(req.for));
      process.stdout.write(`${packagesOf(reqs, flavour).join('\n')}\n`);
      return;
    }
    case 'table':
      process.stdout.write(`${requirementsTable()}\n`);
      return;
    case 'ensure':
      ensureRequirements({ groups });
      return;
    case 'install-missing': {
      // Runs under the lock, started by ensureRequirements.
      const missing = missingRequirements(groups);
      if (missing.length === 0) return;
      const script = installScript(packagesOf(missing, osFlavour()));
      const [shell, ...args] = [
        ...(process.env.PROTODOC_TEST_SUDO === '1' ? ['sudo', '-n'] : []),
        'sh',
        '-c',
        script,
      ];
      execFileSync(shell ?? 'sh', args, { stdio: 'inherit' });
      return;
    }
    default:
      throw new RequirementsError(
        `usage: requirements.mjs packages|table|ensure [--for GROUPS] [--os debian|ubuntu]`,
      );
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof RequirementsError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = 1;
  }
}
