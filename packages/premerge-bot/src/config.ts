/**
 * Reads and validates `.github/premerge.yml`. The caller passes the file's text as found on the repository's
 * default branch (the trusted side): a candidate can never change the test that decides whether it lands.
 */
import { createHash } from 'node:crypto';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { ConfigError } from './errors.js';

/** Where the configuration lives inside the repository. */
export const CONFIG_PATH = '.github/premerge.yml';

/** The validated configuration. */
export interface PremergeConfig {
  /** Branch to land on. @default the branch the config was read from (the repository's default branch) */
  target: string;
  /** Candidate branch names or globs (`*` within one path segment, `**` across). @default ['pu'] */
  candidates: string[];
  /** Shell command run with `/bin/sh -c` at the root of the candidate's worktree; exit 0 = pass. */
  test: string;
  /** Test timeout in milliseconds (the file says e.g. `30m`, `90s`, `1h`, `500ms`). @default 1_800_000 */
  timeoutMs: number;
  /** Rebase a candidate onto a moved target and test the result (true) or report `needs-rebase` (false). @default false */
  rebase: boolean;
  /**
   * `auto`: run each test in a bubblewrap sandbox where bwrap works; `off`: run tests as the bot's own user (trusted
   * tests only). `PREMERGE_SANDBOX` in the bot's environment wins. @default 'auto'
   */
  sandbox: 'auto' | 'off';
  /**
   * Paths the sandboxed test may write besides its tree, private HOME and TMPDIR (caches a build needs): absolute,
   * or `~/...` for the bot's home. @default []
   * @example ['~/.npm', '/var/cache/ccache']
   */
  sandboxWritable: string[];
  /**
   * Run tests as this other user (a name, or `UID[:GID]`) instead of in the sandbox; the bot must run as root.
   * `PREMERGE_TEST_USER` wins. @default undefined
   */
  testUser: string | undefined;
  /**
   * What happens to a candidate that changes `.github/premerge.yml` on the branch the config is read from:
   * `refuse` (it does not land; `premerge-bot land SHA --config-change` lands it) or `allow`. @default 'refuse'
   */
  configChanges: 'refuse' | 'allow';
  /**
   * Publish the whole log of a failed run in the status ref (`refs/premerge/status`), not only its last 50 lines:
   * whoever can read the repository reads them. @default false
   */
  publishLogs: boolean;
  /**
   * Who may land through the GitHub App: the pusher's repository role must be at least this (`write`: the bot is a
   * test gate; `maintain` or `admin`: a review gate too). A candidate that changes this file needs `maintain` at
   * least. Plain git knows no pushers and ignores it. @default 'write'
   */
  landPermission: 'write' | 'maintain' | 'admin';
  /** Stable hash of the settings that decide a verdict; verdicts are only reused under the same hash. */
  hash: string;
}

const KEYS = [
  'target',
  'candidates',
  'test',
  'timeout',
  'rebase',
  'sandbox',
  'sandbox-writable',
  'test-user',
  'config-changes',
  'publish-logs',
  'land-permission',
] as const;
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration such as `30m`, `1.5h`, `90s`, `250ms` or `30d` into milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!m) return null;
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  return ms > 0 && Number.isFinite(ms) ? Math.round(ms) : null;
}

