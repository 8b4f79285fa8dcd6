/**
 * Nothing of a sandboxed run outlives it, whenever the bot is SIGKILLed. A sandbox that is up dies with the bot
 * (bwrap's `--die-with-parent`, bwrap being the bot's own child); one the bot died setting up is ended by the next
 * start: bwrap's pid 1 then waits forever for a go-ahead from bwrap's dead first process, reparented to init and,
 * as its pid namespace's init, deaf to SIGTERM, and the run's process group was never recorded.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runOnce } from '../src/engine.js';
import { readStat } from '../src/process-group.js';
import type { EngineEvent } from '../src/types.js';
import { builtEngineRunner, startEngine } from './helpers/engine-child.js';
import {
  createFixture,
  eventually,
  type Fixture,
  isRunning,
  processesMentioning,
  pushCandidate,
  writableShared,
} from './helpers/git-fixture.js';

/** In the test command, so in the command line of bwrap and of every shell of a run, whatever its pid namespace. */
const marker = 'premerge-orphan-run';

let f: Fixture;
afterEach(() => {
  // Whatever a failing test left running: SIGKILL, the one signal a sandbox's pid 1 cannot ignore.
  for (const pid of processesMentioning(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  f?.cleanup();
});

async function fixture(): Promise<Fixture> {
  f = await createFixture(
    (shared) =>
      `test: true ${marker}; sh test.sh\ncandidates: "pu/*"\nsandbox: auto\n${writableShared(shared)}`,
  );
  return f;
}

/** A test that says it started, then ignores SIGTERM and sleeps. */
const stubborn = (shared: string) => `trap '' TERM\ntouch ${shared}/started\nsleep 300\n`;

/** Restarts the bot (in this process) after a passing push to pu/a: returns its events, once it is done. */
async function restart(f: Fixture): Promise<EngineEvent[]> {
  const good = await pushCandidate(f, { branch: 'pu/a', files: { 'test.sh': 'exit 0\n' } });
  const events: EngineEvent[] = [];
  const report = await runOnce({
    repo: f.origin,
    stateDir: f.stateDir,
    onEvent: (e) => events.push(e),
  });
  expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', good]]);
  for (const e of events) if (e.type === 'isolation') expect(e.mode).toBe('sandbox');
  return events;
}

const recoveredOrphans = (events: EngineEvent[]) =>
  events.filter((e) => e.type === 'recovered' && e.what === 'orphan-process');

describe('a sandboxed run whose bot is SIGKILLed', () => {
  it('is ended by the next start when the bot died while bwrap set the sandbox up', async () => {
    const f = await fixture();
    await pushCandidate(f, { branch: 'pu/a', files: { 'test.sh': stubborn(f.shared) } });
    // A bwrap that goes on only once the bot that spawned it is dead: what a SIGKILL landing right after the spawn
    // makes of it on a loaded machine (before bwrap set its parent-death signal and let its pid 1 go on).
    const spawned = join(f.dir, 'bwrap-spawned');
    const bwrap = join(f.dir, 'bwrap');
    const real = execFileSync('sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' }).trim();
    writeFileSync(
      bwrap,
      `#!/bin/sh
case " $* " in *" --info-fd "*)
  echo $$ > '${spawned}'
  while kill -0 "$PPID" 2>/dev/null; do sleep 0.01; done ;;
esac
exec '${real}' "$@"
`,
    );
    chmodSync(bwrap, 0o755);
    const bot = startEngine(
      builtEngineRunner(),
      { repo: f.origin, stateDir: f.stateDir },
      { ...process.env, PREMERGE_BWRAP: bwrap },
    );
    const first = await eventually(
      () => (existsSync(spawned) ? Number(readFileSync(spawned, 'utf8')) : undefined),
      'the bot to spawn bwrap',
    );
    bot.child.kill('SIGKILL');
    await bot.done;
    // bwrap's first process ends (its report finds no reader); the sandbox's pid 1 it cloned is left waiting.
    await eventually(() => (isRunning(first) ? undefined : true), "bwrap's first process to end");
    const orphans = processesMentioning(marker);
    expect(orphans.length).toBeGreaterThan(0);
    expect(orphans.map((pid) => readStat(pid)?.ppid)).not.toContain(bot.child.pid);

    const events = await restart(f);
    expect(processesMentioning(marker)).toEqual([]);
    expect(recoveredOrphans(events)).toHaveLength(1);
  }, 120_000);

  it('is ended, whether killed right after spawning bwrap or while a test that ignores SIGTERM runs', async () => {
    const f = await fixture();
    const moments = ['bwrap spawned', 'bwrap spawned', 'bwrap spawned', 'test running'] as const;
    for (const moment of moments) {
      rmSync(join(f.shared, 'started'), { force: true });
      await pushCandidate(f, {
        branch: 'pu/a',
        files: { 'test.sh': stubborn(f.shared) },
      });
      const bot = startEngine(builtEngineRunner(), { repo: f.origin, stateDir: f.stateDir });
      const pid = bot.child.pid!;
      if (moment === 'bwrap spawned') {
        // As soon as a child of the bot runs the test's sandbox: before it is up, or about then.
        for (const deadline = Date.now() + 45_000; ; ) {
          if (processesMentioning(marker).some((p) => readStat(p)?.ppid === pid)) break;
          if (Date.now() > deadline) throw new Error('gave up waiting for the bot to spawn bwrap');
          await new Promise((r) => setTimeout(r, 1));
        }
      } else {
        await eventually(() => (existsSync(join(f.shared, 'started')) ? true : undefined), 'the test to run');
      }
      bot.child.kill('SIGKILL');
      await bot.done;
      if (moment === 'test running') {
        // Up, the sandbox ends with the bot: bwrap is the bot's child, with --die-with-parent.
        await eventually(
          () => (processesMentioning(marker).length === 0 ? true : undefined),
          'the sandbox to end with its bot',
        );
      }
      await restart(f);
      expect(processesMentioning(marker), moment).toEqual([]);
    }
  }, 240_000);

  it("runs bwrap as the bot's own child, the process whose death must end the sandbox", async () => {
    const f = await fixture();
    const gate = join(f.shared, 'gate');
    await pushCandidate(f, {
      branch: 'pu/a',
      files: { 'test.sh': `touch ${f.shared}/started\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\n` },
    });
    const run = runOnce({ repo: f.origin, stateDir: f.stateDir });
    try {
      await eventually(() => (existsSync(join(f.shared, 'started')) ? true : undefined), 'the test to run');
      const children = processesMentioning(marker).filter((pid) => readStat(pid)?.ppid === process.pid);
      expect(children.map((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim())).toEqual(['bwrap']);
    } finally {
      writeFileSync(gate, '');
      await run;
    }
  }, 120_000);
});
