import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, sandbox } from './helpers/git-fixture.js';

const DEMO = resolve(import.meta.dirname, '../../../examples/premerge/demo.sh');
let box: Sandbox;

beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

describe('examples/premerge/demo.sh', () => {
  it('lands the good change after npm test and protodoc pass, and keeps master on the broken one', async () => {
    const child = spawn('sh', [DEMO, box.dir], { env: box.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
    expect(output).not.toMatch(/^demo: /m);
    expect(code).toBe(0);
    const good = /master is still at \w+ while the bot tests (\w+)/.exec(output)?.[1];
    expect(good).toBeDefined();
    expect(output).toContain(`public.git master is now at ${good} (the tested commit: ${good})`);
    expect(output).toMatch(/^pu \w{40}: failed$/m);
    expect(output).toContain(`public.git master stays at ${good}`);
    // The failed run's log is protodoc's report of the transcript that does not match.
    expect(output).toMatch(/FAIL transcripts\/broken\.txt/);
  }, 180_000);
});