/** Milliseconds as the config would say them: `30m`, `90s`, `1.5h`, `500ms`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && (ms / size) * 10 === Math.round((ms / size) * 10)) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A valid branch name for our purposes (what `git check-ref-format --branch` would accept, roughly). */
function isBranchName(name: string, allowGlob: boolean): boolean {
  if (
    name === '' ||
    name.startsWith('-') ||
    name.startsWith('/') ||
    name.endsWith('/') ||
    name.endsWith('.lock')
  )
    return false;
  if (/\.\.|@\{|\/\/|[\s~^:?\\[\x00-\x1f\x7f]/.test(name)) return false;
  return allowGlob || !name.includes('*');
}

/**
 * Parses the text of `.github/premerge.yml`. `source` names where it came from (branch and repository) for the
 * error message; errors carry `file`, `key` and `line`. `defaultBranch` is the branch the file was read from (the
 * repository's default branch), which `target` defaults to.
 */
export function parseConfig(text: string, source = '', defaultBranch = 'master'): PremergeConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const where = source ? ` (${source})` : '';
  const fail = (key: string | undefined, node: Node | null | undefined, what: string): never => {
    const line = node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
    const at = line === undefined ? CONFIG_PATH : `${CONFIG_PATH}:${line}`;
    const keyPart = key ? `key '${key}': ` : '';
    throw new ConfigError(`${at}: ${keyPart}${what}${where}`, 'PREMERGE_CONFIG_INVALID', {
      file: CONFIG_PATH,
      ...(key ? { key } : {}),
      ...(line === undefined ? {} : { line }),
    });
  };

  const first = doc.errors[0];
  if (first) {
    const line = lineCounter.linePos(first.pos[0]).line;
    const msg = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(
      `${CONFIG_PATH}${line ? `:${line}` : ''}: invalid YAML: ${msg}${where}`,
      'PREMERGE_CONFIG_INVALID',
      { file: CONFIG_PATH, ...(line ? { line } : {}) },
    );
  }
  const root = doc.contents;
  if (!isMap(root)) fail(undefined, root, `expected a mapping of keys (${KEYS.join(', ')})`);
  const map = root as import('yaml').YAMLMap;

  const found = new Map<string, { keyNode: Node; value: Node | null }>();
  for (const pair of map.items) {
    const keyNode = pair.key as Node;
    const name = isScalar(keyNode) ? String(keyNode.value) : '';
    if (!(KEYS as readonly string[]).includes(name)) {
      fail(name || undefined, keyNode, `unknown key; expected one of ${KEYS.join(', ')}`);
    }
    found.set(name, { keyNode, value: (pair.value as Node | null) ?? null });
  }

  const scalarString = (key: string): string | undefined => {
    const entry = found.get(key);
    if (!entry) return undefined;
    const v = entry.value;
    if (!isScalar(v) || v.value === null || typeof v.value === 'object')
      fail(key, v ?? entry.keyNode, 'expected a string');
    return String((v as import('yaml').Scalar).value);
  };

  const target = scalarString('target') ?? defaultBranch;
  if (!isBranchName(target, false))
    fail('target', found.get('target')?.value, `'${target}' is not a branch name`);

  let candidates = ['pu'];
  const c = found.get('candidates');
  if (c) {
    const v = c.value;
    if (isScalar(v) && typeof v.value === 'string') candidates = [v.value];
    else if (isSeq(v) && v.items.length > 0) {
      candidates = v.items.map((item) => {
        const n = item as Node;
        if (!isScalar(n) || typeof n.value !== 'string')
          fail('candidates', n, 'expected a branch name or glob');
        return String((n as import('yaml').Scalar).value);
      });
    } else
      fail('candidates', v ?? c.keyNode, 'expected a branch name or a non-empty list of names and globs');
    candidates.forEach((name, i) => {
      const node = isSeq(v) ? (v.items[i] as Node) : v;
      if (!isBranchName(name, true)) fail('candidates', node, `'${name}' is not a branch name or glob`);
      if (name === target) fail('candidates', node, `'${name}' is the target branch itself`);
    });
    candidates.forEach((name, i) => {
      const other = candidates.find((o, j) => j !== i && nestsUnder(name, o));
      if (other === undefined) return;
      const node = isSeq(v) ? (v.items[Math.max(i, candidates.indexOf(other))] as Node) : v;
      fail(
        'candidates',
        node,
        `'${name}' and '${other}' cannot both have branches: git cannot hold a branch ${sample(name)} and a branch ${sample(name)}/NAME in one repository (a ref cannot also be a directory of refs); keep one scheme, e.g. candidates: ${JSON.stringify(other)}`,
      );
    });
  }

  const test = scalarString('test');
  if (test === undefined)
    fail('test', null, 'missing: the shell command that decides whether a candidate lands');
  if (test!.trim() === '') fail('test', found.get('test')?.value, 'must not be empty');

  let timeoutMs = 30 * 60_000;
  const t = found.get('timeout');
  if (t) {
    const v = t.value;
    const raw = isScalar(v) ? v.value : undefined;
    const parsed = typeof raw === 'string' ? parseDuration(raw) : null;
    if (parsed === null) fail('timeout', v ?? t.keyNode, `expected a duration such as 30m, 90s, 1h or 500ms`);
    timeoutMs = parsed!;
  }

  const boolean = (key: string): boolean => {
    const entry = found.get(key);
    if (!entry) return false;
    const v = entry.value;
    if (!isScalar(v) || typeof v.value !== 'boolean') fail(key, v ?? entry.keyNode, 'expected true or false');
    return (v as import('yaml').Scalar<boolean>).value;
  };
  const rebase = boolean('rebase');
  const publishLogs = boolean('publish-logs');

  const oneOf = <T extends string>(key: string, values: readonly T[], fallback: T): T => {
    const value = scalarString(key);
    if (value === undefined) return fallback;
    if (!(values as readonly string[]).includes(value))
      fail(key, found.get(key)?.value, `expected ${values.join(' or ')}`);
    return value as T;
  };
  const sandbox = oneOf('sandbox', ['auto', 'off'], 'auto');
  const configChanges = oneOf('config-changes', ['refuse', 'allow'], 'refuse');
  const landPermission = oneOf('land-permission', ['write', 'maintain', 'admin'], 'write');

  const sandboxWritable: string[] = [];
  const w = found.get('sandbox-writable');
  if (w) {
    const v = w.value;
    const items = isSeq(v) ? (v.items as Node[]) : isScalar(v) ? [v as Node] : null;
    if (!items) fail('sandbox-writable', v ?? w.keyNode, 'expected a path or a list of paths');
    for (const n of items!) {
      const path = isScalar(n) && typeof n.value === 'string' ? n.value : null;
      if (path === null || !(path.startsWith('/') || path.startsWith('~/')) || path.includes('\0'))
        fail('sandbox-writable', n, "expected an absolute path, or one starting with ~/ (the bot's home)");
      sandboxWritable.push(path!);
    }
  }

  let testUser: string | undefined;
  const u = found.get('test-user');
  if (u) {
    const v = u.value;
    const raw =
      isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number') ? String(v.value) : '';
    if (!isTestUser(raw)) fail('test-user', v ?? u.keyNode, 'expected a user name, or UID or UID:GID');
    testUser = raw;
  }

  const hash = createHash('sha256')
    // Who may land decides `refused` verdicts; left out at its default so older verdicts keep their hash.
    .update(
      JSON.stringify({
        target,
        test,
        timeoutMs,
        rebase,
        ...(landPermission === 'write' ? {} : { landPermission }),
      }),
    )
    .digest('hex')
    .slice(0, 16);
  return {
    target,
    candidates,
    test: test!,
    timeoutMs,
    rebase,
    sandbox,
    sandboxWritable,
    testUser,
    configChanges,
    publishLogs,
    landPermission,
    hash,
  };
}

/** A user name as `useradd` accepts it, or a numeric `UID` or `UID:GID`. */
export function isTestUser(text: string): boolean {
  return /^[a-z_][a-z0-9_-]{0,31}$/.test(text) || /^\d+(:\d+)?$/.test(text);
}

/** Does branch `name` match one of the candidate names/globs? */
export function matchesCandidate(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => globToRegExp(p).test(name));
}

