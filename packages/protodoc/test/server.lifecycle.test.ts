import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProtodocError } from '../src/errors.js';
import { freePort } from '../src/free-port.js';
import { groupAlive, type RunningServer, startServer } from '../src/server.js';

/** Sends one line and resolves with the first reply bytes (or the connect error code). */
function ask(port: number, line: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(`error:${err.code}`));
    socket.once('connect', () => socket.write(`${line}\r\n`));
    socket.once('data', (chunk) => {
      resolve(chunk.toString());
      socket.destroy();
    });
  });
}

async function startError(promise: Promise<unknown>): Promise<ProtodocError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ProtodocError) return err;
    throw err;
  }
  throw new Error('expected the server start to fail');
}

const started: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.stop()));
});

describe('startServer', () => {
  it('fills {port} with a free port, waits until it accepts, and stops the whole group', async () => {
    const server = await startServer({
      command: 'sleep 1000 & exec redis-server --port {port} --bind 127.0.0.1 --save "" --appendonly no',
      handleSignals: false,
    });
    started.push(server);
    expect(server.port).toBeGreaterThan(0);
    expect(server.target).toBe(`127.0.0.1:${server.port}`);
    expect(server.command).toContain(`--port ${server.port} `);
    expect(await ask(server.port!, 'PING')).toBe('+PONG\r\n');
    expect(groupAlive(server.pid)).toBe(true);
    await server.stop();
    // Both redis and the background sleep belonged to the group.
    expect(groupAlive(server.pid)).toBe(false);
    expect(await ask(server.port!, 'PING')).toBe('error:ECONNREFUSED');
    await server.stop(); // idempotent
  });

  it('replaces {port} in the target too', async () => {
    const server = await startServer({
      command: 'exec redis-server --port {port} --bind 127.0.0.1 --save ""',
      target: 'localhost:{port}',
      handleSignals: false,
    });
    started.push(server);
    expect(server.target).toBe(`localhost:${server.port}`);
  });

  it('reports a server that exits early, with its last output lines', async () => {
    const lines = Array.from({ length: 15 }, (_, i) => `echo line${i + 1}`).join('; ');
    const err = await startError(
      startServer({
        command: `${lines}; echo oops >&2; exit 3`,
        target: '127.0.0.1:{port}',
        handleSignals: false,
      }),
    );
    expect(err.code).toBe('PROTODOC_ERR_SERVER');
    expect(err.message).toContain('exited with code 3');
    expect(err.message).toContain('oops');
    expect(err.message).toContain('line15');
    // Only the last lines, not everything.
    expect(err.message).not.toContain('line5\n');
  });

  it('tells a server that daemonized itself to stay in the foreground', async () => {
    // Like a daemon: the foreground process exits 0 and leaves a child behind (stopped with the group).
    const err = await startError(startServer({ command: 'sleep 1000 & : {port}', handleSignals: false }));
    expect(err.code).toBe('PROTODOC_ERR_SERVER');
    expect(err.message).toContain('exited with code 0');
    expect(err.message).toContain('foreground');
  });

  it('reports a server that never listens, and kills it', async () => {
    const err = await startError(
      startServer({
        command: 'echo started; exec sleep 1000',
        target: '127.0.0.1:{port}',
        startTimeoutMs: 300,
        handleSignals: false,
      }),
    );
    expect(err.code).toBe('PROTODOC_ERR_SERVER');
    expect(err.message).toContain('did not accept connections');
    expect(err.message).toContain('started');
  });

  it('reports a command that cannot run', async () => {
    const err = await startError(
      startServer({ command: 'exec /nonexistent/server-binary {port}', handleSignals: false }),
    );
    expect(err.code).toBe('PROTODOC_ERR_SERVER');
    expect(err.message).toMatch(/exited with code 127/);
    expect(err.message).toMatch(/not found|No such file/);
  });

  it('kills a group that ignores SIGTERM with SIGKILL after the grace', async () => {
    const server = await startServer({
      command:
        'exec python3 -c "import signal,socket,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); ' +
        "s=socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); print('ready', flush=True); time.sleep(1000)\"",
      graceMs: 200,
      handleSignals: false,
    });
    started.push(server);
    await server.stop();
    expect(groupAlive(server.pid)).toBe(false);
  });

  it('waits for a member of the group that closed its output pipes and exits late', async () => {
    // The subshell holds neither pipe, so their closing (the server gone) does not tell it has gone too.
    const server = await startServer({
      command:
        "(trap 'sleep 0.3; exit 0' TERM; while :; do sleep 0.05; done) </dev/null >/dev/null 2>&1 & " +
        'exec redis-server --port {port} --bind 127.0.0.1 --save "" --appendonly no',
      handleSignals: false,
    });
    started.push(server);
    await server.stop();
    expect(groupAlive(server.pid)).toBe(false);
  });

  it('does not wait for a process that left the group, though it holds the output pipes', async () => {
    // setsid: a session and group of its own, so it is no longer the server's to stop. Were the pipes'
    // closing awaited, stop() would wait for the whole (minute-long) grace.
    const server = await startServer({
      command:
        'setsid sleep 1000 & echo "left $!"; exec redis-server --port {port} --bind 127.0.0.1 --save ""',
      graceMs: 60_000,
      handleSignals: false,
    });
    started.push(server);
    const left = Number(/left (\d+)/.exec(server.output())?.[1]);
    expect(left).toBeGreaterThan(0);
    try {
      await server.stop();
      expect(groupAlive(server.pid)).toBe(false);
      expect(await ask(server.port!, 'PING')).toBe('error:ECONNREFUSED');
      process.kill(left, 0); // still runs: throws ESRCH if not
    } finally {
      process.kill(left, 'SIGKILL');
    }
  });

  it('stops the server when the process gets SIGINT', async () => {
    // Another listener stands in for the CLI, so the test process itself is not killed.
    const keepAlive = (): void => {};
    process.on('SIGINT', keepAlive);
    try {
      const server = await startServer({
        command: 'exec redis-server --port {port} --bind 127.0.0.1 --save ""',
      });
      started.push(server);
      expect(groupAlive(server.pid)).toBe(true);
      process.emit('SIGINT', 'SIGINT');
      await server.stop(); // the same stop the signal started
      expect(groupAlive(server.pid)).toBe(false);
      expect(process.listeners('SIGINT')).toEqual([keepAlive]);
    } finally {
      process.off('SIGINT', keepAlive);
    }
  });

  it('needs a target or {port} to know what to wait for', async () => {
    const err = await startError(startServer({ command: 'redis-server', handleSignals: false }));
    expect(err.code).toBe('PROTODOC_ERR_USAGE');
  });

  it('keeps the last output lines available while running', async () => {
    const server = await startServer({
      command: 'echo hello from the server; exec redis-server --port {port} --bind 127.0.0.1 --save ""',
      handleSignals: false,
    });
    started.push(server);
    expect(server.output()).toContain('hello from the server');
  });
});

describe('freePort', () => {
  it('returns a loopback port that is free to listen on', async () => {
    const first = await freePort();
    expect(first).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(first, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });
});
