/**
 * The root README tells the truth: its requirements table is the manifest's, and its quick start lines
 * work when pasted from the repository root right after `npm ci` (each is run here exactly as written,
 * through /bin/sh, with a private TMPDIR so what they make is cleaned up).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Sandbox, sandbox } from '../packages/premerge-bot/test/helpers/git-fixture.js';
import { ROOT } from '../packages/protodoc/test/build-cli.js';
import { requirementsTable } from './setup/requirements.mjs';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The text between `<!-- NAME:start ... -->` and `<!-- NAME:end -->`. */
function section(name: string): string {
  const match = new RegExp(`<!-- ${name}:start[^>]*-->\\n([^]*?)<!-- ${name}:end -->`).exec(README);
  if (!match) throw new Error(`README.md has no ${name} section`);
  return match[1]!;
}

const quickstart = section('quickstart')
  .split('\n')
  .filter((line) => line !== '' && !line.startsWith('```'));

/** Runs `command` as a user pastes it: /bin/sh, from the repository root. */
function sh(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', command], { cwd: ROOT, env, encoding: 'utf8' }, (error, out, err) =>
      resolve({ code: error ? Number(error.code) : 0, output: out + err }),
    );
  });
}

let box: Sandbox | undefined;
afterEach(() => {
  box?.cleanup();
  box = undefined;
});

describe('README.md', () => {
  it('lists exactly the requirements of tests/setup/requirements.json', () => {
    expect(section('requirements').trimEnd()).toBe(requirementsTable());
  });

  it('has a quick start line for each tool', () => {
    expect(quickstart.map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual([
      'npx protodoc',
      'sh examples/premerge/demo.sh',
    ]);
  });

  it('quick start: protodoc checks the example transcript against the shipped server', async () => {
    box = sandbox('readme-');
    const result = await sh(quickstart[0]!, { ...box.env, TMPDIR: box.dir });
    expect(result.output).toMatch(/^PASS examples\/protodoc\/http\.txt/m);
    expect(result.output).not.toMatch(/^(FAIL|ERROR) /m);
    expect(result.code).toBe(0);
  });

  it('quick start: the premerge demo lands the good change and keeps master off the broken one', async () => {
    // The sandbox's HOME keeps a developer's own git config (signing, hooks) out of the demo's commits.
    box = sandbox('readme-');
    const result = await sh(quickstart[1]!, { ...box.env, TMPDIR: box.dir });
    const output = result.output;
    expect(output).not.toMatch(/^demo: /m);
    expect(result.code).toBe(0);
    const good = /master is still at \w+ while the bot tests (\w+)/.exec(output)?.[1];
    expect(good).toBeDefined();
    expect(output).toContain(`public.git master is now at ${good} (the tested commit: ${good})`);
    expect(output).toMatch(/^pu \w{40}: failed$/m);
    expect(output).toContain(`public.git master stays at ${good}`);
    // The failed run's log is protodoc's report of the transcript that does not match.
    expect(output).toMatch(/FAIL transcripts\/broken\.txt/);
  }, 180_000);
});