/** A branch name `pattern` accepts: its globs filled in. */
function sample(pattern: string): string {
  return pattern.replace(/\*\*?/g, 'x');
}

/**
 * Can `outer` accept a branch that is a directory of branches `inner` accepts (`pu` and `pu/*`: the branch `pu`
 * beside `pu/alice`)? Tried on sample names with the globs filled in: below what `outer` accepts (one and two
 * levels down), and the directories above what `inner` accepts.
 */
function nestsUnder(outer: string, inner: string): boolean {
  const name = sample(outer);
  const innerRe = globToRegExp(inner);
  const outerRe = globToRegExp(outer);
  // `**` accepts a branch and the branches below it by itself: listing it beside another entry adds no conflict.
  if (innerRe.test(name) || outerRe.test(sample(inner))) return false;
  if (innerRe.test(`${name}/x`) || innerRe.test(`${name}/x/x`)) return true;
  const parts = sample(inner).split('/');
  return parts.slice(1).some((_, i) => outerRe.test(parts.slice(0, i + 1).join('/')));
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else re += ch.replace(/[.+^${}()|[\]\\?]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The error for a default branch without the file. */
export function missingConfig(source: string): ConfigError {
  return new ConfigError(
    `${CONFIG_PATH}: missing on ${source}; nothing lands until it exists: add one with a \`test:\` key (the command whose exit 0 lets a candidate land), or bring it with premerge-bot land SHA --config-change`,
    'PREMERGE_CONFIG_MISSING',
    { file: CONFIG_PATH },
  );
}
