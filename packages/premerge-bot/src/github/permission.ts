/**
 * Who may land through the App. The pusher of a candidate tip is the push event's `sender` (journaled with the
 * delivery); for a tip found only by reconcile, the actor of the repository activity that put the tip there. The
 * pusher's level comes from `GET …/collaborators/{login}/permission`, and counts only when that account is still the
 * one that pushed (`user.id` is the sender's id: a login can be renamed and taken by someone else).
 *
 * - `write` (the default `land-permission`): anyone who could push to the target themselves may land through the
 *   bot, which is then a test gate.
 * - `maintain` / `admin`: only maintainers (or admins) land, so a push by a mere writer waits for one of them to
 *   push the same commit again: the bot is then a review gate too.
 * - A candidate that changes `.github/premerge.yml` needs `maintain` at least, whatever `land-permission` says.
 */
import { apiError, type BotOctokit } from './app-client.js';
import type { RepoName } from './check-runs.js';
import type { Pusher } from './deliveries.js';

/** GitHub's repository roles, weakest first. */
export const LEVELS = ['read', 'triage', 'write', 'maintain', 'admin'] as const;
export type Level = (typeof LEVELS)[number];

/** What `land-permission` may say. */
export type LandPermission = 'write' | 'maintain' | 'admin';

export function atLeast(level: Level | null, required: Level): boolean {
  return level !== null && LEVELS.indexOf(level) >= LEVELS.indexOf(required);
}

/** The bot's own pushes (its landings) carry `sender.login` `<slug>[bot]`: they are never candidates. */
export function isOwnPush(sender: { login: string } | null | undefined, slug: string): boolean {
  return sender?.login === `${slug}[bot]`;
}

interface PermissionAnswer {
  permission: string;
  role_name: string;
  user: {
    id: number;
    login: string;
    permissions?: { admin?: boolean; maintain?: boolean; push?: boolean; triage?: boolean; pull?: boolean };
  } | null;
}

/**
 * The level an answer grants: its `role_name` when it is one of GitHub's five roles; for a custom role (an
 * organization's own name), the strongest of the base permissions it carries (`user.permissions`), else the
 * legacy `permission`.
 */
export function levelOf(answer: PermissionAnswer): Level | null {
  const role = answer.role_name as Level;
  if (LEVELS.includes(role)) return role;
  const p = answer.user?.permissions;
  if (p) {
    if (p.admin) return 'admin';
    if (p.maintain) return 'maintain';
    if (p.push) return 'write';
    if (p.triage) return 'triage';
    if (p.pull) return 'read';
  }
  return (
    ({ admin: 'admin', write: 'write', read: 'read' } as Record<string, Level>)[answer.permission] ?? null
  );
}

export type LandDecision = { ok: true; level: Level } | { ok: false; reason: string };

/**
 * Whether `pusher` may land on `repo` under `required` (`changesConfig`: the candidate changes the trusted
 * config, which needs `maintain` at least). Rejects with `GitHubApiError` when GitHub cannot be asked.
 */
export async function mayLand(
  client: BotOctokit,
  repo: RepoName,
  pusher: Pusher | null,
  required: LandPermission,
  changesConfig = false,
): Promise<LandDecision> {
  if (pusher === null) {
    return {
      ok: false,
      reason:
        'the bot could not tell who pushed this commit (its push webhook never arrived and the repository activity does not name it): push again',
    };
  }
  const needed: Level = changesConfig && !atLeast(required, 'maintain') ? 'maintain' : required;
  let answer: PermissionAnswer;
  try {
    const { data } = await client.rest.repos.getCollaboratorPermissionLevel({
      ...repo,
      username: pusher.login,
    });
    answer = data as PermissionAnswer;
  } catch (e) {
    if ((e as { status?: number }).status === 404) {
      return {
        ok: false,
        reason: `${pusher.login}, who pushed it, is not a GitHub account any more: push again`,
      };
    }
    throw apiError(e, `GET /repos/${repo.owner}/${repo.repo}/collaborators/${pusher.login}/permission`);
  }
  if (answer.user?.id !== pusher.id) {
    return {
      ok: false,
      reason: `the account ${pusher.login} is no longer the one that pushed this commit (renamed?): push again`,
    };
  }
  const level = levelOf(answer);
  if (!atLeast(level, needed)) {
    const why = changesConfig && needed !== required ? ' (it changes .github/premerge.yml)' : '';
    return {
      ok: false,
      reason: `${pusher.login} may not land on this repository: landing needs ${needed} permission${why}, and ${pusher.login} has ${level ?? 'none'}`,
    };
  }
  return { ok: true, level: level! };
}

/** Activity types that put a commit at a branch's tip. */
const PUTS_TIP = new Set(['push', 'force_push', 'branch_creation']);

/**
 * Who put `tip` at `branch`, from the repository's activity (for a candidate whose push webhook was missed): the
 * actor of the latest push, force push or branch creation of that ref whose `after` is `tip`. Looks through at
 * most `pages` pages of 100, newest first; null when none names it.
 */
export async function pusherFromActivity(
  client: BotOctokit,
  repo: RepoName,
  branch: string,
  tip: string,
  pages = 3,
): Promise<Pusher | null> {
  let seen = 0;
  try {
    for await (const page of client.paginate.iterator(client.rest.repos.listActivities, {
      ...repo,
      ref: `refs/heads/${branch}`,
      direction: 'desc',
      per_page: 100,
    })) {
      for (const a of page.data) {
        if (a.after === tip && PUTS_TIP.has(a.activity_type) && a.actor) {
          return { id: a.actor.id, login: a.actor.login };
        }
      }
      if (++seen >= pages) break;
    }
  } catch (e) {
    throw apiError(e, `GET /repos/${repo.owner}/${repo.repo}/activity`);
  }
  return null;
}
