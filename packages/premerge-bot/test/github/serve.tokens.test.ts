/**
 * Installation tokens live in `serve`'s memory only. After a landing, a failure whose test dumps everything it can
 * see, and a token GitHub stopped taking mid-way, not one token the stand-in issued is found in serve's output, a
 * file or file name of its state, trees, HOME or TMPDIR, the test's environment, or a request GitHub received
 * other than in its `Authorization` header.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppWorld, appWorld, checkRunsSettle } from '../helpers/github-app.js';

let w: AppWorld;
afterEach(async () => {
  await w?.close();
});

/** Every file below `dir` (following no links): its path and its bytes. */
function* files(dir: string): Generator<{ path: string; bytes: Buffer }> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const path = join(dir, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) yield* files(path);
    else if (st.isFile()) yield { path, bytes: readFileSync(path) };
  }
}

/** A test that writes everything it can see of its surroundings into its log and a file. */
const NOSY_CHECK = (dump: string) =>
  [
    '#!/bin/sh',
    `{ env; cat /proc/$$/environ | tr '\\0' '\\n'; cat /proc/$PPID/environ | tr '\\0' '\\n'; ls -laR "$HOME" "\${TMPDIR:-/tmp}" 2>&1 | head -200; git config --list --show-origin; } > '${dump}' 2>&1`,
    `cat '${dump}'`,
    '! grep -q broken VERSION',
    '',
  ].join('\n');

describe('serve: token hygiene', () => {
  it('no token the stand-in issued is anywhere but in memory and Authorization headers', async () => {
    w = await appWorld();
    const tmp = join(w.box.dir, 'serve-tmp');
    mkdirSync(tmp);
    const dumps = join(w.box.dir, 'dumps');
    mkdirSync(dumps);
    const serve = await w.serve([], { TMPDIR: tmp });
    const landed = await w.push({ VERSION: '1.1\n', 'check.sh': NOSY_CHECK(join(dumps, 'landed.txt')) });
    expect((await checkRunsSettle(w, landed))[0]!.conclusion).toBe('success');
    // GitHub stops taking the token in the cache (it expired by GitHub's clock): a new one is fetched.
    w.gh.clock.advance(2 * 3_600_000);
    const failed = await w.push({ VERSION: 'broken\n', 'check.sh': NOSY_CHECK(join(dumps, 'failed.txt')) });
    const [run] = await checkRunsSettle(w, failed);
    expect(run!.conclusion).toBe('failure');
    await serve.stop();

    const tokens = [...w.gh.tokens.tokens.keys()];
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    const forms = tokens.flatMap((t) => [t, Buffer.from(`x-access-token:${t}`).toString('base64')]);
    const found: string[] = [];
    const search = (where: string, text: string) => {
      for (const f of forms) if (text.includes(f)) found.push(`${where} holds ${f.slice(0, 8)}…`);
    };
    search('serve stdout', serve.stdout());
    search('serve stderr', serve.stderr());
    // The state, the trees beside it, serve's HOME (the box) and TMPDIR: names and contents.
    let looked = 0;
    for (const dir of [w.stateDir, `${w.stateDir}-trees`, w.box.dir, tmp]) {
      for (const f of files(dir)) {
        looked++;
        search(f.path, f.path);
        search(f.path, f.bytes.toString('latin1'));
      }
    }
    expect(looked).toBeGreaterThan(20);
    const dump = readFileSync(join(dumps, 'failed.txt'), 'utf8');
    expect(dump).toContain('PREMERGE_RUN=');
    search('the test environment', dump);
    for (const f of forms) {
      for (const r of w.gh.requests.search(f)) found.push(`request ${r.method} ${r.path} carries it`);
    }
    // The check runs' text too.
    search('check runs', JSON.stringify([...w.repo.checkRuns.values()].map((r) => r.output)));
    expect(found).toEqual([]);
    // And the tokens did work: git and REST both used them.
    expect(
      w.gh.requests.list((r) => r.auth.kind === 'installation' && r.operation === 'git/receive-pack'),
    ).not.toEqual([]);
  });
});
