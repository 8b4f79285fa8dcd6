#!/usr/bin/env node
// Benchmark 2: 500 keep-alive GETs to nginx, each reply checked, over HTTP/1.1 and over HTTP/2. protodoc (one
// connection, status line, every header with `...` for the values that vary, exact body) against httpyac running
// an equivalent .http file with one assertion per request, and against the floor: a minimal Node client making the
// same requests with the same checks on one connection (bench/raw-http-client.mjs). For information, the undici
// floor: the same through undici's Client at its cheapest (bench/undici-http-client.mjs), which protodoc's HTTP
// transport cannot go below. Whole-process wall times, runs interleaved, medians. See bench/README.md.
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BenchError, main, run, runOk, tempDir } from './lib/process.mjs';
import { protodoc, ROOT } from './lib/protodoc.mjs';
import { startNginx } from './lib/servers.mjs';
import { fmtMs, fmtRatio, median, printTable, runCount, verdict } from './lib/stats.mjs';
import { httpExchange } from './lib/transcripts.mjs';
import { figuresOf, measureVariants } from './lib/where.mjs';

const REQUESTS = 500;
const HTTPYAC_TARGET = 5;
const FLOOR_GOAL = 1.1;
const BODY = 'Hello, world!\n';
const HTTPYAC = join(ROOT, 'node_modules', '.bin', 'httpyac');
const FLOOR = join(ROOT, 'bench', 'raw-http-client.mjs');
const UNDICI_FLOOR = join(ROOT, 'bench', 'undici-http-client.mjs');

/**
 * One program measured: how it is run, where, and its timed runs (with the connections each used).
 * @typedef {{ name: string, argv: [string, string[]], cwd?: string,
 *   runs: (import('./lib/process.mjs').RunResult & { connections: number })[] }} Contender
 */

/**
 * The same request in httpyac's .http syntax, with its one assertion; over HTTP/2 (its `HTTP/2` request line) on
 * TLS with the benchmark's self-signed certificate accepted.
 * @param {string} origin
 * @param {'h1' | 'h2'} version
 * @param {number} status  the status it asserts
 */
function httpyacRequest(origin, version, status) {
  return version === 'h1'
    ? `GET ${origin}/hello.txt\n\n?? status == ${status}\n\n###\n\n`
    : `# @no-reject-unauthorized\nGET ${origin}/hello.txt HTTP/2\n\n?? status == ${status}\n\n###\n\n`;
}

