/**
 * Faults a test switches on, so a client's retries and backoff meet what GitHub really sends: server errors, the
 * secondary rate limit (403 or 429, `retry-after`, the documented message that @octokit/plugin-throttling looks
 * for), the primary rate limit (`x-ratelimit-remaining: 0` and `x-ratelimit-reset`). A fault applies to the next
 * N calls of one operation (GitHub's operationId, `git/upload-pack`, `git/receive-pack`, or `*`), either instead
 * of the call (`when: 'before'`) or after the call took effect (`when: 'after'`: the change happened, the answer
 * was lost, as with a 502 from GitHub's edge).
 */

/**
 * @typedef {object} FaultSpec
 * @property {string} operation   GitHub's operationId (e.g. `checks/create`), `git/upload-pack`, `git/receive-pack`
 *   or `*` for every REST call
 * @property {number} [times]     how many calls it hits. default: 1
 * @property {'server-error' | 'secondary-rate-limit' | 'primary-rate-limit'} [kind] default: 'server-error'
 * @property {number} [status]    server-error: 500, 502, 503 or 504 (default 502); secondary: 403 or 429
 *   (default 403); primary: 403 or 429 (default 403)
 * @property {number} [retryAfter] seconds: `retry-after` (secondary) or until `x-ratelimit-reset` (primary).
 *   default: 1 for secondary, 60 for primary
 * @property {'before' | 'after'} [when] default: 'before'
 */

/**
 * A fault in force; `hits` counts the calls it answered.
 * @typedef {Required<FaultSpec> & { hits: number, remaining: number }} Fault
 */

export class Faults {
  /** @type {Fault[]} */
  #faults = [];

  /**
   * Switches a fault on.
   * @param {FaultSpec} spec
   * @returns {Fault}
   */
  inject(spec) {
    const kind = spec.kind ?? 'server-error';
    /** @type {Fault} */
    const fault = {
      operation: spec.operation,
      times: spec.times ?? 1,
      kind,
      status: spec.status ?? (kind === 'server-error' ? 502 : 403),
      retryAfter: spec.retryAfter ?? (kind === 'primary-rate-limit' ? 60 : 1),
      when: spec.when ?? 'before',
      hits: 0,
      remaining: spec.times ?? 1,
    };
    if (kind === 'server-error' && ![500, 502, 503, 504].includes(fault.status)) {
      throw new Error(`a server error is 500, 502, 503 or 504, not ${fault.status}`);
    }
    if (kind !== 'server-error' && ![403, 429].includes(fault.status)) {
      throw new Error(`GitHub answers a rate limit with 403 or 429, not ${fault.status}`);
    }
    this.#faults.push(fault);
    return fault;
  }

  /** Switches every fault off. */
  clear() {
    this.#faults = [];
  }

  /** The faults in force (with their hit counts). */
  list() {
    return [...this.#faults];
  }

  /**
   * The fault for this call, if one is due (and counts it).
   * @param {string} operation
   * @param {'before' | 'after'} when
   * @param {boolean} rest  whether the call is a REST one (`*` applies to those only)
   * @returns {Fault | undefined}
   */
  take(operation, when, rest) {
    const fault = this.#faults.find(
      (f) =>
        f.remaining > 0 && f.when === when && (f.operation === operation || (rest && f.operation === '*')),
    );
    if (!fault) return undefined;
    fault.remaining--;
    fault.hits++;
    return fault;
  }
}

/**
 * The REST answer to a fault, as GitHub words it.
 * @param {Fault} fault
 * @param {{ requestId: string, nowMs: number, subject: string }} context  subject: e.g. `installation ID 3001`
 * @returns {{ status: number, headers: Record<string, string>, body: { message: string, documentation_url: string, status?: string } }}
 */
export function faultAnswer(fault, context) {
  if (fault.kind === 'server-error') {
    return {
      status: fault.status,
      headers: {},
      body: { message: 'Server Error', documentation_url: 'https://docs.github.com/rest' },
    };
  }
  if (fault.kind === 'secondary-rate-limit') {
    return {
      status: fault.status,
      headers: { 'retry-after': String(fault.retryAfter) },
      body: {
        message: `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${context.requestId}.`,
        documentation_url:
          'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
        status: String(fault.status),
      },
    };
  }
  return {
    status: fault.status,
    headers: {
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(Math.ceil(context.nowMs / 1000) + fault.retryAfter),
    },
    body: {
      message: `API rate limit exceeded for ${context.subject}. If you reach out to GitHub Support for help, please include the request ID ${context.requestId}.`,
      documentation_url:
        'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit',
      status: String(fault.status),
    },
  };
}
