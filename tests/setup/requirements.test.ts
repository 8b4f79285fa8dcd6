/**
 * npm test's provisioning (tests/setup/requirements.mjs): what it looks for, which packages it would
 * install on Debian and Ubuntu, the script it runs, and the one line it stops with when it may not install.
 * The install path itself runs for real on a fresh machine (every CI run starts from one); here it is
 * only shown to be refused when it must be.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  findProgram,
  installPermission,
  installScript,
  loadRequirements,
  osFlavour,
  packagesOf,
} from './requirements.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./requirements.mjs', import.meta.url));

let dir: string | undefined;
function tempDir(): string {
  dir = mkdtempSync(join(tmpdir(), 'requirements-test-'));
  return dir;
}
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A PATH holding only `node`: no server, no apt-get, no sudo on it. */
function nodeOnlyPath(): string {
  const bin = join(tempDir(), 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  return bin;
}

function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, env, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('the requirements manifest', () => {
  it('names each requirement once, with its Debian package and what it is for', () => {
    const reqs = loadRequirements();
    const names = reqs.map((req) => req.program ?? req['python-module']);
    expect(new Set(names).size).toBe(names.length);
    for (const req of reqs) {
      expect(req.debian).toMatch(/^[a-z0-9][a-z0-9.+-]+$/);
      expect(['test', 'bench', 'load']).toContain(req.for);
      expect(req.why).not.toBe('');
    }
  });

  it("installs Ubuntu's package name where it differs from Debian's", () => {
    const nginx = loadRequirements().filter((req) => req.program === 'nginx');
    expect(packagesOf(nginx, 'debian')).toEqual(['nginx-light']);
    expect(packagesOf(nginx, 'ubuntu')).toEqual(['nginx']);
  });

  it('tells Ubuntu and its derivatives from Debian by /etc/os-release', () => {
    const file = join(tempDir(), 'os-release');
    writeFileSync(file, 'NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n');
    expect(osFlavour(file)).toBe('ubuntu');
    writeFileSync(file, 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n');
    expect(osFlavour(file)).toBe('debian');
    expect(osFlavour(join(dir!, 'missing'))).toBe('debian');
  });
});

describe('finding programs', () => {
  it('looks on PATH, then in the sbin directories a non-root PATH lacks', () => {
    const bin = nodeOnlyPath();
    expect(findProgram('node', bin)).toBe(join(bin, 'node'));
    expect(findProgram('no-such-program-here', bin)).toBeUndefined();
    // nginx lives in /usr/sbin on Debian; it is found there whatever PATH says.
    expect(findProgram('nginx', bin)).toMatch(/\/sbin\/nginx$/);
  });
});

describe('installing', () => {
  it('updates the package lists first only when they are empty, and keeps services from starting', () => {
    const lists = tempDir();
    const fresh = installScript(['memcached', 'beanstalkd'], lists);
    expect(fresh).toContain('apt-get update');
    expect(fresh).toContain('apt-get install -y -qq --no-install-recommends memcached beanstalkd');
    expect(fresh).toContain('/usr/sbin/policy-rc.d');
    expect(fresh).toContain('exit 101');
    writeFileSync(join(lists, 'deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4'), '');
    expect(installScript(['memcached'], lists)).not.toContain('apt-get update');
  });

  it('is refused with PROTODOC_TEST_NO_INSTALL=1 or without apt-get', () => {
    expect(installPermission({ ...process.env, PROTODOC_TEST_NO_INSTALL: '1' })).toEqual({
      refused: 'PROTODOC_TEST_NO_INSTALL=1',
    });
    expect(installPermission({ PATH: nodeOnlyPath() })).toEqual({ refused: 'no apt-get here' });
  });

  it('stops with one line naming what is missing and the command that installs it', async () => {
    const result = await run(process.execPath, [SCRIPT, 'ensure'], { PATH: nodeOnlyPath() });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^error: missing git, openssl, redis-server, memcached, beanstalkd\b/);
    expect(result.stderr).toContain(
      'install with: sudo apt-get install -y git openssl redis-server memcached',
    );
    expect(result.stderr).toContain('(not installing: no apt-get here)');
  });

  it('stops npm test before any test runs, with that one line', async () => {
    const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs');
    const result = await run(process.execPath, [vitest, 'run', 'tests/readme.test.ts'], {
      PATH: nodeOnlyPath(),
      PROTODOC_TEST_NO_INSTALL: '1',
      NO_COLOR: '1',
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        /^error: missing .*redis-server.*; install with: sudo apt-get install -y .*\(not installing: PROTODOC_TEST_NO_INSTALL=1\)$/,
      ),
    ]);
    expect(result.stdout).not.toMatch(/Test Files/);
  });
});
