/**
 * Webhook payloads built from the stand-in's state, in the shapes GitHub sends (checked against
 * `@octokit/openapi-webhooks` before they leave): `push` for every ref a push, a ref update through the API or a
 * web commit moved, `installation` / `installation_repositories` when a test changes an installation, and
 * `check_run` `rerequested` when someone clicks a check run's "Re-run", `check_suite` `rerequested` when someone
 * clicks "Re-run all checks" on a commit's check suite.
 */

import { ZERO_SHA } from './git.mjs';
import {
  checkRun as checkRunShape,
  installation as installationShape,
  integration,
  isoTime,
  nodeId,
  simpleUser,
  webhookRepository,
} from './shapes.mjs';

/** @typedef {import('./shapes.mjs').Urls} Urls */
/** @typedef {import('./model.mjs').Account} Account */
/** @typedef {import('./model.mjs').Installation} Installation */
/** @typedef {import('./model.mjs').Repository} Repository */
/** @typedef {import('./model.mjs').CheckRun} CheckRun */
/** @typedef {Awaited<ReturnType<import('./git.mjs').BareRepository['commit']>>} CommitInfo */

/** GitHub lists at most this many commits in a push payload. */
export const MAX_PUSH_COMMITS = 2048;

/**
 * `organization-simple-webhooks`, for payloads about an organization's repository.
 * @param {Urls} urls
 * @param {Account} org
 */
function organization(urls, org) {
  const api = `${urls.api}/orgs/${org.login}`;
  return {
    login: org.login,
    id: org.id,
    node_id: nodeId('Organization', org.id),
    url: api,
    repos_url: `${api}/repos`,
    events_url: `${api}/events`,
    hooks_url: `${api}/hooks`,
    issues_url: `${api}/issues`,
    members_url: `${api}/members{/member}`,
    public_members_url: `${api}/public_members{/member}`,
    avatar_url: `${urls.origin}/avatars/u/${org.id}?v=4`,
    description: null,
  };
}

/** @param {Urls} urls @param {Account} account */
function orgPart(urls, account) {
  return account.type === 'Organization' ? { organization: organization(urls, account) } : {};
}

/**
 * One ref update as a push payload describes it.
 * @typedef {object} PushFacts
 * @property {Repository} repo
 * @property {Installation} installation
 * @property {string} ref       full name
 * @property {string} before
 * @property {string} after
 * @property {boolean} forced
 * @property {CommitInfo[]} commits   oldest first
 * @property {Set<string>} distinct   shas no ref had before this push
 * @property {CommitInfo | null} head
 * @property {Account} actor          who pushed: a user, or an App's bot
 * @property {(email: string) => Account | undefined} userByEmail
 */

/**
 * The `push` payload.
 * @param {Urls} urls
 * @param {PushFacts} facts
 */
