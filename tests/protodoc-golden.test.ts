/**
 * protodoc's behaviour, as transcripts with golden output (hurl's integration layout): each case in
 * tests/protodoc/tests_<outcome>/ is a transcript NAME.txt (or .md) with the exact stdout (NAME.out),
 * stderr (NAME.err) and exit code (NAME.exit) of the REAL binary run on it:
 *
 *   node packages/protodoc/bin/protodoc.js check --no-color ARGS tests/protodoc/tests_<outcome>/NAME.txt
 *
 * ARGS come from NAME.args (one argument per line) or default to `--connect 127.0.0.1:@playground@`.
 * `@NAME@` in the arguments stands for a server this test starts (the port of `playground`, `greeter`,
 * `tlsplay` and `redis`; `closed` is a port nothing listens on; `cacert` the test CA's path); the same
 * values in the output are turned back into `@NAME@`. Timings are the only other thing normalised.
 *
 * tests_update/ holds `--update` cases: each NAME.txt (or .md) is copied into a work directory (shown as
 * `@work@`) and run there with its NAME.args; NAME.updated is the file as the run must leave it, and the
 * rewritten file must then pass a plain check with the same arguments.
 *
 * PROTODOC_UPDATE_GOLDEN=1 rewrites the expected files from what the binary does now (review the diff).
 */
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../packages/protodoc/src/free-port.js';
import { buildCli, type Outcome, ROOT, runBin, timeless } from '../packages/protodoc/test/build-cli.js';
import { makeCerts, type TestCerts } from '../packages/protodoc/test/helpers/certs.js';
import { type RedisServer, startRedis } from '../packages/protodoc/test/helpers/servers.js';
import { startPlayground } from './protodoc/playground.mjs';

const CASES = join(ROOT, 'tests/protodoc');
const UPDATE = process.env.PROTODOC_UPDATE_GOLDEN === '1';

/** Each folder's exit code: a case in the wrong folder fails even if its .exit file agrees. */
const FOLDERS: Record<string, number> = {
  tests_ok: 0,
  tests_failed: 1,
  tests_error_usage: 2,
  tests_error_parser: 3,
  tests_error_connect: 4,
  tests_update: 0,
};

const TRANSCRIPT = /\.(txt|md|protodoc)$/;

function casesIn(folder: string): string[] {
  const dir = join(CASES, folder);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => TRANSCRIPT.test(name))
    .sort();
}

function run(args: string[]): Promise<Outcome> {
  // Without a terminal protodoc would not colour anyway; NO_COLOR keeps a developer's FORCE_COLOR out.
  return runBin(args, ROOT, { NO_COLOR: '1' });
}

/**
 * Replaces what differs from run to run: timings by placeholders, then ports and paths by their @NAME@.
 * Timings go first and a port is only replaced as a whole number: a duration such as 4.123450000000002
 * would otherwise lose digits that happen to spell a port, and no longer read as a timing.
 */
function normalise(text: string, values: Map<string, string>): string {
  let out = timeless(text)
    // --reporter json and junit
    .replace(/"durationMs": [\d.e-]+/g, '"durationMs": "TIME"')
    .replace(/ time="[\d.]+"/g, ' time="TIME"');
  for (const [name, value] of values) {
    out = /^\d+$/.test(value)
      ? out.replace(new RegExp(`(?<!\\d)${value}(?!\\d)`, 'g'), `@${name}@`)
      : out.replaceAll(value, `@${name}@`);
  }
  return out;
}

const values = new Map<string, string>();
const stops: (() => Promise<void> | void)[] = [];
let certs: TestCerts;

beforeAll(async () => {
  buildCli();
  certs = makeCerts();
  stops.push(() => certs.remove());
  const playground = await startPlayground();
  const greeter = await startPlayground({ greeting: '220 playground ready' });
  const tlsplay = await startPlayground({ tls: { key: certs.key, cert: certs.cert } });
  const redis: RedisServer = await startRedis();
  stops.push(playground.close, greeter.close, tlsplay.close, redis.stop);
  // Longest values first, so a path is replaced before any port inside it.
  values.set('cacert', certs.caPath);
  values.set('playground', String(playground.port));
  values.set('greeter', String(greeter.port));
  values.set('tlsplay', String(tlsplay.port));
  values.set('redis', String(redis.port));
  values.set('closed', String(await freePort()));
  const work = mkdtempSync(join(tmpdir(), 'protodoc-golden-update-'));
  stops.push(() => rmSync(work, { recursive: true, force: true }));
  values.set('work', work);
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

for (const [folder, expectedExit] of Object.entries(FOLDERS)) {
  describe(folder, () => {
    for (const name of casesIn(folder)) {
      const base = join(CASES, folder, name.replace(TRANSCRIPT, ''));
      it(name, async () => {
        const argsFile = `${base}.args`;
        const argsText = existsSync(argsFile)
          ? readFileSync(argsFile, 'utf8')
          : '--connect\n127.0.0.1:@playground@\n';
        const template = argsText === '' ? [] : argsText.replace(/\n$/, '').split('\n');
        const args = template.map((arg) =>
          arg.replace(/@(\w+)@/g, (all, key: string) => values.get(key) ?? all),
        );
        // An --update case runs on a copy, which the run rewrites.
        const updating = folder === 'tests_update';
        const target = updating ? join(values.get('work')!, name) : `tests/protodoc/${folder}/${name}`;
        if (updating) copyFileSync(join(CASES, folder, name), target);
        const got = await run(['check', '--no-color', ...args, target]);
        const actual = {
          out: normalise(got.out, values),
          err: normalise(got.err, values),
          exit: `${got.exit}\n`,
        };
        if (UPDATE) {
          writeFileSync(`${base}.out`, actual.out);
          writeFileSync(`${base}.err`, actual.err);
          writeFileSync(`${base}.exit`, actual.exit);
          if (updating) writeFileSync(`${base}.updated`, readFileSync(target));
        }
        const expected = {
          out: readFileSync(`${base}.out`, 'utf8'),
          err: readFileSync(`${base}.err`, 'utf8'),
          exit: readFileSync(`${base}.exit`, 'utf8'),
        };
        expect(actual).toEqual(expected);
        expect(got.exit).toBe(expectedExit);
        // A user mistake never shows a stack trace.
        expect(got.err).not.toMatch(/^\s+at /m);
        if (updating) {
          // Byte for byte, line endings and all.
          expect(readFileSync(target).equals(readFileSync(`${base}.updated`))).toBe(true);
          const again = await run(['check', '--no-color', ...args.filter((a) => a !== '--update'), target]);
          expect(again.err).toBe('');
          expect(again.out).toMatch(/^PASS /);
          expect(again.exit).toBe(0);
        }
      });
    }
  });
}

it('normalises a timing whose digits happen to spell a port, and ports only as whole numbers', () => {
  const ports = new Map([['playground', '12345']]);
  expect(normalise('"durationMs": 4.123450000000002,\n', ports)).toBe('"durationMs": "TIME",\n');
  expect(normalise('127.0.0.1:12345 and 123456\n', ports)).toBe('127.0.0.1:@playground@ and 123456\n');
});

it('has cases in every outcome folder', () => {
  for (const folder of Object.keys(FOLDERS)) expect(casesIn(folder).length, folder).toBeGreaterThan(0);
});
