/**
 * The gate cannot be removed through the gate. The trusted config is read from the repository's default branch;
 * when that is also the branch the bot lands on, a landed candidate's `.github/premerge.yml` becomes the config
 * every later candidate is tested under. So before a candidate is tested, its own config is read:
 * - missing or invalid: it does not land (once landed, nothing could land after it);
 * - changed: with `config-changes: refuse` (the default) it does not land either, and its verdict says how to land
 *   it (`premerge-bot land SHA --config-change` on the bot's host); with `allow` it is tested under the config in
 *   force and lands, the change shown in its verdict.
 * When the target is another branch than the default one, landing cannot change the trusted config: no check.
 */
import { CONFIG_PATH, type PremergeConfig, parseConfig } from './config.js';
import { ConfigError } from './errors.js';
import type { Mirror } from './workspace.js';

export type GateResult =
  /** Lands as far as the config is concerned; `change` describes a config change `allow` let through. */
  | { ok: true; change?: string }
  /** It may not land; `change` is set when the only reason is a config change `config-changes: refuse` refused. */
  | { ok: false; reason: string; change?: string };

const show = (v: unknown) => JSON.stringify(v);

/** The settings two configs differ in, e.g. `test: "sh test.sh" -> "true"`; `formatting only` when none. */
export function describeChange(before: PremergeConfig, after: PremergeConfig): string {
  const fields: Array<[string, (c: PremergeConfig) => unknown]> = [
    ['target', (c) => c.target],
    ['candidates', (c) => c.candidates],
    ['test', (c) => c.test],
    ['timeout', (c) => `${c.timeoutMs}ms`],
    ['rebase', (c) => c.rebase],
    ['sandbox', (c) => c.sandbox],
    ['sandbox-writable', (c) => c.sandboxWritable],
    ['test-user', (c) => c.testUser ?? null],
    ['config-changes', (c) => c.configChanges],
    ['publish-logs', (c) => c.publishLogs],
  ];
  const changes = fields
    .filter(([, get]) => show(get(before)) !== show(get(after)))
    .map(([key, get]) => `${key}: ${show(get(before))} -> ${show(get(after))}`);
  return changes.length > 0 ? changes.join('; ') : 'formatting only';
}

export interface GateContext {
  mirror: Mirror;
  /** The config in force (read from the default branch). */
  config: PremergeConfig;
  /** The branch the trusted config was read from. */
  defaultBranch: string;
  /** A candidate whose config change was approved (`land --config-change`), if any. */
  approved?: string;
  /** A commit whose config file's object id is known already (the default branch's tip, read at the scan). */
  known?: { commit: string; oid: string };
}

/**
 * Decides whether `tested` (the candidate `sha`, or its rebase) may land on `base` as far as its config goes.
 * `approved` lets a config change through for that one candidate.
 */
export async function checkCandidateConfig(
  g: GateContext,
  sha: string,
  tested: string,
  base: string,
): Promise<GateResult> {
  if (g.config.target !== g.defaultBranch) return { ok: true };
  const [mine, theirs] = await Promise.all([
    g.mirror.blobId(tested, CONFIG_PATH),
    g.known?.commit === base ? g.known.oid : g.mirror.blobId(base, CONFIG_PATH),
  ]);
  if (mine !== null && mine === theirs) return { ok: true };
  const short = sha.slice(0, 12);
  if (mine === null) {
    return {
      ok: false,
      reason: `it deletes ${CONFIG_PATH}: once on ${g.config.target}, nothing could land after it; keep the file`,
    };
  }
  let next: PremergeConfig;
  try {
    next = parseConfig(
      (await g.mirror.readFile(tested, CONFIG_PATH)) ?? '',
      `commit ${short}`,
      g.defaultBranch,
    );
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, reason: `its ${e.message}; fix the file and push again` };
  }
  let before: PremergeConfig | null = null;
  if (theirs !== null) {
    try {
      before = parseConfig((await g.mirror.readFile(base, CONFIG_PATH)) ?? '', '', g.defaultBranch);
    } catch {
      before = g.config;
    }
  }
  const change = before ? describeChange(before, next) : `the first config, test: ${show(next.test)}`;
  if (g.config.configChanges === 'allow' || g.approved === sha) return { ok: true, change };
  return {
    ok: false,
    change,
    reason: `it changes ${CONFIG_PATH} (${change}) and config-changes is refuse: land it with \`premerge-bot land ${short} --config-change\` on the bot's host, which tests it under the new config`,
  };
}
