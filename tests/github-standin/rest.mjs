/**
 * The REST API, under `/api/v3` as on GitHub Enterprise Server: exactly the operations in {@link OPERATIONS},
 * each reading or changing the model, each request checked against the operation's parameters and body schema
 * (invalid: 422, as GitHub answers) and each answer checked against the response schema for its status (invalid:
 * a stand-in bug, answered 500 so the test sees it). Auth, permissions, pagination and headers as GitHub does them.
 */
import { randomBytes } from 'node:crypto';
import { grants, within } from './auth.mjs';
import { faultAnswer } from './faults.mjs';
import { ROLES } from './model.mjs';
import { OPERATIONS } from './schemas.mjs';
import {
  activity as activityShape,
  checkRun as checkRunShape,
  collaboratorPermission,
  contentEntry,
  gitRef,
  installation as installationShape,
  integration,
  isoTime,
  repository as repositoryShape,
} from './shapes.mjs';

/** @typedef {import('./standin.mjs').Standin} Standin */
/** @typedef {import('./auth.mjs').Credential} Credential */
/** @typedef {import('./model.mjs').Repository} Repository */
/** @typedef {import('./model.mjs').Account} Account */
/** @typedef {import('./model.mjs').CheckRun} CheckRun */
/** @typedef {import('./request-log.mjs').LoggedRequest} LoggedRequest */

/** Where the API lives on the stand-in's origin. */
export const API_PREFIX = '/api/v3';

/** GitHub's general documentation URL, for errors that belong to no one operation. */
const DOCS = 'https://docs.github.com/rest';

/** An error answer in GitHub's shape. */
export class HttpError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {{ headers?: Record<string, string>, errors?: unknown[] }} [extra]
   */
  constructor(status, message, extra = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.headers = extra.headers ?? {};
    this.errors = extra.errors;
  }
}

/**
 * What a handler answers.
 * @typedef {{ status: number, body?: unknown, headers?: Record<string, string>, raw?: Buffer, contentType?: string }} Answer
 *
 * What a handler gets.
 * @typedef {object} Context
 * @property {Standin} standin
 * @property {Record<string, string>} params
 * @property {Record<string, any>} query
 * @property {any} body
 * @property {Credential} credential
 * @property {URL} url
 * @property {Record<string, string | string[] | undefined>} headers
 */

/** Path parameters that span several segments (`heads/feature/x`, `docs/a/b.md`). */
const MULTI_SEGMENT = new Set(['ref', 'path']);

/** @type {{ operationId: string, method: string, regex: RegExp, names: string[] }[]} */
const ROUTES = Object.entries(OPERATIONS).map(([operationId, [method, template]]) => {
  /** @type {string[]} */
  const names = [];
  const source = template
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
      const name = /** @type {string} */ (param[1]);
      names.push(name);
      return MULTI_SEGMENT.has(name) ? '(.+)' : '([^/]+)';
    })
    .join('/')
    // The contents root is `…/contents` or `…/contents/` with an empty path.
    .replace('/(.+)', template.endsWith('/{path}') ? '(?:/(.*))?' : '/(.+)');
  return { operationId, method: method.toUpperCase(), regex: new RegExp(`^${source}$`), names };
});

/**
 * The operation a method and API path (without the prefix) match, and its decoded parameters.
 * @param {string} method
 * @param {string} path
 */
export function matchRoute(method, path) {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const m = route.regex.exec(path);
    if (!m) continue;
    /** @type {Record<string, string>} */
    const params = {};
    route.names.forEach((name, i) => {
      params[name] = decodeURIComponent(m[i + 1] ?? '');
    });
    return { operationId: route.operationId, params };
  }
  return undefined;
}

// ---- authorization ------------------------------------------------------------------------------------------

/**
 * The App a JWT authenticated; GitHub's 401s otherwise.
 * @param {Context} ctx
 */