await main(async () => {
  const tmp = tempDir('http');
  const nginx = await startNginx({ 'hello.txt': BODY }, { tls: true });
  try {
    const plain = `127.0.0.1:${nginx.port}`;
    const secure = `127.0.0.1:${nginx.tlsPort}`;
    /**
     * @param {string} name
     * @param {string} text
     */
    const file = (name, text) => {
      const path = join(tmp.dir, name);
      writeFileSync(path, text);
      return path;
    };
    const transcripts = {
      h1: file('nginx-500.txt', httpExchange('h1', BODY).repeat(REQUESTS)),
      h2: file('nginx-500-h2.txt', httpExchange('h2', BODY).repeat(REQUESTS)),
    };
    const httpFiles = {
      h1: file('nginx-500.http', httpyacRequest(`http://${plain}`, 'h1', 200).repeat(REQUESTS)),
      h2: file('nginx-500-h2.http', httpyacRequest(`https://${secure}`, 'h2', 200).repeat(REQUESTS)),
    };

    /**
     * Run to a zero exit, then read from nginx's log how many requests and connections the run used; all
     * REQUESTS must have been served with 200.
     * @param {string} label
     * @param {string} cmd
     * @param {string[]} args
     * @param {string} [cwd]
     */
    const served = async (label, cmd, args, cwd = ROOT) => {
      const before = nginx.accessLog().length;
      const result = await runOk(label, cmd, args, { cwd });
      const lines = nginx.accessLog().slice(before);
      const connections = new Set(lines.map((line) => line.split(' ')[0])).size;
      const ok = lines.filter((line) => line.split(' ')[2] === '200').length;
      if (ok !== REQUESTS)
        throw new BenchError(`${label}: nginx served ${ok} of ${REQUESTS} requests with 200`);
      return { ...result, connections };
    };
    /** @param {string} path */
    const httpyacJson = async (path) => {
      const r = await run(HTTPYAC, ['send', basename(path), '--all', '--json'], {
        cwd: tmp.dir,
        fullOutput: true,
      });
      try {
        /** @type {import('httpyac/dist/cli/send/jsonOutput.js').SendJsonOutput} */
        const output = JSON.parse(r.stdout);
        return { ...r, summary: output.summary };
      } catch {
        throw new BenchError(
          `httpyac --json exited with ${r.code}, no JSON:\n${(r.stdout + r.stderr).slice(-3000)}`,
        );
      }
    };

    // Negative controls, before timing: each contender must fail a reply that differs.
    /** @type {string[]} */
    const controls = [];
    for (const version of /** @type {const} */ (['h1', 'h2'])) {
      const target = version === 'h1' ? `http://${plain}` : `h2://${secure}`;
      const bad = file(`nginx-bad-${version}.txt`, httpExchange(version, BODY, 'Hello, moon!').repeat(3));
      const pd = await run(...protodoc(['check', '--insecure', '--connect', target, bad]), { cwd: ROOT });
      if (pd.code !== 1)
        throw new BenchError(`protodoc passed a wrong body over ${target} (exit ${pd.code})`);
      const port = version === 'h1' ? nginx.port : nginx.tlsPort;
      const floor = await run(process.execPath, [FLOOR, version, String(port), '3', 'Hello, moon!\n']);
      if (floor.code !== 1)
        throw new BenchError(`the ${version} floor passed a wrong body (exit ${floor.code})`);
      const undici = await run(process.execPath, [
        UNDICI_FLOOR,
        version,
        String(port),
        '3',
        'Hello, moon!\n',
      ]);
      if (undici.code !== 1)
        throw new BenchError(`the ${version} undici floor passed a wrong body (exit ${undici.code})`);
      const origin = version === 'h1' ? `http://${plain}` : `https://${secure}`;
      const badHttp = file(`nginx-bad-${version}.http`, httpyacRequest(origin, version, 201).repeat(3));
      const hy = await httpyacJson(badHttp);
      if (hy.code === 0 || hy.summary.failedTests !== 3) {
        throw new BenchError(
          `httpyac did not fail 3 wrong statuses (${version}): ${JSON.stringify(hy.summary)}`,
        );
      }
      controls.push(
        `${version}: protodoc exit ${pd.code}, floor exit ${floor.code}, undici floor exit ${undici.code}, ` +
          `httpyac exit ${hy.code}`,
      );
      // httpyac once with --json: it must have run and asserted every request.
      const before = nginx.accessLog().length;
      const { summary } = await httpyacJson(httpFiles[version]);
      const requests = nginx.accessLog().length - before;
      if (requests !== REQUESTS || summary.totalRequests !== REQUESTS || summary.successTests !== REQUESTS) {
        throw new BenchError(`httpyac did not run ${REQUESTS} asserted requests: ${JSON.stringify(summary)}`);
      }
    }

    const runs = runCount();
    console.log(
      `${REQUESTS} keep-alive GET /hello.txt to nginx, every reply checked; negative controls first:`,
    );
    for (const line of controls) console.log(`  ${line} on a wrong body or status`);
    console.log(
      `protodoc: status line, 8 headers over HTTP/1.1 (7 over HTTP/2), \`...\` for dates and ETag, exact body`,
    );
    console.log(
      `floor: bench/raw-http-client.mjs, the same checks (HTTP/1.1 on a bare socket, HTTP/2 by node:http2)`,
    );
    console.log(
      `undici floor: bench/undici-http-client.mjs, the same checks through undici's Client (dispatch, one connection)`,
    );
    console.log(`httpyac: one assertion per request (?? status == 200), -o none, verified with --json first`);
    console.log(`1 check run each (not counted), then ${runs} interleaved runs; whole-process wall time`);

    /**
     * @param {string} title
     * @param {Contender[]} contenders
     */
    const measure = async (title, contenders) => {
      for (const c of contenders) await served(c.name, ...c.argv, c.cwd);
      for (let i = 0; i < runs; i++) {
        for (const c of contenders) c.runs.push(await served(c.name, ...c.argv, c.cwd));
      }
      console.log(`\n${title}`);
      printTable([
        ['', 'median', 'min', 'max', 'connections'],
        ...contenders.map((c) => {
          const ms = c.runs.map((r) => r.ms);
          const conns = [...new Set(c.runs.map((r) => r.connections))].join('/');
          return [c.name, fmtMs(medianMs(c)), fmtMs(Math.min(...ms)), fmtMs(Math.max(...ms)), conns];
        }),
      ]);
    };
    /** @param {Contender} c */
    const medianMs = (c) => median(c.runs.map((r) => r.ms));
    /**
     * @param {string} name
     * @param {[string, string[]]} argv
     * @param {string} [cwd]
     * @returns {Contender}
     */
    const contender = (name, argv, cwd) =>
      cwd === undefined ? { name, argv, runs: [] } : { name, argv, cwd, runs: [] };
    /**
     * @param {string} label
     * @param {number} ratio
     * @param {string} [goal]
     * @param {boolean} [met]
     */
    const ratioLine = (label, ratio, goal, met) =>
      console.log(
        `${label}: ${fmtRatio(ratio)}${goal === undefined ? '' : ` (${goal}: ${verdict(met === true)})`}`,
      );
    /**
     * `a`'s median over `b`'s, held against the 1.1x goal (`over`: what the goal is read against, when not the floor).
     * @param {string} label
     * @param {Contender} a
     * @param {Contender} b
     * @param {string} [over]
     */
    const floorGoal = (label, a, b, over) => {
      const ratio = medianMs(a) / medianMs(b);
      ratioLine(
        label,
        ratio,
        `goal ≤ ${FLOOR_GOAL}x${over === undefined ? '' : ` over ${over}`}`,
        ratio <= FLOOR_GOAL,
      );
    };

    // HTTP/1.1 on the plain listener.
    const h1 = contender(
      'protodoc http:// (undici)',
      protodoc(['check', '--connect', `http://${plain}`, transcripts.h1]),
    );
    const h1raw = contender(
      'protodoc HOST:PORT (raw TCP)',
      protodoc(['check', '--connect', plain, transcripts.h1]),
    );
    const h1floor = contender('floor: raw Node client', [
      process.execPath,
      [FLOOR, 'h1', String(nginx.port), String(REQUESTS), BODY],
    ]);
    const h1undici = contender('undici floor', [
      process.execPath,
      [UNDICI_FLOOR, 'h1', String(nginx.port), String(REQUESTS), BODY],
    ]);
    // httpyac only takes files under its working directory, so it runs in the temporary one.
    const h1yac = contender(
      'httpyac send --all',
      [HTTPYAC, ['send', basename(httpFiles.h1), '--all', '-o', 'none']],
      tmp.dir,
    );
    await measure('HTTP/1.1 (nginx, clear text)', [h1, h1raw, h1floor, h1undici, h1yac]);
    ratioLine(
      'httpyac / protodoc http://',
      medianMs(h1yac) / medianMs(h1),
      `target ≥ ${HTTPYAC_TARGET}x`,
      medianMs(h1yac) / medianMs(h1) >= HTTPYAC_TARGET,
    );
    ratioLine('httpyac / protodoc raw TCP', medianMs(h1yac) / medianMs(h1raw));
    floorGoal('protodoc http:// / floor', h1, h1floor);
    floorGoal('protodoc raw TCP / floor', h1raw, h1floor);
    // The goal read against the least that undici (the HTTP client protodoc is built on) can do: protodoc's own cost.
    floorGoal('protodoc http:// / undici floor', h1, h1undici, 'undici');
    ratioLine('undici floor / floor', medianMs(h1undici) / medianMs(h1floor));

    // HTTP/2 over TLS (nginx's `listen … ssl http2`), every contender accepting the self-signed certificate.
    const h2 = contender(
      'protodoc h2://',
      protodoc(['check', '--insecure', '--connect', `h2://${secure}`, transcripts.h2]),
    );
    const h2floor = contender('floor: node:http2 client', [
      process.execPath,
      [FLOOR, 'h2', String(nginx.tlsPort), String(REQUESTS), BODY],
    ]);
    const h2undici = contender('undici floor (HTTP/2)', [
      process.execPath,
      [UNDICI_FLOOR, 'h2', String(nginx.tlsPort), String(REQUESTS), BODY],
    ]);
    const h2yac = contender(
      'httpyac send --all (HTTP/2)',
      [HTTPYAC, ['send', basename(httpFiles.h2), '--all', '-o', 'none']],
      tmp.dir,
    );
    await measure('HTTP/2 (nginx, TLS)', [h2, h2floor, h2undici, h2yac]);
    ratioLine('httpyac / protodoc h2://', medianMs(h2yac) / medianMs(h2));
    floorGoal('protodoc h2:// / floor', h2, h2floor);
    floorGoal('protodoc h2:// / undici floor', h2, h2undici, 'undici');
    ratioLine('undici floor / floor (HTTP/2)', medianMs(h2undici) / medianMs(h2floor));
    for (const c of [h1, h1raw, h1undici, h2, h2undici]) {
      if (c.runs.some((r) => r.connections !== 1))
        console.log(`note: ${c.name} used more than one connection`);
    }

    // Where the rest goes: each process's start-up (one request), then per request (the other 499).
    const one = {
      h1: file('nginx-1.txt', httpExchange('h1', BODY)),
      h2: file('nginx-1-h2.txt', httpExchange('h2', BODY)),
    };
    /**
     * A Node contender making `count` requests, for the breakdown.
     * @param {string} name
     * @param {(count: number) => [string, string[]]} argv
     */
    const variants = (name, argv) => [
      { name: `${name}, 1 request`, argv: argv(1) },
      { name: `${name}, ${REQUESTS} requests`, argv: argv(REQUESTS) },
    ];
    const perRequest = [
      ...variants('protodoc http://', (n) =>
        protodoc(['check', '--connect', `http://${plain}`, n === 1 ? one.h1 : transcripts.h1]),
      ),
      ...variants('protodoc raw TCP', (n) =>
        protodoc(['check', '--connect', plain, n === 1 ? one.h1 : transcripts.h1]),
      ),
      ...variants('floor HTTP/1.1', (n) => [
        process.execPath,
        [FLOOR, 'h1', String(nginx.port), String(n), BODY],
      ]),
      ...variants('undici floor HTTP/1.1', (n) => [
        process.execPath,
        [UNDICI_FLOOR, 'h1', String(nginx.port), String(n), BODY],
      ]),
      ...variants('protodoc h2://', (n) =>
        protodoc(['check', '--insecure', '--connect', `h2://${secure}`, n === 1 ? one.h2 : transcripts.h2]),
      ),
      ...variants('floor HTTP/2', (n) => [
        process.execPath,
        [FLOOR, 'h2', String(nginx.tlsPort), String(n), BODY],
      ]),
      ...variants('undici floor HTTP/2', (n) => [
        process.execPath,
        [UNDICI_FLOOR, 'h2', String(nginx.tlsPort), String(n), BODY],
      ]),
    ];
    const starts = [
      { name: 'node -e 0', argv: /** @type {[string, string[]]} */ ([process.execPath, ['-e', '0']]) },
      { name: 'protodoc --version', argv: protodoc(['--version']) },
    ];
    const figures = await measureVariants([...starts, ...perRequest], runs, false);
    const f = (/** @type {string} */ name) => figuresOf(figures, name);
    console.log(
      `\nwhere the time goes (medians of ${runs} interleaved runs; CPU: the whole process, every thread):`,
    );
    printTable([
      ['', 'start-up wall', 'CPU', 'per request wall', 'CPU'],
      ...starts.map(({ name }) => [name, fmtMs(f(name).ms), fmtMs(f(name).cpuMs), '', '']),
      ...[
        'protodoc http://',
        'protodoc raw TCP',
        'floor HTTP/1.1',
        'undici floor HTTP/1.1',
        'protodoc h2://',
        'floor HTTP/2',
        'undici floor HTTP/2',
      ].map((name) => {
        const [a, b] = [f(`${name}, 1 request`), f(`${name}, ${REQUESTS} requests`)];
        const us = (/** @type {number} */ ms) => `${((ms * 1000) / (REQUESTS - 1)).toFixed(0)} µs`;
        return [`${name} (1 request)`, fmtMs(a.ms), fmtMs(a.cpuMs), us(b.ms - a.ms), us(b.cpuMs - a.cpuMs)];
      }),
    ]);
  } finally {
    await nginx.stop();
    tmp.remove();
  }
});
