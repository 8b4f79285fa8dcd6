/**
 * `premerge-bot serve`'s settings and refusals: each missing or bad setting is one line naming it and exit 2;
 * credentials GitHub refuses, a port in use and tests that could not be kept away from the bot are exit 4; a
 * SIGTERM stops it cleanly (exit 0).
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-in-process.js';
import { BIN } from '../helpers/git-fixture.js';
import { type AppWorld, appWorld, startServe } from '../helpers/github-app.js';

let w: AppWorld;
afterEach(async () => {
  await w?.close();
});

function binary(args: string[], env: NodeJS.ProcessEnv, cwd: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [BIN, ...args], { env, cwd }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    ),
  );
}

const serveArgs = (w: AppWorld, ...more: string[]) => [
  'serve',
  '--host',
  '127.0.0.1',
  '--port',
  '0',
  '--state-dir',
  w.stateDir,
  ...more,
];

describe('serve: settings', () => {
  it('each missing or bad setting is one line naming it, exit 2', async () => {
    w = await appWorld();
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ WEBHOOK_SECRET: undefined }, /^error: WEBHOOK_SECRET is not set: serve does not start without it/],
      [{ WEBHOOK_SECRET: '' }, /^error: WEBHOOK_SECRET is not set/],
      [{ APP_ID: undefined }, /^error: APP_ID is not set/],
      [{ PRIVATE_KEY_PATH: undefined }, /^error: neither PRIVATE_KEY nor PRIVATE_KEY_PATH is set/],
      [{ PRIVATE_KEY: 'x' }, /^error: both PRIVATE_KEY and PRIVATE_KEY_PATH are set: keep one$/],
      [
        { PRIVATE_KEY_PATH: join(w.box.dir, 'nope.pem') },
        /^error: PRIVATE_KEY_PATH .*nope\.pem: cannot read it \(ENOENT\)$/,
      ],
      [
        { PRIVATE_KEY_PATH: undefined, PRIVATE_KEY: 'not a key' },
        /^error: PRIVATE_KEY: not a PEM private key/,
      ],
      [
        { GITHUB_API_URL: 'ftp://example.com' },
        /^error: GITHUB_API_URL 'ftp:\/\/example.com' is not an http\(s\) URL$/,
      ],
      [{ PORT: 'eighty' }, /^error: PORT 'eighty' is not a port number \(0-65535\)$/],
    ];
    for (const [change, expected] of cases) {
      const env = { ...w.serveEnv, ...change };
      for (const [k, v] of Object.entries(change)) if (v === undefined) delete env[k];
      const r = await runCli(['serve', '--state-dir', w.stateDir], { env, cwd: w.box.dir });
      expect({ code: r.code, stderr: r.stderr.trim() }).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(expected),
      });
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('a private key in PRIVATE_KEY with \\n escapes (a one-line .env) works', async () => {
    w = await appWorld();
    const inline = w.app.privateKey.trim().replaceAll('\n', '\\n');
    const env = { ...w.serveEnv, PRIVATE_KEY: inline, PRIVATE_KEY_PATH: undefined };
    delete env['PRIVATE_KEY_PATH'];
    const serve = await startServe([...serveArgs(w), '--allow-same-user'], env, w.box.dir);
    expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/github\/webhooks$/);
    const stopped = await serve.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    expect(serve.events.at(-1)).toMatchObject({ type: 'stopped' });
  });
});

describe('serve: refusals to start', () => {
  it('credentials GitHub refuses: exit 4 with its words', async () => {
    w = await appWorld();
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs1',
      format: 'pem',
    });
    const keyPath = join(w.box.dir, 'other.pem');
    writeFileSync(keyPath, other);
    const r = await runCli([...serveArgs(w), '--allow-same-user'], {
      env: { ...w.serveEnv, PRIVATE_KEY_PATH: keyPath },
      cwd: w.box.dir,
    });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(
      /^error: GET http:\/\/127\.0\.0\.1:\d+\/api\/v3\/app \(authenticating as App \d+\) failed \(401\)/,
    );
  });

  it("tests that would run as the bot's own user: exit 4 (every other serve test passes --allow-same-user)", async () => {
    w = await appWorld();
    // The real binary: the engine reads PREMERGE_SANDBOX from its process's environment.
    const r = await binary(serveArgs(w), { ...w.serveEnv, PREMERGE_SANDBOX: 'off' }, w.box.dir);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(
      /^error: refusing to serve: tests would run as the bot's own user, .*--allow-same-user/,
    );
  });

  it('a port in use: exit 4, naming it', async () => {
    w = await appWorld();
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    const port = (taken.address() as { port: number }).port;
    try {
      const args = [
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--state-dir',
        w.stateDir,
        '--allow-same-user',
      ];
      const r = await runCli(args, { env: w.serveEnv, cwd: w.box.dir });
      expect(r.code).toBe(4);
      expect(r.stderr).toBe(
        `error: cannot listen on 127.0.0.1 port ${port}: it is in use (--port, or PORT)\n`,
      );
    } finally {
      taken.close();
    }
  });
});
