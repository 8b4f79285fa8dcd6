#!/usr/bin/env node
// Where protodoc spends benchmark 2's requests. Not a benchmark (not run by `npm run bench`); a tool for whoever works
// on the HTTP transport. It starts nginx as benchmark 2 does, then either
//   node bench/profile-http.mjs [REQUESTS] [--h2] [--keep]
//     runs one `protodoc check` of REQUESTS GETs (default 5,000) under `node --cpu-prof` and prints self time by
//     function and by file (--keep leaves the .cpuprofile for Chrome DevTools), or
//   node bench/profile-http.mjs [REQUESTS] [--h2] --instructions
//     counts the instructions of protodoc (http:// or h2://, and raw TCP over HTTP/1.1), the undici floor and the
//     floor, each making 1 and REQUESTS (default 500) requests, under valgrind's cachegrind with `node --predictable`,
//     and prints the instructions per request beyond the first. V8 then compiles on the main thread and runs no
//     concurrent tasks, so a count repeats within 0.01% from run to run, where CPU times on a busy machine move by
//     20%: the way to compare two builds (PROTODOC, as in the benchmarks) by a few per cent. User-space instructions
//     only: system calls, the same for every contender, are not counted.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printProfile, summarizeProfile } from './lib/cpuprofile.mjs';
import { countInstructions } from './lib/instructions.mjs';
import { BenchError, main, runOk, tempDir } from './lib/process.mjs';
import { protodoc, ROOT } from './lib/protodoc.mjs';
import { startNginx } from './lib/servers.mjs';
import { printTable } from './lib/stats.mjs';
import { httpExchange } from './lib/transcripts.mjs';

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const h2 = args.includes('--h2');
const instructions = args.includes('--instructions');
const requests = Number(args.find((a) => /^\d+$/.test(a)) ?? (instructions ? 500 : 5000));
const BODY = 'Hello, world!\n';

await main(async () => {
  const tmp = tempDir('profile-http');
  const nginx = await startNginx({ 'hello.txt': BODY }, { tls: true });
  try {
    const version = h2 ? 'h2' : 'h1';
    const port = h2 ? nginx.tlsPort : nginx.port;
    const target = h2 ? `h2://127.0.0.1:${port}` : `http://127.0.0.1:${port}`;
    /** @param {number} n */
    const transcript = (n) => {
      const path = join(tmp.dir, `${version}-${n}.txt`);
      writeFileSync(path, httpExchange(version, BODY).repeat(n));
      return path;
    };
    const files = { one: transcript(1), all: transcript(requests) };
    /**
     * protodoc checking the transcript of `n` requests.
     * @param {number} n
     * @param {string} [over]  the target, by default the HTTP one
     */
    const check = (n, over = target) =>
      protodoc(['check', '--insecure', '--connect', over, n === 1 ? files.one : files.all]);

    if (!instructions) {
      const [cmd, argv] = check(requests);
      const nodeArgs =
        cmd === process.execPath
          ? ['--cpu-prof', `--cpu-prof-dir=${tmp.dir}`, '--cpu-prof-interval=100']
          : [];
      const result = await runOk('protodoc check', cmd, [...nodeArgs, ...argv], { cwd: ROOT });
      console.log(`${requests} requests over ${target}, ${result.ms.toFixed(1)} ms wall under the profiler`);
      const profile = readdirSync(tmp.dir).find((f) => f.endsWith('.cpuprofile'));
      if (profile === undefined) throw new BenchError(`no profile written: is ${cmd} a Node program?`);
      printProfile(summarizeProfile(join(tmp.dir, profile), { root: `${ROOT}/` }));
      if (keep) console.log(`profile: ${join(tmp.dir, profile)}`);
      return;
    }

    /** @param {string} script  @param {number} n  @returns {[string, string[]]} */
    const client = (script, n) => [
      process.execPath,
      [join(ROOT, 'bench', script), version, String(port), String(n), BODY],
    ];
    /** @type {[string, (n: number) => [string, string[]]][]} */
    const contenders = [
      [`protodoc ${h2 ? 'h2' : 'http'}://`, (n) => check(n)],
      ...(h2
        ? []
        : [
            /** @type {[string, (n: number) => [string, string[]]]} */ ([
              'protodoc raw TCP',
              (n) => check(n, `127.0.0.1:${port}`),
            ]),
          ]),
      ['undici floor', (n) => client('undici-http-client.mjs', n)],
      ['floor', (n) => client('raw-http-client.mjs', n)],
    ];
    console.log(`instructions (user space, every thread; node --predictable under cachegrind), ${target}:`);
    /** @type {string[][]} */
    const rows = [['', '1 request', `${requests} requests`, 'per request beyond the first']];
    for (const [name, argv] of contenders) {
      const one = await countInstructions(`${name}, 1 request`, argv(1));
      const all = await countInstructions(`${name}, ${requests} requests`, argv(requests));
      const per = (all - one) / (requests - 1);
      rows.push([
        name,
        `${(one / 1e6).toFixed(1)} M`,
        `${(all / 1e6).toFixed(1)} M`,
        `${(per / 1e3).toFixed(0)} K`,
      ]);
    }
    printTable(rows);
  } finally {
    await nginx.stop();
    if (!keep) tmp.remove();
  }
});
