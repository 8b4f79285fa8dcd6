/** Processes the record tests start (the recorder, clients), with their output, and stopped after a failing test. */
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN, type Outcome } from '../build-cli.js';

/** Every process a test started; one that a failing test left running is stopped after it. */
const running = new Set<ChildProcess>();

/** Stops what a failing test left running: `afterEach(stopLeftRunning)`. */
export async function stopLeftRunning(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('close', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}

/** A process the test started, with its output so far and a way to wait for some of it. */
export interface Started {
  child: ChildProcess;
  out(): string;
  err(): string;
  /** Resolves with the match once stdout holds it; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  exited: Promise<Outcome>;
}

export function start(file: string, args: readonly string[], cwd: string): Started {
  const child = spawn(file, args, { cwd, env: { ...process.env, NO_COLOR: '1' } });
  running.add(child);
  child.on('close', () => running.delete(child));
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    for (const waiter of [...waiters]) {
      const m = waiter.pattern.exec(out);
      if (m !== null) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(m);
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const exited = new Promise<Outcome>((resolve) => {
    child.on('close', (code, signal) => resolve({ out, err, exit: signal !== null ? -1 : (code ?? -1) }));
  });
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const m = pattern.exec(out);
        if (m !== null) {
          resolve(m);
          return;
        }
        waiters.push({ pattern, resolve });
        void exited.then(({ exit }) =>
          reject(new Error(`${file} exited (${exit}) before printing ${pattern}:\n${out}${err}`)),
        );
      }),
  };
}

/** `protodoc record --listen 0 ARGS`, once it listens: its port, and a way to stop it with a signal. */
export async function recording(
  args: readonly string[],
  cwd: string,
): Promise<{
  port: number;
  stop(signal?: NodeJS.Signals): Promise<Outcome>;
}> {
  const recorder = start(process.execPath, [BIN, 'record', '--listen', '0', ...args], cwd);
  const [, port] = await recorder.waitFor(/^listening on 127\.0\.0\.1:(\d+), forwarding to \S+; /m);
  return {
    port: Number(port),
    stop: (signal = 'SIGINT') => {
      recorder.child.kill(signal);
      return recorder.exited;
    },
  };
}