function requireApp(ctx) {
  const c = ctx.credential;
  if (c.kind === 'app') return c.app;
  if (c.kind === 'invalid') throw new HttpError(401, c.message);
  throw new HttpError(401, 'A JSON web token could not be decoded');
}

/**
 * The installation token the request carries; GitHub's errors otherwise.
 * @param {Context} ctx
 */
function requireInstallation(ctx) {
  const c = ctx.credential;
  if (c.kind === 'installation') return c.token;
  if (c.kind === 'invalid') throw new HttpError(401, c.message);
  if (c.kind === 'none') throw new HttpError(401, 'Requires authentication');
  throw new HttpError(403, 'This endpoint requires you to be authenticated as a GitHub App installation.');
}

/**
 * The repository named by the path, if the credential may use it with `permission` at `level`: 404 for one it
 * cannot see (GitHub does not say a private repository exists), 403 for a missing permission.
 * @param {Context} ctx
 * @param {string} permission  e.g. `contents`
 * @param {'read' | 'write'} level
 * @returns {Repository}
 */
function requireRepo(ctx, permission, level) {
  const c = ctx.credential;
  if (c.kind === 'invalid') throw new HttpError(401, c.message);
  const repo = ctx.standin.model.repository(ctx.params.owner ?? '', ctx.params.repo ?? '');
  const notFound = () => new HttpError(404, 'Not Found');
  // GitHub names the permission the call needed in x-accepted-github-permissions.
  const forbidden = () =>
    new HttpError(403, 'Resource not accessible by integration', {
      headers: { 'x-accepted-github-permissions': `${permission}=${level}` },
    });
  if (c.kind === 'app') throw forbidden();
  if (!repo) throw notFound();
  if (c.kind === 'installation') {
    if (!ctx.standin.tokens.reaches(c.token, repo)) throw notFound();
    if (!grants(c.token.permissions, permission, level)) throw forbidden();
    return repo;
  }
  if (c.kind === 'user') {
    const role = repo.roleOf(c.user);
    if (role === null) throw notFound();
    // A user's role decides: `read` and `write` are role names too.
    if (ROLES.indexOf(role) < ROLES.indexOf(level)) {
      throw new HttpError(403, 'Resource not accessible by personal access token');
    }
    return repo;
  }
  if (repo.private) throw notFound();
  if (level === 'write') throw new HttpError(401, 'Requires authentication');
  return repo;
}

/**
 * The account that acts for the credential (the App's bot for an installation token).
 * @param {Credential} c
 * @returns {Account | null}
 */
function actorOf(c) {
  if (c.kind === 'installation') return c.token.installation.app.bot;
  if (c.kind === 'user') return c.user;
  return null;
}

// ---- pagination ---------------------------------------------------------------------------------------------

/**
 * One page of `items` by `page`/`per_page` (max 100, default 30), with GitHub's `Link` header.
 * @template T
 * @param {Context} ctx
 * @param {T[]} items
 * @returns {{ items: T[], headers: Record<string, string> }}
 */
