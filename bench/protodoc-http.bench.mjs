#!/usr/bin/env node
// Benchmark 2: 500 HTTP GETs to nginx, each reply checked. protodoc (one keep-alive connection, status line, every
// header with `...` for the values that vary, exact body) against httpyac running an equivalent .http file with
// one assertion per request. Whole-process wall times, runs interleaved, medians. See bench/README.md.
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BenchError, main, run, runOk, tempDir } from './lib/process.mjs';
import { protodoc, ROOT } from './lib/protodoc.mjs';
import { startNginx } from './lib/servers.mjs';
import { fmtMs, fmtRatio, median, printTable, runCount, verdict } from './lib/stats.mjs';

const REQUESTS = 500;
const TARGET = 5;
const BODY = 'Hello, world!\n';
const HTTPYAC = join(ROOT, 'node_modules', '.bin', 'httpyac');

/**
 * One program measured: how it is run, where, and its timed runs (with the connections each used).
 * @typedef {{ name: string, argv: [string, string[]], cwd?: string,
 *   runs: (import('./lib/process.mjs').RunResult & { connections: number })[] }} Contender
 */

/**
 * One request and the reply protodoc expects; the values that change (version, dates, ETag) are `...`.
 * @param {string} body  the body it expects
 */
function protodocExchange(body) {
  return [
    '>>> GET /hello.txt HTTP/1.1',
    '>>> Host: 127.0.0.1',
    '>>>',
    'HTTP/1.1 200 OK',
    'Server: nginx...',
    'Date: ...',
    'Content-Type: text/plain',
    `Content-Length: ${Buffer.byteLength(BODY)}`,
    'Last-Modified: ...',
    'Connection: keep-alive',
    'ETag: "..."',
    'Accept-Ranges: bytes',
    '',
    body,
    '',
  ].join('\n');
}

/**
 * The same request in httpyac's .http syntax, with its one assertion.
 * @param {number} port
 * @param {number} status  the status it asserts
 */
function httpyacRequest(port, status) {
  return `GET http://127.0.0.1:${port}/hello.txt\n\n?? status == ${status}\n\n###\n\n`;
}

await main(async () => {
  const tmp = tempDir('http');
  const nginx = await startNginx({ 'hello.txt': BODY });
  try {
    const target = `127.0.0.1:${nginx.port}`;
    /**
     * @param {string} name
     * @param {string} text
     */
    const file = (name, text) => {
      const path = join(tmp.dir, name);
      writeFileSync(path, text);
      return path;
    };
    const transcript = file('nginx-500.txt', protodocExchange(BODY.trimEnd()).repeat(REQUESTS));
    const httpFile = file('nginx-500.http', httpyacRequest(nginx.port, 200).repeat(REQUESTS));
    // Negative controls: prove each tool really compares (a wrong body, a wrong status must fail).
    const badTranscript = file('nginx-bad.txt', protodocExchange('Hello, moon!').repeat(3));
    const badHttpFile = file('nginx-bad.http', httpyacRequest(nginx.port, 201).repeat(3));

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

    /** @type {Contender} */
    const pd = {
      name: 'protodoc check',
      argv: protodoc(['check', '--connect', target, transcript]),
      runs: [],
    };
    // httpyac only takes files under its working directory, so it runs in the temporary one.
    /** @type {Contender} */
    const hy = {
      name: 'httpyac send --all',
      argv: [HTTPYAC, ['send', basename(httpFile), '--all', '-o', 'none']],
      cwd: tmp.dir,
      runs: [],
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

    // Checks before timing (not counted; they double as warm-up).
    const bad = await run(...protodoc(['check', '--connect', target, badTranscript]), { cwd: ROOT });
    if (bad.code !== 1)
      throw new BenchError(`protodoc passed a wrong body (exit ${bad.code}); it is not comparing`);
    const badHy = await httpyacJson(badHttpFile);
    if (badHy.code === 0 || badHy.summary.failedTests !== 3) {
      throw new BenchError(`httpyac did not fail 3 wrong statuses: ${JSON.stringify(badHy.summary)}`);
    }
    const pdFirst = await served(pd.name, ...pd.argv);
    const before = nginx.accessLog().length;
    const { summary } = await httpyacJson(httpFile);
    const hyFirstRequests = nginx.accessLog().length - before;
    if (
      hyFirstRequests !== REQUESTS ||
      summary.totalRequests !== REQUESTS ||
      summary.successTests !== REQUESTS ||
      summary.totalTests !== REQUESTS
    ) {
      throw new BenchError(`httpyac did not run ${REQUESTS} asserted requests: ${JSON.stringify(summary)}`);
    }

    const runs = runCount();
    console.log(`${REQUESTS} GET /hello.txt to nginx on ${target}, every reply checked`);
    console.log(`protodoc: status line, 8 headers (\`...\` for version, dates, ETag), exact body`);
    console.log(
      `httpyac: one assertion per request (?? status == 200), -o none; verified first with --json:`,
    );
    console.log(
      `  ${summary.totalRequests} requests, ${summary.successTests} of ${summary.totalTests} assertions passed`,
    );
    console.log(
      `negative controls: protodoc exit ${bad.code} on a wrong body, httpyac exit ${badHy.code} on a wrong status`,
    );
    console.log(`1 check run each (not counted), then ${runs} interleaved runs; whole-process wall time`);
    const contenders = [pd, hy];
    for (let i = 0; i < runs; i++) {
      for (const c of contenders) c.runs.push(await served(c.name, ...c.argv, c.cwd));
    }
    /** @param {Contender} c */
    const medianMs = (c) => median(c.runs.map((r) => r.ms));
    printTable([
      ['', 'median', 'min', 'max', 'connections'],
      ...contenders.map((c) => {
        const ms = c.runs.map((r) => r.ms);
        const conns = [...new Set(c.runs.map((r) => r.connections))].join('/');
        return [c.name, fmtMs(medianMs(c)), fmtMs(Math.min(...ms)), fmtMs(Math.max(...ms)), conns];
      }),
    ]);
    if (pdFirst.connections !== 1)
      console.log(`note: protodoc used ${pdFirst.connections} connections, expected 1`);
    const ratio = medianMs(hy) / medianMs(pd);
    console.log(`httpyac / protodoc: ${fmtRatio(ratio)} (target ≥ ${TARGET}x: ${verdict(ratio >= TARGET)})`);
  } finally {
    await nginx.stop();
    tmp.remove();
  }
});
