/**
 * The tree a test runs in: a git checkout of its own (not a worktree of the bot's mirror, not in the state
 * directory), pristine at every run, in every mode the bot can run tests in.
 */
import { chmodSync, chownSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runOnce } from '../src/engine.js';
import { repoPaths } from '../src/paths.js';
import type { OnceReport } from '../src/types.js';
import { builtEngineRunner, startEngine } from './helpers/engine-child.js';
import {
  createFixture,
  type Fixture,
  freeTestUid,
  isolationCases,
  pushCandidate,
  writableShared,
} from './helpers/git-fixture.js';

let f: Fixture;
afterEach(() => f?.cleanup());

describe.each(isolationCases('sandbox', 'test-user', 'same-user'))(
  'the test tree ($mode)',
  ({ mode, options, setUp }) => {
    beforeAll(setUp);

    async function fixture(): Promise<Fixture> {
      f = await createFixture((shared) => `test: sh test.sh\ncandidates: "pu/*"\n${writableShared(shared)}`);
      chmodSync(f.dir, 0o711);
      return f;
    }

    it('is a git checkout of its own: HEAD, tags and the target are there, and it is outside the state dir', async () => {
      f = await fixture();
      await f.git(f.work, 'tag', '-a', '-m', 'first', 'v1.0');
      await f.git(f.work, 'push', '--quiet', 'origin', 'v1.0');
      const out = (name: string) => join(f.shared, name);
      const test = `git rev-parse HEAD > ${out('head')}
git describe --tags > ${out('describe')}
git rev-parse origin/master > ${out('target')}
git status --porcelain --untracked-files=all > ${out('status')}
git rev-parse --absolute-git-dir > ${out('git-dir')}
pwd -P > ${out('pwd')}
`;
      const sha = await pushCandidate(f, { branch: 'pu/a', files: { 'test.sh': test } });
      const report = await runOnce({ repo: f.origin, stateDir: f.stateDir, ...options() });
      expect(report.verdicts.map((v) => [v.kind, v.sha])).toEqual([['landed', sha]]);
      const read = (name: string) => readFileSync(out(name), 'utf8').trim();
      const paths = repoPaths(f.stateDir, f.origin);
      expect({
        head: read('head'),
        describe: read('describe'),
        target: read('target'),
        status: read('status'),
        gitDir: read('git-dir'),
        pwd: read('pwd'),
      }).toEqual({
        head: sha,
        describe: `v1.0-1-g${sha.slice(0, 7)}`,
        target: await f.rev(f.origin, 'master^'),
        status: '',
        gitDir: join(paths.trees.tree, '.git'),
        pwd: paths.trees.tree,
      });
      expect(paths.trees.tree.startsWith(`${f.stateDir}/`)).toBe(false);
    });

    it('is pristine at every run, whatever the previous test did to it', async () => {
      f = await fixture();
      const outside = join(f.shared, 'outside.txt');
      writeFileSync(outside, 'untouched\n');
      chmodSync(outside, 0o666);
      // As the bot's own user, HOME and TMPDIR are the bot's: only the sandbox and a test user get private ones.
      const privateHome = mode !== 'same-user';
      const vandal = `mkdir -p src/.git/hooks && echo 'ref: refs/heads/evil' > src/.git/HEAD
mkfifo pipe
mkdir -p locked/inner && chmod 000 locked
rm README && ln -s ${outside} README
${privateHome ? 'echo junk > "$HOME/junk" && echo junk > "$TMPDIR/junk"' : ''}
echo '[core] hooksPath = /nowhere' >> .git/config
exit 1
`;
      const check = `[ ! -e src/.git ] && [ ! -e pipe ] && [ ! -e locked ] && [ ! -L README ] && [ "$(cat README)" = project ] &&
${privateHome ? '[ ! -e "$HOME/junk" ] && [ ! -e "$TMPDIR/junk" ] &&' : ''} ! grep -q nowhere .git/config &&
[ -z "$(git status --porcelain --ignored --untracked-files=all)" ]
`;
      await pushCandidate(f, { branch: 'pu/a', files: { 'test.sh': vandal, 'src/keep.txt': 'k\n' } });
      const good = await pushCandidate(f, {
        branch: 'pu/b',
        files: { 'test.sh': check, 'src/keep.txt': 'k\n' },
      });
      const report = await runOnce({ repo: f.origin, stateDir: f.stateDir, ...options() });
      expect(report.verdicts.map((v) => [v.kind, v.branch])).toEqual([
        ['failed', 'pu/a'],
        ['landed', 'pu/b'],
      ]);
      expect(await f.rev(f.origin, 'master')).toBe(good);
      expect(readFileSync(outside, 'utf8')).toBe('untouched\n');
    });
  },
);

