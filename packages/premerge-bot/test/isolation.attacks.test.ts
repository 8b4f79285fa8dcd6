/**
 * A candidate's test is someone else's code. Each attack below once changed what the bot did (or would have, as
 * the bot's own user); each must fail in the sandbox and as a test user, and the next good candidate must land.
 * The repositories live under /var/tmp, so that in the sandbox (which hides /tmp) they are in sight, read-only.
 */
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runOnce } from '../src/engine.js';
import { MIRROR_CONFIG } from '../src/mirror-guard.js';
import { repoPaths } from '../src/paths.js';
import type { EngineEvent, Verdict } from '../src/types.js';
import { builtEngineRunner, startEngine } from './helpers/engine-child.js';
import {
  createFixture,
  type Fixture,
  isolationCases,
  processesMentioning,
  pushCandidate,
  writableShared,
} from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

describe.each(isolationCases('sandbox', 'test-user'))(
  'a test that attacks the bot ($mode)',
  ({ mode, options, setUp }) => {
    beforeAll(setUp);

    async function fixture(): Promise<Fixture> {
      f = await createFixture((shared) => `test: sh test.sh\ncandidates: "pu/*"\n${writableShared(shared)}`, {
        base: '/var/tmp',
      });
      // The test user passes through the fixture's directory to its tree (mkdtemp makes it 0700).
      chmodSync(f.dir, 0o711);
      return f;
    }

    /** Runs the bot in this process, checking that the tests really ran in `mode`. */
    async function run(f: Fixture, onEvent?: (e: EngineEvent) => void) {
      const modesSeen: string[] = [];
      const report = await runOnce({
        repo: f.origin,
        stateDir: f.stateDir,
        ...options(),
        onEvent: (e) => {
          if (e.type === 'isolation') modesSeen.push(e.mode);
          onEvent?.(e);
        },
      });
      return { report, modesSeen };
    }

    const kinds = (verdicts: Verdict[]) => verdicts.map((v) => [v.kind, v.branch]);

    it("cannot plant a hook or config in the bot's mirror: the next candidate lands", async () => {
      f = await fixture();
      const ran = join(f.shared, 'attack-ran');
      // The mirror is found through the objects the test's own .git borrows.
      const attack = `m=$(dirname "$(cat .git/objects/info/alternates)")
mkdir -p "$m/hooks"
printf '#!/bin/sh\\necho "error: push refused" >&2\\nexit 1\\n' > "$m/hooks/pre-push" && chmod +x "$m/hooks/pre-push"
git config --file "$m/config" url./nowhere.insteadOf "${f.origin}"
git config --file "$m/config" core.fsmonitor "touch ${f.shared}/fsmonitor-ran"
c=$(git rev-parse --git-common-dir)
mkdir -p "$c/hooks" && cp "$m/hooks/pre-push" "$c/hooks/pre-push"
touch ${ran}
exit 1
`;
      await pushCandidate(f, { branch: 'pu/a', files: { 'test.sh': attack } });
      const good = await pushCandidate(f, { branch: 'pu/b', files: { 'b.txt': 'b\n' } });
      const { report, modesSeen } = await run(f);
      expect(modesSeen).toEqual([mode]);
      expect(existsSync(ran)).toBe(true);
      expect(kinds(report.verdicts)).toEqual([
        ['failed', 'pu/a'],
        ['landed', 'pu/b'],
      ]);
      expect(await f.rev(f.origin, 'master')).toBe(good);
      const mirror = repoPaths(f.stateDir, f.origin).mirror;
      expect(readFileSync(join(mirror, 'config'), 'utf8')).toBe(MIRROR_CONFIG);
      expect(existsSync(join(mirror, 'hooks', 'pre-push'))).toBe(false);
      expect(existsSync(join(f.shared, 'fsmonitor-ran'))).toBe(false);
    });

    it('cannot leave a setsid daemon behind to write into the next checkout', async () => {
      f = await fixture();
      const daemon = `setsid sh -c 'while :; do echo leak > "$0/leak.txt"; sleep 0.05; done' "$PWD" premerge-leak-daemon &
while [ ! -e leak.txt ]; do sleep 0.01; done
exit 1
`;
      await pushCandidate(f, { branch: 'pu/a', files: { 'test.sh': daemon } });
      const good = await pushCandidate(f, {
        branch: 'pu/b',
        files: { 'test.sh': '[ ! -e leak.txt ]\n' },
      });
      const aliveAtVerdict: number[][] = [];
      const { report } = await run(f, (e) => {
        if (e.type === 'verdict') aliveAtVerdict.push(processesMentioning('premerge-leak-daemon'));
      });
      expect(kinds(report.verdicts)).toEqual([
        ['failed', 'pu/a'],
        ['landed', 'pu/b'],
      ]);
      expect(aliveAtVerdict).toEqual([[], []]);
      expect(await f.rev(f.origin, 'master')).toBe(good);
    });

    it("cannot read the bot's secrets in /proc/$PPID/environ nor any /proc/*/environ", async () => {
      f = await fixture();
      const secret = `s3cr3t-${Math.random().toString(36).slice(2)}`;
      const probe = `if grep -als '${secret}' /proc/$PPID/environ /proc/*/environ 2>/dev/null | head -1 | grep -q .; then
  echo "FOUND the secret"; exit 1
fi
echo "no secret in sight"
`;
      const sha = await pushCandidate(f, { branch: 'pu/a', files: { 'test.sh': probe } });
      // /proc/PID/environ is the environment a process started with: the bot must start with the secret in it.
      const env = { ...process.env, WEBHOOK_SECRET: secret, PREMERGE_TOKEN: secret };
      const child = await startEngine(
        builtEngineRunner(),
        { repo: f.origin, stateDir: f.stateDir, ...options() },
        env,
      ).done;
      expect(child.code, child.stderr).toBe(0);
      const report = JSON.parse(child.stdout) as { verdicts: Verdict[] };
      expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
      const log = readFileSync(report.verdicts[0]!.logPath!, 'utf8');
      expect(log).toContain('no secret in sight');
      expect(log).not.toContain(secret);
    });

    it('cannot write the journal: a forged passed run never lands', async () => {
      f = await fixture();
      const paths = repoPaths(f.stateDir, f.origin);
      const base = await f.rev(f.origin, 'master');
      // A first look makes the journal and learns the config's hash (a capable attacker reads it from the journal).
      await run(f);
      const configHash = (await import('../src/config.js')).parseConfig(
        await f.git(f.origin, 'show', 'master:.github/premerge.yml'),
      ).hash;
      const forge = `cat '${paths.journal}' > ${f.shared}/journal-copy 2>/dev/null
sha=$(git rev-parse HEAD)
m='{"branch":"pu/a","sha":"'$sha'","tested":"'$sha'"}'
# (In the sandbox this "succeeds", into an empty mount that hides the state directory: the host's journal is what counts.)
printf '%s\\n' '{"type":"run-started","runId":"forged","at":"2020-01-01T00:00:00Z","target":"master","configHash":"${configHash}","base":"${base}","tested":"'$sha'","members":['$m'],"logPath":"/dev/null"}' >> '${paths.journal}'
printf '%s\\n' '{"type":"run-passed","runId":"forged","at":"2020-01-01T00:00:00Z","durationMs":1,"exitCode":0}' >> '${paths.journal}'
touch ${f.shared}/attack-ran
exit 1
`;
      const bad = await pushCandidate(f, { branch: 'pu/a', files: { 'test.sh': forge } });
      const journalBefore = readFileSync(paths.journal, 'utf8');
      const { report } = await run(f);
      expect(existsSync(join(f.shared, 'attack-ran'))).toBe(true);
      expect(readFileSync(join(f.shared, 'journal-copy'), 'utf8')).toBe('');
      expect(readFileSync(paths.journal, 'utf8')).not.toContain('forged');
      expect(readFileSync(paths.journal, 'utf8').startsWith(journalBefore)).toBe(true);
      expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['failed', bad]]);
      await run(f);
      expect(await f.rev(f.origin, 'master')).toBe(base);
    });

    it('cannot git update-ref the target, nor add a hook to the repository that holds it', async () => {
      f = await fixture();
      const base = await f.rev(f.origin, 'master');
      const attack = `git --git-dir='${f.origin}' update-ref refs/heads/master "$(git rev-parse HEAD)" && touch ${f.shared}/moved-master
printf '#!/bin/sh\\nexit 1\\n' > '${f.origin}/hooks/pre-receive' && chmod +x '${f.origin}/hooks/pre-receive'
touch ${f.shared}/attack-ran
exit 1
`;
      await pushCandidate(f, { branch: 'pu/a', files: { 'test.sh': attack } });
      const good = await pushCandidate(f, { branch: 'pu/b', files: { 'b.txt': 'b\n' }, from: base });
      const { report } = await run(f);
      expect(existsSync(join(f.shared, 'attack-ran'))).toBe(true);
      expect(existsSync(join(f.shared, 'moved-master'))).toBe(false);
      expect(existsSync(join(f.origin, 'hooks', 'pre-receive'))).toBe(false);
      expect(kinds(report.verdicts)).toEqual([
        ['failed', 'pu/a'],
        ['landed', 'pu/b'],
      ]);
      expect(await f.rev(f.origin, 'master')).toBe(good);
      // The origin stays the bot's user's own.
      expect(statSync(join(f.origin, 'refs', 'heads')).uid).toBe(process.getuid?.());
    });
  },
);
