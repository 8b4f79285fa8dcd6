import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pokeWatch, socketPath, type WatchEvent, watch } from '../src/watch.js';
import {
  BIN,
  bareSandbox,
  eventually,
  processesMentioning,
  project,
  type Sandbox,
  writableShared,
} from './helpers/git-fixture.js';

let box: Sandbox;
let bare: string;
let state: string;

beforeEach(async () => {
  ({ box, bare, state } = await bareSandbox('state'));
});
afterEach(() => box.cleanup());

const runsEnded = (events: WatchEvent[]) =>
  events.filter((e) => e.type === 'run-finished' || e.type === 'run-failed').length;

describe('watch', () => {
  it('runs at once when poked for its repository, ignores pokes for others, stops on abort', async () => {
    const events: WatchEvent[] = [];
    const stop = new AbortController();
    const done = watch({
      repos: [{ repo: bare }],
      stateDir: state,
      intervalMs: 3_600_000,
      signal: stop.signal,
      onEvent: (e) => events.push(e),
    });
    await eventually(() => (runsEnded(events) === 1 ? true : undefined), 'the first run');

    expect(await pokeWatch(state, join(box.dir, 'elsewhere.git'))).toBe(false);
    expect(await pokeWatch(state, bare)).toBe(true);
    await eventually(() => (runsEnded(events) === 2 ? true : undefined), 'the run the poke asked for');
    expect(events.filter((e) => e.type === 'poked')).toEqual([{ type: 'poked', repo: bare }]);

    stop.abort();
    await done;
    expect(events.at(-1)).toEqual({ type: 'stopped' });
    expect(existsSync(socketPath(state))).toBe(false);
    expect(await pokeWatch(state, bare)).toBe(false);
  });

  it('a state dir too long for a Unix socket is a clear error', async () => {
    const stop = new AbortController();
    await expect(
      watch({
        repos: [{ repo: bare }],
        stateDir: join(state, 'x'.repeat(120)),
        intervalMs: 1000,
        signal: stop.signal,
      }),
    ).rejects.toMatchObject({ code: 'PREMERGE_STATE' });
  });

  it('refuses to start a second watch on the same state dir', async () => {
    const stop = new AbortController();
    const first = watch({
      repos: [{ repo: bare }],
      stateDir: state,
      intervalMs: 3_600_000,
      signal: stop.signal,
    });
    await eventually(() => (existsSync(socketPath(state)) ? true : undefined), 'the first watch to listen');
    await expect(
      watch({ repos: [{ repo: bare }], stateDir: state, intervalMs: 3_600_000, signal: stop.signal }),
    ).rejects.toMatchObject({ code: 'PREMERGE_WATCH_RUNNING' });
    stop.abort();
    await first;
  });

  it('as the real binary: JSON lines when not on a TTY, a poke is logged, SIGTERM stops it with exit 0', async () => {
    expect(existsSync(join(BIN, '../../dist/cli.js')), 'run npx tsc -b first').toBe(true);
    const child = spawn(
      process.execPath,
      [BIN, 'watch', '--repo', bare, '--state-dir', state, '--interval', '1h'],
      { env: box.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines: Array<Record<string, unknown>> = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line)));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));

    await eventually(() => (lines.some((l) => l['type'] === 'listening') ? true : undefined), 'listening');
    expect(await pokeWatch(state, bare)).toBe(true);
    await eventually(
      () => (lines.some((l) => l['type'] === 'poked') ? true : undefined),
      'the poke in the log',
    );
    for (const line of lines) expect(typeof line['time']).toBe('string');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines.at(-1)?.['type']).toBe('stopped');
    expect(existsSync(socketPath(state))).toBe(false);
  });

  it('SIGTERM during a test run kills the test, records no verdict and exits 0; the next run tests it again', async () => {
    const running = join(box.shared, 'running');
    const gate = join(box.shared, 'gate');
    const p = await project(
      box,
      `test: test -e '${gate}' || { touch '${running}'; sleep 300.0901; }\ntimeout: 10m\n${writableShared(box.shared)}`,
    );
    const sha = await p.commit('feature.txt', 'x\n');
    await box.git(p.clone, 'push', '-q', 'origin', 'HEAD:pu');
    const child = spawn(process.execPath, [BIN, 'watch', '--repo', p.bare, '--state-dir', p.state], {
      env: box.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Array<Record<string, unknown>> = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line)));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));

    await eventually(() => existsSync(running) || undefined, 'the test to start');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(processesMentioning('300.0901')).toEqual([]);
    expect(lines.some((l) => l['type'] === 'verdict')).toBe(false);
    expect(lines.at(-1)?.['type']).toBe('stopped');
    expect(await box.git(p.bare, 'rev-parse', 'refs/heads/pu')).toBe(sha);
    expect(await box.git(p.bare, 'rev-parse', 'master')).not.toBe(sha);

    // The cut-off run was not a verdict: the next run tests the commit again (and now it passes).
    writeFileSync(gate, '');
    const again = spawnSync(process.execPath, [BIN, 'once', '--repo', p.bare, '--state-dir', p.state], {
      env: box.env,
      encoding: 'utf8',
    });
    expect(again.status).toBe(0);
    expect(await box.git(p.bare, 'rev-parse', 'master')).toBe(sha);
  });

  it('on a terminal shows human progress lines instead of JSON', async () => {
    // `script` gives the watch a pseudo-terminal; `exec` makes node the direct child, to stop it by pid.
    const command = `exec '${process.execPath}' '${BIN}' watch --repo '${bare}' --state-dir '${state}' --interval 1h`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: box.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      screen += chunk.toString('utf8');
    });
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    await eventually(() => (screen.includes('(hooks poke ') ? true : undefined), 'the watching line');
    expect(await pokeWatch(state, bare)).toBe(true);
    await eventually(() => (screen.includes(`${bare}: poked by a push`) ? true : undefined), 'the poke line');
    expect(screen).toMatch(/^\d\d:\d\d:\d\d watching /m);
    expect(screen).not.toMatch(/^\{/m);

    const node = Number(
      readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0],
    );
    process.kill(node, 'SIGTERM');
    await exited;
    expect(screen).toMatch(/\d\d:\d\d:\d\d stopped/);
  });
});
