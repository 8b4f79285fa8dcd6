/**
 * The stand-in's state rendered in GitHub's JSON shapes: users, apps, installations, repositories (REST and
 * webhook flavours), refs, contents, check runs, activities, collaborator permissions. Every field GitHub's
 * description requires is here; URLs point at the stand-in's own origin, laid out as GitHub Enterprise Server lays
 * them out (`ORIGIN/api/v3/...` for the API, `ORIGIN/OWNER/REPO` for pages and git).
 */

/** @typedef {import('./model.mjs').Account} Account */
/** @typedef {import('./model.mjs').App} App */
/** @typedef {import('./model.mjs').Installation} Installation */
/** @typedef {import('./model.mjs').Repository} Repository */
/** @typedef {import('./model.mjs').CheckRun} CheckRun */
/** @typedef {import('./model.mjs').Activity} Activity */

/** GitHub's legacy node id: base64 of `0<length of type>:<Type><id>` (e.g. `MDEwOlJlcG9zaXRvcnkxMjk2MjY5`). */
export function nodeId(/** @type {string} */ type, /** @type {number} */ id) {
  return Buffer.from(`0${type.length}:${type}${id}`).toString('base64');
}

/** ISO 8601 without milliseconds, as GitHub writes timestamps. */
export function isoTime(/** @type {number} */ ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Where things live on the stand-in. */
export class Urls {
  /** @param {string} origin e.g. http://127.0.0.1:4000 */
  constructor(origin) {
    this.origin = origin;
    this.api = `${origin}/api/v3`;
  }

  /** @param {Account} account */
  userApi(account) {
    return `${this.api}/users/${encodeURIComponent(account.login)}`;
  }

  /** @param {Repository} repo */
  repoApi(repo) {
    return `${this.api}/repos/${repo.fullName}`;
  }

  /** @param {Repository} repo */
  repoHtml(repo) {
    return `${this.origin}/${repo.fullName}`;
  }

  /** @param {Repository} repo */
  cloneUrl(repo) {
    return `${this.origin}/${repo.fullName}.git`;
  }
}

/**
 * `simple-user` (and the webhook `user` objects, which have the same fields).
 * @param {Urls} urls
 * @param {Account} account
 */
export function simpleUser(urls, account) {
  const api = urls.userApi(account);
  return {
    login: account.login,
    id: account.id,
    node_id: nodeId(
      account.type === 'Bot' ? 'Bot' : account.type === 'Organization' ? 'Organization' : 'User',
      account.id,
    ),
    avatar_url: `${urls.origin}/avatars/u/${account.id}?v=4`,
    gravatar_id: '',
    url: api,
    html_url:
      account.type === 'Bot'
        ? `${urls.origin}/apps/${account.login.replace(/\[bot\]$/, '')}`
        : `${urls.origin}/${account.login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: account.type,
    user_view_type: 'public',
    site_admin: false,
  };
}

/**
 * `integration`: what GET /app answers, and a check run's `app`.
 * @param {Urls} urls
 * @param {App} app
 */
export function integration(urls, app) {
  return {
    id: app.id,
    slug: app.slug,
    node_id: nodeId('Integration', app.id),
    client_id: app.clientId,
    owner: simpleUser(urls, app.owner),
    name: app.name,
    description: app.description,
    external_url: app.externalUrl,
    html_url: `${urls.origin}/apps/${app.slug}`,
    created_at: isoTime(app.createdAt),
    updated_at: isoTime(app.createdAt),
    permissions: { ...app.permissions },
    events: [...app.events],
    installations_count: app.installations.size,
  };
}

/**
 * `installation`, as REST lists it and as the `installation` webhook carries it.
 * @param {Urls} urls
 * @param {Installation} inst
 */
export function installation(urls, inst) {
  return {
    id: inst.id,
    client_id: inst.app.clientId,
    account: simpleUser(urls, inst.account),
    repository_selection: inst.repositorySelection,
    access_tokens_url: `${urls.api}/app/installations/${inst.id}/access_tokens`,
    repositories_url: `${urls.api}/installation/repositories`,
    html_url:
      inst.account.type === 'Organization'
        ? `${urls.origin}/organizations/${inst.account.login}/settings/installations/${inst.id}`
        : `${urls.origin}/settings/installations/${inst.id}`,
    app_id: inst.app.id,
    app_slug: inst.app.slug,
    target_id: inst.account.id,
    target_type: inst.account.type,
    permissions: { ...inst.permissions },
    events: [...inst.app.events],
    created_at: isoTime(inst.createdAt),
    updated_at: isoTime(inst.updatedAt),
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_by: null,
    suspended_at: null,
  };
}

/**
 * The URL fields every repository shape has.
 * @param {Urls} urls
 * @param {Repository} repo
 */
function repositoryUrls(urls, repo) {
  const api = urls.repoApi(repo);
  const host = new URL(urls.origin).host;
  return {
    html_url: urls.repoHtml(repo),
    url: api,
    archive_url: `${api}/{archive_format}{/ref}`,
    assignees_url: `${api}/assignees{/user}`,
    blobs_url: `${api}/git/blobs{/sha}`,
    branches_url: `${api}/branches{/branch}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    comments_url: `${api}/comments{/number}`,
    commits_url: `${api}/commits{/sha}`,
    compare_url: `${api}/compare/{base}...{head}`,
    contents_url: `${api}/contents/{+path}`,
    contributors_url: `${api}/contributors`,
    deployments_url: `${api}/deployments`,
    downloads_url: `${api}/downloads`,
    events_url: `${api}/events`,
    forks_url: `${api}/forks`,
    git_commits_url: `${api}/git/commits{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    git_url: `git://${host}/${repo.fullName}.git`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    issue_events_url: `${api}/issues/events{/number}`,
    issues_url: `${api}/issues{/number}`,
    keys_url: `${api}/keys{/key_id}`,
    labels_url: `${api}/labels{/name}`,
    languages_url: `${api}/languages`,
    merges_url: `${api}/merges`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    pulls_url: `${api}/pulls{/number}`,
    releases_url: `${api}/releases{/id}`,
    ssh_url: `git@${host}:${repo.fullName}.git`,
    stargazers_url: `${api}/stargazers`,
    statuses_url: `${api}/statuses/{sha}`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    tags_url: `${api}/tags`,
    teams_url: `${api}/teams`,
    trees_url: `${api}/git/trees{/sha}`,
    clone_url: urls.cloneUrl(repo),
    mirror_url: null,
    hooks_url: `${api}/hooks`,
    svn_url: urls.repoHtml(repo),
  };
}

/**
 * The counters and flags every repository shape has.
 * @param {Repository} repo
 */
function repositoryFacts(repo) {
  return {
    homepage: null,
    language: null,
    forks_count: 0,
    forks: 0,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    size: 0,
    default_branch: repo.defaultBranch,
    open_issues_count: 0,
    open_issues: 0,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: true,
    has_wiki: true,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: repo.private ? 'private' : 'public',
    license: null,
    allow_forking: true,
    web_commit_signoff_required: false,
  };
}

/**
 * `repository` (installation repository lists) and `full-repository` (GET /repos/{owner}/{repo}).
 * @param {Urls} urls
 * @param {Repository} repo
 * @param {{ full?: boolean }} [options]
 */
export function repository(urls, repo, options = {}) {
  return {
    id: repo.id,
    node_id: nodeId('Repository', repo.id),
    name: repo.name,
    full_name: repo.fullName,
    owner: simpleUser(urls, repo.owner),
    private: repo.private,
    description: repo.description,
    fork: false,
    ...repositoryUrls(urls, repo),
    ...repositoryFacts(repo),
    pushed_at: isoTime(repo.pushedAt),
    created_at: isoTime(repo.createdAt),
    updated_at: isoTime(repo.pushedAt),
    ...(options.full
      ? {
          network_count: 0,
          subscribers_count: 0,
          ...(repo.owner.type === 'Organization' ? { organization: simpleUser(urls, repo.owner) } : {}),
        }
      : {}),
  };
}

/**
 * The repository as webhook payloads carry it. A `push` payload's repository has `created_at` and `pushed_at` as
 * Unix seconds and an owner with `name` and `email`, as GitHub sends it; the other events use ISO timestamps.
 * @param {Urls} urls
 * @param {Repository} repo
 * @param {{ push?: boolean }} [options]
 */
export function webhookRepository(urls, repo, options = {}) {
  const base = repository(urls, repo);
  if (!options.push) return base;
  return {
    ...base,
    owner: { ...simpleUser(urls, repo.owner), name: repo.owner.login, email: repo.owner.email },
    created_at: Math.floor(repo.createdAt / 1000),
    pushed_at: Math.floor(repo.pushedAt / 1000),
    stargazers: 0,
    master_branch: repo.defaultBranch,
    ...(repo.owner.type === 'Organization' ? { organization: repo.owner.login } : {}),
  };
}

/**
 * `git-ref`.
 * @param {Urls} urls
 * @param {Repository} repo
 * @param {string} ref  full name, refs/heads/...
 * @param {string} sha
 */
export function gitRef(urls, repo, ref, sha) {
  const api = urls.repoApi(repo);
  return {
    ref,
    node_id: Buffer.from(`04:Ref${repo.id}:${ref}`).toString('base64'),
    url: `${api}/git/${ref}`,
    object: { type: 'commit', sha, url: `${api}/git/commits/${sha}` },
  };
}

/**
 * The `_links`, URLs and identity of one entry in a repository's contents.
 * @param {Urls} urls
 * @param {Repository} repo
 * @param {{ path: string, sha: string, size: number, type: string }} entry
 * @param {string} ref
 */
export function contentEntry(urls, repo, entry, ref) {
  const api = urls.repoApi(repo);
  const encoded = entry.path.split('/').map(encodeURIComponent).join('/');
  const self = `${api}/contents/${encoded}?ref=${encodeURIComponent(ref)}`;
  const kind = entry.type === 'dir' ? 'tree' : 'blob';
  const git =
    entry.type === 'submodule' ? null : `${api}/git/${entry.type === 'dir' ? 'trees' : 'blobs'}/${entry.sha}`;
  const html = `${urls.repoHtml(repo)}/${kind}/${encodeURIComponent(ref)}/${encoded}`;
  return {
    type: entry.type,
    size: entry.size,
    name: entry.path.split('/').pop() ?? entry.path,
    path: entry.path,
    sha: entry.sha,
    url: self,
    git_url: git,
    html_url: html,
    download_url:
      entry.type === 'file' ? `${urls.repoHtml(repo)}/raw/${encodeURIComponent(ref)}/${encoded}` : null,
    _links: { self, git, html },
  };
}

/**
 * `check-run`.
 * @param {Urls} urls
 * @param {Repository} repo
 * @param {CheckRun} run
 */
export function checkRun(urls, repo, run) {
  const api = urls.repoApi(repo);
  return {
    id: run.id,
    head_sha: run.headSha,
    node_id: nodeId('CheckRun', run.id),
    external_id: run.externalId,
    url: `${api}/check-runs/${run.id}`,
    html_url: `${urls.repoHtml(repo)}/runs/${run.id}`,
    details_url: run.detailsUrl ?? `${urls.origin}/apps/${run.app.slug}`,
    status: run.status,
    conclusion: run.conclusion,
    started_at: run.startedAt === null ? null : isoTime(run.startedAt),
    completed_at: run.completedAt === null ? null : isoTime(run.completedAt),
    output: {
      title: run.output.title,
      summary: run.output.summary,
      text: run.output.text,
      annotations_count: run.output.annotationsCount,
      annotations_url: `${api}/check-runs/${run.id}/annotations`,
    },
    name: run.name,
    check_suite: { id: run.checkSuiteId },
    app: integration(urls, run.app),
    pull_requests: [],
  };
}

/**
 * `activity`.
 * @param {Urls} urls
 * @param {Activity} activity
 */
export function activity(urls, activity) {
  return {
    id: activity.id,
    node_id: nodeId('RepositoryActivity', activity.id),
    before: activity.before,
    after: activity.after,
    ref: activity.ref,
    timestamp: isoTime(activity.timestamp),
    activity_type: activity.type,
    actor: activity.actor ? simpleUser(urls, activity.actor) : null,
  };
}

/** The legacy `permission` GitHub derives from a role (maintain counts as write, triage as read). */
const LEGACY = /** @type {const} */ ({
  admin: 'admin',
  maintain: 'write',
  write: 'write',
  triage: 'read',
  read: 'read',
});
const RANK = /** @type {const} */ (['read', 'triage', 'write', 'maintain', 'admin']);

/**
 * `repository-collaborator-permission`.
 * @param {Urls} urls
 * @param {Account} user
 * @param {import('./model.mjs').Role | null} role  null: no access
 */
export function collaboratorPermission(urls, user, role) {
  const at = (/** @type {import('./model.mjs').Role} */ level) =>
    role !== null && RANK.indexOf(role) >= RANK.indexOf(level);
  return {
    permission: role === null ? 'none' : LEGACY[role],
    role_name: role ?? '',
    user: {
      ...simpleUser(urls, user),
      permissions: {
        pull: at('read'),
        triage: at('triage'),
        push: at('write'),
        maintain: at('maintain'),
        admin: at('admin'),
      },
      role_name: role ?? '',
    },
  };
}
