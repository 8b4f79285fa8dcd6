/**
 * Every request the stand-in received, REST and git: method, path, query, the operation it matched, the body as
 * text (REST only; git's pack data is counted, not kept), who it came from, and how it was answered. Tests assert
 * on it ("POST /check-runs was sent once") and search it ("no request carried the token in its body").
 */

/**
 * @typedef {object} LoggedRequest
 * @property {number} id
 * @property {string} requestId     the `x-github-request-id` the answer carried
 * @property {number} time          on the stand-in's clock
 * @property {string} method
 * @property {string} path          without the query
 * @property {string} url           path and query, as received
 * @property {string | null} operation  GitHub's operationId, `git/...`, or null (no such route)
 * @property {Record<string, string | string[] | undefined>} headers
 * @property {string} body          REST: the body as received; git: ''
 * @property {number} bodyBytes
 * @property {{ kind: string, token?: string, appId?: number, installationId?: number, login?: string }} auth
 *   who sent it: `none`, `app` (a JWT), `installation`, `user`, `invalid`; `token` is the credential as sent
 * @property {number | null} status
 * @property {string | null} fault  the fault that answered it, if any
 * @property {string | null} error  the message of an error answer
 */

export class RequestLog {
  /** @type {LoggedRequest[]} */
  #entries = [];
  #nextId = 1;

  /**
   * Starts an entry (the handler fills in status, auth and so on as it goes).
   * @param {Omit<LoggedRequest, 'id' | 'status' | 'fault' | 'error' | 'operation' | 'auth' | 'body' | 'bodyBytes'>} init
   * @returns {LoggedRequest}
   */
  start(init) {
    /** @type {LoggedRequest} */
    const entry = {
      id: this.#nextId++,
      operation: null,
      auth: { kind: 'none' },
      body: '',
      bodyBytes: 0,
      status: null,
      fault: null,
      error: null,
      ...init,
    };
    this.#entries.push(entry);
    return entry;
  }

  /**
   * The requests so far, oldest first; with a filter, those it accepts. A string filter is an operation id.
   * @param {string | ((r: LoggedRequest) => boolean)} [filter]
   */
  list(filter) {
    if (filter === undefined) return [...this.#entries];
    const accepts =
      typeof filter === 'string' ? (/** @type {LoggedRequest} */ r) => r.operation === filter : filter;
    return this.#entries.filter(accepts);
  }

  /**
   * The requests whose URL, body, or a header other than `authorization` contains `text`: where a secret that
   * belongs only in `authorization` leaked.
   * @param {string} text
   */
  search(text) {
    return this.#entries.filter(
      (r) =>
        r.url.includes(text) ||
        r.body.includes(text) ||
        Object.entries(r.headers).some(
          ([name, value]) => name !== 'authorization' && String(value).includes(text),
        ),
    );
  }

  /** Forgets the requests so far. */
  clear() {
    this.#entries = [];
  }
}
