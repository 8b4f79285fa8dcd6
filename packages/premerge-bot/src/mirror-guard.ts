/**
 * Checks that the bot's own git directories (the mirror, and `tree.git` through which it checks out the test's
 * tree) still hold only what the bot wrote: `-c` pins switch hooks off, but cannot undo what a config file adds
 * (`url.*.insteadOf`, `include.path`, filter drivers) nor what `info/attributes` or `objects/info/alternates` say.
 * In the sandbox and in test-user mode a test cannot write there at all; tests that run as the bot's own user can,
 * and this check is what stops the bot from using a repository they changed. Checked when a session starts and
 * after every test run, before the bot's next git command.
 */
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MirrorTamperedError } from './errors.js';
import { git } from './git.js';

/**
 * The config the bot writes into its mirror. `logallrefupdates = false`: candidate branches are rewritten all the
 * time, and reflogs would pin their old objects. `sharedrepository = 0644`: objects readable by others whatever the
 * bot's umask, so a test user's git can read the objects its tree borrows (never writable by them).
 */
export const MIRROR_CONFIG =
  '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n\tlogallrefupdates = false\n\tsharedrepository = 0644\n';

/**
 * Settings a mirror made by an earlier premerge-bot may hold (`git init --bare` and `core.logAllRefUpdates false`):
 * such a mirror is brought to {@link MIRROR_CONFIG} once, anything else is a change the bot did not make.
 */
const LEGACY_SETTINGS: Record<string, (value: string) => boolean> = {
  'core.repositoryformatversion': (v) => v === '0',
  'core.filemode': () => true,
  'core.bare': (v) => v === 'true',
  'core.logallrefupdates': (v) => v === 'false',
  'core.ignorecase': () => true,
  'core.precomposeunicode': () => true,
  'core.sharedrepository': (v) => v === '0644',
};

/** Config texts already found good in this process, per git directory: the check then costs one file read. */
const verified = new Map<string, string>();

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** What is in `dir` that `allowed` does not accept. */
function unexpected(dir: string, allowed: (name: string, path: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => !allowed(name, join(dir, name)));
}

const onlyComments = (path: string) =>
  (read(path) ?? '').split('\n').every((line) => line.trim() === '' || line.trimStart().startsWith('#'));

const objectInfo = (name: string) => ['packs', 'commit-graph', 'commit-graphs'].includes(name);

function tampered(gitDir: string, what: string[]): MirrorTamperedError {
  return new MirrorTamperedError(
    `the bot's git directory ${gitDir} was changed behind its back (${what.join(', ')}); a test running as the bot's own user can do that, so the bot stops here. Find out what wrote it, remove ${gitDir} (the bot makes it anew) and run tests in the sandbox or as a test-user`,
    gitDir,
  );
}

/** Settings in a config file that are not {@link LEGACY_SETTINGS}, as `key=value`; null when git cannot read it. */
async function foreignSettings(configPath: string): Promise<string[] | null> {
  const r = await git(['config', '--file', configPath, '--list', '-z'], { okCodes: [1, 128] });
  if (r.code !== 0) return null;
  return r.stdout
    .split('\0')
    .filter(Boolean)
    .filter((entry) => {
      const newline = entry.indexOf('\n');
      const key = newline < 0 ? entry : entry.slice(0, newline);
      const value = newline < 0 ? '' : entry.slice(newline + 1);
      return !LEGACY_SETTINGS[key.toLowerCase()]?.(value);
    })
    .map((entry) => entry.replace('\n', '='));
}

/** Throws {@link MirrorTamperedError} unless the mirror at `gitDir` holds only what the bot wrote. */
export async function checkMirror(gitDir: string): Promise<void> {
  const configPath = join(gitDir, 'config');
  const config = read(configPath);
  const problems: string[] = [];
  if (config !== MIRROR_CONFIG && config !== verified.get(gitDir)) {
    const foreign = config === null ? null : await foreignSettings(configPath);
    if (foreign === null) problems.push('config unreadable');
    else if (foreign.length > 0) problems.push(`config: ${foreign.join(', ')}`);
    else {
      // A mirror of an earlier version: nothing in it but what git init and that version wrote.
      writeFileSync(`${configPath}.premerge`, MIRROR_CONFIG);
      renameSync(`${configPath}.premerge`, configPath);
    }
  }
  problems.push(
    ...unexpected(join(gitDir, 'hooks'), (name) => name.endsWith('.sample')).map((n) => `hooks/${n}`),
    ...unexpected(join(gitDir, 'info'), (name, path) => name === 'exclude' && onlyComments(path)).map(
      (n) => `info/${n}`,
    ),
    ...unexpected(join(gitDir, 'objects', 'info'), objectInfo).map((n) => `objects/info/${n}`),
  );
  if (problems.length > 0) throw tampered(gitDir, problems);
  verified.set(gitDir, read(configPath) ?? '');
}

/**
 * Throws {@link MirrorTamperedError} unless the tree's git directory at `gitDir` holds only what the bot wrote:
 * `config`, no hooks or info, and alternates naming the mirror's objects and nothing else.
 */
export function checkTreeGitDir(gitDir: string, expectedConfig: string, mirrorObjects: string): void {
  if (!existsSync(join(gitDir, 'HEAD'))) return;
  const problems: string[] = [];
  if (read(join(gitDir, 'config')) !== expectedConfig) problems.push('config');
  problems.push(
    ...unexpected(join(gitDir, 'hooks'), () => false).map((n) => `hooks/${n}`),
    ...unexpected(join(gitDir, 'info'), () => false).map((n) => `info/${n}`),
    ...unexpected(
      join(gitDir, 'objects', 'info'),
      (name, path) => objectInfo(name) || (name === 'alternates' && read(path) === `${mirrorObjects}\n`),
    ).map((n) => `objects/info/${n}`),
  );
  if (problems.length > 0) throw tampered(gitDir, problems);
}