describe.each(isolationCases('sandbox', 'same-user'))(
  'the test tree of a bot that permissions bind ($mode)',
  ({ options }) => {
    /**
     * Runs the bot once, in a child process (built dist/): as a uid of its own owning the whole fixture when the tests
     * run as root (root ignores permissions, so a test's `chmod 000` could not stop it), else as the user running them.
     */
    async function runAsItsOwnUser(fixture: Fixture): Promise<OnceReport> {
      let as: { uid: number; gid: number } | undefined;
      if (process.getuid?.() === 0) {
        const uid = freeTestUid();
        as = { uid, gid: uid };
        const chownAll = (path: string) => {
          chownSync(path, uid, uid);
          if (lstatSync(path).isDirectory()) for (const name of readdirSync(path)) chownAll(join(path, name));
        };
        chownAll(fixture.dir);
      }
      const child = await startEngine(
        builtEngineRunner(),
        { repo: fixture.origin, stateDir: fixture.stateDir, maxBatch: 1, ...options() },
        { ...fixture.env, PATH: process.env['PATH'] },
        as,
      ).done;
      expect(child.code, child.stderr).toBe(0);
      return JSON.parse(child.stdout) as OnceReport;
    }

    it('is pristine after a test that took the permissions of its tree and its directories away', async () => {
      // Each candidate adds a script of its own; rebased onto what landed before it, it runs those too.
      f = await createFixture(
        'test: for s in t/*.sh; do sh "$s" || exit 1; done\ncandidates: "pu/*"\nrebase: true\n',
      );
      // Each closes its tree itself last, after directories deep inside, a tracked directory and a tracked file.
      const closeRoot = `mkdir -p a/b/c && touch a/b/c/x && chmod 000 a/b/c a/b
touch src/junk && chmod 000 src
chmod 000 README
touch junk && chmod 000 .
exit 1
`;
      const readOnlyRoot = `touch src/junk && chmod 555 src
mkdir -p d/e && chmod 000 d
touch junk && chmod 555 .
exit 1
`;
      const check = `[ -r src/keep.txt ] && [ -w src ] && [ -w . ] && [ -r README ] && [ "$(cat README)" = project ] &&
[ ! -e junk ] && [ ! -e a ] && [ ! -e d ] && [ -z "$(git status --porcelain --ignored --untracked-files=all)" ]
`;
      const push = (name: string, test: string) =>
        pushCandidate(f, { branch: `pu/${name}`, files: { [`t/${name}.sh`]: test, 'src/keep.txt': 'k\n' } });
      await push('1-close', closeRoot);
      await push('2-check', check);
      await push('3-read-only', readOnlyRoot);
      await push('4-check', check);
      const report = await runAsItsOwnUser(f);
      // An error verdict (EACCES) would say why in its reason.
      expect(report.verdicts.map((v) => [v.kind, v.branch, v.kind === 'error' ? v.reason : ''])).toEqual([
        ['failed', 'pu/1-close', ''],
        ['landed', 'pu/2-check', ''],
        ['failed', 'pu/3-read-only', ''],
        ['landed', 'pu/4-check', ''],
      ]);
    });
  },
);
