/**
 * The trusted configuration: read from the repository's default branch (its `HEAD`) as fetched into the mirror,
 * never from a candidate. Its `target` names where to land.
 */
import { CONFIG_PATH, missingConfig, type PremergeConfig, parseConfig } from './config.js';
import { TargetMissingError } from './errors.js';
import type { ForgeSnapshot, TrustedConfig } from './forge.js';
import type { Mirror } from './workspace.js';

/** The config's target branch is not in the repository: what to do about it, in one line. */
export function targetMissing(target: string, repo: string, defaultBranch: string): TargetMissingError {
  return new TargetMissingError(
    `${CONFIG_PATH}: target branch '${target}' does not exist in ${repo}, so nothing can land: push a branch ${target} there, or name the branch to land on with \`target: BRANCH\` in ${CONFIG_PATH} on ${defaultBranch}`,
  );
}

/** The config as it stands on `repo`'s default branch (its HEAD), as fetched into the mirror. */
export async function readTrustedConfig(
  mirror: Mirror,
  repo: string,
  known?: string,
): Promise<PremergeConfig> {
  return (await readTrustedBlob(mirror, repo, known)).config;
}

/** The trusted config and the object id of its file (which a candidate that leaves the config alone shares). */
export async function readTrustedBlob(
  mirror: Mirror,
  repo: string,
  known?: string,
): Promise<{ config: PremergeConfig; oid: string }> {
  const branch = known ?? (await mirror.defaultBranch(repo));
  const source = `branch ${branch} of ${repo}`;
  const blob = await mirror.readBlob(`refs/origin/heads/${branch}`, CONFIG_PATH);
  if (blob === null) throw missingConfig(source);
  return { config: parseConfig(blob.text, source, branch), oid: blob.oid };
}

/**
 * The config on the default branch of a forge's `snapshot`, read from the mirror: what both forges' `readTrustedConfig`
 * return. `name` is the repository as the forge names it, for the error when there is none.
 */
export async function trustedConfigOf(
  mirror: Mirror,
  name: string,
  snapshot: ForgeSnapshot,
): Promise<TrustedConfig> {
  const branch = snapshot.defaultBranch;
  const source = `branch ${branch} of ${name}`;
  const commit = snapshot.branches.get(branch);
  const blob = commit === undefined ? null : await mirror.readBlob(commit, CONFIG_PATH);
  if (blob === null || commit === undefined) throw missingConfig(source);
  return { config: parseConfig(blob.text, source, branch), commit, oid: blob.oid };
}