export function pushPayload(urls, facts) {
  const { repo, ref, before, after } = facts;
  const html = urls.repoHtml(repo);
  const short = (/** @type {string} */ sha) => sha.slice(0, 12);
  const created = before === ZERO_SHA;
  const deleted = after === ZERO_SHA;
  const person = (/** @type {{ name: string, email: string, date: string }} */ who) => {
    const user = facts.userByEmail(who.email);
    return { name: who.name, email: who.email, date: who.date, ...(user ? { username: user.login } : {}) };
  };
  const commit = (/** @type {CommitInfo} */ c) => ({
    id: c.id,
    tree_id: c.tree_id,
    distinct: facts.distinct.has(c.id),
    message: c.message,
    timestamp: c.timestamp,
    url: `${html}/commit/${c.id}`,
    author: person(c.author),
    committer: person(c.committer),
    added: c.added,
    removed: c.removed,
    modified: c.modified,
  });
  const branch = ref.replace(/^refs\/(heads|tags)\//, '');
  return {
    ref,
    before,
    after,
    repository: webhookRepository(urls, repo, { push: true }),
    pusher: { name: facts.actor.login, email: facts.actor.email },
    sender: simpleUser(urls, facts.actor),
    installation: { id: facts.installation.id, node_id: nodeId('Installation', facts.installation.id) },
    ...orgPart(urls, repo.owner),
    created,
    deleted,
    forced: facts.forced,
    base_ref: null,
    compare: created
      ? `${html}/compare/${encodeURIComponent(branch)}`
      : `${html}/compare/${short(before)}...${short(after)}`,
    commits: facts.commits.slice(-MAX_PUSH_COMMITS).map(commit),
    head_commit: facts.head ? commit(facts.head) : null,
  };
}

/**
 * The `installation` payload (`created` or `deleted`).
 * @param {Urls} urls
 * @param {Installation} inst
 * @param {'created' | 'deleted'} action
 * @param {Repository[]} repositories
 * @param {Account} sender
 */
export function installationPayload(urls, inst, action, repositories, sender) {
  return {
    action,
    installation: installationShape(urls, inst),
    repositories: repositories.map(repositoryBrief),
    requester: null,
    sender: simpleUser(urls, sender),
    ...orgPart(urls, inst.account),
  };
}

/**
 * The `installation_repositories` payload (`added` or `removed`).
 * @param {Urls} urls
 * @param {Installation} inst
 * @param {'added' | 'removed'} action
 * @param {Repository[]} changed
 * @param {Account} sender
 */
export function installationRepositoriesPayload(urls, inst, action, changed, sender) {
  return {
    action,
    installation: installationShape(urls, inst),
    repository_selection: inst.repositorySelection,
    repositories_added: action === 'added' ? changed.map(repositoryBrief) : [],
    repositories_removed: action === 'removed' ? changed.map(repositoryBrief) : [],
    requester: null,
    sender: simpleUser(urls, sender),
    ...orgPart(urls, inst.account),
  };
}

/** The short repository objects installation payloads carry. @param {Repository} repo */
function repositoryBrief(repo) {
  return {
    id: repo.id,
    node_id: nodeId('Repository', repo.id),
    name: repo.name,
    full_name: repo.fullName,
    private: repo.private,
  };
}

/**
 * The `check_run` `rerequested` payload: someone clicked "Re-run" on `run`. GitHub resets the run's check suite to
 * `queued` (the run itself is left as it is: the App decides what to do) and sends this to the App that made it.
 * @param {Urls} urls
 * @param {Repository} repo
 * @param {Installation} inst
 * @param {CheckRun} run
 * @param {Account} sender
 * @param {number} now
 */
export function checkRunRerequestedPayload(urls, repo, inst, run, sender, now) {
  const shape = checkRunShape(urls, repo, run);
  return {
    action: 'rerequested',
    check_run: {
      ...shape,
      check_suite: {
        id: run.checkSuiteId,
        node_id: nodeId('CheckSuite', run.checkSuiteId),
        head_branch: null,
        head_sha: run.headSha,
        status: 'queued',
        conclusion: null,
        url: `${urls.repoApi(repo)}/check-suites/${run.checkSuiteId}`,
        before: null,
        after: run.headSha,
        pull_requests: [],
        app: integration(urls, run.app),
        created_at: isoTime(run.createdAt),
        updated_at: isoTime(now),
      },
    },
    repository: webhookRepository(urls, repo),
    sender: simpleUser(urls, sender),
    installation: { id: inst.id, node_id: nodeId('Installation', inst.id) },
    ...orgPart(urls, repo.owner),
  };
}

/**
 * A check suite: one App's check runs on one commit.
 * @typedef {object} CheckSuiteFacts
 * @property {number} id
 * @property {import('./model.mjs').App} app
 * @property {string} headSha
 * @property {CheckRun[]} runs   the App's runs in the suite (at least one: the stand-in makes a suite with a run)
 */

/**
 * The `check_suite` `rerequested` payload: someone clicked "Re-run all checks" (or "Re-run failed checks") on
 * `suite`. GitHub resets the suite to `queued` and sends this to the App that owns the suite only; the runs in it
 * are left as they are (the App decides what to run again).
 * @param {Urls} urls
 * @param {Repository} repo
 * @param {Installation} inst
 * @param {CheckSuiteFacts} suite
 * @param {CommitInfo} head   the suite's commit
 * @param {Account} sender
 * @param {number} now
 */
export function checkSuiteRerequestedPayload(urls, repo, inst, suite, head, sender, now) {
  const api = `${urls.repoApi(repo)}/check-suites/${suite.id}`;
  const who = (/** @type {{ name: string, email: string }} */ p) => ({ name: p.name, email: p.email });
  return {
    action: 'rerequested',
    check_suite: {
      id: suite.id,
      node_id: nodeId('CheckSuite', suite.id),
      head_branch: null,
      head_sha: suite.headSha,
      status: 'queued',
      conclusion: null,
      url: api,
      before: null,
      after: suite.headSha,
      pull_requests: [],
      app: integration(urls, suite.app),
      created_at: isoTime(Math.min(...suite.runs.map((r) => r.createdAt))),
      updated_at: isoTime(now),
      // GitHub counts the latest run of each name.
      latest_check_runs_count: new Set(suite.runs.map((r) => r.name)).size,
      check_runs_url: `${api}/check-runs`,
      rerequestable: true,
      runs_rerequestable: true,
      head_commit: {
        id: head.id,
        tree_id: head.tree_id,
        message: head.message,
        timestamp: head.timestamp,
        author: who(head.author),
        committer: who(head.committer),
      },
    },
    repository: webhookRepository(urls, repo),
    sender: simpleUser(urls, sender),
    installation: { id: inst.id, node_id: nodeId('Installation', inst.id) },
    ...orgPart(urls, repo.owner),
  };
}
