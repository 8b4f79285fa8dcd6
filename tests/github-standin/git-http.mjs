/**
 * Git over smart HTTP at each repository's `clone_url` (`ORIGIN/OWNER/REPO.git`), served by the real
 * `git http-backend` as a CGI program: the request body is streamed to it, its CGI headers parsed, its output
 * streamed back. Basic auth as GitHub takes it: the password is an installation token (`x-access-token:TOKEN`;
 * pushing needs `contents: write`, fetching `contents: read`) or a user's personal token (their role on the
 * repository decides). A push's ref updates come from the repository's post-receive hook, which writes git's
 * exact "old new ref" lines to a file named for this request, so concurrent pushes never get mixed up; the
 * stand-in then records the activity and sends `push` webhooks before it finishes the response.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { grants } from './auth.mjs';
import { gitEnvironment, httpBackendPath } from './git.mjs';
import { ROLES } from './model.mjs';
import { describeCredential } from './rest.mjs';

/** @typedef {import('./standin.mjs').Standin} Standin */
/** @typedef {import('./request-log.mjs').LoggedRequest} LoggedRequest */

/** `/OWNER/REPO(.git)/REST`: the parts of a git URL. */
const GIT_PATH =
  /^\/([^/]+)\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack|HEAD|objects\/.+)$/;

/** @type {string | undefined} */
let backend;

/**
 * Whether a path is a git one (so the server routes it here).
 * @param {string} pathname
 */
export function isGitPath(pathname) {
  return GIT_PATH.test(pathname);
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {LoggedRequest} entry
 * @param {number} status
 * @param {string} text
 * @param {Record<string, string>} [headers]
 */
function refuse(res, entry, status, text, headers = {}) {
  entry.status = status;
  entry.error = text;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${text}\n`);
}

/**
 * Answers one git request.
 * @param {Standin} standin
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {URL} url
 * @param {LoggedRequest} entry
 */
export async function handleGit(standin, req, res, url, entry) {
  const m = /** @type {RegExpExecArray} */ (GIT_PATH.exec(url.pathname));
  const [, owner = '', name = '', rest = ''] = m;
  const push =
    rest === 'git-receive-pack' ||
    (rest === 'info/refs' && url.searchParams.get('service') === 'git-receive-pack');
  const operation = push ? 'git/receive-pack' : 'git/upload-pack';
  entry.operation = operation;

  const auth = req.headers.authorization ?? '';
  const basic = /^basic\s+(\S+)$/i.exec(auth);
  const password = basic
    ? Buffer.from(basic[1] ?? '', 'base64')
        .toString('utf8')
        .replace(/^[^:]*:/, '')
    : undefined;
  const credential =
    password === undefined ? { kind: /** @type {const} */ ('none') } : standin.tokens.fromToken(password);
  entry.auth = describeCredential(credential, password === undefined ? undefined : `basic ${password}`);

  const challenge = { 'www-authenticate': 'Basic realm="GitHub"' };
  const repo = standin.model.repository(owner, decodeURIComponent(name));
  if (credential.kind === 'invalid') return refuse(res, entry, 401, 'Invalid username or token.', challenge);
  if (credential.kind === 'none') {
    if (push || !repo || repo.private) return refuse(res, entry, 401, 'Authentication required.', challenge);
  }
  if (!repo) return refuse(res, entry, 404, 'Repository not found.');

  /** @type {import('./model.mjs').Account | null} */
  let actor = null;
  let denyWorkflows = false;
  if (credential.kind === 'installation') {
    const token = credential.token;
    if (!standin.tokens.reaches(token, repo)) return refuse(res, entry, 404, 'Repository not found.');
    actor = token.installation.app.bot;
    if (!grants(token.permissions, 'contents', push ? 'write' : 'read')) {
      return refuse(res, entry, 403, `Permission to ${repo.fullName}.git denied to ${actor.login}.`);
    }
    denyWorkflows = !grants(token.permissions, 'workflows', 'write');
  } else if (credential.kind === 'user') {
    actor = credential.user;
    const role = repo.roleOf(credential.user);
    if (role === null) return refuse(res, entry, 404, 'Repository not found.');
    if (push && ROLES.indexOf(role) < ROLES.indexOf('write')) {
      return refuse(res, entry, 403, `Permission to ${repo.fullName}.git denied to ${actor.login}.`);
    }
  }

  const fault = standin.faults.take(operation, 'before', false);
  if (fault) {
    entry.fault = fault.kind;
    /** @type {Record<string, string>} */
    const retry = fault.kind === 'server-error' ? {} : { 'retry-after': String(fault.retryAfter) };
    return refuse(
      res,
      entry,
      fault.status,
      fault.kind === 'server-error' ? 'Internal Server Error' : 'Rate limited',
      retry,
    );
  }

  const report = join(standin.tempDir, `push-${randomUUID()}`);
  /** @type {NodeJS.ProcessEnv} */
  const env = {
    ...gitEnvironment(standin.homeDir),
    GIT_PROJECT_ROOT: standin.repositoriesDir,
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: `/${repo.fullName}.git/${rest}`,
    REQUEST_METHOD: req.method ?? 'GET',
    QUERY_STRING: url.search.replace(/^\?/, ''),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    STANDIN_PUSH_REPORT: report,
    STANDIN_DENY_WORKFLOWS: denyWorkflows ? '1' : '0',
    ...(actor ? { REMOTE_USER: actor.login } : {}),
    ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
    ...(req.headers['content-encoding']
      ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) }
      : {}),
    ...(req.headers['git-protocol'] ? { HTTP_GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
  };
  backend ??= httpBackendPath();
  const child = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  req.on('data', (chunk) => {
    entry.bodyBytes += chunk.length;
  });
  req.pipe(/** @type {import('node:stream').Writable} */ (child.stdin));
  child.stdin?.on('error', () => {});
  /** @type {Buffer[]} */
  const stderr = [];
  child.stderr?.on('data', (chunk) => stderr.push(chunk));

  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout?.on('data', (/** @type {Buffer} */ chunk) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const crlf = head.indexOf('\r\n\r\n');
    const lf = head.indexOf('\n\n');
    const end = crlf !== -1 && (lf === -1 || crlf < lf) ? crlf + 4 : lf !== -1 ? lf + 2 : -1;
    if (end === -1) return;
    headersDone = true;
    let status = 200;
    /** @type {Record<string, string>} */
    const headers = {};
    for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (key === 'status') status = Number.parseInt(value, 10) || 200;
      else headers[key] = value;
    }
    entry.status = status;
    res.writeHead(status, headers);
    res.write(head.subarray(end));
  });

  const code = await new Promise((resolve) => {
    child.on('error', (error) => {
      stderr.push(Buffer.from(String(error)));
      resolve(-1);
    });
    child.on('close', resolve);
  });
  try {
    if (push && rest === 'git-receive-pack' && actor) {
      const text = await readFile(report, 'utf8').catch(() => '');
      const updates = text
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [before = '', after = '', ref = ''] = line.split(' ');
          return { before, after, ref };
        });
      if (updates.length) await standin.recordRefUpdates(repo, updates, actor);
    }
  } finally {
    await rm(report, { force: true });
  }
  if (!headersDone) {
    const message = `git http-backend failed (exit ${code}): ${Buffer.concat(stderr).toString().trim()}`;
    standin.reportBug(message);
    return refuse(res, entry, 500, message);
  }
  res.end();
}
