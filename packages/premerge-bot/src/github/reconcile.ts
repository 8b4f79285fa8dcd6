/**
 * Missed webhooks happen (GitHub does not redeliver a failed delivery by itself), so the App does not rely on them:
 * on start and then periodically it lists the installations and their repositories, each repository's candidate
 * branches (by its trusted config, read through the contents API) and the App's check runs on their tips. A tip
 * without a completed check run of the App's is pending without a verdict: its repository gets an engine pass,
 * which decides from the repository itself what to test. Everything is read through REST; git is fetched only for
 * the repositories that need a pass.
 */
import { CONFIG_PATH, matchesCandidate, type PremergeConfig, parseConfig } from '../config.js';
import { apiError, type BotOctokit } from './app-client.js';
import { listCheckRuns, type RepoName } from './check-runs.js';
import type { GitHubRepository } from './github-forge.js';

/** Every repository of every installation of the App (`GET /app/installations`, `GET /installation/repositories`). */
export async function installedRepositories(
  app: BotOctokit,
  clientFor: (installationId: number) => BotOctokit,
): Promise<{ installations: number[]; repositories: GitHubRepository[] }> {
  let installations: Array<{ id: number; suspended_at?: string | null }>;
  try {
    installations = await app.paginate(app.rest.apps.listInstallations, { per_page: 100 });
  } catch (e) {
    throw apiError(e, 'GET /app/installations');
  }
  const repositories: GitHubRepository[] = [];
  const ids: number[] = [];
  for (const inst of installations) {
    if (inst.suspended_at) continue;
    ids.push(inst.id);
    const client = clientFor(inst.id);
    let repos: Array<{ id: number; full_name: string; clone_url: string; archived?: boolean }>;
    try {
      repos = await client.paginate(client.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
    } catch (e) {
      throw apiError(e, 'GET /installation/repositories');
    }
    for (const r of repos) {
      if (r.archived) continue;
      repositories.push(fromRest(r, inst.id));
    }
  }
  return { installations: ids, repositories };
}

/** A repository as the REST API (or a payload's `repository`) describes it. */
export function fromRest(
  r: { id: number; full_name: string; clone_url: string },
  installationId: number,
): GitHubRepository {
  const [owner = '', name = ''] = r.full_name.split('/');
  return { id: r.id, owner, name, cloneUrl: r.clone_url, installationId };
}

/** The literal start of a candidate pattern, for `matching-refs` (`pu/*` → `pu/`, `pu` → `pu`). */
function prefixOf(pattern: string): string {
  const glob = pattern.search(/[*?[]/);
  return glob < 0 ? pattern : pattern.slice(0, glob);
}

/** Whether a repository needs a pass, and the trusted config reconcile read, when it could. */
export type PassReason = ({ needed: false } | { needed: true; why: string }) & { config?: PremergeConfig };

/**
 * Whether `repo` needs an engine pass: its config cannot be read (the pass reports why), or one of its candidate
 * tips has no completed check run by App `appId`, or only refusals while another candidate branch has it too (a
 * second pusher, perhaps one who may land).
 */
export async function needsPass(
  client: BotOctokit,
  repository: GitHubRepository,
  appId: number,
): Promise<PassReason> {
  const repo: RepoName = { owner: repository.owner, repo: repository.name };
  let defaultBranch: string;
  let text: string;
  try {
    const { data } = await client.rest.repos.get({ ...repo });
    defaultBranch = data.default_branch;
  } catch (e) {
    throw apiError(e, `GET /repos/${repo.owner}/${repo.repo}`);
  }
  try {
    const { data } = await client.rest.repos.getContent({
      ...repo,
      path: CONFIG_PATH,
      ref: defaultBranch,
      mediaType: { format: 'raw' },
    });
    text = data as unknown as string;
  } catch (e) {
    if ((e as { status?: number }).status === 404) return { needed: false };
    throw apiError(e, `GET /repos/${repo.owner}/${repo.repo}/contents/${CONFIG_PATH}`);
  }
  let config: PremergeConfig;
  try {
    config = parseConfig(text, `branch ${defaultBranch} of ${repo.owner}/${repo.repo}`, defaultBranch);
  } catch (e) {
    return { needed: true, why: (e as Error).message };
  }
  const tips = new Map<string, string>();
  for (const prefix of new Set(config.candidates.map(prefixOf))) {
    try {
      const refs = await client.paginate(client.rest.git.listMatchingRefs, {
        ...repo,
        ref: `heads/${prefix}`,
        per_page: 100,
      });
      for (const r of refs) {
        const branch = r.ref.replace(/^refs\/heads\//, '');
        if (branch !== config.target && matchesCandidate(branch, config.candidates))
          tips.set(branch, r.object.sha);
      }
    } catch (e) {
      throw apiError(e, `GET /repos/${repo.owner}/${repo.repo}/git/matching-refs/heads/${prefix}`);
    }
  }
  let targetSha: string | null = null;
  try {
    targetSha = (await client.rest.git.getRef({ ...repo, ref: `heads/${config.target}` })).data.object.sha;
  } catch (e) {
    if ((e as { status?: number }).status !== 404) {
      throw apiError(e, `GET /repos/${repo.owner}/${repo.repo}/git/ref/heads/${config.target}`);
    }
  }
  const branchesAt = new Map<string, number>();
  for (const sha of tips.values()) branchesAt.set(sha, (branchesAt.get(sha) ?? 0) + 1);
  for (const [branch, sha] of [...tips].sort()) {
    // A tip the target already reached (after a landing, pu and the target are one commit) has nothing pending.
    if (sha === targetSha) continue;
    const runs = await listCheckRuns(client, repo, sha, appId);
    const completed = runs.filter((r) => r.status === 'completed');
    if (completed.length === 0) {
      return { needed: true, why: `${branch} ${sha.slice(0, 12)} has no verdict`, config };
    }
    // A refusal for the pusher holds for that pusher only: the same commit at another candidate branch may have
    // been pushed there by someone else, whom only the engine (which knows who pushed what) can ask about.
    if ((branchesAt.get(sha) ?? 0) > 1 && completed.every((r) => r.conclusion === 'action_required')) {
      return {
        needed: true,
        why: `${branch} ${sha.slice(0, 12)} was refused, and another candidate branch has it too`,
        config,
      };
    }
  }
  return { needed: false, config };
}
