/**
 * `protodoc.config.yaml` (src/config-file.ts): every key, paths relative to the file's directory, and
 * each mistake one ConfigError at FILE:LINE:COL.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOptionsFromConfig, loadConfig, parseConfig } from '../src/config-file.js';
import { ConfigError, type ProtodocError } from '../src/errors.js';

async function configError(text: string): Promise<ConfigError> {
  try {
    await parseConfig(text, 'protodoc.config.yaml', '/repo');
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('config file', () => {
  it('reads every key, with paths relative to its directory', async () => {
    const config = await parseConfig(
      `# the whole set
connect: 127.0.0.1:{port}
cacert: certs/ca.pem
insecure: false
server: redis-server --port {port} --save ''
server-scope: file
server-timeout: 20s
timeout: 1.5s
settle: 50ms
jobs: auto
retries: 2
bail: true
reporters: [pretty, junit=out/report.xml, json=/abs/r.json]
variables:
  user: alice
  count: 3
vars-files: local.env
secrets: [token]
serial:
  db: [specs/db, specs/migrate.txt]
  mail: specs/mail
files: [specs, 'docs/**/*.md']
`,
      'protodoc.config.yaml',
      '/repo',
    );
    expect(config).toEqual({
      file: 'protodoc.config.yaml',
      dir: '/repo',
      connect: '127.0.0.1:{port}',
      cacert: '/repo/certs/ca.pem',
      insecure: false,
      server: "redis-server --port {port} --save ''",
      serverScope: 'file',
      serverTimeoutMs: 20_000,
      timeoutMs: 1500,
      settleMs: 50,
      jobs: 'auto',
      retries: 2,
      bail: true,
      reporters: [
        { value: { name: 'pretty' }, where: 'protodoc.config.yaml:13:13' },
        { value: { name: 'junit', file: '/repo/out/report.xml' }, where: 'protodoc.config.yaml:13:21' },
        { value: { name: 'json', file: '/abs/r.json' }, where: 'protodoc.config.yaml:13:43' },
      ],
      variables: [
        { value: { name: 'user', value: 'alice' }, where: 'protodoc.config.yaml:15:3' },
        { value: { name: 'count', value: '3' }, where: 'protodoc.config.yaml:16:3' },
      ],
      varsFiles: ['/repo/local.env'],
      secrets: ['token'],
      serial: [
        { name: 'db', path: '/repo/specs/db', where: 'protodoc.config.yaml:20:8' },
        { name: 'db', path: '/repo/specs/migrate.txt', where: 'protodoc.config.yaml:20:18' },
        { name: 'mail', path: '/repo/specs/mail', where: 'protodoc.config.yaml:21:9' },
      ],
      // As written: they are expanded only for a run whose command line names no file.
      files: [
        { value: 'specs', where: 'protodoc.config.yaml:22:9' },
        { value: 'docs/**/*.md', where: 'protodoc.config.yaml:22:16' },
      ],
    });
    // The options it gives checkFiles: its server runs in its directory.
    expect(checkOptionsFromConfig(config)).toEqual({
      connect: '127.0.0.1:{port}',
      cacert: '/repo/certs/ca.pem',
      insecure: false,
      server: "redis-server --port {port} --save ''",
      serverCwd: '/repo',
      serverScope: 'file',
      serverStartTimeoutMs: 20_000,
      timeoutMs: 1500,
      settleMs: 50,
      jobs: 'auto',
      retries: 2,
      bail: true,
      serialGroups: config.serial,
    });
  });

  it('is empty when the file is', async () => {
    expect(await parseConfig('# nothing yet\n', 'p.yaml', '/repo')).toEqual({ file: 'p.yaml', dir: '/repo' });
  });

  it.each([
    [
      'jobs: 2\njbos: 3\n',
      "protodoc.config.yaml:2:1: unknown key 'jbos' (known: files, connect, cacert, insecure, server, server-scope, server-timeout, timeout, settle, jobs, retries, bail, reporters, variables, vars-files, secrets, serial)",
    ],
    ['jobs: 0\n', "protodoc.config.yaml:1:7: 'jobs' must be a whole number of at least 1, or auto"],
    ['jobs: many\n', "protodoc.config.yaml:1:7: 'jobs' must be a whole number of at least 1, or auto"],
    ['retries: -1\n', "protodoc.config.yaml:1:10: 'retries' must be a whole number of at least 0"],
    [
      'timeout: 5\n',
      "protodoc.config.yaml:1:10: 'timeout' must be a duration with a unit (ms, s, m, h), e.g. 5s",
    ],
    ['server-scope: worker\n', "protodoc.config.yaml:1:15: 'server-scope' must be one of run, file"],
    ['bail: yes\n', "protodoc.config.yaml:1:7: 'bail' must be true or false"],
    ['server:\n', "protodoc.config.yaml:1:8: 'server' must be a non-empty string"],
    [
      'reporters: [pretty, junit=]\n',
      "protodoc.config.yaml:1:21: reporter 'junit=': expected NAME or NAME=FILE",
    ],
    [
      'variables:\n  9lives: x\n',
      "protodoc.config.yaml:2:3: invalid variable name '9lives': use letters, digits and '_', not starting with a digit",
    ],
    ['variables: [a, b]\n', "protodoc.config.yaml:1:12: 'variables' must be a mapping of NAME: VALUE"],
    [
      'serial:\n  db: [1]\n',
      "protodoc.config.yaml:2:8: serial group 'db' must list paths (files or directories)",
    ],
    ['files: []\n', "protodoc.config.yaml:1:8: 'files' must list at least one path or pattern"],
    ['files: [specs, 3]\n', "protodoc.config.yaml:1:16: 'files' must be a string or a list of strings"],
    ['files:\n', "protodoc.config.yaml:1:7: 'files' must be a string or a list of strings"],
    ['jobs: 2\njobs: 3\n', 'protodoc.config.yaml:2:1: invalid YAML: Map keys must be unique'],
    [
      'jobs: [1\n',
      'protodoc.config.yaml:2:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
    [
      '- jobs\n',
      'protodoc.config.yaml:1:1: expected a mapping of keys (files, connect, cacert, insecure, server, server-scope, server-timeout, timeout, settle, jobs, retries, bail, reporters, variables, vars-files, secrets, serial)',
    ],
    [
      'variables:\n  token: hunter2\nsecrets: [token]\n',
      "protodoc.config.yaml:2:3: variable 'token' is secret: its value does not belong in the config file (give it with --secret token=VALUE or PROTODOC_VAR_token)",
    ],
  ])('refuses %j with one line at FILE:LINE:COL', async (text, message) => {
    const err = await configError(text);
    expect(err.code).toBe('PROTODOC_ERR_CONFIG');
    expect(err.message).toBe(message);
  });

  it('is found in the cwd, or given with --config, which must exist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protodoc-config-'));
    dirs.push(dir);
    expect(await loadConfig(undefined, dir)).toBeUndefined();
    writeFileSync(join(dir, 'protodoc.config.yaml'), 'jobs: 3\n');
    expect(await loadConfig(undefined, dir)).toEqual({ file: 'protodoc.config.yaml', dir, jobs: 3 });
    writeFileSync(join(dir, 'other.yaml'), 'retries: 1\n');
    expect(await loadConfig('other.yaml', dir)).toEqual({ file: 'other.yaml', dir, retries: 1 });
    let err: unknown;
    try {
      await loadConfig('missing.yaml', dir);
    } catch (e) {
      err = e;
    }
    expect((err as ProtodocError).code).toBe('PROTODOC_ERR_USAGE');
    expect((err as Error).message).toBe('--config missing.yaml: no such file');
  });
});
