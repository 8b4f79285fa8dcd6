#!/usr/bin/env node
// Benchmark 3: one very large reply (10, 25 and 50 MiB of lines) matched by a transcript that skips it with `...`.
// Wall time and peak RSS of the protodoc process, to show that both grow linearly and that memory stays under 4x
// the reply size. The server is a tiny one in this process. See bench/README.md.
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { listeningPort } from './lib/net.mjs';
import { main, runOk, tempDir } from './lib/process.mjs';
import { protodoc, ROOT } from './lib/protodoc.mjs';
import { fmtMiB, fmtMs, median, printTable, runCount, verdict } from './lib/stats.mjs';

const MiB = 1024 * 1024;
const SIZES = [0, 10 * MiB, 25 * MiB, 50 * MiB];
const TARGET = 4;
const LINE = `data ${'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV'}\n`; // 64 bytes
const BLOCK = Buffer.from(LINE.repeat(MiB / LINE.length));

/**
 * The transcript: ask for SIZE bytes, expect the first and last lines, skip the rest with `...`.
 * @param {number} size
 */
function largeTranscript(size) {
  return `>>> SEND ${size}\nBEGIN\n${size > 0 ? 'data ...\n...\n' : ''}END\n`;
}

/**
 * Answers `SEND N` with BEGIN, N bytes of 64-byte lines (N a multiple of 1 MiB), END, then closes.
 * @returns {Promise<import('node:net').Server>}  listening on 127.0.0.1
 */
function startLineServer() {
  const server = createServer((socket) => {
    let request = '';
    socket.on('error', () => {});
    socket.on('data', async (chunk) => {
      request += chunk;
      const match = /^SEND (\d+)\r?\n/.exec(request);
      if (!match) return;
      request = '\0'; // answer once
      socket.write('BEGIN\n');
      for (let left = Number(match[1]); left > 0; left -= BLOCK.length) {
        // Respect backpressure so the server's own memory does not grow with the reply.
        if (!socket.write(BLOCK)) await new Promise((resolve) => socket.once('drain', resolve));
      }
      socket.end('END\n');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

await main(async () => {
  const tmp = tempDir('large');
  const server = await startLineServer();
  try {
    const target = `127.0.0.1:${listeningPort(server)}`;
    const runs = runCount();
    const method = existsSync('/usr/bin/time') ? '/usr/bin/time %M' : 'sampling /proc/PID/status VmHWM';
    console.log(
      `one reply of BEGIN, N bytes of ${LINE.length}-byte lines, END; transcript: BEGIN / data ... / ... / END`,
    );
    console.log(`${runs} runs per size, medians; whole-process wall time; peak RSS by ${method}`);

    /** @type {{ size: number, ms: number, rss: number }[]} */
    const rows = [];
    for (const size of SIZES) {
      const file = join(tmp.dir, `large-${size}.txt`);
      writeFileSync(file, largeTranscript(size));
      const argv = protodoc(['check', '--timeout', '60s', '--connect', target, file]);
      const results = [];
      for (let i = 0; i < runs; i++) {
        results.push(await runOk(`protodoc on ${fmtMiB(size)}`, ...argv, { cwd: ROOT, usage: true }));
      }
      rows.push({
        size,
        ms: median(results.map((r) => r.ms)),
        rss: median(results.map((r) => r.peakRssKiB * 1024)),
      });
    }

    const [base, ...big] = rows;
    const [smallest, largest] = [big[0], big.at(-1)];
    if (!base || !smallest || !largest)
      throw new Error('SIZES must hold the baseline (0) and at least one size');
    printTable([
      ['reply', 'wall', 'ms/MiB', 'peak RSS', 'RSS/size', 'growth', 'growth/size'],
      ['empty (baseline)', fmtMs(base.ms), '', fmtMiB(base.rss), '', '', ''],
      ...big.map((r) => [
        fmtMiB(r.size),
        fmtMs(r.ms),
        ((r.ms - base.ms) / (r.size / MiB)).toFixed(1),
        fmtMiB(r.rss),
        `${(r.rss / r.size).toFixed(2)}x`,
        fmtMiB(r.rss - base.rss),
        `${((r.rss - base.rss) / r.size).toFixed(2)}x`,
      ]),
    ]);
    console.log(
      `peak RSS / reply size at ${fmtMiB(largest.size)}: ${(largest.rss / largest.size).toFixed(2)}x ` +
        `(target < ${TARGET}x: ${verdict(largest.rss / largest.size < TARGET)})`,
    );
    // Linear: the time and memory each extra MiB costs should not rise with the size.
    const [a, b] = [smallest, largest];
    const timeSlope = (b.ms - a.ms) / ((b.size - a.size) / MiB);
    const rssSlope = (b.rss - a.rss) / (b.size - a.size);
    console.log(
      `marginal cost from ${fmtMiB(a.size)} to ${fmtMiB(b.size)}: ${timeSlope.toFixed(1)} ms and ` +
        `${rssSlope.toFixed(2)} MiB of peak RSS per MiB of reply (linear: ms/MiB stays flat across sizes)`,
    );
  } finally {
    server.close();
    tmp.remove();
  }
});
