/**
 * The packages install outside this repository: `npm pack` of each gives a tarball with only the built files
 * (plus README, LICENSE and types) that installs into an empty directory, where `npx protodoc --help` and
 * `npx premerge-bot --help` answer and the libraries import. The install reaches the npm registry for the
 * packages' dependencies (a tarball's version ranges need registry metadata; `--offline` fails with
 * ENOTCACHED), preferring npm's cache.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../packages/protodoc/test/build-cli.js';

const exec = promisify(execFile);
const PACKAGES = ['protodoc', 'premerge-bot'] as const;

/** The test's environment without the `npm_*` variables `npm test` set, which would steer the inner npm. */
const env = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')),
);

function npm(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  return exec('npm', args, { cwd, env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
}

let dir: string;
const tarballs: Record<string, string> = {};
const contents: Record<string, string[]> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'packages-test-'));
  for (const name of PACKAGES) {
    const { stdout } = await npm(['pack', '--json', '--pack-destination', dir, `./packages/${name}`], ROOT);
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    tarballs[name] = join(dir, packed!.filename);
    contents[name] = packed!.files.map((file) => file.path).sort();
  }
  const project = join(dir, 'project');
  await exec('mkdir', [project]);
  await npm(['init', '-y'], project);
  await npm(
    ['install', '--prefer-offline', '--no-audit', '--no-fund', tarballs.protodoc!, tarballs['premerge-bot']!],
    project,
  );
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(PACKAGES)('the %s tarball', (name) => {
  it('holds the built files, their types, README and LICENSE, and nothing of the sources or tests', () => {
    const files = contents[name]!;
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', `bin/${name}.js`]));
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/cli.js']));
    if (name === 'protodoc') {
      expect(files).toEqual(
        expect.arrayContaining([
          'bin/package.json',
          'dist/launch.cjs',
          'dist/cli.bundle.cjs',
          'dist/file-worker.bundle.cjs',
        ]),
      );
    }
    const unexpected = files.filter(
      (file) =>
        !/^(LICENSE|README\.md|FORMAT\.md|report\.schema\.json|package\.json|bin\/[\w-]+\.js|dist\/.+\.(js|d\.ts)|dist\/(cli\.bundle|file-worker\.bundle|launch)\.cjs|bin\/package\.json|aliases\/[\w-]+\.sh)$/.test(
          file,
        ),
    );
    expect(unexpected).toEqual([]);
  });

  it('installs into an empty directory, where its binary answers --help', async () => {
    const project = join(dir, 'project');
    const { stdout } = await exec('npx', ['--no-install', name, '--help'], {
      cwd: project,
      env,
      encoding: 'utf8',
    });
    expect(stdout).toMatch(new RegExp(`^Usage: ${name} `));
    expect(readdirSync(join(project, 'node_modules', name))).not.toContain('src');
  });

  it('imports as a library', async () => {
    const project = join(dir, 'project');
    const { stdout } = await exec(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import('${name}'); console.log(Object.keys(m).length > 0)`,
      ],
      { cwd: project, env, encoding: 'utf8' },
    );
    expect(stdout.trim()).toBe('true');
  });
});

describe('the protodoc tarball', () => {
  it('ships the JSON report schema and protodoc/vitest, whose vitest is an optional peer left out', async () => {
    const project = join(dir, 'project');
    const script = [
      "import { createRequire } from 'node:module';",
      "const schema = createRequire(process.cwd() + '/').resolve('protodoc/report.schema.json');",
      "console.log(JSON.parse((await import('node:fs')).readFileSync(schema, 'utf8')).title);",
      "await import('protodoc/vitest').catch((e) => console.log(e.code, /'vitest'/.test(e.message)));",
    ].join('\n');
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], {
      cwd: project,
      env,
      encoding: 'utf8',
    });
    expect(stdout).toBe('protodoc JSON report, version 1\nERR_MODULE_NOT_FOUND true\n');
    expect(readdirSync(join(project, 'node_modules'))).not.toContain('vitest');
  });
});
