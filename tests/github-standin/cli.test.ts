/**
 * The stand-in's CLI: in process for its flags and errors, and as the real program a developer runs from the
 * README: its output (compared with the README's sample), the App key and environment it prints working with
 * Octokit, the clone URL working with git, a push reaching the webhook URL, and Ctrl-C stopping it cleanly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { afterEach, describe, expect, it } from 'vitest';
import { type Sandbox, sandbox } from '../../packages/premerge-bot/test/helpers/git-fixture.js';
import { EXIT, main } from './cli.mjs';
import { type Receiver, webhookReceiver } from './helpers.js';

const CLI = join(import.meta.dirname, 'cli.mjs');
const README = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');

/** Runs the CLI in process until it returns (or `stop` aborts it). */
async function inProcess(argv: string[], stop = new AbortController()) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t: string) => {
      stdout += t;
    },
    stderr: (t: string) => {
      stderr += t;
    },
    signal: stop.signal,
  });
  return { code, stdout, stderr };
}

let box: Sandbox | undefined;
let receiver: Receiver | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
  await receiver?.close();
  receiver = undefined;
  box?.cleanup();
  box = undefined;
});

describe('github-standin CLI, in process', () => {
  it('refuses a bad flag value with a usage error (exit 2)', async () => {
    const result = await inProcess(['--port', 'eighty']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr.split('\n')[0]).toBe(
      "error: option '-p, --port <n>' argument 'eighty' is invalid. expected a port number (0-65535)",
    );
    expect((await inProcess(['--webhook-url', 'ftp://x'])).code).toBe(EXIT.usage);
  });

  it('refuses a --state directory that is not empty (exit 2), and a port in use (exit 4)', async () => {
    box = sandbox('github-standin-cli-');
    const state = join(box.dir, 'state');
    mkdirSync(state);
    writeFileSync(join(state, 'left-over'), '');
    const full = await inProcess(['--state', state]);
    expect(full).toMatchObject({ code: EXIT.usage, stdout: '' });
    expect(full.stderr).toBe(
      `error: --state ${state}: the directory is not empty (the stand-in starts afresh)\n`,
    );
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const busy = await inProcess(['--port', String(port)]);
    taken.close();
    expect(busy).toMatchObject({
      code: EXIT.unavailable,
      stderr: `error: cannot listen on port ${port}: it is in use\n`,
    });
  });
});

/** The lines between `<!-- NAME:start -->` and `<!-- NAME:end -->` in the README, without the fence. */
function readmeSection(name: string): string {
  const match = new RegExp(
    `<!-- ${name}:start -->\\n\`\`\`[a-z]*\\n([^]*?)\`\`\`\\n<!-- ${name}:end -->`,
  ).exec(README);
  if (!match) throw new Error(`README.md has no ${name} section`);
  return match[1]!;
}

/** Output with what changes from run to run replaced by names. */
function normalize(text: string): string {
  return text
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
    .replace(/serve --port \d+/g, 'serve --port PORT')
    .replace(/\/[^\s']*\/github-standin-[A-Za-z0-9]+/g, 'STATE')
    .replace(/WEBHOOK_SECRET=[0-9a-f]{40}/g, 'WEBHOOK_SECRET=SECRET')
    .replace(/ghp_[A-Za-z0-9]{36}/g, 'ghp_TOKEN');
}

describe('github-standin CLI, the real program', () => {
  it('prints what the README shows, and everything it prints works', async () => {
    box = sandbox('github-standin-cli-');
    receiver = await webhookReceiver('not yet known');
    const proc = spawn(process.execPath, [CLI, '--webhook-url', receiver.url], {
      env: box.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let out = '';
    let err = '';
    const waiters: (() => void)[] = [];
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      for (const w of [...waiters]) w();
    });
    proc.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    /** Resolves once stdout matches; rejects if the CLI exits first. */
    const waitForOutput = (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pattern.test(out)) return;
          waiters.splice(waiters.indexOf(check), 1);
          resolve();
        };
        waiters.push(check);
        exited.then(() => reject(new Error(`the CLI exited; stdout:\n${out}\nstderr:\n${err}`)));
        check();
      });
    await waitForOutput(/Ctrl-C stops the stand-in\.\n/);
    const setup = out;
    expect(normalize(setup)).toBe(normalize(readmeSection('cli-output')));

    // The printed environment authenticates as the App, as premerge-bot serve will.
    const env = Object.fromEntries([...setup.matchAll(/\b([A-Z_]+)=(\S+)/g)].map((m) => [m[1], m[2]]));
    const keyPath = env.PRIVATE_KEY_PATH!;
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const octokit = new Octokit({
      baseUrl: env.GITHUB_API_URL,
      authStrategy: createAppAuth,
      auth: { appId: Number(env.APP_ID), privateKey: readFileSync(keyPath, 'utf8') },
    });
    expect((await octokit.apps.getAuthenticated()).data?.slug).toBe('premerge-bot');

    // The printed clone URL clones (with the config the README promises) and pushes; the push reaches the webhook.
    receiver.secret = env.WEBHOOK_SECRET!;
    const cloneUrl = /git clone (\S+)/.exec(setup)![1]!;
    const work = join(box.dir, 'project');
    await box.git(box.dir, 'clone', '--quiet', cloneUrl, work);
    expect(readFileSync(join(work, '.github/premerge.yml'), 'utf8')).toContain('test: ./check.sh');
    expect(statSync(join(work, 'check.sh')).mode & 0o111).not.toBe(0);
    await box.git(work, 'commit', '--quiet', '--allow-empty', '-m', 'try the bot');
    const sha = await box.git(work, 'rev-parse', 'HEAD');
    await box.git(work, 'push', '--quiet', 'origin', 'HEAD:refs/heads/pu');
    const hook = await receiver.next((h) => h.headers['x-github-event'] === 'push');
    expect(hook).toMatchObject({
      verified: true,
      payload: { ref: 'refs/heads/pu', after: sha, sender: { login: 'dev' } },
    });
    // The delivery is sent while git-receive-pack's response is still streaming, so its line can come first.
    await waitForOutput(/^webhook push [0-9a-f-]{36} -> \S+: 202$/m);
    await waitForOutput(/^POST \/dev\/project\.git\/git-receive-pack 200 \(dev\)$/m);
    expect(out).toMatch(/^GET \/api\/v3\/app 200$/m);

    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(keyPath)).toBe(false);
    expect(err).toBe('');
  }, 120_000);
});
