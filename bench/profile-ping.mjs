#!/usr/bin/env node
// Where protodoc spends the 10,000-PING run: runs `protodoc check` once under `node --cpu-prof` against a real
// redis (unpinned unless --pin) and prints self time by function and by file. Not a benchmark (not run by
// `npm run bench`); a tool for whoever works on the hot path.
//   node bench/profile-ping.mjs [STEPS] [--pin] [--keep]   (--keep leaves the .cpuprofile for Chrome DevTools)
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printProfile, summarizeProfile } from './lib/cpuprofile.mjs';
import { pinned, pinning } from './lib/pin.mjs';
import { BenchError, main, runOk, tempDir } from './lib/process.mjs';
import { protodoc, ROOT } from './lib/protodoc.mjs';
import { startRedis } from './lib/servers.mjs';
import { pingTranscript } from './lib/transcripts.mjs';

const args = process.argv.slice(2);
const keep = args.includes('--keep');
// Unpinned by default: pinned, the profiler's own sampling thread shares the one CPU and inflates what it samples.
const pin = args.includes('--pin');
const steps = Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000);

await main(async () => {
  const tmp = tempDir('profile');
  const redis = await startRedis({ pin });
  try {
    const file = join(tmp.dir, 'ping.txt');
    writeFileSync(file, pingTranscript(steps));
    const [cmd, argv] = protodoc(['check', '--connect', `127.0.0.1:${redis.port}`, file]);
    // Profile the protodoc process itself: the flags go to node, before the script.
    const nodeArgs =
      cmd === process.execPath ? ['--cpu-prof', `--cpu-prof-dir=${tmp.dir}`, '--cpu-prof-interval=100'] : [];
    const result = await runOk('protodoc check', ...pinned(cmd, [...nodeArgs, ...argv], pin), { cwd: ROOT });
    console.log(`${steps} steps, ${result.ms.toFixed(1)} ms wall under the profiler; ${pinning(pin)}`);
    const profile = readdirSync(tmp.dir).find((f) => f.endsWith('.cpuprofile'));
    if (profile === undefined) throw new BenchError(`no profile written: is ${cmd} a Node program?`);
    printProfile(summarizeProfile(join(tmp.dir, profile), { root: `${ROOT}/` }));
    if (keep) console.log(`profile: ${join(tmp.dir, profile)}`);
  } finally {
    await redis.stop();
    if (!keep) tmp.remove();
  }
});
