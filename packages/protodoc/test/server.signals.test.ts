/**
 * The `--server` group must not outlive protodoc: on SIGINT/SIGTERM it is stopped and the process
 * then dies of the signal as it would have; on a plain exit without stop() it is killed.
 * These run a real child process on the built library (dist/), as the CLI does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { groupAlive } from '../src/server.js';
import { buildCli, ROOT } from './build-cli.js';

const DIST_SERVER = join(ROOT, 'packages/protodoc/dist/server.js');

beforeAll(() => {
  buildCli();
});

const children: ChildProcess[] = [];
const groups: number[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {}
  }
});

/** Starts a child that starts redis through startServer, then runs `then` (JS) once it is up. */
async function childWithServer(
  then: string,
): Promise<{ child: ChildProcess; pgid: number; exited: Promise<unknown> }> {
  const script = `
    import { startServer } from ${JSON.stringify(DIST_SERVER)};
    const server = await startServer({ command: "exec redis-server --port {port} --bind 127.0.0.1 --save ''" });
    console.log(JSON.stringify({ pgid: server.pid }));
    ${then}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', () => reject(new Error(`child exited early: ${out}`)));
  });
  const { pgid } = JSON.parse(line) as { pgid: number };
  groups.push(pgid);
  return { child, pgid, exited };
}

describe('startServer and signals', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    'stops the server on %s, then dies of the signal',
    async (signal) => {
      const { child, pgid, exited } = await childWithServer('setInterval(() => {}, 1000);');
      expect(groupAlive(pgid)).toBe(true);
      child.kill(signal);
      expect(await exited).toEqual({ code: null, signal });
      expect(groupAlive(pgid)).toBe(false);
    },
  );

  it('kills the server when the process exits without stopping it', async () => {
    const { pgid, exited } = await childWithServer('setTimeout(() => process.exit(7), 10);');
    expect(await exited).toEqual({ code: 7, signal: null });
    // SIGKILL from the exit handler is delivered at once, but the kernel may take a moment to reap.
    for (let i = 0; i < 100 && groupAlive(pgid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(groupAlive(pgid)).toBe(false);
  });
});
