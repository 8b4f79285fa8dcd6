/** On a terminal, a long test shows how long it has run, on a line rewritten in place and cleared after it. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli.js';
import { formatElapsed } from '../src/progress.js';
import { runCli } from './helpers/cli-in-process.js';
import { createFixture, type Fixture, pushCandidate, writableShared } from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

describe('premerge-bot once on a terminal', () => {
  it('shows the elapsed time of a running test, then clears it', async () => {
    f = await createFixture((shared) => `test: sh test.sh\n${writableShared(shared)}`);
    const gate = join(f.shared, 'gate');
    const sha = await pushCandidate(f, {
      files: { 'test.sh': `while [ ! -e ${gate} ]; do sleep 0.05; done\n` },
    });
    const elapsed = new RegExp(`\\r\\x1b\\[K {2}testing pu ${sha.slice(0, 12)}: ([1-9]\\d*)s`);
    const r = await runCli(['once', '--repo', f.origin, '--state-dir', f.stateDir], {
      env: f.env,
      cwd: f.dir,
      isTTY: true,
      // The test ends once the line has shown a second or more.
      onStdout: (out) => {
        if (elapsed.test(out)) writeFileSync(gate, '');
      },
    });
    expect(r.code).toBe(EXIT.ok);
    const shown = r.stdout.indexOf('  testing pu');
    expect(shown).toBeGreaterThan(0);
    // Cleared before the next line: nothing of it is left on the line that says how the test ended.
    expect(r.stdout.slice(shown)).toMatch(/\r\x1b\[Ktest passed \(exit 0\) after [\d.]+s\n/);
    expect(r.stdout).toMatch(new RegExp(`\\nlanded pu ${sha.slice(0, 12)} on master`));
  });

  it('prints elapsed times in seconds, minutes and hours', () => {
    expect([
      formatElapsed(999),
      formatElapsed(42_000),
      formatElapsed(185_000),
      formatElapsed(3_720_000),
    ]).toEqual(['0s', '42s', '3m05s', '1h02m']);
  });
});