function paginate(ctx, items) {
  const perPage = Math.min(Math.max(Number(ctx.query.per_page ?? 30), 1), 100);
  const page = Math.max(Number(ctx.query.page ?? 1), 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const link = (/** @type {number} */ n) => {
    const url = new URL(ctx.url);
    url.searchParams.set('per_page', String(perPage));
    url.searchParams.set('page', String(n));
    return url.toString();
  };
  /** @type {string[]} */
  const links = [];
  if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`, `<${link(1)}>; rel="first"`);
  if (page < last) links.push(`<${link(page + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
  return {
    items: items.slice((page - 1) * perPage, page * perPage),
    headers: links.length ? { link: links.join(', ') } : {},
  };
}

// ---- handlers -----------------------------------------------------------------------------------------------

/** @type {Record<string, (ctx: Context) => Promise<Answer> | Answer>} */
const HANDLERS = {
  'apps/get-authenticated'(ctx) {
    return { status: 200, body: integration(ctx.standin.urls, requireApp(ctx)) };
  },

  'apps/list-installations'(ctx) {
    const app = requireApp(ctx);
    const all = [...app.installations.values()].filter((i) => !i.deleted);
    const since = ctx.query.since ? Date.parse(ctx.query.since) : null;
    const listed = since === null ? all : all.filter((i) => i.updatedAt >= since);
    const { items, headers } = paginate(ctx, listed);
    return { status: 200, body: items.map((i) => installationShape(ctx.standin.urls, i)), headers };
  },

  'apps/create-installation-access-token'(ctx) {
    const app = requireApp(ctx);
    const inst = app.installations.get(Number(ctx.params.installation_id));
    if (!inst || inst.deleted) throw new HttpError(404, 'Not Found');
    const body = ctx.body ?? {};
    const model = ctx.standin.model;
    /** @type {Set<number> | null} */
    let repositoryIds = null;
    if (body.repositories || body.repository_ids) {
      const wanted = [
        ...(body.repository_ids ?? []).map((/** @type {number} */ id) => model.repositories.get(id)),
        ...(body.repositories ?? []).map((/** @type {string} */ name) =>
          model.repository(inst.account.login, name),
        ),
      ];
      if (wanted.some((repo) => !repo || !inst.includes(repo))) {
        throw new HttpError(
          422,
          'There is at least one repository that does not exist or is not accessible to the parent installation.',
        );
      }
      repositoryIds = new Set(wanted.map((repo) => /** @type {Repository} */ (repo).id));
    }
    const permissions = body.permissions ?? inst.permissions;
    if (!within(permissions, inst.permissions)) {
      throw new HttpError(422, 'The permissions requested are not granted to this installation.');
    }
    const token = ctx.standin.tokens.issue(inst, { permissions, repositoryIds });
    const repos = repositoryIds
      ? [...repositoryIds].map((id) => /** @type {Repository} */ (model.repositories.get(id)))
      : null;
    return {
      status: 201,
      body: {
        token: token.token,
        expires_at: isoTime(token.expiresAt),
        permissions: token.permissions,
        repository_selection: repos ? 'selected' : inst.repositorySelection,
        ...(repos ? { repositories: repos.map((r) => repositoryShape(ctx.standin.urls, r)) } : {}),
      },
    };
  },

  'apps/list-repos-accessible-to-installation'(ctx) {
    const token = requireInstallation(ctx);
    const repos = [...ctx.standin.model.repositories.values()].filter((r) =>
      ctx.standin.tokens.reaches(token, r),
    );
    const { items, headers } = paginate(ctx, repos);
    return {
      status: 200,
      body: {
        total_count: repos.length,
        repositories: items.map((r) => repositoryShape(ctx.standin.urls, r)),
        repository_selection: token.repositoryIds ? 'selected' : token.installation.repositorySelection,
      },
      headers,
    };
  },

  'repos/get'(ctx) {
    const repo = requireRepo(ctx, 'metadata', 'read');
    return { status: 200, body: repositoryShape(ctx.standin.urls, repo, { full: true }) };
  },

  async 'repos/get-content'(ctx) {
    const repo = requireRepo(ctx, 'contents', 'read');
    const ref = ctx.query.ref ?? repo.defaultBranch;
    const commit = await repo.git.resolveCommit(ref);
    if (!commit) throw new HttpError(404, `No commit found for the ref ${ref}`);
    const path = (ctx.params.path ?? '').replace(/^\/+|\/+$/g, '');
    const entry = await repo.git.entry(commit, path);
    if (!entry) throw new HttpError(404, 'Not Found');
    const urls = ctx.standin.urls;
    if (entry.type === 'tree') {
      const children = await repo.git.list(commit, path);
      const kind = (/** @type {{ type: string, mode: string }} */ e) =>
        e.type === 'tree'
          ? 'dir'
          : e.type === 'commit'
            ? 'submodule'
            : e.mode === '120000'
              ? 'symlink'
              : 'file';
      return {
        status: 200,
        body: children.map((c) =>
          contentEntry(
            urls,
            repo,
            { path: path ? `${path}/${c.name}` : c.name, sha: c.sha, size: c.size, type: kind(c) },
            ref,
          ),
        ),
      };
    }
    if (entry.type === 'commit') throw new HttpError(404, 'Not Found');
    const bytes = await repo.git.blob(entry.sha);
    const accept = String(ctx.headers.accept ?? '');
    if (/application\/vnd\.github(\.v3)?\.raw/.test(accept)) {
      return { status: 200, raw: bytes, contentType: 'application/vnd.github.raw; charset=utf-8' };
    }
    const base = contentEntry(
      urls,
      repo,
      { path, sha: entry.sha, size: entry.size, type: entry.mode === '120000' ? 'symlink' : 'file' },
      ref,
    );
    if (entry.mode === '120000') return { status: 200, body: { ...base, target: bytes.toString('utf8') } };
    // GitHub sends files up to 1 MB inline (base64, in lines of 60 characters) and larger ones without content.
    const inline = entry.size <= 1024 * 1024;
    const content = inline
      ? (bytes.toString('base64').match(/.{1,60}/g) ?? []).map((l) => `${l}\n`).join('')
      : '';
    return { status: 200, body: { ...base, content, encoding: inline ? 'base64' : 'none' } };
  },

  async 'git/list-matching-refs'(ctx) {
    const repo = requireRepo(ctx, 'contents', 'read');
    const prefix = `refs/${ctx.params.ref ?? ''}`;
    const refs = [...(await repo.git.refs())]
      .filter(([name]) => name.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return { status: 200, body: refs.map(([name, sha]) => gitRef(ctx.standin.urls, repo, name, sha)) };
  },

  async 'git/get-ref'(ctx) {
    const repo = requireRepo(ctx, 'contents', 'read');
    const name = `refs/${ctx.params.ref ?? ''}`;
    const sha = await repo.git.ref(name);
    if (!sha) throw new HttpError(404, 'Not Found');
    return { status: 200, body: gitRef(ctx.standin.urls, repo, name, sha) };
  },

  async 'git/update-ref'(ctx) {
    const repo = requireRepo(ctx, 'contents', 'write');
    const name = `refs/${ctx.params.ref ?? ''}`;
    if (!/^refs\/(heads|tags)\/./.test(name)) throw new HttpError(422, 'Reference does not exist');
    const { sha, force = false } = ctx.body;
    const c = ctx.credential;
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await repo.git.ref(name);
      if (!current) throw new HttpError(422, 'Reference does not exist');
      const target = /^[0-9a-f]{40}$/.test(sha) ? await repo.git.peel(sha) : null;
      if (target !== sha) throw new HttpError(422, 'Object does not exist');
      if (current === sha) return { status: 200, body: gitRef(ctx.standin.urls, repo, name, sha) };
      if (!force && !(await repo.git.isAncestor(current, sha)))
        throw new HttpError(422, 'Update is not a fast forward');
      if (c.kind === 'installation' && !grants(c.token.permissions, 'workflows', 'write')) {
        const workflow = (await repo.git.changedFiles(current, sha)).find((f) =>
          f.startsWith('.github/workflows/'),
        );
        if (workflow) {
          throw new HttpError(
            422,
            `refusing to allow a GitHub App to create or update workflow \`${workflow}\` without \`workflows\` permission`,
          );
        }
      }
      // Compare-and-swap: if a push moved the ref since it was read, decide again from the new state.
      if (await repo.git.compareAndSwap(name, sha, current)) {
        await ctx.standin.recordRefUpdates(repo, [{ ref: name, before: current, after: sha }], actorOf(c));
        return { status: 200, body: gitRef(ctx.standin.urls, repo, name, sha) };
      }
    }
    throw new HttpError(409, 'Reference update failed');
  },

  async 'checks/create'(ctx) {
    const repo = requireRepo(ctx, 'checks', 'write');
    const token = checksToken(ctx);
    const body = ctx.body;
    const head = /^[0-9a-f]{40}$/.test(body.head_sha) ? await repo.git.peel(body.head_sha) : null;
    if (head === null || head !== body.head_sha)
      throw new HttpError(422, `No commit found for SHA: ${body.head_sha}`);
    const app = token.installation.app;
    const now = ctx.standin.model.clock.now();
    const suiteKey = `${app.id}:${head}`;
    let suite = repo.checkSuites.get(suiteKey);
    if (suite === undefined) {
      suite = ctx.standin.model.ids.next('checkSuite');
      repo.checkSuites.set(suiteKey, suite);
    }
    /** @type {CheckRun} */
    const run = {
      id: ctx.standin.model.ids.next('checkRun'),
      headSha: head,
      name: body.name,
      status: 'queued',
      conclusion: null,
      externalId: body.external_id ?? '',
      detailsUrl: body.details_url ?? null,
      startedAt: now,
      completedAt: null,
      output: { title: null, summary: null, text: null, annotationsCount: 0 },
      app,
      checkSuiteId: suite,
      createdAt: now,
    };
    applyCheckRunChanges(run, body, now);
    repo.checkRuns.set(run.id, run);
    return { status: 201, body: checkRunShape(ctx.standin.urls, repo, run) };
  },

  'checks/update'(ctx) {
    const repo = requireRepo(ctx, 'checks', 'write');
    const token = checksToken(ctx);
    const run = repo.checkRuns.get(Number(ctx.params.check_run_id));
    if (!run) throw new HttpError(404, 'Not Found');
    if (run.app.id !== token.installation.app.id)
      throw new HttpError(
        403,
        'Invalid app_id `' +
          token.installation.app.id +
          '` - check run can only be modified by the GitHub App that created it.',
      );
    applyCheckRunChanges(run, ctx.body, ctx.standin.model.clock.now());
    return { status: 200, body: checkRunShape(ctx.standin.urls, repo, run) };
  },

  async 'checks/list-for-ref'(ctx) {
    const repo = requireRepo(ctx, 'checks', 'read');
    const ref = ctx.params.ref ?? '';
    const commit = await repo.git.resolveCommit(ref);
    if (!commit) throw new HttpError(422, `No commit found for SHA: ${ref}`);
    let runs = [...repo.checkRuns.values()].filter((r) => r.headSha === commit);
    if (ctx.query.check_name !== undefined) runs = runs.filter((r) => r.name === ctx.query.check_name);
    if (ctx.query.status !== undefined) runs = runs.filter((r) => r.status === ctx.query.status);
    if (ctx.query.app_id !== undefined) runs = runs.filter((r) => r.app.id === ctx.query.app_id);
    runs.sort((a, b) => b.id - a.id);
    if ((ctx.query.filter ?? 'latest') === 'latest') {
      // The most recent run of each name (per App), as GitHub's default `filter=latest` keeps.
      const seen = new Set();
      runs = runs.filter((r) => {
        const key = `${r.app.id}\0${r.name}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    }
    const { items, headers } = paginate(ctx, runs);
    return {
      status: 200,
      body: {
        total_count: runs.length,
        check_runs: items.map((r) => checkRunShape(ctx.standin.urls, repo, r)),
      },
      headers,
    };
  },

  'repos/get-collaborator-permission-level'(ctx) {
    const repo = requireRepo(ctx, 'metadata', 'read');
    const user = ctx.standin.model.accountByLogin(ctx.params.username ?? '');
    if (!user || user.type === 'Organization') throw new HttpError(404, 'Not Found');
    return { status: 200, body: collaboratorPermission(ctx.standin.urls, user, repo.roleOf(user)) };
  },

  'repos/list-activities'(ctx) {
    const repo = requireRepo(ctx, 'metadata', 'read');
    const q = ctx.query;
    let list = [...repo.activities];
    if (q.ref !== undefined) {
      const ref = String(q.ref).startsWith('refs/') ? q.ref : `refs/heads/${q.ref}`;
      list = list.filter((a) => a.ref === ref);
    }
    if (q.actor !== undefined)
      list = list.filter((a) => a.actor?.login.toLowerCase() === String(q.actor).toLowerCase());
    if (q.activity_type !== undefined) list = list.filter((a) => a.type === q.activity_type);
    if (q.time_period !== undefined) {
      const days = { day: 1, week: 7, month: 30, quarter: 91, year: 365 }[
        /** @type {'day'} */ (q.time_period)
      ];
      const since = ctx.standin.model.clock.now() - days * 86_400_000;
      list = list.filter((a) => a.timestamp >= since);
    }
    if ((q.direction ?? 'desc') === 'desc') list.reverse();
    return cursorPage(ctx, list, (a) => activityShape(ctx.standin.urls, a));
  },
};

/**
 * A page of activities by GitHub's cursors (`before`/`after`, opaque; `Link` has `next` and `prev`).
 * @param {Context} ctx
 * @param {import('./model.mjs').Activity[]} list  in the order asked for
 * @param {(a: import('./model.mjs').Activity) => unknown} shape
 * @returns {Answer}
 */
function cursorPage(ctx, list, shape) {
  const perPage = Math.min(Math.max(Number(ctx.query.per_page ?? 30), 1), 100);
  const decode = (/** @type {string} */ c) =>
    Number(
      Buffer.from(c, 'base64url')
        .toString()
        .replace(/^cursor:/, ''),
    );
  const encode = (/** @type {number} */ id) => Buffer.from(`cursor:${id}`).toString('base64url');
  let start = 0;
  let end = list.length;
  if (ctx.query.after) {
    const i = list.findIndex((a) => a.id === decode(ctx.query.after));
    start = i + 1;
    end = Math.min(start + perPage, list.length);
  } else if (ctx.query.before) {
    const i = list.findIndex((a) => a.id === decode(ctx.query.before));
    end = Math.max(i, 0);
    start = Math.max(end - perPage, 0);
  } else {
    end = Math.min(perPage, list.length);
  }
  const page = list.slice(start, end);
  const link = (/** @type {'after' | 'before'} */ dir, /** @type {number} */ id) => {
    const url = new URL(ctx.url);
    url.searchParams.delete('after');
    url.searchParams.delete('before');
    url.searchParams.set(dir, encode(id));
    url.searchParams.set('per_page', String(perPage));
    return url.toString();
  };
  /** @type {string[]} */
  const links = [];
  const first = page[0];
  const last = page[page.length - 1];
  if (last && end < list.length) links.push(`<${link('after', last.id)}>; rel="next"`);
  if (first && start > 0) links.push(`<${link('before', first.id)}>; rel="prev"`);
  return { status: 200, body: page.map(shape), headers: links.length ? { link: links.join(', ') } : {} };
}

/**
 * Check runs are an App's: a personal token gets GitHub's refusal.
 * @param {Context} ctx
 */
function checksToken(ctx) {
  if (ctx.credential.kind === 'user') throw new HttpError(403, 'You must authenticate via a GitHub App.');
  return requireInstallation(ctx);
}

/**
 * Applies a create or update body to a check run, with GitHub's rules: a conclusion completes the run, a
 * completed run needs a conclusion, annotations add up.
 * @param {CheckRun} run
 * @param {any} body
 * @param {number} now
 */
function applyCheckRunChanges(run, body, now) {
  const conclusion = body.conclusion ?? run.conclusion;
  const status = body.conclusion !== undefined ? 'completed' : (body.status ?? run.status);
  if (status === 'completed' && !conclusion) {
    throw new HttpError(422, 'Invalid request.\n\nNo conclusion given for a completed check run.', {
      errors: [{ resource: 'CheckRun', code: 'missing_field', field: 'conclusion' }],
    });
  }
  if (body.name !== undefined) run.name = body.name;
  if (body.external_id !== undefined) run.externalId = body.external_id;
  if (body.details_url !== undefined) run.detailsUrl = body.details_url;
  if (body.started_at !== undefined) run.startedAt = Date.parse(body.started_at);
  run.status = status;
  run.conclusion = status === 'completed' ? conclusion : null;
  if (status === 'completed')
    run.completedAt =
      body.completed_at !== undefined ? Date.parse(body.completed_at) : (run.completedAt ?? now);
  else run.completedAt = null;
  if (body.output) {
    run.output = {
      title: body.output.title ?? run.output.title,
      summary: body.output.summary ?? run.output.summary,
      text: body.output.text ?? run.output.text,
      annotationsCount: run.output.annotationsCount + (body.output.annotations?.length ?? 0),
    };
  }
}

// ---- the handler --------------------------------------------------------------------------------------------

/** GitHub's request ids look like `C0DE:1F2E:3A4B5C:6D7E8F:65A1B2C3`. */
export function requestId() {
  const hex = (/** @type {number} */ n) => randomBytes(n).toString('hex').toUpperCase();
  return `${hex(2)}:${hex(2)}:${hex(3)}:${hex(3)}:${hex(4)}`;
}

/**
 * Answers one REST request; the body has been read already.
 * @param {Standin} standin
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {URL} url  the request's absolute URL
 * @param {Buffer} rawBody
 * @param {LoggedRequest} entry
 */
export async function handleRest(standin, req, res, url, rawBody, entry) {
  const method = req.method ?? 'GET';
  const path = url.pathname.slice(API_PREFIX.length) || '/';
  const route = matchRoute(method, path);
  entry.operation = route?.operationId ?? null;
  entry.body = rawBody.toString('utf8');
  entry.bodyBytes = rawBody.length;
  const credential = await standin.tokens.fromAuthorization(header(req, 'authorization'));
  entry.auth = describeCredential(credential, header(req, 'authorization'));
  const rate = standin.rateLimit(credential);
  /** @type {Record<string, string>} */
  const baseHeaders = {
    'content-type': 'application/json; charset=utf-8',
    'x-github-media-type': 'github.v3; format=json',
    'x-github-api-version-selected': '2022-11-28',
    'x-github-request-id': entry.requestId,
    date: new Date(standin.model.clock.now()).toUTCString(),
    ...rate,
  };
  /** @param {number} status @param {unknown} body @param {Record<string, string>} [headers] */
  const send = (status, body, headers = {}) => {
    entry.status = status;
    res.writeHead(status, { ...baseHeaders, ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  /** @param {HttpError} error */
  const errorBody = (error) => ({
    message: error.message,
    ...(error.errors ? { errors: error.errors } : {}),
    documentation_url: docsUrl(route?.operationId, error.status),
    status: String(error.status),
  });

  if (!route) {
    entry.error = 'Not Found';
    return send(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
  }
  const operationId = route.operationId;
  const subject =
    credential.kind === 'installation'
      ? `installation ID ${credential.token.installation.id}`
      : credential.kind === 'user'
        ? `user ID ${credential.user.id}`
        : 'this IP';

  /** Answers with a fault due at this point, if one is; true when it did. @param {'before' | 'after'} when */
  const faulted = (when) => {
    const fault = standin.faults.take(operationId, when, true);
    if (!fault) return false;
    entry.fault = fault.kind;
    const answer = faultAnswer(fault, {
      requestId: entry.requestId,
      nowMs: standin.model.clock.now(),
      subject,
    });
    entry.error = answer.body.message;
    send(answer.status, answer.body, answer.headers);
    return true;
  };
  if (faulted('before')) return;

  /** @type {Answer} */
  let answer;
  try {
    let body;
    const contentType = header(req, 'content-type') ?? '';
    if (rawBody.length > 0) {
      if (contentType && !/json/.test(contentType)) throw new HttpError(415, 'Unsupported Media Type');
      try {
        body = JSON.parse(entry.body);
      } catch {
        throw new HttpError(400, 'Problems parsing JSON');
      }
    }
    /** @type {Record<string, any>} */
    const query = Object.fromEntries(url.searchParams);
    const check = standin.schemas.checkRequest(operationId, { query, body: body ?? {} });
    if (!check.ok) throw new HttpError(422, `Invalid request.\n\n${check.errors}`);
    answer = (await HANDLERS[operationId]?.({
      standin,
      params: route.params,
      query,
      body: body ?? {},
      credential,
      url,
      headers: req.headers,
    })) ?? { status: 500, body: { message: `no handler for ${operationId}` } };
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    answer = { status: error.status, body: errorBody(error), headers: error.headers };
    entry.error = error.message;
  }

  if (faulted('after')) return;

  if (answer.raw) {
    entry.status = answer.status;
    res.writeHead(answer.status, {
      ...baseHeaders,
      'content-type': answer.contentType ?? 'application/octet-stream',
    });
    res.end(answer.raw);
    return;
  }
  const verdict = standin.schemas.checkResponse(operationId, answer.status, answer.body);
  if (!verdict.ok) {
    const message = `stand-in bug: the ${answer.status} answer to ${operationId} does not match GitHub's description: ${verdict.errors}`;
    standin.reportBug(message);
    entry.error = message;
    return send(500, { message, documentation_url: DOCS, status: '500' });
  }
  send(answer.status, answer.body, answer.headers ?? {});
}

/**
 * The documentation URL GitHub puts in an error from an operation.
 * @param {string | undefined} operationId
 * @param {number} status
 */
function docsUrl(operationId, status) {
  if (status === 401 || !operationId) return DOCS;
  return OPERATION_DOCS[operationId] ?? DOCS;
}

/** Each operation's page in GitHub's REST docs (the description's `externalDocs`). */
const OPERATION_DOCS = /** @type {Record<string, string>} */ ({
  'apps/get-authenticated': 'https://docs.github.com/rest/apps/apps#get-the-authenticated-app',
  'apps/create-installation-access-token':
    'https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app',
  'apps/list-installations':
    'https://docs.github.com/rest/apps/apps#list-installations-for-the-authenticated-app',
  'apps/list-repos-accessible-to-installation':
    'https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation',
  'repos/get': 'https://docs.github.com/rest/repos/repos#get-a-repository',
  'repos/get-content': 'https://docs.github.com/rest/repos/contents#get-repository-content',
  'git/list-matching-refs': 'https://docs.github.com/rest/git/refs#list-matching-references',
  'git/get-ref': 'https://docs.github.com/rest/git/refs#get-a-reference',
  'git/update-ref': 'https://docs.github.com/rest/git/refs#update-a-reference',
  'checks/create': 'https://docs.github.com/rest/checks/runs#create-a-check-run',
  'checks/update': 'https://docs.github.com/rest/checks/runs#update-a-check-run',
  'checks/list-for-ref': 'https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference',
  'repos/get-collaborator-permission-level':
    'https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user',
  'repos/list-activities': 'https://docs.github.com/rest/repos/repos#list-repository-activities',
});

/**
 * @param {import('node:http').IncomingMessage} req
 * @param {string} name
 */
function header(req, name) {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * @param {Credential} c
 * @param {string | undefined} raw
 * @returns {LoggedRequest['auth']}
 */
export function describeCredential(c, raw) {
  const token = raw?.replace(/^\S+\s+/, '');
  if (c.kind === 'app') return { kind: 'app', appId: c.app.id, ...(token ? { token } : {}) };
  if (c.kind === 'installation')
    return { kind: 'installation', token: c.token.token, installationId: c.token.installation.id };
  if (c.kind === 'user') return { kind: 'user', token: c.token, login: c.user.login };
  if (c.kind === 'invalid') return { kind: 'invalid', ...(token ? { token } : {}) };
  return { kind: 'none' };
}
