/**
 * The tree a test runs in: a git checkout of its own (not a worktree of the bot's mirror, not in the state
 * directory), pristine at every run, in every mode the bot can run tests in.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runOnce } from '../src/engine.js';
import { repoPaths } from '../src/paths.js';
import {
  createFixture,
  type Fixture,
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
