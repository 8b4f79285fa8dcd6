/**
 * Variables through the real binary: `--var`, `--vars-file`, `PROTODOC_VAR_<NAME>` (and no other
 * environment variable), `--secret` in reports and `-v`, `{{port}}` from `--server`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, type Outcome, runBin } from './build-cli.js';
import { type RedisServer, startRedis } from './helpers/servers.js';

let redis: RedisServer;
let dir: string;

function protodoc(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return runBin(['check', ...args], dir, env);
}

beforeAll(async () => {
  buildCli();
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'protodoc-vars-bin-'));
  writeFileSync(join(dir, 'user.txt'), '>>>(vars) ECHO {{user}}\n$5\nalice\n');
  writeFileSync(join(dir, 'token.txt'), '>>>(vars) ECHO {{GITHUB_TOKEN}}\n...\n');
});

afterAll(async () => {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('where values come from', () => {
  it('takes PROTODOC_VAR_<NAME> from the environment', async () => {
    const run = await protodoc(['--connect', redis.target, 'user.txt'], { PROTODOC_VAR_user: 'alice' });
    expect(run.err).toBe('');
    expect(run.exit).toBe(0);
  });

  it('never takes any other environment variable', async () => {
    const run = await protodoc(['--connect', redis.target, 'token.txt'], { GITHUB_TOKEN: 'ghp_secret' });
    expect(run.exit).toBe(3);
    expect(run.err).toMatch(/^error: token\.txt:1:16: unknown variable 'GITHUB_TOKEN'/);
    expect(run.err).not.toContain('ghp_secret');
  });

  it('ranks --var over --vars-file over the environment', async () => {
    writeFileSync(join(dir, 'vars.env'), '# users\nuser=bobby\n');
    const env = { PROTODOC_VAR_user: 'wrong' };
    expect(
      (await protodoc(['--connect', redis.target, '--vars-file', 'vars.env', 'user.txt'], env)).exit,
    ).toBe(1);
    writeFileSync(join(dir, 'vars.env'), 'user=alice\n');
    expect(
      (await protodoc(['--connect', redis.target, '--vars-file', 'vars.env', 'user.txt'], env)).exit,
    ).toBe(0);
    const run = await protodoc([
      '--connect',
      redis.target,
      '--vars-file',
      'vars.env',
      '--var',
      'user=carol',
      'user.txt',
    ]);
    expect(run.out).toContain('-alice\n+carol\n');
    expect(run.out).toContain('{{user}} = carol (--var)\n');
  });

  it('names the line of a vars file it cannot read, exit 2', async () => {
    writeFileSync(join(dir, 'bad.env'), 'user=alice\noops\n');
    const run = await protodoc(['--connect', redis.target, '--vars-file', 'bad.env', 'user.txt']);
    expect(run).toEqual({
      out: '',
      err: "error: bad.env:2: a variable 'oops': expected NAME=VALUE\n",
      exit: 2,
    });
  });

  it('gives {{port}} the port --server picked, and refuses --var port beside it', async () => {
    writeFileSync(join(dir, 'port.txt'), '>>>(vars) ECHO {{port}}\n...\n>>>$ {{port}}\n');
    const server = 'redis-server --port {port} --save "" --appendonly no';
    const run = await protodoc(['--server', server, 'port.txt']);
    expect(run.err).toBe('');
    expect(run.exit).toBe(0);
    const both = await protodoc(['--server', server, '--var', 'port=1', 'port.txt']);
    expect(both.err).toBe(
      "error: --var port: 'port' is the port --server picks; give the variable another name\n",
    );
    expect(both.exit).toBe(2);
  });
});

describe('secrets through the binary', () => {
  it('hide a captured secret in -v, from the line it was captured from on', async () => {
    // ACL GENPASS: a random password only the server knows, as a session token would be.
    writeFileSync(
      join(dir, 'session.txt'),
      '>>> ACL GENPASS 64\n$16\n>>>$ {{session=...}}\n>>>(vars) ECHO again-{{session}}\n$99\n>>>$ again-{{session}}\n',
    );
    const run = await protodoc(['-v', '--secret', 'session', '--connect', redis.target, 'session.txt']);
    expect(run.exit).toBe(1);
    expect(run.err).toMatch(/< +[\d.]+ms main: \{\{session\}\}\n/);
    expect(run.err).toMatch(/> +[\d.]+ms main: ECHO again-\{\{session\}\}\n/);
    expect(run.out).toContain('-$99\n+$22\n >>>$ again-{{session}}\n');
    expect(run.out).toContain('{{session}} is secret (captured at line 3)\n');
    // The value itself is nowhere (redis-cli would print it; protodoc never does).
    const value = /[0-9a-f]{16}/;
    expect(run.out).not.toMatch(value);
    expect(run.err).not.toMatch(value);
  });

  it('hide a secret written into a >>>~ line, as written or regex-escaped, in every report', async () => {
    writeFileSync(join(dir, 'regex.txt'), '>>> ECHO hello\n$5\n>>>~ s3cr3t\\.x-\\d+|s3cr3t.x\n');
    const secret = ['--secret', 'token=s3cr3t.x', '--connect', redis.target];
    const pretty = await protodoc([...secret, 'regex.txt']);
    expect(pretty.out).toContain('->>>~ \\{\\{token\\}\\}-\\d+|\\{\\{token\\}\\}\n+hello\n');
    expect(pretty.exit).toBe(1);
    const json = await protodoc([...secret, '--reporter', 'json', 'regex.txt']);
    expect(json.out).toContain('"source": ">>>~ \\\\{\\\\{token\\\\}\\\\}-\\\\d+|\\\\{\\\\{token\\\\}\\\\}"');
    for (const run of [pretty, json]) expect(run.out + run.err).not.toContain('s3cr3t');
  });

  it('hide a secret the config file names, with its value from the environment, in -v too', async () => {
    // Not the default file name: the other tests in this directory run without a config.
    writeFileSync(join(dir, 'secret.config.yaml'), 'secrets: [pw]\n');
    writeFileSync(join(dir, 'config-secret.txt'), '>>>(vars) ECHO {{pw}}\n$3\nnope\n');
    const run = await protodoc(
      ['-v', '--config', 'secret.config.yaml', '--connect', redis.target, 'config-secret.txt'],
      { PROTODOC_VAR_pw: 'cfg-s3cr3t' },
    );
    expect(run.exit).toBe(1);
    expect(run.err).toMatch(/> +[\d.]+ms main: ECHO \{\{pw\}\}\n/);
    expect(run.err).toMatch(/< +[\d.]+ms main: \{\{pw\}\}\n/);
    expect(run.out + run.err).not.toContain('cfg-s3cr3t');
  });

  it('hide a captured secret in -v that came in the chunk of an earlier step (pipelined)', async () => {
    // Both commands in one block: redis answers both in one chunk, whose second reply the next step captures.
    writeFileSync(
      join(dir, 'pipelined.txt'),
      '>>> ECHO first\n>>> ACL GENPASS 64\n$5\nfirst\n>>>@main\n$16\n>>>$ {{session=...}}\n' +
        '>>>(vars) ECHO again-{{session}}\n$22\n>>>$ again-{{session}}\n',
    );
    const run = await protodoc(['-v', '--secret', 'session', '--connect', redis.target, 'pipelined.txt']);
    expect(run.out).toMatch(/^PASS pipelined\.txt \(3 steps, /);
    expect(run.err).toMatch(/< +[\d.]+ms main: first\n/);
    expect(run.err).toMatch(
      /< +[\d.]+ms main: \{\{session\}\}\n(.*\n)*< +[\d.]+ms main: again-\{\{session\}\}\n/,
    );
    expect(run.err).not.toMatch(/[0-9a-f]{16}/);
    expect(run.exit).toBe(0);
  });
});
