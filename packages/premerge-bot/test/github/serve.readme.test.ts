/**
 * The README's GitHub App quick start, pasted as a user would: the stand-in's CLI (terminal 1), the `serve`
 * command it prints (terminal 2, exactly as printed), and the developer's lines (terminal 3, with the clone URL it
 * prints). The only change: the stand-in is told a free port for the bot instead of 3000, which may be taken here.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Sandbox, sandbox } from '../helpers/git-fixture.js';

const ROOT = resolve(import.meta.dirname, '../../../..');
const README = readFileSync(join(ROOT, 'packages/premerge-bot/README.md'), 'utf8');

/** The quick start's code blocks, each as its lines (comments kept: they are what the user pastes). */
function quickstartBlocks(): string[][] {
  const m = /<!-- github-quickstart:start -->\n([\s\S]*?)<!-- github-quickstart:end -->/.exec(README);
  if (!m) throw new Error('the README has no github-quickstart section');
  return [...m[1]!.matchAll(/```sh\n([\s\S]*?)```/g)].map((b) => b[1]!.trimEnd().split('\n'));
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

interface Running {
  child: ChildProcess;
  output: () => string;
  /** Resolves once the output (so far or later) matches. */
  until: (re: RegExp) => Promise<RegExpExecArray>;
}

function sh(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; output: string }> {
  return new Promise((resolve) =>
    execFile('/bin/sh', ['-ec', script], { cwd: ROOT, env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, output: stdout + stderr }),
    ),
  );
}

const running: ChildProcess[] = [];
let box: Sandbox | undefined;
afterEach(async () => {
  for (const child of running.splice(0).reverse()) {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.on('exit', done));
      // The shell's child (node) gets the signal through its process group.
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    }
  }
  box?.cleanup();
});

describe('README: the GitHub App quick start', () => {
  it('lands the developer’s change through premerge-bot serve on the stand-in, as the README says', async () => {
    box = sandbox('premerge-readme-github-');
    const env = { ...box.env, TMPDIR: box.dir };
    const [standinBlock, serveBlock, devBlock, checkBlock] = quickstartBlocks();
    expect(standinBlock).toHaveLength(1);
    expect(serveBlock![0]).toMatch(
      /^APP_ID=\S+ PRIVATE_KEY_PATH=\S+ WEBHOOK_SECRET=\S+ GITHUB_API_URL=\S+ npx premerge-bot serve --port 3000 /,
    );

    const port = await freePort();
    const standinLine = standinBlock![0]!.replace(/\s+#.*$/, '');
    const standin = spawnGroup(
      `${standinLine} --webhook-url http://127.0.0.1:${port}/api/github/webhooks`,
      env,
    );
    const printed = await standin.until(
      /Start the bot:\n\n {2}(.+)\n[\s\S]*Clone as the developer \w+:\n\n {2}git clone (\S+)\n[\s\S]*\n {2}premerge-bot alias install --github (\S+)\n/,
    );
    const serveLine = printed[1]!;
    expect(serveLine).toMatch(new RegExp(`npx premerge-bot serve --port ${port}$`));
    const serve = spawnGroup(serveLine, env);
    await serve.until(/"type":"reconciled"/);

    const cloneUrl = printed[2]!;
    const script = devBlock!
      .map((line) =>
        line
          .replace(/git clone -q \S+/, `git clone -q ${cloneUrl}`)
          .replace(/alias install --github \S+/, `alias install --github ${printed[3]}`),
      )
      .join('\n');
    // The same terminal afterwards: where the clone is.
    const dev = await sh(`${script}\npwd`, env);
    expect(dev.output).toContain('git pup: pushed topic');
    expect(dev.output).toMatch(
      new RegExp(
        `git pup: on GitHub premerge-bot answers with a check run on the commit: ${printed[3]}/\\w+/\\w+/commit/[0-9a-f]{40}/checks`,
      ),
    );
    expect(dev.code).toBe(0);
    await serve.until(/"type":"verdict","verdict":\{[^}]*"kind":"landed"/);
    const clone = dev.stdout.trimEnd().split('\n').at(-1)!;
    const check = await sh(`cd '${clone}'\n${checkBlock!.join('\n')}`, env);
    expect(check.output).toMatch(/^[0-9a-f]{7,} A change$/m);
  });
});

function spawnGroup(command: string, env: NodeJS.ProcessEnv): Running {
  const child = spawn('/bin/sh', ['-c', command], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.push(child);
  let out = '';
  const waiters: Array<() => void> = [];
  const grow = (c: Buffer) => {
    out += c.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', grow);
  child.stderr!.on('data', grow);
  return {
    child,
    output: () => out,
    until: (re) =>
      new Promise((resolve, reject) => {
        const look = () => {
          const m = re.exec(out);
          if (!m) return;
          waiters.splice(waiters.indexOf(look), 1);
          resolve(m);
        };
        waiters.push(look);
        child.on('exit', (code) => reject(new Error(`${command} exited (${code}) before ${re}:\n${out}`)));
        look();
      }),
  };
}
