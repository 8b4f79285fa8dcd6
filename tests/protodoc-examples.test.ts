/**
 * The example commands in examples/protodoc/README.md work when pasted: each `npx protodoc check`
 * line there is run as written (through /bin/sh, from the repository root) and must pass. A line that
 * rewrites its file (`--update`, `-i`) runs on a copy of it, answering `a` (all) to `-i`, with a settle
 * time of a second (a `>>>?` reply ends after that much quiet: far longer than a busy machine's
 * stalls); it must print UPDATED, and the copy must then pass the same command without the flag.
 *
 * An `npx protodoc record` line runs as written but on a free port and with its output in a temp
 * directory; once it says it listens, the README's client lines that use its port (`redis-cli -p
 * PORT ...`, a WebSocket client of `ws://127.0.0.1:PORT/...`) run against it, then a SIGINT stops it, and the `npx protodoc check` line of its output
 * file must pass on what it wrote.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { binEnv, buildCli, ROOT } from '../packages/protodoc/test/build-cli.js';

const README = join(ROOT, 'examples/protodoc/README.md');
const lines = readFileSync(README, 'utf8').split('\n');
const records = lines.filter((line) => line.startsWith('npx protodoc record '));
/** The file each record line writes: its check line runs after it, not on its own. */
const recorded = records.map((line) => /--output (\S+)/.exec(line)?.[1] ?? '');
const commands = lines.filter(
  (line) => line.startsWith('npx protodoc check ') && !recorded.includes(line.split(' ').at(-1)!),
);

beforeAll(() => buildCli());

describe('examples/protodoc/README.md', () => {
  it('lists a command for every example transcript', () => {
    expect(commands.length).toBeGreaterThanOrEqual(8);
  });

  // `npx protodoc` resolves to this binary after `npm ci`; call it directly to skip npx's start-up.
  const direct = (command: string): string =>
    command.replace(/^npx protodoc /, `"${process.execPath}" packages/protodoc/bin/protodoc.js `);

  /** Runs a README line through /bin/sh from the root, with `input` on stdin. */
  const sh = (command: string, input = ''): Promise<{ code: number; out: string; err: string }> => {
    const script = direct(command);
    return new Promise((resolve) => {
      const child = execFile(
        '/bin/sh',
        ['-c', script],
        { cwd: ROOT, env: binEnv(), encoding: 'utf8' },
        (error, out, err) => resolve({ code: error ? Number(error.code) : 0, out, err }),
      );
      // A command that does not read its stdin (redis-cli with its arguments) may exit before the
      // write lands (EPIPE): its exit code and output say how it went.
      child.stdin?.on('error', () => {});
      child.stdin?.end(input);
    });
  };

  it('shows a record line, and a check line for what it writes', () => {
    expect(records.length).toBeGreaterThanOrEqual(1);
    for (const file of recorded) {
      expect(lines.some((line) => line.startsWith('npx protodoc check ') && line.endsWith(` ${file}`))).toBe(
        true,
      );
    }
  });

  for (const [i, command] of records.entries()) {
    const output = recorded[i]!;
    const port = /--listen (?:\S+:)?(\d+)/.exec(command)![1]!;
    // The client lines that talk to the proxy: they name its port.
    const clients = lines.filter(
      (line) =>
        !line.startsWith('npx ') && (line.includes(` -p ${port} `) || line.includes(`://127.0.0.1:${port}/`)),
    );
    const check = lines.find(
      (line) => line.startsWith('npx protodoc check ') && line.endsWith(` ${output}`),
    )!;
    it(`${output} (record)`, async () => {
      expect(clients.length).toBeGreaterThan(0);
      const dir = mkdtempSync(join(tmpdir(), 'protodoc-example-'));
      try {
        const file = join(dir, 'recorded.txt');
        // A free port instead of the README's, which something else may hold on a shared machine.
        const script = direct(command).replace(`--listen ${port}`, '--listen 0').replace(output, file);
        const recorder = spawn('/bin/sh', ['-c', `exec ${script}`], { cwd: ROOT, env: binEnv() });
        let out = '';
        let err = '';
        recorder.stderr.on('data', (chunk: Buffer) => {
          err += chunk;
        });
        const exited = new Promise<number | null>((resolve) => recorder.on('close', resolve));
        const listening = await new Promise<string>((resolve, reject) => {
          recorder.stdout.on('data', (chunk: Buffer) => {
            out += chunk;
            const m = /^listening on 127\.0\.0\.1:(\d+), /m.exec(out);
            if (m) resolve(m[1]!);
          });
          void exited.then((code) =>
            reject(new Error(`record exited (${code}) before listening: ${out}${err}`)),
          );
        });
        for (const line of clients) {
          const result = await sh(
            line
              .replace(` -p ${port} `, ` -p ${listening} `)
              .replace(`://127.0.0.1:${port}/`, `://127.0.0.1:${listening}/`),
          );
          expect(result.code, line).toBe(0);
        }
        recorder.kill('SIGINT');
        expect(await exited).toBe(0);
        expect(err).toBe('');
        expect(out).toMatch(
          new RegExp(`\nwrote ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\d+ steps? on `),
        );
        const again = await sh(check.replace(output, file));
        expect(again.out).toMatch(/^PASS /);
        expect(again.code).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  for (const command of commands) {
    const file = command.split(' ').at(-1)!;
    const verbose = / (-v|--verbose) /.test(command);
    const rewrites = / (--update|-i|--interactive) /.exec(command)?.[1];
    it(rewrites ? `${file} (${rewrites})` : verbose ? `${file} (-v)` : file, async () => {
      if (rewrites !== undefined) {
        const dir = mkdtempSync(join(tmpdir(), 'protodoc-example-'));
        try {
          const copy = join(dir, 'copy.txt');
          copyFileSync(join(ROOT, file), copy);
          const onCopy = command.slice(0, -file.length) + copy;
          const result = await sh(onCopy.replace(` ${rewrites} `, ` ${rewrites} --settle 1s `), 'a\n');
          expect(result.err).toBe('');
          expect(result.out).toMatch(/^(\n.*\n)?UPDATED |\nUPDATED /);
          expect(result.out).toMatch(/\nupdated [1-9]\d* steps? in 1 file\n$/);
          expect(result.code).toBe(0);
          const again = await sh(onCopy.replace(` ${rewrites} `, ' '));
          expect(again.out).toMatch(/^PASS /);
          expect(again.code).toBe(0);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        return;
      }
      const result = await sh(command);
      // A -v line prints the conversation on stderr; every other line prints nothing there.
      if (verbose) expect(result.err).toMatch(/^\* .*\n(.*\n)*> +\d+\.\dms \S+: /);
      else expect(result.err).toBe('');
      expect(result.out).toMatch(/^PASS /);
      expect(result.out).not.toMatch(/^(FAIL|ERROR) /m);
      expect(result.code).toBe(0);
    });
  }
});
